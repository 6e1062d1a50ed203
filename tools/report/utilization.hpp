// Utilization over time (utilization.csv): the run is cut into time buckets; per bucket,
// chip and unit kind, the fraction of that kind's instances that were busy. Busy means the
// same as in summary.json's utilization: the records whose opcode holds its unit's primary
// resource (sim::holds_primary_resource), so the bucket average over the run equals
// RunMetrics::utilization for mxm, mem, vxm, sxm, c2c and mxm_install. Columns: docs/metrics.md.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "sim/simulation.hpp"

namespace lpu::report {

// Bucket b covers cycles [edges[b], edges[b+1]): `count` buckets of near-equal whole-cycle
// length over [0, cycles) (fewer if the run is shorter than `count` cycles, none if empty).
struct TimeBuckets {
    std::vector<uint64_t> edges;
    size_t size() const { return edges.empty() ? 0 : edges.size() - 1; }
    uint64_t length(size_t b) const { return edges[b + 1] - edges[b]; }
    // Calls f(bucket, overlap_cycles) for every bucket [start, end) overlaps.
    template <class F>
    void for_overlaps(uint64_t start, uint64_t end, F&& f) const;
    // The bucket holding cycle c (the last one for c at or past the end).
    size_t bucket_of(uint64_t c) const;
};
TimeBuckets make_buckets(uint64_t cycles, int count);

// The unit kinds, and the MXM weight-install path (`mxm_install`): its fraction is the
// bytes installed over what the path moves at its bandwidth, as summary.json's
// utilization.mxm_install, spread over each `lw`'s busy cycles.
inline constexpr int kUnitKinds = 6;
inline constexpr size_t kInstallKind = 5;
inline constexpr std::array<const char*, kUnitKinds> kUnitKindNames = {"mxm", "mem", "vxm", "sxm", "c2c", "mxm_install"};
// Capacity of a unit kind per chip and cycle: instances (MXM planes, MEM banks = slices x
// banks, VXM ALUs per lane, SXM units, C2C links) or, for mxm_install, bytes per cycle.
std::array<double, kUnitKinds> unit_instances(const hw::HwConfig& cfg);

struct UtilizationSeries {
    TimeBuckets buckets;
    std::vector<int> chips;  // simulated chips, ascending
    // busy_fraction[chip index][kind][bucket], 0..1
    std::vector<std::array<std::vector<double>, kUnitKinds>> busy_fraction;
};

UtilizationSeries compute_utilization(const hw::HwConfig& cfg, const sim::SimResult& r,
                                      const TimeBuckets& buckets);
// Run average per kind name: weighted by bucket length, over all chips.
std::map<std::string, double> average_utilization(const UtilizationSeries& u);

std::string utilization_csv(const UtilizationSeries& u);
inline constexpr const char* kUtilizationFile = "utilization.csv";

template <class F>
void TimeBuckets::for_overlaps(uint64_t start, uint64_t end, F&& f) const {
    if (size() == 0 || end <= start) return;
    for (size_t b = bucket_of(start); b < size() && edges[b] < end; ++b) {
        const uint64_t lo = std::max(start, edges[b]), hi = std::min(end, edges[b + 1]);
        if (hi > lo) f(b, hi - lo);
    }
}

}  // namespace lpu::report
