// report.html: one self-contained page (inline CSS and SVG, no script, no external URL)
// with the run's summary, the breakdown, roofline, utilization and power plots and their
// tables, built from the same files `lpusim report` reads.
#pragma once

#include "common/text.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tools/report/csv.hpp"
#include "tools/report/plots.hpp"

namespace lpu::report {

struct ReportTables {
    nlohmann::ordered_json summary;
    CsvTable breakdown, roofline, roofs, utilization, power;
};


// An svg document made fit to sit inside HTML next to others: XML prolog, DOCTYPE and
// namespace declarations dropped, every id (and reference to it) prefixed with `prefix`.
std::string inline_svg(std::string_view svg, const std::string& prefix);

// `plots` by name (roofline, utilization, power, breakdown); a failed plot shows its error.
std::string report_html(const ReportTables& t, const std::map<std::string, PlotResult>& plots);

}  // namespace lpu::report
