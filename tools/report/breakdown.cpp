#include "tools/report/breakdown.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "sim/engine.hpp"
#include "tools/report/csv.hpp"

namespace lpu::report {

namespace {

using Interval = std::pair<uint64_t, uint64_t>;

struct Accumulator {
    BreakdownRow row;
    std::vector<Interval> intervals;
    std::map<uint32_t, std::vector<Interval>> per_chip;

    void add(const sim::ExecRecord& rec) {
        ++row.instructions;
        row.busy_cycles += rec.busy;
        row.ops += rec.ops;
        if (rec.unit == isa::Unit::Mxm) {
            row.macs += rec.ops / 2.0;
            row.mxm_ops += rec.ops;
        } else if (rec.unit == isa::Unit::Vxm) {
            row.vxm_ops += rec.ops;
        }
        if (rec.level != sim::Level::None) row.bytes[static_cast<size_t>(rec.level) - 1] += rec.bytes;
        auto& chip = per_chip[rec.chip];
        if (rec.busy == 0) return;
        intervals.emplace_back(rec.start, rec.start + rec.busy);
        chip.emplace_back(rec.start, rec.start + rec.busy);
    }

    BreakdownRow finish(uint64_t run_cycles) {
        row.active_cycles = union_cycles(std::move(intervals));
        row.share_of_time =
            run_cycles > 0 ? static_cast<double>(row.active_cycles) / static_cast<double>(run_cycles) : 0;
        row.chips = static_cast<int>(per_chip.size());
        for (auto& [chip, chip_intervals] : per_chip) row.active_chip_cycles += union_cycles(std::move(chip_intervals));
        return row;
    }
};

struct CategoryAccumulator {
    Accumulator all;
    std::map<int, Accumulator> layers;
};

static_assert(static_cast<int>(sim::Level::Sram) == 1 && static_cast<int>(sim::Level::MemIf) == kByteLevels,
              "kByteLevelNames follows sim::Level after None");

}  // namespace

double BreakdownRow::bytes_total() const {
    double t = 0;
    for (double b : bytes) t += b;
    return t;
}

uint64_t union_cycles(std::vector<std::pair<uint64_t, uint64_t>> intervals) {
    std::sort(intervals.begin(), intervals.end());
    uint64_t total = 0, covered_to = 0;
    bool any = false;
    for (const auto& [start, end] : intervals) {
        if (end <= start) continue;
        if (!any || start >= covered_to) {
            total += end - start;
            covered_to = end;
        } else if (end > covered_to) {
            total += end - covered_to;
            covered_to = end;
        }
        any = true;
    }
    return total;
}

Breakdown compute_breakdown(const sim::SimResult& r) {
    Breakdown b;
    b.run_cycles = r.cycles;
    std::map<std::string, CategoryAccumulator> by_category;
    std::vector<Interval> non_icu;  // for the idle row
    if (r.records) {
        for (const sim::ExecRecord& rec : *r.records) {
            const std::string name = rec.category < r.categories.size()
                                         ? r.categories[rec.category]
                                         : fmt::format("category{}", rec.category);
            CategoryAccumulator& c = by_category[name];
            c.all.add(rec);
            c.layers[rec.layer].add(rec);
            if (rec.unit != isa::Unit::Icu && rec.busy > 0)
                non_icu.emplace_back(rec.start, rec.start + rec.busy);
        }
    }
    for (auto& [name, c] : by_category) {
        c.all.row.category = name;
        b.rows.push_back(c.all.finish(r.cycles));
        const bool layered = c.layers.size() > 1 || c.layers.begin()->first != -1;
        if (!layered) continue;
        for (auto& [layer, acc] : c.layers) {
            acc.row.category = name;
            acc.row.layer = layer;
            b.rows.push_back(acc.finish(r.cycles));
        }
    }
    BreakdownRow idle;
    idle.category = "idle";
    idle.idle = true;
    const uint64_t busy = union_cycles(std::move(non_icu));
    idle.active_cycles = r.cycles > busy ? r.cycles - busy : 0;
    idle.share_of_time =
        r.cycles > 0 ? static_cast<double>(idle.active_cycles) / static_cast<double>(r.cycles) : 0;
    b.rows.push_back(idle);
    return b;
}

std::string breakdown_csv(const Breakdown& b) {
    std::vector<std::string> header = {"category",      "layer",         "instructions", "busy_cycles",
                                       "active_cycles", "share_of_time", "ops",          "macs"};
    for (const char* level : kByteLevelNames) header.push_back(fmt::format("bytes_{}", level));
    header.push_back("bytes_total");
    std::string out = csv_line(header);
    for (const BreakdownRow& row : b.rows) {
        std::vector<std::string> f = {csv_field(row.category),
                                      row.layer_text(),
                                      std::to_string(row.instructions),
                                      std::to_string(row.busy_cycles),
                                      std::to_string(row.active_cycles),
                                      csv_number(row.share_of_time),
                                      csv_number(row.ops),
                                      csv_number(row.macs)};
        for (double v : row.bytes) f.push_back(csv_number(v));
        f.push_back(csv_number(row.bytes_total()));
        out += csv_line(f);
    }
    return out;
}

std::string breakdown_table(const Breakdown& b, size_t top) {
    std::vector<const BreakdownRow*> rows;
    const BreakdownRow* idle = nullptr;
    for (const BreakdownRow& row : b.rows) {
        if (row.idle)
            idle = &row;
        else if (!row.layer)
            rows.push_back(&row);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const BreakdownRow* a, const BreakdownRow* c) {
        return a->active_cycles > c->active_cycles;
    });
    std::string out =
        fmt::format("breakdown over {} cycles (time shares overlap: units run in parallel)\n", b.run_cycles);
    out += fmt::format("  {:<20} {:>12} {:>14} {:>14} {:>7} {:>12} {:>12}\n", "category", "instructions",
                       "busy_cycles", "active_cycles", "share", "ops", "bytes");
    for (size_t i = 0; i < rows.size() && i < top; ++i) {
        const BreakdownRow& r = *rows[i];
        out += fmt::format("  {:<20} {:>12} {:>14} {:>14} {:>6.1f}% {:>12.4g} {:>12.4g}\n", r.category,
                           r.instructions, r.busy_cycles, r.active_cycles, 100 * r.share_of_time, r.ops,
                           r.bytes_total());
    }
    if (rows.size() > top)
        out += fmt::format("  ... {} more categories (every one is in breakdown.csv of a run with --out)\n", rows.size() - top);
    if (idle)
        out += fmt::format("  {:<20} {:>12} {:>14} {:>14} {:>6.1f}%\n", "idle", "", "", idle->active_cycles,
                           100 * idle->share_of_time);
    return out;
}

std::string breakdown_table(const sim::SimResult& r, size_t top) {
    return breakdown_table(compute_breakdown(r), top);
}

}  // namespace lpu::report
