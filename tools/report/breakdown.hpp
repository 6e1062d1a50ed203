// Per-operation breakdown of a run (breakdown.csv and the terminal table): for every
// breakdown category (the instructions' tags: weight_install, matmul, attention, ...) and,
// when instructions carry layer tags, every layer of it, how many instructions ran, how
// long they held their units and for what part of the run some of them were active, with
// their ops and bytes per memory level. Columns are defined in docs/metrics.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/simulation.hpp"

namespace lpu::report {

// The memory levels of ExecRecord::level that carry bytes, in column order.
inline constexpr int kByteLevels = 5;
inline constexpr std::array<const char*, kByteLevels> kByteLevelNames = {"sram", "stream", "install", "c2c",
                                                                         "mem_if"};

struct BreakdownRow {
    std::string category;
    std::optional<int> layer;  // nullopt: all layers (the "all" row); -1: untagged instructions
    bool idle = false;         // the "idle" row: cycles in which no unit but the ICU was active
    uint64_t instructions = 0;
    uint64_t busy_cycles = 0;    // sum of the records' busy cycles
    uint64_t active_cycles = 0;  // length of the union of the records' [start, start + busy)
    double share_of_time = 0;    // active_cycles / run cycles
    double ops = 0;
    double macs = 0;  // ops / 2 of the MXM records
    std::array<double, kByteLevels> bytes{};
    // Not in the CSV; used by the roofline.
    double mxm_ops = 0, vxm_ops = 0;
    int chips = 0;  // simulated chips with records in this row
    // Sum over those chips of the union of their own records' intervals: the chip-cycles in
    // which the row was active (a category spread over pipeline stages that run one after
    // another is active on each stage only while that stage runs it).
    uint64_t active_chip_cycles = 0;

    double bytes_total() const;
    std::string layer_text() const { return layer ? std::to_string(*layer) : "all"; }
};

struct Breakdown {
    uint64_t run_cycles = 0;
    // Categories by name; per category its "all" row, then its layers in ascending order
    // (only for categories with layer-tagged instructions); the "idle" row last.
    std::vector<BreakdownRow> rows;
};

Breakdown compute_breakdown(const sim::SimResult& r);

// Exact length of the union of half-open intervals [first, second) (sort and merge).
uint64_t union_cycles(std::vector<std::pair<uint64_t, uint64_t>> intervals);

std::string breakdown_csv(const Breakdown& b);
inline constexpr const char* kBreakdownFile = "breakdown.csv";

// Terminal table: the `top` categories with the most active cycles, then idle.
std::string breakdown_table(const Breakdown& b, size_t top = 12);
std::string breakdown_table(const sim::SimResult& r, size_t top = 12);

}  // namespace lpu::report
