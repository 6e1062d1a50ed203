#include "hw/config.hpp"

#include <fmt/format.h>

namespace lpu::hw {
namespace {

constexpr int64_t kBig = int64_t{1} << 40;

std::map<std::string, int> read_latency_table(FieldReader r, const std::vector<std::string>& names) {
    std::map<std::string, int> out;
    for (const auto& n : names) out[n] = static_cast<int>(r.get_int(n, 0, 100000));
    r.finish();
    return out;
}

void read_clock(FieldReader r, ClockConfig& c) {
    c.frequency_MHz = r.get_double("frequency_MHz", 1, 100000);
    r.finish();
}

void read_lanes(FieldReader r, LaneConfig& l) {
    l.superlanes = static_cast<int>(r.get_int("superlanes", 1, 1024));
    l.lanes_per_superlane = static_cast<int>(r.get_int("lanes_per_superlane", 1, 1024));
    l.skew_cycles_per_superlane = static_cast<int>(r.get_int("skew_cycles_per_superlane", 0, 1000));
    if (l.lanes() > 65536) r.fail("lanes_per_superlane", std::to_string(l.lanes_per_superlane),
                                  "superlanes x lanes_per_superlane <= 65536");
    r.finish();
}

void read_streams(FieldReader r, StreamConfig& s) {
    s.registers_per_direction = static_cast<int>(r.get_int("registers_per_direction", 1, 32));
    s.hop_cycles = static_cast<int>(r.get_int("hop_cycles", 0, 1000));
    r.finish();
}

void read_mem(FieldReader r, MemConfig& m, const LaneConfig& lanes) {
    m.slices = static_cast<int>(r.get_int("slices", 2, 4096));
    m.tiles_per_slice = static_cast<int>(r.get_int("tiles_per_slice", 1, 1024));
    m.words_per_tile = static_cast<int>(r.get_int("words_per_tile", 1, 1 << 24));
    m.word_bytes = static_cast<int>(r.get_int("word_bytes", 1, 1024));
    m.banks_per_slice = static_cast<int>(r.get_int("banks_per_slice", 1, 64));
    m.read_latency_cycles = static_cast<int>(r.get_int("read_latency_cycles", 0, 1000));
    m.write_latency_cycles = static_cast<int>(r.get_int("write_latency_cycles", 0, 1000));
    if (m.slices % 2 != 0)
        r.fail("slices", std::to_string(m.slices), "an even number (two mirrored hemispheres)");
    if (m.tiles_per_slice != lanes.superlanes)
        r.fail("tiles_per_slice", std::to_string(m.tiles_per_slice),
               fmt::format("one tile per superlane: lanes.superlanes = {}", lanes.superlanes));
    if (m.word_bytes != lanes.lanes_per_superlane)
        r.fail("word_bytes", std::to_string(m.word_bytes),
               fmt::format("one byte per lane of a superlane: lanes.lanes_per_superlane = {}",
                           lanes.lanes_per_superlane));
    if (m.words_per_tile % m.banks_per_slice != 0)
        r.fail("banks_per_slice", std::to_string(m.banks_per_slice),
               fmt::format("a divisor of words_per_tile ({})", m.words_per_tile));
    r.finish();
}

void read_mxm(FieldReader r, MxmConfig& m, const LaneConfig& lanes) {
    m.planes = static_cast<int>(r.get_int("planes", 1, 64));
    m.rows = static_cast<int>(r.get_int("rows", 1, 65536));
    m.cols = static_cast<int>(r.get_int("cols", 1, 65536));
    m.precisions = r.get_string_list("precisions");
    for (const auto& p : m.precisions)
        if (p != "int8" && p != "fp16") r.fail("precisions", p, "a list of: int8, fp16");
    if (m.precisions.empty()) r.fail("precisions", "[]", "at least one of int8, fp16");
    m.fp16_cycles_per_vector = static_cast<int>(r.get_int("fp16_cycles_per_vector", 1, 64));
    m.install_bytes_per_cycle = r.get_int("install_bytes_per_cycle", 1, kBig);
    m.weight_double_buffering = r.get_bool("weight_double_buffering");
    m.iw_cycles = static_cast<int>(r.get_int("iw_cycles", 0, 100000));
    m.acc_drain_vectors_per_cycle = static_cast<int>(r.get_int("acc_drain_vectors_per_cycle", 1, 64));
    m.accumulator_rows = r.get_int("accumulator_rows", 1, int64_t{1} << 24);
    m.install_unpack_formats = r.get_string_list("install_unpack_formats");
    for (const auto& f : m.install_unpack_formats) {
        bool ok = false;
        for (const auto& k : packed_format_names()) ok = ok || f == k;
        if (!ok) r.fail("install_unpack_formats", f, "a list of: int4, int3p5, int3p5b");
    }
    if (m.cols != lanes.lanes())
        r.fail("cols", std::to_string(m.cols),
               fmt::format("one column per lane: lanes = {}", lanes.lanes()));
    if (m.install_bytes_per_cycle % m.planes != 0)
        r.fail("install_bytes_per_cycle", std::to_string(m.install_bytes_per_cycle),
               fmt::format("a multiple of planes ({}) so each plane gets an equal share", m.planes));
    r.finish();
}

void read_vxm(FieldReader r, VxmConfig& v) {
    v.alus_per_lane = static_cast<int>(r.get_int("alus_per_lane", 1, 256));
    v.op_latency_cycles = read_latency_table(r.child("op_latency_cycles"), vxm_op_names());
    v.unpack_alu_ops_per_vector = read_latency_table(r.child("unpack_alu_ops_per_vector"), packed_format_names());
    for (const auto& [k, ops] : v.unpack_alu_ops_per_vector)
        if (ops < 1) r.fail("unpack_alu_ops_per_vector", fmt::format("{}: {}", k, ops), "at least 1 op per vector");
    r.finish();
}

void read_sxm(FieldReader r, SxmConfig& s) {
    s.units = static_cast<int>(r.get_int("units", 1, 64));
    s.op_latency_cycles = read_latency_table(r.child("op_latency_cycles"), sxm_op_names());
    r.finish();
}

void read_icu(FieldReader r, IcuConfig& i) {
    i.queues = static_cast<int>(r.get_int("queues", 1, 1 << 16));
    i.sync_cycles = static_cast<int>(r.get_int("sync_cycles", 0, 100000));
    i.notify_cycles = static_cast<int>(r.get_int("notify_cycles", 0, 100000));
    i.ifetch_words_per_cycle = static_cast<int>(r.get_int("ifetch_words_per_cycle", 1, 1024));
    r.finish();
}

void read_c2c(FieldReader r, C2cConfig& c) {
    c.links = static_cast<int>(r.get_int("links", 0, 1024));
    c.lanes_per_link = static_cast<int>(r.get_int("lanes_per_link", 1, 64));
    c.lane_rate_Gbps = r.get_double("lane_rate_Gbps", 0.001, 10000);
    c.encoding_efficiency = r.get_double("encoding_efficiency", 0.01, 1);
    c.flit_payload_bytes = static_cast<int>(r.get_int("flit_payload_bytes", 1, 1 << 20));
    c.flit_bytes = static_cast<int>(r.get_int("flit_bytes", 1, 1 << 20));
    c.hop_latency_cycles = static_cast<int>(r.get_int("hop_latency_cycles", 0, 1 << 24));
    c.deskew_cycles = static_cast<int>(r.get_int("deskew_cycles", 0, 1 << 24));
    if (c.flit_bytes < c.flit_payload_bytes)
        r.fail("flit_bytes", std::to_string(c.flit_bytes),
               fmt::format("at least flit_payload_bytes ({}): framing adds bytes", c.flit_payload_bytes));
    r.finish();
}

void read_memory_interface(FieldReader r, MemoryInterfaceConfig& m) {
    m.kind = r.get_enum("kind", {"none", "dram", "hbm"});
    if (m.kind == "none") {
        r.finish();  // a chip without off-chip memory has no further parameters
        return;
    }
    // Reported at `kind`: changing it (often by --set) is what makes the other fields needed.
    for (const char* k : {"channels", "channel_GBps", "latency_cycles", "capacity_bytes", "request_bytes"})
        if (!r.has(k))
            r.fail("kind", m.kind,
                   fmt::format("none, or {} together with its parameters channels, channel_GBps, latency_cycles, "
                               "capacity_bytes and request_bytes ('{}' is missing)",
                               m.kind, k));
    m.channels = static_cast<int>(r.get_int("channels", 1, 1024));
    m.channel_GBps = r.get_double("channel_GBps", 0.001, 1e6);
    m.latency_cycles = static_cast<int>(r.get_int("latency_cycles", 0, 1 << 24));
    m.capacity_bytes = r.get_int("capacity_bytes", 1, int64_t{1} << 50);
    m.request_bytes = r.get_int("request_bytes", 1, 1 << 20);
    r.finish();
}

void read_system(FieldReader r, SystemConfig& s) {
    s.chips = static_cast<int>(r.get_int("chips", 1, 1 << 16));
    s.chips_per_node = static_cast<int>(r.get_int("chips_per_node", 1, 1024));
    s.nodes_per_rack = static_cast<int>(r.get_int("nodes_per_rack", 1, 1024));
    s.intra_node_hops = static_cast<int>(r.get_int("intra_node_hops", 1, 64));
    s.inter_node_hops = static_cast<int>(r.get_int("inter_node_hops", 1, 64));
    s.inter_rack_hops = static_cast<int>(r.get_int("inter_rack_hops", 1, 64));
    if (s.chips > 1 && s.chips > s.chips_per_node && s.chips % s.chips_per_node != 0)
        r.fail("chips", std::to_string(s.chips), fmt::format("a multiple of chips_per_node ({})", s.chips_per_node));
    r.finish();
}

void read_energy(FieldReader r, EnergyConfig& e) {
    e.mac_int8_pJ = r.get_double("mac_int8_pJ", 0, 1e6);
    e.mac_fp16_pJ = r.get_double("mac_fp16_pJ", 0, 1e6);
    e.sram_read_pJ_per_byte = r.get_double("sram_read_pJ_per_byte", 0, 1e6);
    e.sram_write_pJ_per_byte = r.get_double("sram_write_pJ_per_byte", 0, 1e6);
    e.stream_hop_pJ_per_byte = r.get_double("stream_hop_pJ_per_byte", 0, 1e6);
    e.mxm_install_pJ_per_byte = r.get_double("mxm_install_pJ_per_byte", 0, 1e6);
    e.vxm_op_pJ_per_lane = r.get_double("vxm_op_pJ_per_lane", 0, 1e6);
    e.sxm_op_pJ_per_byte = r.get_double("sxm_op_pJ_per_byte", 0, 1e6);
    e.c2c_pJ_per_byte = r.get_double("c2c_pJ_per_byte", 0, 1e6);
    e.mem_if_pJ_per_byte = r.get_double("mem_if_pJ_per_byte", 0, 1e6);
    e.static_W = r.get_double("static_W", 0, 1e6);
    r.finish();
}

// What the workload compiler (docs/compiler.md) needs of the machine, so that a config it
// cannot target is refused here with the reason instead of compiling a program that fails
// at one of its lines, or dividing by zero.
void check_compilable(const std::shared_ptr<YamlSource>& src, const HwConfig& c) {
    FieldReader root = FieldReader::root(src);
    // Each MXM plane streams its weights from its own share of its hemisphere's MEM slices
    // (the west hemisphere holds planes 0 .. ceil(planes/2)-1).
    const int planes_per_hemisphere = (c.mxm.planes + 1) / 2;
    if (c.mem.slices / 2 < planes_per_hemisphere)
        root.child("mem").fail("slices", std::to_string(c.mem.slices),
                               fmt::format("at least {} slices (one per hemisphere for each of the {} MXM planes there, "
                                           "which stream their weights from their own slices)",
                                           2 * planes_per_hemisphere, planes_per_hemisphere));
    // The compiler's fixed stream-register plan: per plane 8 weight, 8 activation and 4
    // result registers (two planes per hemisphere, registers 0..25) plus 26..31 for VXM
    // pipelines.
    constexpr int kCompilerRegisters = 32;
    if (c.streams.registers_per_direction < kCompilerRegisters)
        root.child("streams").fail("registers_per_direction", std::to_string(c.streams.registers_per_direction),
                                   fmt::format("{} registers per direction (the compiler's stream plan uses registers "
                                               "0..{}: weights, activations and results of two planes per hemisphere, "
                                               "and the VXM pipelines)",
                                               kCompilerRegisters, kCompilerRegisters - 1));
    // One in-order ICU queue per functional unit the compiler drives.
    const int units = c.mem.slices + c.mxm.planes + c.vxm.alus_per_lane + c.sxm.units + c.c2c.links + 1;
    if (c.icu.queues < units)
        root.child("icu").fail("queues", std::to_string(c.icu.queues),
                               fmt::format("at least {} queues, one per functional unit: {} MEM slices + {} MXM planes + "
                                           "{} VXM ALUs + {} SXM units + {} C2C links + 1 DMA engine",
                                           units, c.mem.slices, c.mxm.planes, c.vxm.alus_per_lane, c.sxm.units,
                                           c.c2c.links));
}

HwConfig read_config(const std::shared_ptr<YamlSource>& src) {
    HwConfig c;
    c.source_file = src->file;
    FieldReader r = FieldReader::root(src);
    c.name = r.get_string("name");
    read_clock(r.child("clock"), c.clock);
    read_lanes(r.child("lanes"), c.lanes);
    read_streams(r.child("streams"), c.streams);
    read_mem(r.child("mem"), c.mem, c.lanes);
    read_mxm(r.child("mxm"), c.mxm, c.lanes);
    read_vxm(r.child("vxm"), c.vxm);
    read_sxm(r.child("sxm"), c.sxm);
    read_icu(r.child("icu"), c.icu);
    read_c2c(r.child("c2c"), c.c2c);
    read_memory_interface(r.child("memory_interface"), c.memory_interface);
    read_system(r.child("system"), c.system);
    read_energy(r.child("energy"), c.energy);
    r.finish();
    if (c.system.chips > 1 && c.c2c.links == 0)
        FieldReader::root(src).child("c2c").fail("links", "0", "at least 1 link when system.chips > 1");
    check_compilable(src, c);
    return c;
}

}  // namespace

const std::vector<std::string>& vxm_op_names() {
    static const std::vector<std::string> names = {"add",   "sub",  "mul", "max",   "min",   "adds",
                                                   "subs",  "muls", "addi", "muli", "relu",  "tanh",
                                                   "exp",   "rsqrt", "recip", "neg", "cvt", "unpack",
                                                   "dequant", "dequantz", "rsum", "rmax"};
    return names;
}

const std::vector<std::string>& sxm_op_names() {
    static const std::vector<std::string> names = {"shift", "rotate", "permute", "distribute", "transpose"};
    return names;
}

const std::vector<std::string>& packed_format_names() {
    static const std::vector<std::string> names = {"int4", "int3p5", "int3p5b"};
    return names;
}

HwConfig load_hw_config(const std::string& path, const std::vector<std::string>& overrides) {
    auto src = load_yaml_file(path);
    for (const auto& o : overrides) apply_override(*src, o);
    return read_config(src);
}

HwConfig load_hw_config_text(const std::string& text, const std::string& name,
                             const std::vector<std::string>& overrides) {
    auto src = load_yaml_text(text, name);
    for (const auto& o : overrides) apply_override(*src, o);
    return read_config(src);
}

}  // namespace lpu::hw
