#include "tools/sweep/html.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace lpu::sweep {

namespace {

constexpr size_t kMaxTableRows = 5000;  // the full set is in results.csv

const char* kStyle = R"(body{font-family:sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:0.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}
tr.err td{background:#fde8e8}
pre{background:#f6f6f6;padding:0.6em;white-space:pre-wrap}
.note{color:#8a5a00}
svg{max-width:100%;height:auto})";

std::string short_number(const nlohmann::ordered_json& v) {
    if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
    return format_number(v);
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size()))
        text.replace(pos, from.size(), to);
    return text;
}

// The <svg> element of a file gnuplot wrote, without its XML prolog, or "" when absent.
// Element ids get `prefix`: gnuplot uses the same ids (gpPt6, textbox, ...) in every plot,
// and ids must be unique once two plots share one page.
std::string inline_svg(const std::string& path, const std::string& prefix) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return "";
    std::string text;
    try {
        text = read_file(path);
    } catch (const InputError&) {
        return "";
    }
    const auto pos = text.find("<svg");
    if (pos == std::string::npos) return "";
    text.erase(0, pos);
    for (const char* q : {"'", "\""}) {
        text = replace_all(text, std::string("id=") + q, std::string("id=") + q + prefix);
        text = replace_all(text, std::string("href=") + q + "#", std::string("href=") + q + "#" + prefix);
    }
    return replace_all(text, "url(#", "url(#" + prefix);
}

}  // namespace

std::string sweep_html(const HtmlInput& in) {
    const ReportInput& r = in.report;
    std::string h = fmt::format(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>lpusim sweep "
        "{}</title>\n<style>{}</style></head><body>\n",
        html_escape(r.dir), kStyle);
    h += fmt::format("<h1>lpusim sweep</h1>\n<p>{}</p>\n", html_escape(r.summary));

    h += "<h2>Inputs</h2>\n<pre>";
    std::string cmd = "lpusim sweep";
    if (r.sweep_record.contains("command"))
        for (const auto& a : r.sweep_record["command"]) {
            cmd += ' ';  // two appends: GCC 12 warns (-Wrestrict, PR105329) on " " + string
            cmd += a.get<std::string>();
        }
    h += html_escape(cmd) + "</pre>\n<table>\n";
    if (r.sweep_record.contains("base"))
        for (const auto& [k, v] : r.sweep_record["base"].items())
            h += fmt::format("<tr><th class=l>{}</th><td class=l>{}</td></tr>\n", html_escape(k),
                             html_escape(v.is_string() ? v.get<std::string>() : v.dump()));
    h += "</table>\n<table><tr><th class=l>swept key</th><th class=l>passed to lpusim run as</th></tr>\n";
    for (const auto& k : r.keys)
        h += fmt::format("<tr><td class=l>{}</td><td class=l>{}=...</td></tr>\n", html_escape(k.key),
                         html_escape(passed_as(k)));
    h += "</table>\n";

    h += "<h2>Best points</h2>\n<table><tr><th class=l>objective</th><th>value</th><th>point</th><th "
         "class=l>parameters</th></tr>\n";
    for (const auto& [name, b] : in.best.items()) {
        std::string params;
        for (const auto& [k, v] : b["params"].items())
            params += fmt::format("{}{}={}", params.empty() ? "" : " ", k, v.get<std::string>());
        h += fmt::format("<tr><td class=l>{} {}</td><td>{}</td><td>{}</td><td class=l>{}</td></tr>\n",
                         b["goal"].get<std::string>(), html_escape(b["metric"].get<std::string>()),
                         short_number(b["value"]), b["point"].get<size_t>(), html_escape(params));
    }
    h += "</table>\n";

    h += fmt::format("<h2>Heatmap: {}</h2>\n", html_escape(in.metric));
    const std::string heat = inline_svg(r.dir + "/heatmap.svg", "heatmap_");
    h += heat.empty() ? "<p class=note>not drawn (see the notes below)</p>\n" : heat + "\n";
    h += fmt::format("<h2>Pareto: {} against {}</h2>\n", html_escape(in.metric), html_escape(in.pareto_x));
    const std::string pareto = inline_svg(r.dir + "/pareto.svg", "pareto_");
    h += pareto.empty() ? "<p class=note>not drawn (see the notes below)</p>\n" : pareto + "\n";
    if (!in.notes.empty()) {
        h += "<h2>Notes</h2>\n<ul>\n";
        for (const auto& n : in.notes) h += "<li class=note>" + html_escape(n) + "</li>\n";
        h += "</ul>\n";
    }

    h += fmt::format("<h2>Points ({})</h2>\n", r.rows.size());
    if (r.rows.size() > kMaxTableRows)
        h += fmt::format("<p class=note>the first {} points; all of them are in results.csv</p>\n",
                         kMaxTableRows);
    h += "<table><tr><th>point</th><th class=l>status</th>";
    for (const auto& k : r.keys) h += "<th>" + html_escape(k.key) + "</th>";
    for (const auto& c : metric_columns()) h += "<th>" + html_escape(c.name) + "</th>";
    h += "<th class=l>error</th></tr>\n";
    for (size_t i = 0; i < r.rows.size() && i < kMaxTableRows; ++i) {
        const nlohmann::ordered_json j = row_json(*r.rows[i]);
        h += fmt::format("<tr{}><td>{}</td><td class=l>{}</td>", r.rows[i]->ok() ? "" : " class=err",
                         r.rows[i]->point, html_escape(j["status"].get<std::string>()));
        for (const auto& a : r.rows[i]->params) h += "<td>" + html_escape(a.value) + "</td>";
        for (const auto& c : metric_columns()) h += "<td>" + short_number(j[c.name]) + "</td>";
        h += "<td class=l>" + html_escape(j["error"].is_string() ? j["error"].get<std::string>() : "") +
             "</td></tr>\n";
    }
    h += "</table>\n<p>Columns are defined in docs/sweeps.md; exact values are in results.csv and "
         "results.jsonl.</p>\n</body></html>\n";
    return h;
}

}  // namespace lpu::sweep
