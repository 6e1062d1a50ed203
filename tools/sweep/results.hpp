// Result rows of a sweep: which metrics are read from a point's summary.json, how a failed
// point is recorded, and the results.csv / results.jsonl formats (docs/sweeps.md).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/sweep/space.hpp"

namespace lpu::sweep {

enum class Goal { Max, Min };

// One metric column: its name (units in the name; no dots, so it never collides with a
// swept hardware key) and where summary.json keeps it (JSON pointers, first present wins).
struct MetricColumn {
    std::string name;
    std::vector<std::string> pointers;
    Goal goal;  // which direction is better, for best.json, the heatmap and the Pareto front
};
const std::vector<MetricColumn>& metric_columns();
const MetricColumn* find_metric(const std::string& name);

// What a point's done.json keeps: {"status", "exit_code", "metrics": {...}, "error"}.
// Independent of the point's position in the sweep, so a point can be reused when axes
// are extended or reordered.
nlohmann::ordered_json ok_result(const nlohmann::json& summary);
nlohmann::ordered_json error_result(int exit_code, const std::string& message);

// The first line of the error a failed `lpusim run` printed ("lpusim: error: ..." ->
// "..."), or the last non-empty line of the log when it printed no such line.
std::string first_error_line(const std::string& log);

struct Row {
    size_t point = 0;  // position in the sweep's order
    std::string id;
    std::vector<Assignment> params;
    nlohmann::ordered_json result;  // as above

    bool ok() const { return result.value("status", "") == "ok"; }
    // A metric's value, if the point succeeded and reported it.
    std::optional<double> metric(const std::string& name) const;
};

// Flat object: point, id, status, exit_code, every parameter (numbers and booleans typed,
// else strings), every metric column (null when absent), error (null when ok).
nlohmann::ordered_json row_json(const Row& row);
std::string jsonl_line(const Row& row);  // row_json(row).dump() + "\n"

// The whole results.csv for `rows` (sorted by point here); absent values are empty cells.
std::string results_csv(const std::vector<RoutedKey>& keys, std::vector<const Row*> rows);
std::string results_jsonl(std::vector<const Row*> rows);

// RFC 4180 quoting when needed.
std::string csv_cell(const std::string& text);
// A metric value as results.csv prints it (integers exactly, doubles shortest round-trip).
std::string format_number(const nlohmann::json& value);

}  // namespace lpu::sweep
