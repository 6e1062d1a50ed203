// Sweep progress on stderr: a redrawn bar (done/total, failures, ETA) when stderr is a
// terminal, otherwise one line per finished point (logs, CI, mpirun).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace lpu::sweep {

class Progress {
public:
    // `total` counts this rank's points, `already_done` those skipped as done earlier.
    Progress(size_t total, size_t already_done, std::string prefix);

    // One finished point: `what` = "point 3 (mxm.iw_cycles=2)", `outcome` = "ok 0.07 s".
    void finished(const std::string& what, const std::string& outcome, bool failed);
    void close();  // ends the bar's line

    // "1:02:03" / "2:03" / "4 s"
    static std::string format_duration(double seconds);

private:
    void draw();

    size_t total_, done_, ran_ = 0, failed_ = 0;
    std::string prefix_;
    bool tty_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace lpu::sweep
