// Roofline (roofline.csv, roofline_roofs.csv): every breakdown row with arithmetic as a
// point, its arithmetic intensity against its achieved ops/s per chip, under the roofs of
// the hardware config (hw::derive): MXM and VXM peaks, and the bandwidths of SRAM, the MXM
// weight-install path, C2C and the memory interface.
//
// Two intensities are reported: over all the point's bytes (intensity_ops_per_byte), and
// over its memory traffic only, the bytes at levels that have a bandwidth roof: SRAM,
// install, C2C, memory interface (memory_intensity_ops_per_byte). Stream bytes are operand
// movement between units, bounded by the units' own ports (that is, by the compute roof)
// and given no bandwidth by the config, so the bandwidth roofs apply to memory traffic:
//   compute roof   = sum of the peaks of the unit kinds its ops ran on (MXM at the int8
//                    peak, the upper bound, as records do not carry the precision; VXM);
//   bandwidth roof = sum of the bandwidths of the memory levels its bytes moved at, times
//                    its memory intensity; none without memory traffic;
//   roof           = the lower of the two.
// The plot's x axis is the memory intensity (points without memory traffic are drawn at
// the right edge). Roofs are per chip, and so is the achieved rate: ops / chips / active
// seconds. No point can lie above its roof in a correct simulation; roofline_violations()
// checks that. Details: docs/metrics.md, "roofline.csv".
#pragma once

#include <string>
#include <vector>

#include "hw/config.hpp"
#include "tools/report/breakdown.hpp"

namespace lpu::report {

class CsvTable;

struct Roof {
    std::string name;  // mxm_int8, mxm_fp16, vxm, sram, mxm_install, c2c, mem_if
    bool compute = true;
    double value = 0;               // ops/s (compute) or bytes/s (bandwidth), per chip
    double ridge_ops_per_byte = 0;  // bandwidth roofs: mxm_int8 peak / bandwidth
    std::string description;
};

// The config's roofs, per chip; roofs of value 0 (no fp16, no memory interface) omitted.
std::vector<Roof> config_roofs(const hw::HwConfig& cfg);
std::string roofs_csv(const std::vector<Roof>& roofs);
std::vector<Roof> roofs_from_csv(const CsvTable& t);  // InputError on bad fields
inline constexpr const char* kRoofsFile = "roofline_roofs.csv";

struct RooflinePoint {
    std::string category;
    std::string layer;  // "all" or the layer number
    int chips = 0;
    double ops = 0;
    double mxm_ops = 0, vxm_ops = 0;
    std::array<double, kByteLevels> bytes{};
    double bytes_total = 0;   // every level
    double bytes_memory = 0;  // levels with a bandwidth roof: sram, install, c2c, mem_if
    uint64_t active_cycles = 0;
    uint64_t active_chip_cycles = 0;           // sum over its chips of their own active cycles
    double intensity_ops_per_byte = 0;         // ops / bytes_total; inf if ops without bytes
    double memory_intensity_ops_per_byte = 0;  // ops / bytes_memory; inf if ops without
    double achieved_ops_per_s = 0;             // per chip while active: ops / active chip-seconds
    std::string compute_roof = "none";         // roof names joined by '+'
    std::string bandwidth_roof = "none";
    double roof_ops_per_s = 0;   // per chip, at this intensity
    std::string bound = "none";  // compute, bandwidth or none (no ops)
    double fraction_of_roof = 0;
};

// One point per breakdown row except idle (rows without ops have intensity 0 and are
// kept in the CSV but not plotted).
std::vector<RooflinePoint> compute_roofline(const hw::HwConfig& cfg, const Breakdown& b);
std::string roofline_csv(const std::vector<RooflinePoint>& points);
inline constexpr const char* kRooflineFile = "roofline.csv";

// Points above their roof: for each, recomputes the ceiling from the point's ops per unit
// kind and bytes per level with the roofs given (not from its stored roof columns), and
// flags achieved > ceiling x (1 + rel_tol). One message per violation; empty if none.
std::vector<std::string> roofline_violations(const std::vector<RooflinePoint>& points,
                                             const std::vector<Roof>& roofs, double rel_tol = 1e-9);

}  // namespace lpu::report
