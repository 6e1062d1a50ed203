// Power over time (power.csv): the run's energy, exactly as summary.json computes it from
// the statistics counters (per chip and component, same formulas as compute_metrics), is
// placed in time by the instructions that spent it: each component's energy on a chip is
// shared among that chip's records carrying the component (MACs by ops, SRAM by bytes, ...)
// in proportion to their activity, and each record's share is spread evenly over its busy
// interval. Static power is spread evenly over the run. So the bucketed energy sums to
// RunMetrics::energy (to rounding), while the time profile is an approximation: see
// docs/metrics.md, "power.csv", for what each component's profile follows.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "sim/simulation.hpp"
#include "sim/stats.hpp"
#include "tools/report/utilization.hpp"

namespace lpu::report {

// The dynamic energy components, as RunMetrics::energy.dynamic_J names them.
inline constexpr int kEnergyComponents = 8;
inline constexpr std::array<const char*, kEnergyComponents> kEnergyComponentNames = {
    "mac", "sram", "stream", "install", "vxm", "sxm", "c2c", "mem_if"};

// One chip's dynamic energy per component, in J, from its counters (chip<N>.*).
std::array<double, kEnergyComponents> chip_dynamic_energy_J(const hw::HwConfig& cfg,
                                                            const sim::StatsRegistry& stats, int chip);

struct PowerSeries {
    TimeBuckets buckets;
    double clock_hz = 0;
    std::vector<int> chips;  // simulated chips, ascending
    // dynamic_J[chip index][component][bucket]; static_J[chip index][bucket]
    std::vector<std::array<std::vector<double>, kEnergyComponents>> dynamic_J;
    std::vector<std::vector<double>> static_J;

    double bucket_seconds(size_t b) const { return static_cast<double>(buckets.length(b)) / clock_hz; }
    double energy_J(size_t chip, size_t b) const;  // dynamic + static
    double total_J() const;                        // all chips, all buckets
};

PowerSeries compute_power(const hw::HwConfig& cfg, const sim::SimResult& r, const TimeBuckets& buckets);

std::string power_csv(const PowerSeries& p);
inline constexpr const char* kPowerFile = "power.csv";

}  // namespace lpu::report
