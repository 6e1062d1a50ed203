// The hardware configuration: every parameter of the modelled machine, loaded from YAML
// (configs/*.yaml) and validated. Defaults and their sources are in configs/tsp-v1.yaml;
// this struct has no defaults of its own so that a config file always says what it models.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/yaml_fields.hpp"
#include "isa/opcodes.hpp"

namespace lpu::hw {

struct ClockConfig {
    double frequency_MHz = 0;
};

struct LaneConfig {
    int superlanes = 0;
    int lanes_per_superlane = 0;
    int skew_cycles_per_superlane = 0;  // an instruction reaches superlane i i*skew cycles late
    int lanes() const { return superlanes * lanes_per_superlane; }
};

struct StreamConfig {
    int registers_per_direction = 0;
    int hop_cycles = 0;  // cycles per slice crossed
};

struct MemConfig {
    int slices = 0;  // total, split evenly between the two hemispheres
    int tiles_per_slice = 0;
    int words_per_tile = 0;
    int word_bytes = 0;
    int banks_per_slice = 0;
    int read_latency_cycles = 0;
    int write_latency_cycles = 0;
    int64_t slice_bytes() const { return int64_t{tiles_per_slice} * words_per_tile * word_bytes; }
    int64_t vectors_per_slice() const { return words_per_tile; }  // one vector = one word in every tile
};

struct MxmConfig {
    int planes = 0;
    int rows = 0;
    int cols = 0;
    std::vector<std::string> precisions;  // e.g. int8, fp16
    int fp16_cycles_per_vector = 0;       // fp16 runs at 1/4 of the int8 rate
    int64_t install_bytes_per_cycle = 0;  // into all planes together
    bool weight_double_buffering = false;
    int iw_cycles = 0;
    int acc_drain_vectors_per_cycle = 0;  // int32 result rows per cycle
    int64_t accumulator_rows = 0;         // int32 result rows the accumulators hold per plane
    std::vector<std::string> install_unpack_formats;  // packed formats unpacked in the install path
};

struct VxmConfig {
    int alus_per_lane = 0;
    std::map<std::string, int> op_latency_cycles;  // per mnemonic without prefix: add, exp, ...
    std::map<std::string, int> unpack_alu_ops_per_vector;  // per packed format
};

struct SxmConfig {
    int units = 0;
    std::map<std::string, int> op_latency_cycles;
};

struct IcuConfig {
    int queues = 0;
    int sync_cycles = 0;
    int notify_cycles = 0;
    int ifetch_words_per_cycle = 0;
};

struct C2cConfig {
    int links = 0;
    int lanes_per_link = 0;
    double lane_rate_Gbps = 0;
    double encoding_efficiency = 0;  // line code (64b/66b ...)
    int flit_payload_bytes = 0;
    int flit_bytes = 0;
    int hop_latency_cycles = 0;
    int deskew_cycles = 0;
    double link_bytes_per_s() const { return lanes_per_link * lane_rate_Gbps * 1e9 / 8 * encoding_efficiency; }
};

struct MemoryInterfaceConfig {
    std::string kind;  // none, dram, hbm
    int channels = 0;
    double channel_GBps = 0;
    int latency_cycles = 0;
    int64_t capacity_bytes = 0;
    int64_t request_bytes = 0;
    bool present() const { return kind != "none"; }
    double bytes_per_s() const { return present() ? channels * channel_GBps * 1e9 : 0; }
};

struct SystemConfig {
    int chips = 0;
    int chips_per_node = 0;
    int nodes_per_rack = 0;
    int intra_node_hops = 0;  // links crossed between two chips of a node
    int inter_node_hops = 0;  // within a rack
    int inter_rack_hops = 0;
};

struct EnergyConfig {
    double mac_int8_pJ = 0;
    double mac_fp16_pJ = 0;
    double sram_read_pJ_per_byte = 0;
    double sram_write_pJ_per_byte = 0;
    double stream_hop_pJ_per_byte = 0;
    double mxm_install_pJ_per_byte = 0;
    double vxm_op_pJ_per_lane = 0;
    double sxm_op_pJ_per_byte = 0;
    double c2c_pJ_per_byte = 0;
    double mem_if_pJ_per_byte = 0;
    double static_W = 0;
};

struct HwConfig {
    std::string name;
    std::string source_file;
    ClockConfig clock;
    LaneConfig lanes;
    StreamConfig streams;
    MemConfig mem;
    MxmConfig mxm;
    VxmConfig vxm;
    SxmConfig sxm;
    IcuConfig icu;
    C2cConfig c2c;
    MemoryInterfaceConfig memory_interface;
    SystemConfig system;
    EnergyConfig energy;

    int vector_bytes() const { return lanes.lanes(); }  // one byte per lane per stream
    double clock_hz() const { return clock.frequency_MHz * 1e6; }
};

// Load and validate; throws InputError (exit 2) on any problem. Overrides are
// `dotted.path=value` strings applied before validation.
HwConfig load_hw_config(const std::string& path, const std::vector<std::string>& overrides = {});
HwConfig load_hw_config_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides = {});

// The VXM op names a config must give latencies for, and the SXM ones.
const std::vector<std::string>& vxm_op_names();
const std::vector<std::string>& sxm_op_names();
const std::vector<std::string>& packed_format_names();  // int4, int3p5, int3p5b

}  // namespace lpu::hw
