#include "common/staging_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <vector>

#include "common/input_error.hpp"

namespace fs = std::filesystem;

namespace lpu {
namespace {

// The live staging directories, for the signal handler: fixed storage, no allocation.
constexpr int kSlots = 8;
constexpr size_t kPathMax = 4096;
char g_paths[kSlots][kPathMax];
std::atomic<bool> g_used[kSlots];

int claim_slot(const std::string& path) {
    if (path.size() >= kPathMax) return -1;
    for (int i = 0; i < kSlots; ++i) {
        bool expected = false;
        if (g_used[i].compare_exchange_strong(expected, true)) {
            std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
            std::atomic_signal_fence(std::memory_order_seq_cst);
            return i;
        }
    }
    return -1;
}

void release_slot(int slot) {
    if (slot >= 0) g_used[slot].store(false);
}

// Removes everything below the directory open as `dir_fd` (then closes it), using only
// openat/getdents64/unlinkat/close, which are safe in a signal handler. Depth-bounded: our
// output directories are flat or one level deep.
void remove_below(int dir_fd, int depth) {
    alignas(8) char buffer[4096];
    for (;;) {
        const long n = ::syscall(SYS_getdents64, dir_fd, buffer, sizeof buffer);
        if (n <= 0) break;
        bool removed_any = false;
        for (long at = 0; at < n;) {
            struct Entry {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[1];
            };
            const auto* e = reinterpret_cast<const Entry*>(buffer + at);
            at += e->reclen;
            const char* name = e->name;
            if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
            if (::unlinkat(dir_fd, name, 0) == 0) {
                removed_any = true;
                continue;
            }
            if (depth > 0) {
                const int sub = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0) remove_below(sub, depth - 1);
                if (::unlinkat(dir_fd, name, AT_REMOVEDIR) == 0) removed_any = true;
            }
        }
        if (removed_any) ::lseek(dir_fd, 0, SEEK_SET);  // entries moved: read the rest again
    }
    ::close(dir_fd);
}

void remove_tree_signal_safe(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) remove_below(fd, 4);
    ::rmdir(path);
}

extern "C" void on_fatal_signal(int sig) {
    for (int i = 0; i < kSlots; ++i)
        if (g_used[i].load()) remove_tree_signal_safe(g_paths[i]);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Blocks the cleanup signals for the life of the object (while files move into place).
class SignalsHeld {
public:
    SignalsHeld() {
        sigset_t set;
        sigemptyset(&set);
        for (int s : kSignals) sigaddset(&set, s);
        ::sigprocmask(SIG_BLOCK, &set, &old_);
    }
    ~SignalsHeld() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

private:
    sigset_t old_;
};

bool is_empty_directory(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec) && fs::is_empty(p, ec) && !ec;
}

}  // namespace

std::string unstaged_paths(const std::string& text) {
    static const std::regex staged(R"(/\.([^/]+)\.tmp\.[0-9]+\.[0-9]+(/|$))");
    return std::regex_replace(text, staged, "/$1$2");
}

void install_cleanup_signal_handlers() {
    static bool installed = false;
    if (installed) return;
    installed = true;
    for (int s : kSignals) {
        struct sigaction sa {};
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (int t : kSignals) sigaddset(&sa.sa_mask, t);
        struct sigaction old {};
        ::sigaction(s, nullptr, &old);
        if (old.sa_handler == SIG_IGN) continue;  // e.g. started with nohup: keep ignoring
        ::sigaction(s, &sa, nullptr);
    }
}

StagingDir::StagingDir(const std::string& target, const std::string& flag, bool make_parent) : target_(target) {
    install_cleanup_signal_handlers();
    static int counter = 0;
    fs::path t(target);
    while (t.has_relative_path() && t.filename().empty()) t = t.parent_path();  // "out/" -> "out"
    const fs::path parent = t.parent_path().empty() ? fs::path(".") : t.parent_path();
    std::error_code ec;
    if (fs::exists(t, ec) && !fs::is_directory(t, ec) && flag == "--out")
        throw InputError({"command line", 0, 0}, flag, target, "a directory (this is an existing file)");
    if (make_parent) fs::create_directories(parent, ec);
    if (ec || !fs::is_directory(parent, ec))
        throw InputError({"command line", 0, 0}, flag, target,
                         fmt::format("a path whose directory {} exists{} ({})", parent.string(), make_parent ? " or can be created" : "",
                                     ec ? ec.message() : "not a directory"));
    const std::string name = t.filename().string();
    path_ = (parent / fmt::format(".{}.tmp.{}.{}", name.empty() ? "out" : name, ::getpid(), counter++)).string();
    if (::mkdir(path_.c_str(), 0777) != 0)
        throw InputError({"command line", 0, 0}, flag, target,
                         fmt::format("a place that can be written (cannot create {}: {})", path_, std::strerror(errno)));
    slot_ = claim_slot(path_);
}

StagingDir::~StagingDir() {
    if (!done_) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    release_slot(slot_);
}

void StagingDir::commit_directory() {
    SignalsHeld held;
    std::error_code ec;
    const fs::path t(target_);
    if (!fs::exists(t, ec) || is_empty_directory(t)) {
        if (::rename(path_.c_str(), target_.c_str()) != 0)
            throw InputError({"command line", 0, 0}, "--out", target_,
                             fmt::format("a directory that can be written ({})", std::strerror(errno)));
    } else {
        if (!fs::is_directory(t, ec))
            throw InputError({"command line", 0, 0}, "--out", target_, "a directory (this is an existing file)");
        // Check every name before moving any, so a refusal leaves the directory as it was.
        std::vector<fs::path> staged;
        for (const auto& entry : fs::directory_iterator(path_)) {
            const fs::path to = t / entry.path().filename();
            if (fs::is_directory(to, ec) && !fs::is_directory(entry.path(), ec))
                throw InputError({"command line", 0, 0}, "--out", target_,
                                 fmt::format("a directory where {} can be written (it is a directory)", to.string()));
            staged.push_back(entry.path());
        }
        for (const auto& from : staged) {
            const fs::path to = t / from.filename();
            fs::rename(from, to, ec);
            if (ec)
                throw InputError({"command line", 0, 0}, "--out", target_,
                                 fmt::format("a directory that can be written ({}: {})", to.string(), ec.message()));
        }
        fs::remove_all(path_, ec);
    }
    done_ = true;
}

void StagingDir::commit_file(const std::string& name) {
    SignalsHeld held;
    const std::string from = path_ + "/" + name;
    if (::rename(from.c_str(), target_.c_str()) != 0)
        throw InputError({"command line", 0, 0}, "output", target_,
                         fmt::format("a file that can be written ({})", std::strerror(errno)));
    std::error_code ec;
    fs::remove_all(path_, ec);
    done_ = true;
}

}  // namespace lpu
