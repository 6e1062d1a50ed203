// Timeline trace sinks behind one small interface: the model reports instruction spans;
// the sink decides the format (Chrome/Perfetto JSON, or nothing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace lpu::sim {

struct TraceSpan {
    int chip = 0;
    std::string track;     // unit instance, e.g. "mxm0", "mem w12", "vxm3"
    std::string name;      // mnemonic
    std::string category;  // breakdown category (matmul, weight_install, ...)
    int layer = -1;
    uint64_t start_cycle = 0;
    uint64_t duration_cycles = 0;
    uint32_t line = 0;  // program line
    uint64_t n = 0;     // vectors / rows
};

class TraceSink {
public:
    virtual ~TraceSink() = default;
    virtual void span(const TraceSpan& s) = 0;
    virtual bool wants(int chip, int layer, uint64_t start_cycle) const = 0;
    // Writes the output; called only after a successful run (a failed run leaves no file).
    virtual void finish() {}
};

struct TraceLimits {
    int max_chips = 1 << 30;      // trace chips [0, max_chips)
    int first_layer = -1;         // -1 = all layers
    int last_layer = -1;
    uint64_t window_start_cycle = 0;
    uint64_t window_end_cycle = UINT64_MAX;
    uint64_t max_events = 2'000'000;  // hard cap so a trace never reaches gigabytes
};

// Chrome trace-event JSON (loads in ui.perfetto.dev and chrome://tracing). One process per
// chip, one thread per unit instance; timestamps in microseconds from cycles and the clock.
std::unique_ptr<TraceSink> make_perfetto_trace(const std::string& path, double clock_hz, TraceLimits limits);
std::unique_ptr<TraceSink> make_null_trace();

// Finishes the file (the Perfetto sink writes on destruction via a temporary + rename).
}  // namespace lpu::sim
