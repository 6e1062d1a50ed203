// sweep.html: one self-contained page (inline CSS and SVG, no scripts, no network) with
// the sweep's inputs, best points, plots and the table of points.
#pragma once

#include "common/text.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/sweep/report.hpp"

namespace lpu::sweep {

struct HtmlInput {
    const ReportInput& report;
    const nlohmann::ordered_json& best;
    const std::string& metric;
    const std::string& pareto_x;
    const std::vector<std::string>& notes;
};

std::string sweep_html(const HtmlInput& in);

}  // namespace lpu::sweep
