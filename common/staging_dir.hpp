// Output directories are built in a temporary directory beside their final place and moved
// there only when complete: a failed run, a full disk, or SIGINT / SIGTERM / SIGHUP leaves
// nothing under the final name (and nothing half-written inside an existing directory).
#pragma once

#include <string>

namespace lpu {

class StagingDir {
public:
    // Creates `<parent of target>/.<name of target>.tmp.<pid>.<n>` (and the parent itself
    // when `make_parent`); throws InputError naming `flag` (e.g. "--out") when that cannot be
    // made (a missing or read-only parent).
    StagingDir(const std::string& target, const std::string& flag, bool make_parent = true);
    ~StagingDir();  // removes the staging directory unless committed
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;

    const std::string& path() const { return path_; }
    const std::string& target() const { return target_; }

    // The target is a directory: a missing or empty one is replaced by the staging directory
    // in one rename; into an existing one each staged file is renamed (replacing files of the
    // same name, keeping others). Signals are held off while files move.
    void commit_directory();
    // The target is a file: staged file `name` is renamed onto it.
    void commit_file(const std::string& name);

private:
    std::string target_, path_;
    int slot_ = -1;  // in the signal handler's table
    bool done_ = false;
};

// `text` (an error message) with every staging directory name `.<name>.tmp.<pid>.<n>/`
// written as `<name>/`, so that it names the place the user gave.
std::string unstaged_paths(const std::string& text);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every live staging directory
// (with async-signal-safe calls only) and then die of the same signal. Idempotent.
void install_cleanup_signal_handlers();

}  // namespace lpu
