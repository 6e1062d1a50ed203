#include "tools/report/roofline.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/input_error.hpp"
#include "hw/derived.hpp"
#include "tools/report/csv.hpp"

namespace lpu::report {

namespace {

// Bandwidth roof of each byte level (kByteLevelNames order); empty: no roof (stream).
constexpr std::array<const char*, kByteLevels> kLevelRoof = {"sram", "", "mxm_install", "c2c", "mem_if"};

double roof_value(const std::vector<Roof>& roofs, const std::string& name) {
    for (const Roof& r : roofs)
        if (r.name == name) return r.value;
    return 0;  // a roof the config does not have: nothing can run there
}

std::string join(const std::vector<std::string>& names) {
    if (names.empty()) return "none";
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : "+") + n;
    return out;
}

struct Ceiling {
    std::vector<std::string> compute, bandwidth;
    double compute_ops_per_s = 0, bandwidth_bytes_per_s = 0;
    double memory_bytes = 0;
};

// The roofs that bound a point, from its units and levels alone.
Ceiling ceiling_of(const RooflinePoint& p, const std::vector<Roof>& roofs) {
    Ceiling c;
    if (p.mxm_ops > 0) c.compute.push_back("mxm_int8");
    if (p.vxm_ops > 0) c.compute.push_back("vxm");
    for (const auto& name : c.compute) c.compute_ops_per_s += roof_value(roofs, name);
    for (size_t l = 0; l < kByteLevels; ++l) {
        if (p.bytes[l] <= 0 || kLevelRoof[l][0] == '\0') continue;
        c.bandwidth.push_back(kLevelRoof[l]);
        c.bandwidth_bytes_per_s += roof_value(roofs, kLevelRoof[l]);
        c.memory_bytes += p.bytes[l];
    }
    return c;
}

// min(compute, bandwidth x memory intensity); the bandwidth term only with memory traffic.
double ceiling_value(const Ceiling& c, double ops) {
    if (c.memory_bytes <= 0) return c.compute_ops_per_s;
    return std::min(c.compute_ops_per_s, c.bandwidth_bytes_per_s * (ops / c.memory_bytes));
}

}  // namespace

std::vector<Roof> config_roofs(const hw::HwConfig& cfg) {
    const hw::DerivedFigures d = hw::derive(cfg);
    std::vector<Roof> roofs = {
        {"mxm_int8", true, d.peak_int8_ops_per_s, 0, "MXM peak, int8 (2 ops per MAC, all planes)"},
        {"mxm_fp16", true, d.peak_fp16_flops_per_s, 0, "MXM peak, fp16"},
        {"vxm", true, static_cast<double>(d.vxm_alu_ops_per_cycle) * d.clock_hz, 0,
         "VXM peak (lanes x ALUs per lane)"},
        {"sram", false, d.sram_read_bytes_per_s, 0,
         "SRAM (one vector access per bank per cycle, read or write)"},
        {"mxm_install", false, d.mxm_install_bytes_per_s, 0, "MXM weight install path"},
        {"c2c", false, d.c2c_bytes_per_s, 0, "C2C payload over all links"},
        {"mem_if", false, d.mem_if_bytes_per_s, 0, "memory interface"},
    };
    std::erase_if(roofs, [](const Roof& r) { return !(r.value > 0); });
    for (Roof& r : roofs)
        if (!r.compute && d.peak_int8_ops_per_s > 0) r.ridge_ops_per_byte = d.peak_int8_ops_per_s / r.value;
    return roofs;
}

std::string roofs_csv(const std::vector<Roof>& roofs) {
    std::string out = csv_line(
        {"roof", "kind", "peak_ops_per_s", "bandwidth_bytes_per_s", "ridge_ops_per_byte", "description"});
    for (const Roof& r : roofs)
        out += csv_line({csv_field(r.name), r.compute ? "compute" : "bandwidth",
                         csv_number(r.compute ? r.value : 0), csv_number(r.compute ? 0 : r.value),
                         csv_number(r.ridge_ops_per_byte), csv_field(r.description)});
    return out;
}

std::vector<Roof> roofs_from_csv(const CsvTable& t) {
    std::vector<Roof> roofs;
    const size_t name = t.column("roof"), kind = t.column("kind"), peak = t.column("peak_ops_per_s"),
                 bw = t.column("bandwidth_bytes_per_s"), ridge = t.column("ridge_ops_per_byte"),
                 description = t.column("description");
    for (size_t i = 0; i < t.rows(); ++i) {
        Roof r;
        r.name = t.text(i, name);
        if (t.text(i, kind) != "compute" && t.text(i, kind) != "bandwidth")
            throw InputError({t.file(), static_cast<int>(i) + 2, 0}, "kind", t.text(i, kind),
                             "compute or bandwidth");
        r.compute = t.text(i, kind) == "compute";
        r.value = t.number(i, r.compute ? peak : bw);
        r.ridge_ops_per_byte = t.number(i, ridge);
        r.description = t.text(i, description);
        roofs.push_back(r);
    }
    return roofs;
}

std::vector<RooflinePoint> compute_roofline(const hw::HwConfig& cfg, const Breakdown& b) {
    const std::vector<Roof> roofs = config_roofs(cfg);
    const double clock_hz = cfg.clock_hz();
    std::vector<RooflinePoint> points;
    for (const BreakdownRow& row : b.rows) {
        if (row.idle) continue;
        RooflinePoint p;
        p.category = row.category;
        p.layer = row.layer_text();
        p.chips = row.chips;
        p.ops = row.ops;
        p.mxm_ops = row.mxm_ops;
        p.vxm_ops = row.vxm_ops;
        p.bytes = row.bytes;
        p.bytes_total = row.bytes_total();
        for (size_t l = 0; l < kByteLevels; ++l)
            if (kLevelRoof[l][0] != '\0') p.bytes_memory += p.bytes[l];
        auto intensity = [&](double bytes) {
            return bytes > 0 ? p.ops / bytes : p.ops > 0 ? std::numeric_limits<double>::infinity() : 0;
        };
        p.intensity_ops_per_byte = intensity(p.bytes_total);
        p.memory_intensity_ops_per_byte = intensity(p.bytes_memory);
        p.active_cycles = row.active_cycles;
        p.active_chip_cycles = row.active_chip_cycles;
        // Per chip while active: a category whose layers run on pipeline stages one after
        // another is measured on each stage over that stage's own busy time, so it lies
        // within the range of its layers instead of all chips' count over the union.
        const double chip_seconds = static_cast<double>(p.active_chip_cycles) / clock_hz;
        p.achieved_ops_per_s = chip_seconds > 0 ? p.ops / chip_seconds : 0;
        if (p.ops > 0) {
            const Ceiling c = ceiling_of(p, roofs);
            p.compute_roof = join(c.compute);
            p.bandwidth_roof = join(c.bandwidth);
            p.roof_ops_per_s = ceiling_value(c, p.ops);
            p.bound = p.roof_ops_per_s < c.compute_ops_per_s ? "bandwidth" : "compute";
            p.fraction_of_roof = p.roof_ops_per_s > 0 ? p.achieved_ops_per_s / p.roof_ops_per_s : 0;
        }
        points.push_back(p);
    }
    return points;
}

std::string roofline_csv(const std::vector<RooflinePoint>& points) {
    std::string out =
        csv_line({"category", "layer", "chips", "ops", "bytes_total", "bytes_memory", "active_cycles",
                  "active_chip_cycles", "intensity_ops_per_byte", "memory_intensity_ops_per_byte", "achieved_ops_per_s_per_chip",
                  "compute_roof", "bandwidth_roof", "roof_ops_per_s_per_chip", "bound", "fraction_of_roof"});
    for (const RooflinePoint& p : points)
        out +=
            csv_line({csv_field(p.category), p.layer, std::to_string(p.chips), csv_number(p.ops),
                      csv_number(p.bytes_total), csv_number(p.bytes_memory), std::to_string(p.active_cycles),
                      std::to_string(p.active_chip_cycles),
                      csv_number(p.intensity_ops_per_byte), csv_number(p.memory_intensity_ops_per_byte),
                      csv_number(p.achieved_ops_per_s), p.compute_roof, p.bandwidth_roof,
                      csv_number(p.roof_ops_per_s), p.bound, csv_number(p.fraction_of_roof)});
    return out;
}

std::vector<std::string> roofline_violations(const std::vector<RooflinePoint>& points,
                                             const std::vector<Roof>& roofs, double rel_tol) {
    std::vector<std::string> out;
    for (const RooflinePoint& p : points) {
        if (p.achieved_ops_per_s <= 0) continue;
        const Ceiling c = ceiling_of(p, roofs);
        const double ceiling = ceiling_value(c, p.ops);
        if (p.achieved_ops_per_s > ceiling * (1 + rel_tol))
            out.push_back(fmt::format(
                "{} layer {}: {:.6g} ops/s per chip above its roof {:.6g} (compute {} {:.6g} ops/s, "
                "bandwidth {} {:.6g} B/s x memory intensity {:.6g} ops/B)",
                p.category, p.layer, p.achieved_ops_per_s, ceiling, join(c.compute), c.compute_ops_per_s,
                join(c.bandwidth), c.bandwidth_bytes_per_s,
                c.memory_bytes > 0 ? p.ops / c.memory_bytes : 0.0));
    }
    return out;
}

}  // namespace lpu::report
