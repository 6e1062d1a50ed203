#include "tools/report/utilization.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "hw/derived.hpp"
#include "sim/engine.hpp"
#include "tools/report/csv.hpp"

namespace lpu::report {

namespace {

// Index into kUnitKindNames, or -1 for units without a utilization (ICU, DMA).
int kind_of(isa::Unit u) {
    switch (u) {
        case isa::Unit::Mxm:
            return 0;
        case isa::Unit::Mem:
            return 1;
        case isa::Unit::Vxm:
            return 2;
        case isa::Unit::Sxm:
            return 3;
        case isa::Unit::C2c:
            return 4;
        default:
            return -1;
    }
}

}  // namespace

TimeBuckets make_buckets(uint64_t cycles, int count) {
    TimeBuckets t;
    if (cycles == 0 || count <= 0) return t;
    const uint64_t n = std::min<uint64_t>(cycles, static_cast<uint64_t>(count));
    t.edges.resize(n + 1);
    // Integer edges floor(b * cycles / n), split so that no product overflows 64 bits
    // (b * rem < n * n <= 2^62 since n <= count < 2^31).
    const uint64_t q = cycles / n, rem = cycles % n;
    for (uint64_t b = 0; b <= n; ++b) t.edges[b] = b * q + (b * rem) / n;
    return t;
}

size_t TimeBuckets::bucket_of(uint64_t c) const {
    const auto it = std::upper_bound(edges.begin(), edges.end(), c);
    const size_t after = static_cast<size_t>(it - edges.begin());
    return std::min(after == 0 ? 0 : after - 1, size() - 1);
}

std::array<double, kUnitKinds> unit_instances(const hw::HwConfig& cfg) {
    return {static_cast<double>(cfg.mxm.planes),
            static_cast<double>(cfg.mem.slices) * cfg.mem.banks_per_slice,
            static_cast<double>(cfg.vxm.alus_per_lane), static_cast<double>(cfg.sxm.units),
            static_cast<double>(cfg.c2c.links), static_cast<double>(hw::derive(cfg).mxm_install_bytes_per_cycle)};
}

UtilizationSeries compute_utilization(const hw::HwConfig& cfg, const sim::SimResult& r,
                                      const TimeBuckets& buckets) {
    UtilizationSeries u;
    u.buckets = buckets;
    std::map<int, size_t> index;
    for (const auto& [chip, cycles] : r.chip_cycles) {
        index[chip] = u.chips.size();
        u.chips.push_back(chip);
    }
    u.busy_fraction.resize(u.chips.size());
    for (auto& per_kind : u.busy_fraction)
        for (auto& series : per_kind) series.assign(buckets.size(), 0.0);
    if (r.records) {
        for (const sim::ExecRecord& rec : *r.records) {
            if (rec.opcode == isa::Opcode::Lw && rec.level == sim::Level::Install) {
                const auto chip = index.find(static_cast<int>(rec.chip));
                if (chip == index.end() || buckets.size() == 0) continue;
                auto& series = u.busy_fraction[chip->second][kInstallKind];
                if (rec.busy == 0) {
                    series[buckets.bucket_of(rec.start)] += rec.bytes;
                    continue;
                }
                buckets.for_overlaps(rec.start, rec.start + rec.busy, [&](size_t b, uint64_t overlap) {
                    series[b] += rec.bytes * static_cast<double>(overlap) / static_cast<double>(rec.busy);
                });
                continue;
            }
            const int kind = kind_of(rec.unit);
            if (kind < 0 || rec.busy == 0 || !sim::holds_primary_resource(rec.opcode)) continue;
            const auto chip = index.find(static_cast<int>(rec.chip));
            if (chip == index.end()) continue;
            auto& series = u.busy_fraction[chip->second][static_cast<size_t>(kind)];
            buckets.for_overlaps(rec.start, rec.start + rec.busy, [&](size_t b, uint64_t overlap) {
                series[b] += static_cast<double>(overlap);
            });
        }
    }
    const auto instances = unit_instances(cfg);
    for (auto& per_kind : u.busy_fraction)
        for (size_t k = 0; k < kUnitKinds; ++k)
            for (size_t b = 0; b < buckets.size(); ++b)
                per_kind[k][b] =
                    instances[k] > 0
                        ? per_kind[k][b] / (static_cast<double>(buckets.length(b)) * instances[k])
                        : 0;
    return u;
}

std::map<std::string, double> average_utilization(const UtilizationSeries& u) {
    std::map<std::string, double> avg;
    double total_cycles = 0;
    for (size_t b = 0; b < u.buckets.size(); ++b) total_cycles += static_cast<double>(u.buckets.length(b));
    for (size_t k = 0; k < kUnitKinds; ++k) {
        double weighted = 0;
        for (const auto& per_kind : u.busy_fraction)
            for (size_t b = 0; b < u.buckets.size(); ++b)
                weighted += per_kind[k][b] * static_cast<double>(u.buckets.length(b));
        const double denom = total_cycles * static_cast<double>(u.chips.size());
        avg[kUnitKindNames[k]] = denom > 0 ? weighted / denom : 0;
    }
    return avg;
}

std::string utilization_csv(const UtilizationSeries& u) {
    std::vector<std::string> header = {"chip", "bucket_start_cycle", "bucket_end_cycle"};
    for (const char* kind : kUnitKindNames) header.push_back(fmt::format("{}_busy_fraction", kind));
    std::string out = csv_line(header);
    for (size_t c = 0; c < u.chips.size(); ++c) {
        for (size_t b = 0; b < u.buckets.size(); ++b) {
            std::vector<std::string> f = {std::to_string(u.chips[c]), std::to_string(u.buckets.edges[b]),
                                          std::to_string(u.buckets.edges[b + 1])};
            for (size_t k = 0; k < kUnitKinds; ++k) f.push_back(csv_number(u.busy_fraction[c][k][b]));
            out += csv_line(f);
        }
    }
    return out;
}

}  // namespace lpu::report
