#include "tools/sweep/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace lpu::sweep {

pid_t spawn_logged(const SpawnSpec& spec, std::string& error) {
    std::vector<std::string> argv_text;
    argv_text.push_back(spec.argv0.empty() ? spec.program : spec.argv0);
    argv_text.insert(argv_text.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
    posix_spawn_file_actions_addopen(&actions, 1, spec.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);

    // The child starts with default signal handling whatever the sweep installed.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    pid_t pid = -1;
    const int rc = spec.search_path
                       ? posix_spawnp(&pid, spec.program.c_str(), &actions, &attr, argv.data(), environ)
                       : posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        error = fmt::format("cannot start {}: {}", spec.program, std::strerror(rc));
        return -1;
    }
    return pid;
}

std::string ExitStatus::describe() const {
    if (exited()) return fmt::format("exit code {}", exit_code);
    return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
}

namespace {

ExitStatus decode(pid_t pid, int status) {
    ExitStatus s;
    s.pid = pid;
    if (WIFEXITED(status)) s.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
    return s;
}

}  // namespace

std::optional<ExitStatus> wait_any() {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) return std::nullopt;
    if (pid < 0) throw std::runtime_error(fmt::format("waiting for sweep points: {}", std::strerror(errno)));
    return decode(pid, status);
}

ExitStatus wait_for(pid_t pid) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return ExitStatus{pid, -1, 0};
    }
    return decode(pid, status);
}

}  // namespace lpu::sweep
