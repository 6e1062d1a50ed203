// The reports of a run, written into its output directory after the simulation:
//   breakdown.csv       per category (and layer): instructions, busy/active cycles, ops, bytes
//   roofline.csv        per category (and layer): intensity, achieved ops/s, the roof that applies
//   roofline_roofs.csv  the config's roofs and ridge points
//   utilization.csv     busy fraction per time bucket, chip and unit kind
//   power.csv           energy and power per time bucket and chip
//   *.gp, *.svg         gnuplot scripts and their plots (roofline, utilization, power, breakdown)
//   report.html         everything above in one self-contained page
// `lpusim report DIR` re-renders the plots and report.html from the files alone.
// Every column is defined in docs/metrics.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "sim/simulation.hpp"
#include "tools/report/breakdown.hpp"
#include "tools/report/metrics.hpp"
#include "tools/report/power.hpp"
#include "tools/report/utilization.hpp"

namespace lpu::report {

struct RenderOptions {
    std::string gnuplot = "gnuplot";  // program name (searched on PATH) or path
};

struct RunReportInputs {
    const hw::HwConfig& cfg;
    const sim::SimResult& result;
    const RunMetrics& metrics;
    nlohmann::ordered_json summary;  // summary.json content (already written by the caller)
    int time_buckets = 200;          // utilization and power over time resolution
    RenderOptions render = {};
};

// Writes every file listed above into `dir` (which must exist) and returns their names, in
// the order written (a plot gnuplot could not draw is not among them). Deterministic: the
// same inputs give byte-identical files. Throws InputError for time_buckets < 1.
std::vector<std::string> write_run_reports(const std::string& dir, const RunReportInputs& in);

// `lpusim report DIR`: re-renders the plots and report.html from summary.json and the CSVs
// in `dir`, without simulating. A missing or garbled file is an InputError naming it; in
// that case nothing is written. Returns the names of the files written.
std::vector<std::string> regenerate_report(const std::string& dir, const RenderOptions& options = {});

// "wrote DIR: a, b, c (3 files)": the line a command prints after writing `files` into `dir`.
std::string wrote_line(const std::string& dir, const std::vector<std::string>& files);

inline constexpr const char* kReportFile = "report.html";

// Counter tracks of the trace: per chip, the utilization per unit kind (%) and the power (W)
// of each time bucket, as in utilization.csv and power.csv. write_run_reports adds them to
// the result's trace sink, if it has one.
std::vector<sim::TraceCounter> trace_counters(const UtilizationSeries& u, const PowerSeries& p);

}  // namespace lpu::report
