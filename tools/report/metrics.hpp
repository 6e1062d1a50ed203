// Run metrics computed once from the statistics registry and the config: utilization per
// unit kind, bytes per level, energy and power. Every figure is defined in docs/metrics.md.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "hw/config.hpp"
#include "hw/derived.hpp"
#include "sim/simulation.hpp"

namespace lpu::report {

// The energy model (docs/power.md): dynamic energy per carrier, in J, from the activity
// counters `counter(name)` returns (one chip's, or summed over chips).
enum EnergyCarrier { kMac, kSramRead, kSramWrite, kStream, kInstall, kVxm, kSxm, kC2c, kMemIf, kCarriers };
std::array<double, kCarriers> carrier_energy_J(const hw::HwConfig& cfg, const std::function<double(const char*)>& counter);

struct EnergyBreakdown {
    std::map<std::string, double> dynamic_J;  // mac, sram, stream, install, vxm, sxm, c2c, mem_if
    double static_J = 0;
    double total_J() const;
};

struct RunMetrics {
    std::string hw_name;
    uint64_t cycles = 0;
    double seconds = 0;
    int simulated_chips = 0;
    uint64_t instructions = 0;
    double wall_seconds = 0;
    std::map<std::string, double> utilization;  // per unit kind and derived resources, 0..1
    // The same over each chip's active cycles (active_cycles_per_chip) instead of the whole
    // run: how busy a pipeline stage's units are while it works, not diluted by the turns of
    // the stages before and after it.
    std::map<std::string, double> utilization_active;
    uint64_t active_chip_cycles = 0;  // sum over simulated chips of their active cycles
    std::map<std::string, double> bytes;        // per level, summed over simulated chips
    double macs = 0;                            // int8 + fp16 MACs on installed weights
    double mac_slots = 0;
    double bank_conflicts = 0;
    double bank_conflict_cycles = 0;
    EnergyBreakdown energy;                     // simulated chips
    double average_power_W_per_chip = 0;
};

RunMetrics compute_metrics(const hw::HwConfig& cfg, const sim::SimResult& r);

// A chip's active cycles: the union of the busy intervals of its units other than the ICU
// (ICU waits and C2C receives, which wait for their sender, are not work). Per simulated chip
// with busy records.
std::map<int, uint64_t> active_cycles_per_chip(const sim::SimResult& r);
uint64_t active_chip_cycles(const sim::SimResult& r);

// The summary.json body for a program run (workload runs add their own keys).
nlohmann::ordered_json metrics_json(const RunMetrics& m);
// Terminal summary.
std::string metrics_text(const RunMetrics& m);

}  // namespace lpu::report
