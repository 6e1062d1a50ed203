#include "tools/report/html.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace lpu::report {

namespace {

constexpr const char* kCss =
    R"(body{font-family:sans-serif;margin:1.5em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right}th{background:#f3f3f3}
td.t,th.t{text-align:left}nav a{margin-right:1em}figure{margin:.5em 0}
figure svg{width:100%;max-width:960px;height:auto;border:1px solid #eee}
.note{color:#a33}.scroll{overflow-x:auto}.small{color:#666;font-size:.85em}details{margin:.5em 0})";

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

// Removes ` name="..."` (either quote) from the first tag of `s`.
void drop_attribute(std::string& s, std::string_view name) {
    const size_t tag_end = s.find('>');
    const size_t at = s.find(std::string(" ") + std::string(name) + "=");
    if (at == std::string::npos || at > tag_end) return;
    const size_t open = at + name.size() + 2;
    const size_t close = s.find(s[open], open + 1);
    if (close == std::string::npos) return;
    s.erase(at, close + 1 - at);
}

bool as_number(const std::string& text, double& v) {
    if (text.empty()) return false;
    char* end = nullptr;
    errno = 0;
    v = std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size();
}

// A number for reading: integers in full, others to 4 significant digits.
std::string pretty(const std::string& text) {
    double v = 0;
    if (!as_number(text, v)) return html_escape(text);
    if (!std::isfinite(v)) return html_escape(text);
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{:.0f}", v);
    return fmt::format("{:.4g}", v);
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

struct Column {
    std::string header;
    bool text = false;
};

std::string table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
    std::string out = "<div class=\"scroll\"><table><tr>";
    for (const Column& c : columns)
        out += fmt::format("<th{}>{}</th>", c.text ? " class=\"t\"" : "", html_escape(c.header));
    out += "</tr>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (size_t i = 0; i < row.size() && i < columns.size(); ++i)
            out += fmt::format("<td{}>{}</td>", columns[i].text ? " class=\"t\"" : "", row[i]);
        out += "</tr>\n";
    }
    return out + "</table></div>\n";
}

// Rows of `t` (all columns in `names`, pretty-printed) whose layer is / is not "all".
std::vector<std::vector<std::string>> csv_rows(const CsvTable& t, const std::vector<std::string>& names,
                                               bool all_layers,
                                               const std::vector<std::string>& text_columns) {
    std::vector<size_t> cols;
    for (const auto& n : names) cols.push_back(t.column(n));
    const size_t layer = t.column("layer");
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < t.rows(); ++i) {
        if ((t.text(i, layer) == "all") != all_layers) continue;
        std::vector<std::string> row;
        for (size_t k = 0; k < cols.size(); ++k) {
            const bool text =
                std::find(text_columns.begin(), text_columns.end(), names[k]) != text_columns.end();
            row.push_back(text ? html_escape(t.text(i, cols[k])) : pretty(t.text(i, cols[k])));
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<Column> columns_of(const std::vector<std::string>& names,
                               const std::vector<std::string>& text_columns) {
    std::vector<Column> out;
    for (const auto& n : names)
        out.push_back({n, std::find(text_columns.begin(), text_columns.end(), n) != text_columns.end()});
    return out;
}

void flatten(const nlohmann::ordered_json& j, const std::string& prefix,
             std::vector<std::vector<std::string>>& rows) {
    if (j.is_object() && !j.empty()) {
        for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, rows);
        return;
    }
    std::string value;
    if (j.is_string())
        value = html_escape(j.get<std::string>());
    else if (j.is_number())
        value = pretty(j.dump());
    else
        value = html_escape(j.dump());
    rows.push_back({html_escape(prefix), value});
}

std::string figure(const std::map<std::string, PlotResult>& plots, const std::string& name) {
    const auto it = plots.find(name);
    if (it == plots.end() || it->second.svg.empty())
        return fmt::format("<p class=\"note\">plot unavailable: {}</p>\n",
                           html_escape(it == plots.end() ? "not rendered" : it->second.error));
    return "<figure>" + inline_svg(it->second.svg, name) + "</figure>\n";
}

std::string breakdown_section(const CsvTable& t) {
    const std::vector<std::string> names = {
        "category",   "instructions", "busy_cycles",   "active_cycles", "share_of_time", "ops",        "macs",
        "bytes_sram", "bytes_stream", "bytes_install", "bytes_c2c",     "bytes_mem_if",  "bytes_total"};
    std::string out = table(columns_of(names, {"category"}), csv_rows(t, names, true, {"category"}));
    std::vector<std::string> with_layer = names;
    with_layer.insert(with_layer.begin() + 1, "layer");
    const auto layered = csv_rows(t, with_layer, false, {"category"});
    if (!layered.empty())
        out += fmt::format("<details><summary>per layer ({} rows)</summary>\n{}</details>\n", layered.size(),
                           table(columns_of(with_layer, {"category"}), layered));
    return out;
}

std::string roofline_section(const CsvTable& points, const CsvTable& roofs) {
    std::vector<std::vector<std::string>> roof_rows;
    for (size_t i = 0; i < roofs.rows(); ++i)
        roof_rows.push_back(
            {html_escape(roofs.text(i, "roof")), html_escape(roofs.text(i, "kind")),
             pretty(roofs.text(i, "peak_ops_per_s")), pretty(roofs.text(i, "bandwidth_bytes_per_s")),
             pretty(roofs.text(i, "ridge_ops_per_byte")), html_escape(roofs.text(i, "description"))});
    std::string out = "<h3>Roofs (per chip)</h3>\n" + table({{"roof", true},
                                                             {"kind", true},
                                                             {"peak_ops_per_s"},
                                                             {"bandwidth_bytes_per_s"},
                                                             {"ridge_ops_per_byte"},
                                                             {"description", true}},
                                                            roof_rows);
    const std::vector<std::string> text = {"category", "compute_roof", "bandwidth_roof", "bound"};
    std::vector<std::string> names = {"category",
                                      "chips",
                                      "ops",
                                      "bytes_total",
                                      "bytes_memory",
                                      "active_cycles",
                                      "intensity_ops_per_byte",
                                      "memory_intensity_ops_per_byte",
                                      "achieved_ops_per_s_per_chip",
                                      "compute_roof",
                                      "bandwidth_roof",
                                      "roof_ops_per_s_per_chip",
                                      "bound",
                                      "fraction_of_roof"};
    out += "<h3>Points</h3>\n" + table(columns_of(names, text), csv_rows(points, names, true, text));
    names.insert(names.begin() + 1, "layer");
    const auto layered = csv_rows(points, names, false, text);
    if (!layered.empty())
        out += fmt::format("<details><summary>per layer ({} points)</summary>\n{}</details>\n",
                           layered.size(), table(columns_of(names, text), layered));
    return out;
}

std::string utilization_section(const CsvTable& t) {
    std::vector<std::pair<std::string, size_t>> kinds;
    const std::string suffix = "_busy_fraction";
    for (size_t c = 0; c < t.header().size(); ++c) {
        const std::string& h = t.header()[c];
        if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
            kinds.emplace_back(h.substr(0, h.size() - suffix.size()), c);
    }
    const size_t chip = t.column("chip"), start = t.column("bucket_start_cycle"),
                 end = t.column("bucket_end_cycle");
    std::map<long long, std::pair<double, std::vector<double>>>
        per_chip;  // chip -> (cycles, busy x cycles per kind)
    for (size_t i = 0; i < t.rows(); ++i) {
        auto& [cycles, busy] = per_chip[std::llround(t.number(i, chip))];
        const double len = t.number(i, end) - t.number(i, start);
        busy.resize(kinds.size());
        cycles += len;
        for (size_t k = 0; k < kinds.size(); ++k) busy[k] += t.number(i, kinds[k].second) * len;
    }
    std::vector<Column> cols = {{"chip", true}};
    for (const auto& k : kinds) cols.push_back({k.first});
    std::vector<std::vector<std::string>> rows;
    std::vector<double> mean(kinds.size());
    for (const auto& [c, v] : per_chip) {
        std::vector<std::string> row = {std::to_string(c)};
        for (size_t k = 0; k < kinds.size(); ++k) {
            const double f = v.first > 0 ? v.second[k] / v.first : 0;
            mean[k] += f / static_cast<double>(per_chip.size());
            row.push_back(percent(f));
        }
        rows.push_back(std::move(row));
    }
    if (per_chip.size() > 1) {
        std::vector<std::string> row = {"mean"};
        for (double f : mean) row.push_back(percent(f));
        rows.push_back(std::move(row));
    }
    return "<p>Average busy fraction per unit kind over the run (equal to summary.json's "
           "utilization).</p>\n" +
           table(cols, rows);
}

std::string power_section(const CsvTable& t) {
    const size_t chip = t.column("chip"), start = t.column("bucket_start_cycle"),
                 dur = t.column("bucket_duration_s"), energy = t.column("energy_J"),
                 power = t.column("power_W");
    struct Sum {
        double joules = 0, seconds = 0, peak = 0;
    };
    std::map<long long, Sum> per_chip;
    std::map<double, double> system_power;  // bucket start -> sum over chips
    double run_seconds = 0;
    for (size_t i = 0; i < t.rows(); ++i) {
        Sum& s = per_chip[std::llround(t.number(i, chip))];
        s.joules += t.number(i, energy);
        s.seconds += t.number(i, dur);
        s.peak = std::max(s.peak, t.number(i, power));
        system_power[t.number(i, start)] += t.number(i, power);
        run_seconds = std::max(run_seconds, s.seconds);
    }
    std::vector<std::vector<std::string>> rows;
    Sum all;
    for (const auto& [c, s] : per_chip) {
        rows.push_back({std::to_string(c), fmt::format("{:.6g}", s.joules),
                        fmt::format("{:.4g}", s.seconds > 0 ? s.joules / s.seconds : 0),
                        fmt::format("{:.4g}", s.peak)});
        all.joules += s.joules;
    }
    for (const auto& [x, w] : system_power) all.peak = std::max(all.peak, w);
    rows.push_back({"all simulated chips", fmt::format("{:.6g}", all.joules),
                    fmt::format("{:.4g}", run_seconds > 0 ? all.joules / run_seconds : 0),
                    fmt::format("{:.4g}", all.peak)});
    return "<p>Energy of the run and power per chip. The totals equal summary.json's energy; the time "
           "profile places "
           "each instruction's share of it over its busy cycles and the peak is per time bucket "
           "(docs/metrics.md).</p>\n" +
           table({{"chip", true}, {"energy_J"}, {"average_power_W"}, {"peak_power_W"}}, rows);
}

}  // namespace

std::string inline_svg(std::string_view svg, const std::string& prefix) {
    const size_t at = svg.find("<svg");
    if (at == std::string_view::npos) return "";
    std::string s(svg.substr(at));
    drop_attribute(s, "xmlns");
    drop_attribute(s, "xmlns:xlink");
    for (const char* q : {"\"", "'"}) {
        replace_all(s, std::string(" id=") + q, std::string(" id=") + q + prefix + "-");
        replace_all(s, std::string("href=") + q + "#", std::string("href=") + q + "#" + prefix + "-");
    }
    replace_all(s, "url(#", "url(#" + prefix + "-");
    return s;
}

std::string report_html(const ReportTables& t, const std::map<std::string, PlotResult>& plots) {
    const auto& j = t.summary;
    std::string title = "lpusim run report";
    if (j.contains("hw") && j["hw"].is_string()) title += ": " + j["hw"].get<std::string>();
    for (const char* key : {"program", "workload"})
        if (j.contains(key) && j[key].is_string()) title += " / " + j[key].get<std::string>();
    std::vector<std::vector<std::string>> summary_rows;
    flatten(j, "", summary_rows);

    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}\n</style>\n"
        "</head>\n<body>\n<h1>{}</h1>\n",
        html_escape(title), kCss, html_escape(title));
    out +=
        "<nav><a href=\"#summary\">summary</a><a href=\"#breakdown\">breakdown</a><a "
        "href=\"#roofline\">roofline</a>"
        "<a href=\"#utilization\">utilization</a><a href=\"#power\">power</a></nav>\n";
    std::vector<std::string> notes;
    for (const auto& [name, p] : plots)
        if (p.svg.empty() && std::find(notes.begin(), notes.end(), p.error) == notes.end())
            notes.push_back(p.error);
    for (const auto& n : notes)
        out += fmt::format("<p class=\"note\">plots unavailable: {}</p>\n", html_escape(n));
    out += "<section id=\"summary\">\n<h2>Summary</h2>\n<p class=\"small\">From summary.json.</p>\n" +
           table({{"metric", true}, {"value"}}, summary_rows) + "</section>\n";
    out += "<section id=\"breakdown\">\n<h2>Per-operation breakdown</h2>\n" + figure(plots, "breakdown") +
           "<p class=\"small\">From breakdown.csv. share_of_time is the part of the run in which some "
           "instruction of the "
           "category was active; categories run in parallel, so shares do not add up to 100%. idle: no unit "
           "other than "
           "the ICU active.</p>\n" +
           breakdown_section(t.breakdown) + "</section>\n";
    out += "<section id=\"roofline\">\n<h2>Roofline</h2>\n" + figure(plots, "roofline") +
           "<p class=\"small\">From roofline.csv and roofline_roofs.csv. The x axis is the memory intensity: "
           "ops per byte of "
           "SRAM, weight-install, C2C and memory-interface traffic, the levels with a bandwidth roof. Points "
           "without "
           "memory traffic are drawn at the right edge; points without arithmetic (ops = 0) are listed but "
           "not plotted.</p>\n" +
           roofline_section(t.roofline, t.roofs) + "</section>\n";
    out += "<section id=\"utilization\">\n<h2>Utilization over time</h2>\n" + figure(plots, "utilization") +
           utilization_section(t.utilization) + "</section>\n";
    out += "<section id=\"power\">\n<h2>Power</h2>\n" + figure(plots, "power") + power_section(t.power) +
           "</section>\n";
    out +=
        "<footer class=\"small\"><p>Every column is defined in docs/metrics.md of the lpusim sources. Data "
        "files: "
        "summary.json, breakdown.csv, roofline.csv, roofline_roofs.csv, utilization.csv, power.csv; plot "
        "scripts: "
        "*.gp. Re-render with <code>lpusim report DIR</code>.</p></footer>\n</body>\n</html>\n";
    return out;
}

}  // namespace lpu::report
