#include "hw/derived.hpp"

#include <algorithm>

namespace lpu::hw {

DerivedFigures derive(const HwConfig& c) {
    DerivedFigures d;
    d.clock_hz = c.clock_hz();
    d.chips = c.system.chips;
    d.lanes = c.lanes.lanes();
    d.vector_bytes = c.vector_bytes();
    d.mxm_macs_per_cycle_int8 = int64_t{c.mxm.planes} * c.mxm.rows * c.mxm.cols;
    const bool has_int8 = std::count(c.mxm.precisions.begin(), c.mxm.precisions.end(), "int8") > 0;
    const bool has_fp16 = std::count(c.mxm.precisions.begin(), c.mxm.precisions.end(), "fp16") > 0;
    d.peak_int8_ops_per_s = has_int8 ? 2.0 * static_cast<double>(d.mxm_macs_per_cycle_int8) * d.clock_hz : 0;
    d.peak_fp16_flops_per_s =
        has_fp16 ? 2.0 * static_cast<double>(d.mxm_macs_per_cycle_int8) * d.clock_hz / c.mxm.fp16_cycles_per_vector : 0;
    d.sram_bytes = int64_t{c.mem.slices} * c.mem.slice_bytes();
    // Each bank serves one vector access (read or write) per cycle [TSP20 sec. 3.3].
    d.sram_read_bytes_per_cycle = int64_t{c.mem.slices} * c.mem.banks_per_slice * d.vector_bytes;
    d.sram_write_bytes_per_cycle = d.sram_read_bytes_per_cycle;
    d.sram_read_bytes_per_s = static_cast<double>(d.sram_read_bytes_per_cycle) * d.clock_hz;
    d.mxm_install_bytes_per_cycle = c.mxm.install_bytes_per_cycle;
    d.mxm_install_bytes_per_s = static_cast<double>(c.mxm.install_bytes_per_cycle) * d.clock_hz;
    d.mxm_full_install_cycles =
        static_cast<double>(int64_t{c.mxm.planes} * c.mxm.rows * c.mxm.cols) / static_cast<double>(c.mxm.install_bytes_per_cycle);
    d.vxm_alu_ops_per_cycle = int64_t{d.lanes} * c.vxm.alus_per_lane;
    d.c2c_link_bytes_per_s = c.c2c.link_bytes_per_s();
    d.c2c_bytes_per_s =
        c.c2c.links * d.c2c_link_bytes_per_s * c.c2c.flit_payload_bytes / static_cast<double>(c.c2c.flit_bytes);
    d.mem_if_bytes_per_s = c.memory_interface.bytes_per_s();
    d.system_sram_bytes = d.sram_bytes * c.system.chips;
    return d;
}

std::vector<FigureRow> figure_rows(const DerivedFigures& d) {
    return {
        {"clock_hz", "clock", d.clock_hz, "Hz"},
        {"chips", "chips", static_cast<double>(d.chips), "chips"},
        {"lanes", "lanes", static_cast<double>(d.lanes), "lanes"},
        {"vector_bytes", "vector size", static_cast<double>(d.vector_bytes), "B"},
        {"mxm_macs_per_cycle_int8", "MXM int8 MACs", static_cast<double>(d.mxm_macs_per_cycle_int8), "MAC/cycle"},
        {"peak_int8_ops_per_s", "peak int8", d.peak_int8_ops_per_s, "op/s"},
        {"peak_fp16_flops_per_s", "peak fp16", d.peak_fp16_flops_per_s, "FLOP/s"},
        {"sram_bytes", "SRAM capacity", static_cast<double>(d.sram_bytes), "B"},
        {"sram_read_bytes_per_cycle", "SRAM read bandwidth", static_cast<double>(d.sram_read_bytes_per_cycle), "B/cycle"},
        {"sram_write_bytes_per_cycle", "SRAM write bandwidth", static_cast<double>(d.sram_write_bytes_per_cycle), "B/cycle"},
        {"sram_read_bytes_per_s", "SRAM read bandwidth", d.sram_read_bytes_per_s, "B/s"},
        {"mxm_install_bytes_per_cycle", "MXM weight install", static_cast<double>(d.mxm_install_bytes_per_cycle), "B/cycle"},
        {"mxm_install_bytes_per_s", "MXM weight install", d.mxm_install_bytes_per_s, "B/s"},
        {"mxm_full_install_cycles", "install all planes", d.mxm_full_install_cycles, "cycles"},
        {"vxm_alu_ops_per_cycle", "VXM ALU ops", static_cast<double>(d.vxm_alu_ops_per_cycle), "op/cycle"},
        {"c2c_link_bytes_per_s", "C2C per link (line)", d.c2c_link_bytes_per_s, "B/s"},
        {"c2c_bytes_per_s", "C2C per chip (payload)", d.c2c_bytes_per_s, "B/s"},
        {"mem_if_bytes_per_s", "memory interface", d.mem_if_bytes_per_s, "B/s"},
        {"system_sram_bytes", "system SRAM", static_cast<double>(d.system_sram_bytes), "B"},
    };
}

}  // namespace lpu::hw
