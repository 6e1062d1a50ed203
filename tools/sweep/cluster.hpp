// The ranks of a distributed sweep. Under `mpirun -np N` (when built with -DLPUSIM_MPI=ON)
// each rank is one lpusim process; otherwise there is a single rank. All MPI calls of the
// project are in cluster.cpp, behind #ifdef LPUSIM_WITH_MPI.
#pragma once

#include <string>

namespace lpu::sweep {

class Cluster {
public:
    // Calls MPI_Init when built with MPI and started by an MPI launcher (detected from the
    // launcher's environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK). Started by a
    // launcher with several ranks but built without MPI -> InputError (every rank would
    // otherwise run the whole sweep).
    Cluster();
    ~Cluster();  // MPI_Finalize
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool distributed() const { return size_ > 1; }
    // Ranks on this machine (OMPI_COMM_WORLD_LOCAL_SIZE), for the default --jobs.
    int local_size() const { return local_size_; }

    // Rank 0's `value`, on every rank (MPI_Bcast).
    bool broadcast(bool value) const;
    // Every rank's `mine`, concatenated in rank order, on rank 0; empty elsewhere
    // (MPI_Gather of the lengths, then MPI_Gatherv of the bytes).
    std::string gather(const std::string& mine) const;
    // Ends every rank (MPI_Abort): for a rank that fails while others wait in a collective.
    [[noreturn]] void abort(int exit_code) const;

    static bool built_with_mpi();

private:
    int rank_ = 0;
    int size_ = 1;
    int local_size_ = 1;
    bool initialized_ = false;
};

}  // namespace lpu::sweep
