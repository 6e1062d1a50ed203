// Timeline trace sinks behind one small interface: the model reports instruction spans;
// the sink decides the format (Chrome/Perfetto JSON, or nothing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "isa/opcodes.hpp"

namespace lpu::sim {

struct TraceSpan {
    int chip = 0;
    std::string track;     // unit instance, e.g. "mxm0", "mem w12", "vxm3"
    isa::Unit unit = isa::Unit::Icu;  // of the track: tracks are sorted by unit kind, then instance
    int instance = 0;
    std::string name;      // mnemonic
    std::string category;  // breakdown category (matmul, weight_install, ...)
    int layer = -1;
    uint64_t start_cycle = 0;
    uint64_t duration_cycles = 0;
    uint32_t line = 0;  // program line
    uint64_t n = 0;     // vectors / rows
    int peer = -1;      // c2c.send / c2c.recv: the other chip
};

// A counter track of one chip (utilization, power): `value` holds from its cycle on.
struct TraceCounter {
    int chip = 0;
    std::string name;                          // e.g. "utilization (%)", "power (W)"
    std::vector<std::string> series;           // one value per series and point, e.g. mxm, mem, ...
    std::vector<uint64_t> cycles;              // point times, ascending
    std::vector<std::vector<double>> values;   // values[point][series]
};

class TraceSink {
public:
    virtual ~TraceSink() = default;
    virtual void span(const TraceSpan& s) = 0;
    virtual bool wants(int chip, int layer, uint64_t start_cycle) const = 0;
    // Counter tracks computed after the run (from the reports); before finish().
    virtual void add_counters(std::vector<TraceCounter>) {}
    // Writes the output; called only after a successful run (a failed run leaves no file).
    virtual void finish() {}
};

struct TraceLimits {
    int max_chips = 1 << 30;      // trace chips [0, max_chips)
    int first_layer = -1;         // -1 = all layers
    int last_layer = -1;
    uint64_t window_start_cycle = 0;
    uint64_t window_end_cycle = UINT64_MAX;
    uint64_t max_events = 20'000'000;  // spans kept in memory at most
    // Bound on the JSON text (before compression). Every chip always gets its layer and
    // operation tracks and its counters; instruction detail is added chip by chip, in chip
    // order, while it fits.
    uint64_t max_bytes = uint64_t{64} << 20;
    bool gzip = true;  // write gzip (the path should end in .gz)
};

// Chrome trace-event JSON (loads in ui.perfetto.dev and chrome://tracing), docs/metrics.md
// "trace.json.gz". One process per chip; per chip a track of layer slices, tracks of
// operation slices (category x layer) and one track per unit instance, sorted by unit kind;
// slices on a track nest properly (overlapping instructions go to a second lane of their
// unit); counter tracks; flow arrows from each c2c.send to its c2c.recv.
std::unique_ptr<TraceSink> make_perfetto_trace(const std::string& path, double clock_hz, TraceLimits limits);
std::unique_ptr<TraceSink> make_null_trace();

}  // namespace lpu::sim
