#include "tools/sweep/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace lpu::sweep {

Progress::Progress(size_t total, size_t already_done, std::string prefix)
    : total_(total), done_(already_done), prefix_(std::move(prefix)), tty_(::isatty(2) == 1) {
    if (tty_ && total_ > done_) draw();
}

std::string Progress::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    if (seconds < 10) return fmt::format("{:.2f} s", seconds);
    const long s = std::lround(seconds);
    if (s < 60) return fmt::format("{} s", s);
    if (s < 3600) return fmt::format("{}:{:02}", s / 60, s % 60);
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

void Progress::finished(const std::string& what, const std::string& outcome, bool failed) {
    ++done_;
    ++ran_;
    if (failed) ++failed_;
    if (tty_) {
        draw();
        return;
    }
    fmt::print(stderr, "{}[{}/{}] {} {}\n", prefix_, done_, total_, what, outcome);
    std::fflush(stderr);
}

void Progress::draw() {
    constexpr size_t kWidth = 30;
    const size_t filled = total_ ? done_ * kWidth / total_ : kWidth;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string eta = "ETA ?";
    if (ran_ > 0)
        eta = "ETA " +
              format_duration(elapsed / static_cast<double>(ran_) * static_cast<double>(total_ - done_));
    fmt::print(stderr, "\r\x1b[2K{}[{}{}] {}/{} done, {} failed, {}", prefix_, std::string(filled, '#'),
               std::string(kWidth - filled, '.'), done_, total_, failed_, eta);
    std::fflush(stderr);
    drawn_ = true;
}

void Progress::close() {
    if (tty_ && drawn_) fmt::print(stderr, "\n");
    drawn_ = false;
}

}  // namespace lpu::sweep
