// Child processes of a sweep (the points' `lpusim run` and gnuplot): posix_spawn with
// stdin from /dev/null and stdout+stderr into a log file, and waiting for them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace lpu::sweep {

struct SpawnSpec {
    std::string program;  // a path, or a name looked up in PATH when search_path
    bool search_path = false;
    std::vector<std::string> args;  // argv[1..]
    std::string argv0;              // argv[0] ("" = program)
    std::string log_path;           // stdout and stderr go here (truncated)
    std::string cwd;                // "" = inherit
};

// Starts the process; returns its pid, or -1 with `error` set (e.g. program not found).
pid_t spawn_logged(const SpawnSpec& spec, std::string& error);

struct ExitStatus {
    pid_t pid = -1;
    int exit_code = -1;  // when it exited
    int signal = 0;      // when a signal ended it
    bool exited() const { return signal == 0; }
    int shell_code() const { return exited() ? exit_code : 128 + signal; }
    std::string describe() const;  // "exit code 2" / "killed by signal 9 (Killed)"
};

// Waits for any child. nullopt when a signal interrupted the wait (EINTR); other failures
// (no child at all) throw std::runtime_error.
std::optional<ExitStatus> wait_any();
// Waits for one child, retrying on EINTR.
ExitStatus wait_for(pid_t pid);

}  // namespace lpu::sweep
