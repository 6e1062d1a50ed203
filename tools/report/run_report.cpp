#include "tools/report/run_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "common/atomic_file.hpp"
#include "common/json_input.hpp"
#include "common/input_error.hpp"
#include "tools/report/csv.hpp"
#include "tools/report/html.hpp"
#include "tools/report/plots.hpp"
#include "tools/report/power.hpp"
#include "tools/report/roofline.hpp"
#include "tools/report/utilization.hpp"

namespace lpu::report {

namespace {

std::string path_in(const std::string& dir, const char* file) { return dir + "/" + file; }

size_t chips_in(const CsvTable& utilization) {
    std::set<std::string> chips;
    const size_t c = utilization.column("chip");
    for (size_t i = 0; i < utilization.rows(); ++i) chips.insert(utilization.text(i, c));
    return chips.size();
}

// Every listed column present and numeric in every row (InputError naming file and line).
void require_numeric(const CsvTable& t, const std::vector<std::string>& columns) {
    for (const auto& name : columns) {
        const size_t c = t.column(name);
        for (size_t i = 0; i < t.rows(); ++i) t.number(i, c);
    }
}

const std::vector<std::string> kBreakdownNumbers = {"instructions", "busy_cycles",  "active_cycles", "share_of_time",
                                                    "ops",          "macs",         "bytes_sram",    "bytes_stream",
                                                    "bytes_install", "bytes_c2c",   "bytes_mem_if",  "bytes_total"};

// A summary.json edited by hand: the figures the report shows must be what a run writes,
// non-negative finite numbers (counts whole), not text or a negative chip count.
void check_summary(const nlohmann::ordered_json& j, const std::string& file) {
    if (!j.is_object()) throw InputError({file, 0, 0}, "summary", j.type_name(), "a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& key = it.key();
        const auto& v = it.value();
        const bool count = key == "cycles" || key == "chips" || key == "instructions" || key == "batch" ||
                           key == "tensor_parallel" || key == "pipeline_parallel" || key == "simulated_chips";
        const bool figure = count || key == "seconds" || key.ends_with("_s") || key.ends_with("_J") ||
                            key.ends_with("_W") || key.ends_with("_bytes") || key.ends_with("_per_s");
        if (!figure) continue;
        if (!v.is_number())
            throw InputError({file, 0, 0}, key, quote_value(v.dump()), "a number, as lpusim run writes it");
        const double d = v.get<double>();
        if (!std::isfinite(d) || d < 0 || (count && d != std::floor(d)))
            throw InputError({file, 0, 0}, key, v.dump(),
                             count ? "a whole number >= 0, as lpusim run writes it" : "a finite number >= 0, as lpusim run writes it");
    }
    for (const char* required : {"cycles", "seconds"})
        if (!j.contains(required)) throw InputError({file, 0, 0}, required, "(missing)", "a number, as lpusim run writes it");
}

// Every cell of every listed column finite (a hand-edited NaN or inf is not a figure).
void require_finite(const CsvTable& t, const std::vector<std::string>& columns) {
    for (const auto& name : columns) {
        const size_t c = t.column(name);
        for (size_t i = 0; i < t.rows(); ++i)
            if (!std::isfinite(t.number(i, c)))
                throw InputError({t.file(), t.line(i), 0}, name, t.text(i, c), "a finite number");
    }
}

// Checks the tables, builds every script and the page, then writes: a garbled input
// stops before any file is touched.
std::vector<std::string> render(const std::string& dir, const ReportTables& t, const RenderOptions& options) {
    require_numeric(t.breakdown, kBreakdownNumbers);
    t.breakdown.column("category");
    t.breakdown.column("layer");
    require_numeric(t.roofline,
                    {"chips", "ops", "bytes_total", "bytes_memory", "active_cycles", "intensity_ops_per_byte",
                     "memory_intensity_ops_per_byte", "achieved_ops_per_s_per_chip",
                     "roof_ops_per_s_per_chip", "fraction_of_roof"});
    for (const char* c : {"category", "layer", "compute_roof", "bandwidth_roof", "bound"})
        t.roofline.column(c);
    require_numeric(t.utilization, {"chip", "bucket_start_cycle", "bucket_end_cycle"});
    for (size_t c = 0; c < t.utilization.header().size(); ++c)
        for (size_t i = 0; i < t.utilization.rows(); ++i) t.utilization.number(i, c);
    std::vector<std::string> power_columns = {"chip", "bucket_start_cycle", "bucket_end_cycle",
                                              "bucket_duration_s"};
    for (const char* c : kEnergyComponentNames) power_columns.push_back(fmt::format("{}_J", c));
    for (const char* c : {"static_J", "energy_J", "power_W"}) power_columns.push_back(c);
    require_numeric(t.power, power_columns);
    if (!t.summary.is_object())
        throw InputError({path_in(dir, "summary.json"), 0, 0}, "summary", t.summary.type_name(),
                         "a JSON object");

    const std::vector<Roof> roofs = roofs_from_csv(t.roofs);
    const std::vector<std::pair<std::string, std::string>> scripts = {
        {"breakdown", breakdown_script(t.breakdown)},
        {"roofline", roofline_script(t.roofline, roofs)},
        {"utilization", utilization_script(t.utilization)},
        {"power", power_script(t.power)},
    };
    std::vector<std::pair<std::string, std::string>> all_scripts = scripts;
    if (chips_in(t.utilization) > 1) all_scripts.emplace_back("pipeline", pipeline_script(t.utilization));
    const std::string gnuplot = find_gnuplot(options.gnuplot);
    std::map<std::string, PlotResult> plots;
    std::vector<std::string> written;
    for (const auto& [name, script] : all_scripts) {
        plots[name] = render_plot(gnuplot, dir, name, script);
        written.push_back(name + ".gp");
        if (!plots[name].svg.empty()) written.push_back(name + ".svg");
    }
    write_file_atomic(path_in(dir, kReportFile), report_html(t, plots));
    written.push_back(kReportFile);
    return written;
}

}  // namespace

std::vector<sim::TraceCounter> trace_counters(const UtilizationSeries& u, const PowerSeries& p) {
    std::vector<sim::TraceCounter> out;
    for (size_t c = 0; c < u.chips.size(); ++c) {
        sim::TraceCounter t;
        t.chip = u.chips[c];
        t.name = "utilization (%)";
        t.series.assign(kUnitKindNames.begin(), kUnitKindNames.end());
        for (size_t b = 0; b < u.buckets.size(); ++b) {
            t.cycles.push_back(u.buckets.edges[b]);
            std::vector<double> v;
            for (size_t k = 0; k < kUnitKinds; ++k) v.push_back(100 * u.busy_fraction[c][k][b]);
            t.values.push_back(std::move(v));
        }
        out.push_back(std::move(t));
    }
    for (size_t c = 0; c < p.chips.size(); ++c) {
        sim::TraceCounter t;
        t.chip = p.chips[c];
        t.name = "power (W)";
        t.series = {"W"};
        for (size_t b = 0; b < p.buckets.size(); ++b) {
            t.cycles.push_back(p.buckets.edges[b]);
            t.values.push_back({p.bucket_seconds(b) > 0 ? p.energy_J(c, b) / p.bucket_seconds(b) : 0});
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<std::string> write_run_reports(const std::string& dir, const RunReportInputs& in) {
    if (in.time_buckets < 1)
        throw InputError({"command line", 0, 0}, "time buckets", std::to_string(in.time_buckets),
                         "at least 1");
    const Breakdown breakdown = compute_breakdown(in.result);
    const TimeBuckets buckets = make_buckets(in.result.cycles, in.time_buckets);
    const UtilizationSeries utilization = compute_utilization(in.cfg, in.result, buckets);
    const PowerSeries power = compute_power(in.cfg, in.result, buckets);
    if (in.result.trace) in.result.trace->add_counters(trace_counters(utilization, power));
    const std::map<std::string, std::string> files = {
        {kBreakdownFile, breakdown_csv(breakdown)},
        {kRooflineFile, roofline_csv(compute_roofline(in.cfg, breakdown))},
        {kRoofsFile, roofs_csv(config_roofs(in.cfg))},
        {kUtilizationFile, utilization_csv(utilization)},
        {kPowerFile, power_csv(power)},
    };
    std::vector<std::string> written;
    for (const auto& [name, text] : files) {
        write_file_atomic(path_in(dir, name.c_str()), text);
        written.push_back(name);
    }
    // Render from the files' text, exactly as `lpusim report` will read them back.
    auto table = [&](const char* name) { return CsvTable::parse(files.at(name), path_in(dir, name)); };
    const ReportTables t = {in.summary,        table(kBreakdownFile),   table(kRooflineFile),
                            table(kRoofsFile), table(kUtilizationFile), table(kPowerFile)};
    for (auto& f : render(dir, t, in.render)) written.push_back(std::move(f));
    return written;
}

std::vector<std::string> regenerate_report(const std::string& dir, const RenderOptions& options) {
    const std::string summary_path = path_in(dir, "summary.json");
    const nlohmann::ordered_json summary = read_json_file(summary_path);  // nesting bounded
    check_summary(summary, summary_path);
    const ReportTables t = {summary,
                            CsvTable::read(path_in(dir, kBreakdownFile)),
                            CsvTable::read(path_in(dir, kRooflineFile)),
                            CsvTable::read(path_in(dir, kRoofsFile)),
                            CsvTable::read(path_in(dir, kUtilizationFile)),
                            CsvTable::read(path_in(dir, kPowerFile))};
    require_finite(t.breakdown, kBreakdownNumbers);
    require_finite(t.utilization, t.utilization.header());
    return render(dir, t, options);
}

std::string wrote_line(const std::string& dir, const std::vector<std::string>& files) {
    std::string list;
    for (const auto& f : files) list += (list.empty() ? "" : ", ") + f;
    return fmt::format("wrote {}: {} ({} file{})\n", dir, list, files.size(), files.size() == 1 ? "" : "s");
}

}  // namespace lpu::report
