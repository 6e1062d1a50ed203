// Figures derived from a hardware config: peak rates, capacities and bandwidths.
// Every roof in the reports comes from here, so a number is computed once.
// Formulas are documented in docs/hardware.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hw/config.hpp"

namespace lpu::hw {

struct DerivedFigures {
    double clock_hz = 0;
    int chips = 0;
    int lanes = 0;
    int vector_bytes = 0;
    int64_t mxm_macs_per_cycle_int8 = 0;  // planes x rows x cols
    double peak_int8_ops_per_s = 0;       // 2 ops per MAC, per chip
    double peak_fp16_flops_per_s = 0;     // per chip; 0 if fp16 unsupported
    int64_t sram_bytes = 0;               // per chip
    int64_t sram_read_bytes_per_cycle = 0;
    int64_t sram_write_bytes_per_cycle = 0;
    double sram_read_bytes_per_s = 0;
    int64_t mxm_install_bytes_per_cycle = 0;
    double mxm_install_bytes_per_s = 0;
    double mxm_full_install_cycles = 0;   // all planes' weights, from empty
    int64_t vxm_alu_ops_per_cycle = 0;    // lanes x ALUs per lane
    double c2c_link_bytes_per_s = 0;      // raw line rate of one link
    double c2c_bytes_per_s = 0;           // payload bytes/s over all links of one chip (framing removed)
    double mem_if_bytes_per_s = 0;
    int64_t system_sram_bytes = 0;
};

DerivedFigures derive(const HwConfig& c);

// (label, value, unit) rows for `lpusim describe`, in a fixed order.
struct FigureRow {
    std::string key;  // JSON key
    std::string label;
    double value;
    std::string unit;
};
std::vector<FigureRow> figure_rows(const DerivedFigures& d);

}  // namespace lpu::hw
