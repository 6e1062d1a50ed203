#include "tools/sweep/results.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace lpu::sweep {

const std::vector<MetricColumn>& metric_columns() {
    // Names match summary.json's keys (docs/metrics.md) with '.' replaced by '_'.
    static const std::vector<MetricColumn> cols = {
        {"cycles", {"/cycles"}, Goal::Min},
        {"seconds", {"/seconds"}, Goal::Min},
        {"time_to_first_token_s", {"/time_to_first_token_s"}, Goal::Min},
        {"tokens_per_s_per_user", {"/tokens_per_s_per_user"}, Goal::Max},
        {"tokens_per_s", {"/tokens_per_s"}, Goal::Max},
        {"latency_per_token_s", {"/latency_per_token_s"}, Goal::Min},
        {"utilization_mxm", {"/utilization/mxm"}, Goal::Max},
        {"utilization_mem", {"/utilization/mem"}, Goal::Max},
        {"utilization_vxm", {"/utilization/vxm"}, Goal::Max},
        {"utilization_sxm", {"/utilization/sxm"}, Goal::Max},
        {"utilization_c2c", {"/utilization/c2c"}, Goal::Max},
        {"utilization_mxm_macs", {"/utilization/mxm_macs"}, Goal::Max},
        {"energy_total_J", {"/energy/total_J"}, Goal::Min},
        {"energy_per_token_J", {"/energy_per_token_J", "/energy/per_token_J"}, Goal::Min},
        {"average_power_W_per_chip", {"/average_power_W_per_chip"}, Goal::Min},
        // Program runs report only the simulated chips; workload runs report the chips used.
        {"chips", {"/chips", "/chips_used", "/simulated_chips"}, Goal::Min},
        {"sram_bytes_used", {"/sram_bytes_used", "/sram/bytes_used"}, Goal::Min},
        // Prefill (docs/metrics.md): the prompt rate and its energy, beside time_to_first_token_s.
        {"prompt_tokens_per_s", {"/prompt_tokens_per_s"}, Goal::Max},
        {"energy_per_prompt_token_J", {"/energy_per_prompt_token_J"}, Goal::Min},
        // served loads (serving.json, docs/serving.md)
        {"output_tokens_per_s", {"/output_tokens_per_s"}, Goal::Max},
        {"output_tokens_per_s_per_user", {"/output_tokens_per_s_per_user"}, Goal::Max},
        {"ttft_p50_s", {"/ttft_s/p50"}, Goal::Min},
        {"ttft_p99_s", {"/ttft_s/p99"}, Goal::Min},
        {"tpot_p50_s", {"/tpot_s/p50"}, Goal::Min},
        {"e2e_p50_s", {"/e2e_s/p50"}, Goal::Min},
        {"e2e_p99_s", {"/e2e_s/p99"}, Goal::Min},
    };
    return cols;
}

const MetricColumn* find_metric(const std::string& name) {
    for (const auto& c : metric_columns())
        if (c.name == name) return &c;
    return nullptr;
}

nlohmann::ordered_json ok_result(const nlohmann::json& summary) {
    nlohmann::ordered_json metrics = nlohmann::ordered_json::object();
    for (const auto& col : metric_columns()) {
        nlohmann::ordered_json v = nullptr;
        for (const auto& p : col.pointers) {
            const nlohmann::json::json_pointer ptr(p);
            if (summary.contains(ptr) && summary.at(ptr).is_number()) {
                v = summary.at(ptr);
                break;
            }
        }
        metrics[col.name] = v;
    }
    nlohmann::ordered_json r;
    r["status"] = "ok";
    r["exit_code"] = 0;
    r["metrics"] = metrics;
    r["error"] = nullptr;
    return r;
}

nlohmann::ordered_json error_result(int exit_code, const std::string& message) {
    nlohmann::ordered_json r;
    r["status"] = "error";
    r["exit_code"] = exit_code;
    r["metrics"] = nlohmann::ordered_json::object();
    r["error"] = message;
    return r;
}

std::string first_error_line(const std::string& log) {
    std::string last;
    size_t pos = 0;
    while (pos < log.size()) {
        const size_t eol = log.find('\n', pos);
        std::string line = log.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
        pos = eol == std::string::npos ? log.size() : eol + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.rfind("lpusim: ", 0) == 0) {
            line.erase(0, 8);
            if (line.rfind("error: ", 0) == 0) line.erase(0, 7);
            return line;
        }
        if (line.find_first_not_of(" \t") != std::string::npos) last = line;
    }
    return last.empty() ? "(no error message in log.txt)" : last;
}

std::optional<double> Row::metric(const std::string& name) const {
    if (!ok()) return std::nullopt;
    const auto m = result.find("metrics");
    if (m == result.end()) return std::nullopt;
    const auto v = m->find(name);
    if (v == m->end() || !v->is_number()) return std::nullopt;
    return v->get<double>();
}

namespace {

nlohmann::ordered_json typed_value(const std::string& text) {
    const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
    if (!j.is_discarded() && (j.is_number() || j.is_boolean())) return j;
    return text;
}

void sort_by_point(std::vector<const Row*>& rows) {
    std::sort(rows.begin(), rows.end(), [](const Row* a, const Row* b) { return a->point < b->point; });
}

}  // namespace

nlohmann::ordered_json row_json(const Row& row) {
    nlohmann::ordered_json j;
    j["point"] = row.point;
    j["id"] = row.id;
    j["status"] = row.result.value("status", "error");
    j["exit_code"] =
        row.result.contains("exit_code") ? row.result["exit_code"] : nlohmann::ordered_json(nullptr);
    for (const Assignment& a : row.params) j[a.key.key] = typed_value(a.value);
    const auto m = row.result.find("metrics");
    for (const auto& col : metric_columns()) {
        if (m != row.result.end() && m->contains(col.name))
            j[col.name] = (*m)[col.name];
        else
            j[col.name] = nullptr;
    }
    j["error"] = row.result.contains("error") ? row.result["error"] : nlohmann::ordered_json(nullptr);
    return j;
}

std::string jsonl_line(const Row& row) { return row_json(row).dump() + "\n"; }

std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos &&
        (text.empty() || (text.front() != ' ' && text.back() != ' ')))
        return text;
    std::string q = "\"";
    for (const char c : text) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + "\"";
}

std::string format_number(const nlohmann::json& value) {
    if (value.is_number_unsigned()) return std::to_string(value.get<uint64_t>());
    if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
    if (value.is_number_float()) return fmt::format("{}", value.get<double>());
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    if (value.is_string()) return value.get<std::string>();
    return "";
}

std::string results_csv(const std::vector<RoutedKey>& keys, std::vector<const Row*> rows) {
    sort_by_point(rows);
    std::string out = "point,id,status,exit_code";
    for (const auto& k : keys) out += "," + csv_cell(k.key);
    for (const auto& c : metric_columns()) out += "," + c.name;
    out += ",error\n";
    for (const Row* r : rows) {
        const nlohmann::ordered_json j = row_json(*r);
        out += fmt::format("{},{},{},{}", r->point, r->id, csv_cell(j["status"].get<std::string>()),
                           format_number(j["exit_code"]));
        // Parameters keep the text given on the command line or in the points file.
        for (const auto& k : keys) {
            std::string v;
            for (const auto& a : r->params)
                if (a.key.key == k.key) v = a.value;
            out += "," + csv_cell(v);
        }
        for (const auto& c : metric_columns()) out += "," + format_number(j[c.name]);
        out += "," + csv_cell(j["error"].is_string() ? j["error"].get<std::string>() : "");
        out += "\n";
    }
    return out;
}

std::string results_jsonl(std::vector<const Row*> rows) {
    sort_by_point(rows);
    std::string out;
    for (const Row* r : rows) out += jsonl_line(*r);
    return out;
}

}  // namespace lpu::sweep
