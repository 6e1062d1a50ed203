#include "tools/sweep/cluster.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/input_error.hpp"

#ifdef LPUSIM_WITH_MPI
#include <mpi.h>
#endif

namespace lpu::sweep {

namespace {

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return (*end == '\0' && n > 0 && n < 1000000) ? static_cast<int>(n) : fallback;
}

// Ranks the launcher started (0 when not started by an MPI launcher).
int launcher_size() {
    if (int n = env_int("OMPI_COMM_WORLD_SIZE", 0)) return n;
    if (int n = env_int("PMI_SIZE", 0)) return n;
    if (std::getenv("PMIX_RANK")) return env_int("PMIX_SIZE", 1);
    return 0;
}

}  // namespace

bool Cluster::built_with_mpi() {
#ifdef LPUSIM_WITH_MPI
    return true;
#else
    return false;
#endif
}

Cluster::Cluster() {
    const int launched = launcher_size();
    local_size_ = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("MPI_LOCALNRANKS", 1));
#ifdef LPUSIM_WITH_MPI
    if (launched == 0) return;
    int already = 0;
    MPI_Initialized(&already);
    if (!already) {
        MPI_Init(nullptr, nullptr);
        initialized_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
#else
    if (launched > 1)
        throw InputError(
            {"command line", 0, 0},
            fmt::format("started by an MPI launcher with {} ranks, but this lpusim was built without MPI "
                        "(configure with -DLPUSIM_MPI=ON), so every rank would run the whole sweep; "
                        "run it without mpirun and use --jobs",
                        launched));
#endif
}

Cluster::~Cluster() {
#ifdef LPUSIM_WITH_MPI
    if (initialized_) MPI_Finalize();
#endif
}

bool Cluster::broadcast(bool value) const {
#ifdef LPUSIM_WITH_MPI
    if (size_ > 1) {
        int v = value ? 1 : 0;
        MPI_Bcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD);
        return v != 0;
    }
#endif
    return value;
}

std::string Cluster::gather(const std::string& mine) const {
#ifdef LPUSIM_WITH_MPI
    if (size_ > 1) {
        if (mine.size() > static_cast<size_t>(INT32_MAX))
            throw std::runtime_error("sweep results of one rank exceed 2 GiB; cannot gather them");
        int len = static_cast<int>(mine.size());
        std::vector<int> lens(rank_ == 0 ? static_cast<size_t>(size_) : 0);
        MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
        std::vector<int> offsets(lens.size());
        long total = 0;
        for (size_t i = 0; i < lens.size(); ++i) {
            offsets[i] = static_cast<int>(total);
            total += lens[i];
        }
        if (total > INT32_MAX) throw std::runtime_error("gathered sweep results exceed 2 GiB");
        std::string all(static_cast<size_t>(total), '\0');
        MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, 0,
                    MPI_COMM_WORLD);
        return rank_ == 0 ? all : std::string();
    }
#endif
    return mine;
}

void Cluster::abort(int exit_code) const {
#ifdef LPUSIM_WITH_MPI
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
#endif
    std::_Exit(exit_code);
}

}  // namespace lpu::sweep
