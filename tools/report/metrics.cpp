#include "tools/report/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sim/engine.hpp"
#include "tools/report/breakdown.hpp"

namespace lpu::report {

std::array<double, kCarriers> carrier_energy_J(const hw::HwConfig& cfg, const std::function<double(const char*)>& counter) {
    const auto& e = cfg.energy;
    constexpr double pJ = 1e-12;
    std::array<double, kCarriers> j{};
    j[kMac] = (counter("mxm.macs_int8") * e.mac_int8_pJ + counter("mxm.macs_fp16") * e.mac_fp16_pJ) * pJ;
    j[kSramRead] = counter("bytes.sram_read") * e.sram_read_pJ_per_byte * pJ;
    j[kSramWrite] = counter("bytes.sram_write") * e.sram_write_pJ_per_byte * pJ;
    j[kStream] = counter("bytes.stream_hops") * e.stream_hop_pJ_per_byte * pJ;
    j[kInstall] = counter("bytes.mxm_install") * e.mxm_install_pJ_per_byte * pJ;
    j[kVxm] = counter("vxm.lane_ops") * e.vxm_op_pJ_per_lane * pJ;
    j[kSxm] = counter("sxm.bytes") * e.sxm_op_pJ_per_byte * pJ;
    j[kC2c] = counter("bytes.c2c_wire") * e.c2c_pJ_per_byte * pJ;
    j[kMemIf] = counter("bytes.mem_if") * e.mem_if_pJ_per_byte * pJ;
    return j;
}

double EnergyBreakdown::total_J() const {
    double t = static_J;
    for (const auto& [k, v] : dynamic_J) t += v;
    return t;
}

std::map<int, uint64_t> active_cycles_per_chip(const sim::SimResult& r) {
    std::map<int, std::vector<std::pair<uint64_t, uint64_t>>> intervals;
    if (r.records)
        for (const sim::ExecRecord& rec : *r.records) {
            // Work, not waiting: ICU syncs and a receive's wait for its sender do not count.
            if (rec.unit == isa::Unit::Icu || rec.busy == 0 || rec.opcode == isa::Opcode::Recv) continue;
            intervals[static_cast<int>(rec.chip)].emplace_back(rec.start, rec.start + rec.busy);
        }
    std::map<int, uint64_t> out;
    for (auto& [chip, v] : intervals) out[chip] = union_cycles(std::move(v));
    return out;
}

uint64_t active_chip_cycles(const sim::SimResult& r) {
    uint64_t total = 0;
    for (const auto& [chip, cycles] : active_cycles_per_chip(r)) total += cycles;
    return total;
}

RunMetrics compute_metrics(const hw::HwConfig& cfg, const sim::SimResult& r) {
    const auto& s = *r.stats;
    const auto d = hw::derive(cfg);
    RunMetrics m;
    m.hw_name = cfg.name;
    m.cycles = r.cycles;
    m.seconds = r.seconds;
    m.simulated_chips = static_cast<int>(r.chip_cycles.size());
    m.instructions = r.instructions;
    m.wall_seconds = r.wall_seconds;
    const double chip_cycles = static_cast<double>(r.cycles) * std::max(m.simulated_chips, 1);
    auto util = [&](const std::string& busy_counter, double instances) {
        if (chip_cycles <= 0 || instances <= 0) return 0.0;
        return s.sum_over_chips(busy_counter) / (chip_cycles * instances);
    };
    m.utilization["mxm"] = util("mxm.busy_cycles", cfg.mxm.planes);
    m.utilization["mem"] = util("mem.busy_cycles", static_cast<double>(cfg.mem.slices) * cfg.mem.banks_per_slice);
    m.utilization["vxm"] = util("vxm.busy_cycles", cfg.vxm.alus_per_lane);
    m.utilization["sxm"] = util("sxm.busy_cycles", cfg.sxm.units);
    m.utilization["c2c"] = util("c2c.busy_cycles", cfg.c2c.links);
    const double macs_int8 = s.sum_over_chips("mxm.macs_int8");
    const double macs_fp16 = s.sum_over_chips("mxm.macs_fp16");
    m.macs = macs_int8 + macs_fp16;
    m.mac_slots = s.sum_over_chips("mxm.mac_slots");
    // MAC utilization: useful MACs against the peak of the configured arrays (fp16 counts
    // fp16_cycles_per_vector slots per MAC, since it runs at that fraction of the rate).
    m.utilization["mxm_macs"] =
        chip_cycles > 0 ? (macs_int8 + macs_fp16 * cfg.mxm.fp16_cycles_per_vector) /
                              (static_cast<double>(d.mxm_macs_per_cycle_int8) * chip_cycles)
                        : 0;
    m.bytes["sram_read"] = s.sum_over_chips("bytes.sram_read");
    m.bytes["sram_write"] = s.sum_over_chips("bytes.sram_write");
    m.bytes["stream"] = s.sum_over_chips("bytes.stream");
    m.bytes["mxm_install"] = s.sum_over_chips("bytes.mxm_install");
    m.bytes["mem_if"] = s.sum_over_chips("bytes.mem_if");
    m.bytes["c2c"] = s.sum_over_chips("bytes.c2c");
    m.utilization["mxm_install"] =
        chip_cycles > 0 ? m.bytes["mxm_install"] / (static_cast<double>(d.mxm_install_bytes_per_cycle) * chip_cycles) : 0;
    m.utilization["sram_read"] =
        chip_cycles > 0 ? m.bytes["sram_read"] / (static_cast<double>(d.sram_read_bytes_per_cycle) * chip_cycles) : 0;
    m.utilization["mem_if"] = d.mem_if_bytes_per_s > 0 && m.seconds > 0
                                  ? m.bytes["mem_if"] / (d.mem_if_bytes_per_s * m.seconds * std::max(m.simulated_chips, 1))
                                  : 0;
    m.active_chip_cycles = active_chip_cycles(r);
    const double active = static_cast<double>(m.active_chip_cycles);
    for (const auto& [k, v] : m.utilization) m.utilization_active[k] = active > 0 ? v * chip_cycles / active : 0;
    m.bank_conflicts = s.sum_over_chips("mem.bank_conflicts");
    m.bank_conflict_cycles = s.sum_over_chips("mem.bank_conflict_cycles");

    const auto j = carrier_energy_J(cfg, [&](const char* name) { return s.sum_over_chips(name); });
    m.energy.dynamic_J["mac"] = j[kMac];
    m.energy.dynamic_J["sram"] = j[kSramRead] + j[kSramWrite];
    m.energy.dynamic_J["stream"] = j[kStream];
    m.energy.dynamic_J["install"] = j[kInstall];
    m.energy.dynamic_J["vxm"] = j[kVxm];
    m.energy.dynamic_J["sxm"] = j[kSxm];
    m.energy.dynamic_J["c2c"] = j[kC2c];
    m.energy.dynamic_J["mem_if"] = j[kMemIf];
    m.energy.static_J = cfg.energy.static_W * m.seconds * std::max(m.simulated_chips, 1);
    m.average_power_W_per_chip = m.seconds > 0 ? m.energy.total_J() / m.seconds / std::max(m.simulated_chips, 1) : 0;
    return m;
}

nlohmann::ordered_json metrics_json(const RunMetrics& m) {
    nlohmann::ordered_json j;
    j["hw"] = m.hw_name;
    j["cycles"] = m.cycles;
    j["seconds"] = m.seconds;
    j["simulated_chips"] = m.simulated_chips;
    j["instructions"] = m.instructions;
    j["utilization"] = m.utilization;
    j["utilization_active"] = m.utilization_active;
    j["active_fraction"] = m.cycles > 0 && m.simulated_chips > 0
                               ? static_cast<double>(m.active_chip_cycles) /
                                     (static_cast<double>(m.cycles) * m.simulated_chips)
                               : 0;
    j["bytes"] = m.bytes;
    j["macs"] = m.macs;
    j["mac_slots"] = m.mac_slots;
    j["mem"] = {{"bank_conflicts", m.bank_conflicts}, {"bank_conflict_cycles", m.bank_conflict_cycles}};
    nlohmann::ordered_json e;
    for (const auto& [k, v] : m.energy.dynamic_J) e[k + "_J"] = v;
    e["static_J"] = m.energy.static_J;
    e["total_J"] = m.energy.total_J();
    j["energy"] = e;
    j["average_power_W_per_chip"] = m.average_power_W_per_chip;
    return j;
}

namespace {

// A fraction as a percentage with three significant digits: 0.0123% stays readable.
std::string percent3(double fraction) {
    const double p = 100 * fraction;
    if (p == 0) return "0%";
    return fmt::format("{:.3g}%", p);
}

}  // namespace

std::string metrics_text(const RunMetrics& m) {
    std::string out = fmt::format("{}: {} cycles = {:.6g} s on {} simulated chip(s), {} instructions\n", m.hw_name,
                                  m.cycles, m.seconds, m.simulated_chips, m.instructions);
    const double chip_cycles = static_cast<double>(m.cycles) * std::max(m.simulated_chips, 1);
    // Several chips (pipeline stages) take turns: the run-wide figure hides what each does.
    const bool windowed = m.simulated_chips > 1 && chip_cycles > 0 && static_cast<double>(m.active_chip_cycles) < chip_cycles;
    if (windowed) {
        out += fmt::format("utilization while active (the cycles in which a chip's units work: {} of the run, on average):",
                           percent3(static_cast<double>(m.active_chip_cycles) / chip_cycles));
        for (const auto& [k, v] : m.utilization_active) out += fmt::format("  {} {}", k, percent3(v));
        out += "\nutilization over the whole run:";
    } else {
        out += "utilization:";
    }
    for (const auto& [k, v] : m.utilization) out += fmt::format("  {} {}", k, percent3(v));
    out += "\nbytes (simulated chips):";
    for (const auto& [k, v] : m.bytes) out += fmt::format("  {} {:.4g}", k, v);
    out += fmt::format(
        "\nsimulated chips: MACs {:.6g}; bank conflicts {} ({} cycles); energy {:.4g} J; average power {:.1f} W/chip\n",
        m.macs, m.bank_conflicts, m.bank_conflict_cycles, m.energy.total_J(), m.average_power_W_per_chip);
    return out;
}

}  // namespace lpu::report
