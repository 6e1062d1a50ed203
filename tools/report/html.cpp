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
    R"(body{font-family:sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
section{max-width:100%;overflow:hidden}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right;white-space:nowrap}th{background:#f3f3f3}
td.t,th.t{text-align:left}td.w{white-space:normal;text-align:left;max-width:60em}nav a{margin-right:1em}
figure{margin:.5em 0}figure svg{width:100%;max-width:960px;height:auto;border:1px solid #eee}
.note{color:#a33}.scroll{overflow-x:auto;max-width:100%;max-height:36em;overflow-y:auto}
.small{color:#666;font-size:.85em}details{margin:.5em 0}
.cards{display:flex;flex-wrap:wrap;gap:.8em;margin:1em 0}
.card{border:1px solid #ccd;border-radius:6px;padding:.6em 1em;min-width:10em;background:#f8f9fc}
.card .v{font-size:1.6em;font-weight:bold}.card .k{color:#555;font-size:.85em}
.card .s{color:#777;font-size:.75em}
dl.inputs{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;font-size:.9em}
dl.inputs dt{color:#555}dl.inputs dd{margin:0;font-family:monospace;overflow-wrap:anywhere})";

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


// A fraction as a percentage readable at any size (three significant digits).
std::string percent3(double fraction) {
    if (fraction == 0) return "0%";
    return fmt::format("{:.3g}%", 100 * fraction);
}

// `v` scaled to an SI prefix with `unit`: 0.01548 s -> "15.5 ms", 3.3e10 B -> "33 GB".
std::string si(double v, const std::string& unit) {
    if (!std::isfinite(v)) return fmt::format("{} {}", v, unit);
    if (v == 0) return "0 " + unit;
    static const std::pair<double, const char*> kPrefixes[] = {{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"},
                                                               {1e3, "k"},  {1, ""},     {1e-3, "m"}, {1e-6, "\u00b5"},
                                                               {1e-9, "n"}, {1e-12, "p"}};
    for (const auto& [scale, prefix] : kPrefixes)
        if (std::fabs(v) >= scale * 0.9995) return fmt::format("{:.3g} {}{}", v / scale, prefix, unit);
    return fmt::format("{:.3g} {}", v, unit);
}

// A summary value for reading, by the unit its key names (docs/metrics.md conventions).
std::string human(const std::string& key, const nlohmann::ordered_json& v) {
    if (!v.is_number()) return v.is_string() ? v.get<std::string>() : v.dump();
    const double x = v.get<double>();
    auto ends = [&](std::string_view suffix) {
        return key.size() >= suffix.size() && key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    auto starts = [&](std::string_view prefix) { return key.rfind(prefix, 0) == 0; };
    if (starts("utilization") || ends("_fraction")) return percent3(x);
    if (ends("tokens_per_s") || ends("tokens_per_s_per_user")) return si(x, "tokens/s");
    if (ends("_per_s") && key.find("ops") != std::string::npos) return si(x, "ops/s");
    if (ends("_s") || key == "seconds") return si(x, "s");
    if (ends("_J")) return si(x, "J");
    if (ends("_W") || ends("_W_per_chip")) return si(x, "W");
    if (key.find("bytes") != std::string::npos) return si(x, "B");
    if (key.find("macs") != std::string::npos || key == "mac_slots") return si(x, "MAC");
    if (key == "cycles" || ends("_cycles")) return si(x, "cycles");
    if (v.is_number_integer()) return fmt::format("{}", v.get<int64_t>());
    return fmt::format("{:.4g}", x);
}

const nlohmann::ordered_json* find(const nlohmann::ordered_json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
}

struct Card {
    std::string key, value, sub;
};

// The headline figures of a run, for a person reading the page first (docs/metrics.md).
std::vector<Card> headline_cards(const nlohmann::ordered_json& j) {
    std::vector<Card> cards;
    auto add = [&](const char* key, const std::string& label, const std::string& sub = "") {
        if (const auto* v = find(j, key)) cards.push_back({label, human(key, *v), sub});
    };
    const bool prefill = find(j, "time_to_first_token_s") != nullptr;
    if (prefill) {
        add("time_to_first_token_s", "time to first token");
        add("prompt_tokens_per_s", "prompt tokens/s",
            find(j, "prompt_tokens") ? fmt::format("{} prompt tokens", find(j, "prompt_tokens")->dump()) : "");
    } else if (find(j, "tokens_per_s_per_user")) {
        add("tokens_per_s_per_user", "tokens/s per user");
        add("tokens_per_s", "tokens/s in all",
            find(j, "concurrent_users") ? fmt::format("{} concurrent users", human("", *find(j, "concurrent_users"))) : "");
        add("latency_per_token_s", "latency per token");
    } else if (find(j, "gemm_seconds")) {
        add("gemm_seconds", "GEMM time");
        add("gemm_ops_per_s", "GEMM rate");
    } else {
        add("seconds", "run time");
    }
    if (const auto* chips = find(j, "chips")) {
        std::string sub;
        if (find(j, "tensor_parallel") && find(j, "pipeline_parallel"))
            sub = fmt::format("{} tensor x {} pipeline; {} simulated", find(j, "tensor_parallel")->dump(),
                              find(j, "pipeline_parallel")->dump(),
                              find(j, "simulated_chips") ? find(j, "simulated_chips")->dump() : "?");
        cards.push_back({"chips", chips->dump(), sub});
    } else if (const auto* sim = find(j, "simulated_chips")) {
        cards.push_back({"simulated chips", sim->dump(), ""});
    }
    if (prefill)
        add("energy_per_prompt_token_J", "energy per prompt token", "system");
    else
        add("energy_per_token_J", "energy per token", "system, steady state");
    if (!find(j, "energy_per_token_J") && !prefill) add("energy", "energy");
    if (const auto* e = find(j, "energy"); e && !find(j, "chips") && e->is_object() && e->contains("total_J"))
        cards.push_back({"energy", human("total_J", (*e)["total_J"]), "simulated chips"});
    add("average_power_W_per_chip", "power per chip", find(j, "chips") ? "system average" : "simulated chips");
    const auto* simulated = find(j, "simulated_chips");
    if (const auto* a = find(j, "active_fraction"); a && simulated && simulated->get<int>() > 1)
        cards.push_back({"chips active", percent3(a->get<double>()), "mean share of the run a chip's units work"});
    return cards;
}

std::string cards_html(const std::vector<Card>& cards) {
    std::string out = "<div class=\"cards\">\n";
    for (const Card& c : cards)
        out += fmt::format("<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div>{}</div>\n",
                           html_escape(c.key), html_escape(c.value),
                           c.sub.empty() ? "" : "<div class=\"s\">" + html_escape(c.sub) + "</div>");
    return out + "</div>\n";
}

std::string inputs_html(const nlohmann::ordered_json& j) {
    const auto* in = find(j, "inputs");
    if (!in || !in->is_object())
        return "<p class=\"note\">This run's summary.json records no inputs (made by an older lpusim).</p>\n";
    static const std::pair<const char*, const char*> kRows[] = {
        {"command", "command"},           {"lpusim_version", "lpusim --version"},
        {"hw_file", "hardware file"},     {"hw_hash", "hardware file hash"},
        {"workload_file", "workload"},    {"workload_hash", "workload hash"},
        {"program_file", "program"},      {"program_hash", "program hash"}};
    std::string out = "<dl class=\"inputs\">\n";
    for (const auto& [key, name] : kRows)
        if (const auto* v = find(*in, key))
            out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", name,
                               html_escape(v->is_string() ? v->get<std::string>() : v->dump()));
    return out + "</dl>\n";
}

struct Column {
    std::string header;
    bool text = false;
    bool wrap = false;  // long text: wraps instead of widening the table
};

const char* cell_class(const Column& c) { return c.wrap ? " class=\"w\"" : c.text ? " class=\"t\"" : ""; }

std::string table(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
    std::string out = "<div class=\"scroll\"><table><tr>";
    for (const Column& c : columns)
        out += fmt::format("<th{}>{}</th>", c.text ? " class=\"t\"" : "", html_escape(c.header));
    out += "</tr>\n";
    for (const auto& row : rows) {
        out += "<tr>";
        for (size_t i = 0; i < row.size() && i < columns.size(); ++i)
            out += fmt::format("<td{}>{}</td>", cell_class(columns[i]), row[i]);
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
    rows.push_back({html_escape(prefix), j.is_number() ? html_escape(human(prefix, j)) : "", value});
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
    const auto kinds = columns_with_suffix(t, "_busy_fraction");
    const size_t chip = t.column("chip"), start = t.column("bucket_start_cycle"),
                 end = t.column("bucket_end_cycle");
    // Per chip: its buckets in order, then the window from its first to its last busy bucket.
    std::map<long long, std::vector<size_t>> rows_of;
    for (size_t i = 0; i < t.rows(); ++i) rows_of[std::llround(t.number(i, chip))].push_back(i);
    std::vector<Column> cols = {{"chip", true}, {"active buckets, share of run"}};
    for (const auto& k : kinds) cols.push_back({k.first + " while active"});
    for (const auto& k : kinds) cols.push_back({k.first + " over run"});
    std::vector<std::vector<std::string>> rows;
    std::vector<double> mean_active(kinds.size()), mean_run(kinds.size());
    double mean_share = 0;
    const double n = static_cast<double>(rows_of.size());
    for (const auto& [c, idx] : rows_of) {
        double run_cycles = 0, window_cycles = 0;
        std::vector<double> busy_run(kinds.size()), busy_window(kinds.size());
        for (size_t r = 0; r < idx.size(); ++r) {
            const double len = t.number(idx[r], end) - t.number(idx[r], start);
            bool in = false;
            for (const auto& k : kinds) in = in || t.number(idx[r], k.second) > 0;
            run_cycles += len;
            window_cycles += in ? len : 0;
            for (size_t k = 0; k < kinds.size(); ++k) {
                busy_run[k] += t.number(idx[r], kinds[k].second) * len;
                busy_window[k] += in ? t.number(idx[r], kinds[k].second) * len : 0;
            }
        }
        const double share = run_cycles > 0 ? window_cycles / run_cycles : 0;
        mean_share += share / n;
        std::vector<std::string> row = {std::to_string(c), percent3(share)};
        for (size_t k = 0; k < kinds.size(); ++k) {
            const double f = window_cycles > 0 ? busy_window[k] / window_cycles : 0;
            mean_active[k] += f / n;
            row.push_back(percent3(f));
        }
        for (size_t k = 0; k < kinds.size(); ++k) {
            const double f = run_cycles > 0 ? busy_run[k] / run_cycles : 0;
            mean_run[k] += f / n;
            row.push_back(percent3(f));
        }
        rows.push_back(std::move(row));
    }
    if (rows_of.size() > 1) {
        std::vector<std::string> row = {fmt::format("mean of {} chips", rows_of.size()), percent3(mean_share)};
        for (double f : mean_active) row.push_back(percent3(f));
        for (double f : mean_run) row.push_back(percent3(f));
        rows.push_back(std::move(row));
    }
    return "<p>Average busy fraction per unit kind, per chip: while the chip is active (over its time buckets "
           "in which a unit was busy, so pipeline stages that run one after another are not diluted by each "
           "other's turns) and over the whole run (equal to summary.json's utilization; summary.json's "
           "utilization_active counts exact active cycles instead of buckets).</p>\n" +
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
    double mean_power = 0;
    for (const auto& [c, s] : per_chip) {
        const double average = s.seconds > 0 ? s.joules / s.seconds : 0;
        rows.push_back({std::to_string(c), fmt::format("{:.6g}", s.joules), fmt::format("{:.4g}", average),
                        fmt::format("{:.4g}", s.peak)});
        all.joules += s.joules;
        mean_power += average / static_cast<double>(per_chip.size());
        all.peak = std::max(all.peak, s.peak);
    }
    double summed_peak = 0;
    for (const auto& [x, w] : system_power) summed_peak = std::max(summed_peak, w);
    // Every column of the last row is of the same kind as above it: a mean of the chips'
    // energies and average powers, the largest of their peaks.
    if (per_chip.size() > 1)
        rows.push_back({fmt::format("mean of {} chips", per_chip.size()),
                        fmt::format("{:.6g}", all.joules / static_cast<double>(per_chip.size())),
                        fmt::format("{:.4g}", mean_power), fmt::format("{:.4g} (largest)", all.peak)});
    return "<p>Energy of the run and power per chip. The totals equal summary.json's energy; the time "
           "profile places each instruction's share of it over its busy cycles and the peak is per time bucket "
           "(docs/metrics.md).</p>\n" +
           table({{"chip", true}, {"energy_J"}, {"average_power_W"}, {"peak_power_W"}}, rows) +
           fmt::format("<p>All {} simulated chips together: {:.6g} J, {:.4g} W on average over the run, {:.4g} W "
                       "in the busiest time bucket.</p>\n",
                       per_chip.size(), all.joules, run_seconds > 0 ? all.joules / run_seconds : 0, summed_peak);
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
    const bool pipeline = plots.count("pipeline") > 0;

    std::string out = fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}\n</style>\n"
        "</head>\n<body>\n<h1>{}</h1>\n",
        html_escape(title), kCss, html_escape(title));
    out += std::string("<nav><a href=\"#inputs\">inputs</a>") + (pipeline ? "<a href=\"#pipeline\">pipeline</a>" : "") +
           "<a href=\"#utilization\">utilization</a><a href=\"#breakdown\">breakdown</a><a "
           "href=\"#roofline\">roofline</a><a href=\"#power\">power</a><a href=\"#summary\">all figures</a></nav>\n";
    out += "<section id=\"headline\">\n" + cards_html(headline_cards(j)) + "</section>\n";
    std::vector<std::string> notes;
    for (const auto& [name, p] : plots)
        if (p.svg.empty() && std::find(notes.begin(), notes.end(), p.error) == notes.end())
            notes.push_back(p.error);
    for (const auto& n : notes)
        out += fmt::format("<p class=\"note\">plots unavailable: {}</p>\n", html_escape(n));
    out += "<section id=\"inputs\">\n<h2>Inputs</h2>\n" + inputs_html(j) + "</section>\n";
    if (pipeline)
        out += "<section id=\"pipeline\">\n<h2>Pipeline: which chip is busy when</h2>\n" + figure(plots, "pipeline") +
               "<p class=\"small\">From utilization.csv: one row per simulated chip (one per pipeline stage when "
               "tensor-parallel peers are mirrored), each time bucket coloured by the unit kind with the largest "
               "busy fraction; white where only the ICU (waiting) was busy.</p>\n</section>\n";
    out += "<section id=\"utilization\">\n<h2>Utilization over time</h2>\n" + figure(plots, "utilization") +
           utilization_section(t.utilization) + "</section>\n";
    out += "<section id=\"breakdown\">\n<h2>Per-operation breakdown</h2>\n" + figure(plots, "breakdown") +
           "<p class=\"small\">From breakdown.csv. share_of_time is the part of the run in which some "
           "instruction of the category was active; categories run in parallel, so shares do not add up to 100%. "
           "idle: no unit other than the ICU active.</p>\n" +
           breakdown_section(t.breakdown) + "</section>\n";
    out += "<section id=\"roofline\">\n<h2>Roofline</h2>\n" + figure(plots, "roofline") +
           "<p class=\"small\">From roofline.csv and roofline_roofs.csv. The x axis is the memory intensity: "
           "ops per byte of SRAM, weight-install, C2C and memory-interface traffic, the levels with a bandwidth "
           "roof. The achieved rate is per chip while active (ops over the chip-cycles in which the point's "
           "instructions ran). Points without memory traffic are drawn at the right edge; points without "
           "arithmetic (ops = 0) are listed but not plotted.</p>\n" +
           roofline_section(t.roofline, t.roofs) + "</section>\n";
    out += "<section id=\"power\">\n<h2>Power</h2>\n" + figure(plots, "power") + power_section(t.power) +
           "</section>\n";
    out += "<section id=\"summary\">\n<h2>All figures</h2>\n<p class=\"small\">Every key of summary.json, "
           "in a readable unit and exactly as stored (docs/metrics.md defines each).</p>\n" +
           table({{"metric", true}, {"value"}, {"as stored", true, true}}, summary_rows) + "</section>\n";
    out +=
        "<footer class=\"small\"><p>Every column is defined in docs/metrics.md of the lpusim sources. Data "
        "files: "
        "summary.json, breakdown.csv, roofline.csv, roofline_roofs.csv, utilization.csv, power.csv; plot "
        "scripts: "
        "*.gp. Re-render with <code>lpusim report DIR</code>.</p></footer>\n</body>\n</html>\n";
    return out;
}

}  // namespace lpu::report
