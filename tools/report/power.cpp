#include "tools/report/power.hpp"

#include <fmt/format.h>

#include <map>

#include "sim/engine.hpp"
#include "tools/report/csv.hpp"
#include "tools/report/metrics.hpp"

namespace lpu::report {

namespace {

using isa::Opcode;

// Carriers (metrics.hpp) to the components of kEnergyComponentNames: SRAM reads and writes
// are one component.
constexpr std::array<int, kCarriers> kComponentOf = {0, 1, 1, 2, 3, 4, 5, 6, 7};

bool consumes_stream(const sim::ExecRecord& r) {
    switch (r.opcode) {
        case Opcode::Write:
        case Opcode::Scatter:
        case Opcode::Gather:
        case Opcode::Lw:
        case Opcode::Abc:
        case Opcode::Send:
        case Opcode::DmaStore:
            return true;
        default:
            return r.unit == isa::Unit::Vxm || r.unit == isa::Unit::Sxm;
    }
}

// How much of carrier `c` the record accounts for (0: none). The weights only set the
// shares within a chip; the energy itself comes from the counters.
double weight(const sim::ExecRecord& r, int c) {
    const double bytes = r.bytes, ops = r.ops;
    switch (c) {
        case kMac:
            return r.opcode == Opcode::Abc ? ops : 0;
        case kSramRead:
            return r.opcode == Opcode::Read || r.opcode == Opcode::Gather ? bytes : 0;
        case kSramWrite:
            return r.opcode == Opcode::Write || r.opcode == Opcode::Scatter ? bytes : 0;
        case kStream:
            return consumes_stream(r) ? bytes : 0;
        case kInstall:
            return r.opcode == Opcode::Lw ? bytes : 0;
        case kVxm:
            return r.unit == isa::Unit::Vxm ? ops : 0;
        case kSxm:
            return r.unit == isa::Unit::Sxm ? bytes : 0;
        case kC2c:
            return r.opcode == Opcode::Send ? bytes : 0;
        case kMemIf:
            return r.level == sim::Level::MemIf ? bytes : 0;
        default:
            return 0;
    }
}

}  // namespace

std::array<double, kEnergyComponents> chip_dynamic_energy_J(const hw::HwConfig& cfg,
                                                            const sim::StatsRegistry& stats, int chip) {
    std::array<double, kEnergyComponents> out{};
    const auto carriers = carrier_energy_J(cfg, [&](const char* name) { return stats.value(fmt::format("chip{}.{}", chip, name)); });
    for (int c = 0; c < kCarriers; ++c)
        out[static_cast<size_t>(kComponentOf[static_cast<size_t>(c)])] += carriers[static_cast<size_t>(c)];
    return out;
}

double PowerSeries::energy_J(size_t chip, size_t b) const {
    double t = static_J[chip][b];
    for (const auto& component : dynamic_J[chip]) t += component[b];
    return t;
}

double PowerSeries::total_J() const {
    double t = 0;
    for (size_t c = 0; c < chips.size(); ++c)
        for (size_t b = 0; b < buckets.size(); ++b) t += energy_J(c, b);
    return t;
}

PowerSeries compute_power(const hw::HwConfig& cfg, const sim::SimResult& r, const TimeBuckets& buckets) {
    PowerSeries p;
    p.buckets = buckets;
    p.clock_hz = cfg.clock_hz();
    std::map<int, size_t> index;
    for (const auto& [chip, cycles] : r.chip_cycles) {
        index[chip] = p.chips.size();
        p.chips.push_back(chip);
    }
    const size_t nb = buckets.size();
    p.dynamic_J.resize(p.chips.size());
    p.static_J.assign(p.chips.size(), std::vector<double>(nb, 0.0));
    for (auto& per_component : p.dynamic_J)
        for (auto& series : per_component) series.assign(nb, 0.0);
    if (nb == 0) return p;

    std::vector<std::array<double, kCarriers>> energy(p.chips.size()), weights(p.chips.size());
    for (size_t c = 0; c < p.chips.size(); ++c) {
        energy[c] = r.stats ? carrier_energy_J(cfg, [&](const char* name) { return r.stats->value(fmt::format("chip{}.{}", p.chips[c], name)); })
                            : std::array<double, kCarriers>{};
        weights[c] = {};
    }
    const std::vector<sim::ExecRecord> none;
    const auto& records = r.records ? *r.records : none;
    for (const auto& rec : records) {
        const auto chip = index.find(static_cast<int>(rec.chip));
        if (chip == index.end()) continue;
        for (int k = 0; k < kCarriers; ++k) weights[chip->second][static_cast<size_t>(k)] += weight(rec, k);
    }
    // Spread `joules` over [start, start + busy) in proportion to overlap; an instantaneous
    // record puts it in the bucket of its start.
    auto spread = [&](std::vector<double>& series, uint64_t start, uint64_t busy, double joules) {
        if (busy == 0) {
            series[buckets.bucket_of(start)] += joules;
            return;
        }
        buckets.for_overlaps(start, start + busy, [&](size_t b, uint64_t overlap) {
            series[b] += joules * static_cast<double>(overlap) / static_cast<double>(busy);
        });
    };
    for (const auto& rec : records) {
        const auto chip = index.find(static_cast<int>(rec.chip));
        if (chip == index.end()) continue;
        const size_t c = chip->second;
        for (int k = 0; k < kCarriers; ++k) {
            const double w = weight(rec, k);
            const size_t ks = static_cast<size_t>(k);
            if (w <= 0 || weights[c][ks] <= 0 || energy[c][ks] == 0) continue;
            const uint64_t end = std::min(rec.start + rec.busy, buckets.edges.back());
            const uint64_t start = std::min(rec.start, end);
            spread(p.dynamic_J[c][static_cast<size_t>(kComponentOf[ks])], start, end - start,
                   energy[c][ks] * w / weights[c][ks]);
        }
    }
    // Energy in the counters that no record carries (not expected): evenly over the run.
    const double run_cycles = static_cast<double>(buckets.edges.back());
    for (size_t c = 0; c < p.chips.size(); ++c) {
        for (size_t k = 0; k < kCarriers; ++k) {
            if (weights[c][k] > 0 || energy[c][k] == 0) continue;
            auto& series = p.dynamic_J[c][static_cast<size_t>(kComponentOf[k])];
            for (size_t b = 0; b < nb; ++b)
                series[b] += energy[c][k] * static_cast<double>(buckets.length(b)) / run_cycles;
        }
        for (size_t b = 0; b < nb; ++b) p.static_J[c][b] = cfg.energy.static_W * p.bucket_seconds(b);
    }
    return p;
}

std::string power_csv(const PowerSeries& p) {
    std::vector<std::string> header = {"chip", "bucket_start_cycle", "bucket_end_cycle", "bucket_duration_s"};
    for (const char* c : kEnergyComponentNames) header.push_back(fmt::format("{}_J", c));
    for (const char* c : {"static_J", "energy_J", "power_W"}) header.push_back(c);
    std::string out = csv_line(header);
    for (size_t c = 0; c < p.chips.size(); ++c) {
        for (size_t b = 0; b < p.buckets.size(); ++b) {
            const double seconds = p.bucket_seconds(b);
            std::vector<std::string> f = {std::to_string(p.chips[c]), std::to_string(p.buckets.edges[b]),
                                          std::to_string(p.buckets.edges[b + 1]), csv_number(seconds)};
            for (const auto& component : p.dynamic_J[c]) f.push_back(csv_number(component[b]));
            const double joules = p.energy_J(c, b);
            f.push_back(csv_number(p.static_J[c][b]));
            f.push_back(csv_number(joules));
            f.push_back(csv_number(seconds > 0 ? joules / seconds : 0));
            out += csv_line(f);
        }
    }
    return out;
}

}  // namespace lpu::report
