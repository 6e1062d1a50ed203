// The sweep report: best.json (best point per objective), heatmap.svg and pareto.svg drawn
// by gnuplot (a child process; skipped with a note when gnuplot is absent) and a
// self-contained sweep.html with the plots inline and a table of the points.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/sweep/results.hpp"

namespace lpu::sweep {

struct ReportInput {
    std::string dir;
    std::vector<RoutedKey> keys;          // swept keys, column order
    std::vector<const Row*> rows;         // sorted by point
    std::string metric;                   // "" = tokens_per_s when reported, else seconds
    std::string pareto_x;                 // "" = chips when it varies, else average_power_W_per_chip
    nlohmann::ordered_json sweep_record;  // sweep.json
    std::string summary;                  // one line: points, failures, time
};

struct ReportOutput {
    std::vector<std::string> plots;       // file names written (heatmap.svg, pareto.svg)
    std::vector<std::string> notes;       // what was skipped and why
    std::vector<std::string> best_lines;  // "max tokens_per_s = ... at point 3 (batch=4)"
};

// Best point per objective among the successful rows: {"max_tokens_per_s": {"metric",
// "goal", "value", "point", "id", "params"}, ...}; objectives nobody reported are left out.
// Ties go to the earlier point. `extra_metric` is added when it is not a standard objective.
nlohmann::ordered_json best_points(const std::vector<const Row*>& rows, const std::string& extra_metric);

// The heatmap / Pareto metric when none was chosen.
std::string default_metric(const std::vector<const Row*>& rows);
std::string default_pareto_x(const std::vector<const Row*>& rows);

// Indices (into `points`) of the Pareto front, better-first along x, for minimising or
// maximising each coordinate as `x_goal` / `y_goal` say.
std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& points, Goal x_goal,
                                 Goal y_goal);

ReportOutput write_report(const ReportInput& in);

}  // namespace lpu::sweep
