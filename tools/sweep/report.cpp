#include "tools/sweep/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/atomic_file.hpp"
#include "tools/sweep/html.hpp"
#include "tools/sweep/plots.hpp"

namespace lpu::sweep {

namespace {

struct Objective {
    const char* metric;
    Goal goal;
};

// The questions a sweep usually asks (docs/sweeps.md, "best.json").
const std::vector<Objective>& objectives() {
    static const std::vector<Objective> o = {
        {"tokens_per_s", Goal::Max},        {"tokens_per_s_per_user", Goal::Max},
        {"time_to_first_token_s", Goal::Min}, {"prompt_tokens_per_s", Goal::Max},
        {"energy_per_prompt_token_J", Goal::Min},
        {"latency_per_token_s", Goal::Min}, {"energy_per_token_J", Goal::Min},
        {"utilization_mxm", Goal::Max},     {"seconds", Goal::Min},
        {"energy_total_J", Goal::Min},
    };
    return o;
}

std::string goal_name(Goal g) { return g == Goal::Max ? "max" : "min"; }

std::string params_text(const Row& r) {
    std::string s;
    for (const auto& a : r.params) s += fmt::format("{}{}={}", s.empty() ? "" : " ", a.key.key, a.value);
    return s;
}

}  // namespace

nlohmann::ordered_json best_points(const std::vector<const Row*>& rows, const std::string& extra_metric) {
    std::vector<Objective> objs = objectives();
    const bool listed =
        std::any_of(objs.begin(), objs.end(), [&](const Objective& o) { return o.metric == extra_metric; });
    const MetricColumn* extra = find_metric(extra_metric);
    if (!listed && extra) objs.push_back({extra->name.c_str(), extra->goal});
    nlohmann::ordered_json best = nlohmann::ordered_json::object();
    for (const Objective& o : objs) {
        const Row* winner = nullptr;
        double winner_value = 0;
        for (const Row* r : rows) {
            const auto v = r->metric(o.metric);
            if (!v) continue;
            if (!winner || (o.goal == Goal::Max ? *v > winner_value : *v < winner_value)) {
                winner = r;
                winner_value = *v;
            }
        }
        if (!winner) continue;
        nlohmann::ordered_json params = nlohmann::ordered_json::object();
        for (const auto& a : winner->params) params[a.key.key] = a.value;
        best[goal_name(o.goal) + "_" + o.metric] = {{"metric", o.metric},
                                                    {"goal", goal_name(o.goal)},
                                                    {"value", winner->result["metrics"][o.metric]},
                                                    {"point", winner->point},
                                                    {"id", winner->id},
                                                    {"params", params}};
    }
    return best;
}

// The workload's headline: a prefill user waits for the first token, a decode service
// counts tokens per second, a program run takes seconds.
std::string default_metric(const std::vector<const Row*>& rows) {
    for (const char* m : {"time_to_first_token_s", "tokens_per_s"})
        for (const Row* r : rows)
            if (r->metric(m)) return m;
    return "seconds";
}

static bool metric_varies(const std::vector<const Row*>& rows, const std::string& metric) {
    double lo = 0, hi = 0;
    bool any = false;
    for (const Row* r : rows)
        if (const auto v = r->metric(metric)) {
            lo = any ? std::min(lo, *v) : *v;
            hi = any ? std::max(hi, *v) : *v;
            any = true;
        }
    // Less than 1% apart: no trade-off worth a plot (every point would sit "on the front").
    return any && hi - lo > 0.01 * std::max(std::fabs(hi), std::fabs(lo));
}

std::string default_pareto_x(const std::vector<const Row*>& rows) {
    for (const char* m : {"chips", "energy_per_token_J", "energy_per_prompt_token_J", "energy_total_J"})
        if (metric_varies(rows, m)) return m;
    return "chips";
}

std::vector<size_t> pareto_front(const std::vector<std::pair<double, double>>& points, Goal x_goal,
                                 Goal y_goal) {
    // Minimise both after flipping the sign of maximised coordinates; sort by x, then y,
    // and keep each point strictly better in y than every point before it.
    auto key = [&](size_t i) {
        return std::make_pair(x_goal == Goal::Max ? -points[i].first : points[i].first,
                              y_goal == Goal::Max ? -points[i].second : points[i].second);
    };
    std::vector<size_t> order(points.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
    std::vector<size_t> front;
    for (const size_t i : order)
        if (front.empty() || key(i).second < key(front.back()).second) front.push_back(i);
    return front;
}

ReportOutput write_report(const ReportInput& in) {
    ReportOutput out;
    const std::string metric = in.metric.empty() ? default_metric(in.rows) : in.metric;
    const std::string pareto_x = in.pareto_x.empty() ? default_pareto_x(in.rows) : in.pareto_x;

    const nlohmann::ordered_json best = best_points(in.rows, metric);
    write_file_atomic(in.dir + "/best.json", best.dump(2) + "\n");
    for (const auto& [name, b] : best.items()) {
        const Row* r = nullptr;
        for (const Row* row : in.rows)
            if (row->point == b["point"].get<size_t>()) r = row;
        out.best_lines.push_back(fmt::format("{} {} = {} at point {} ({})", b["goal"].get<std::string>(),
                                             b["metric"].get<std::string>(), format_number(b["value"]),
                                             b["point"].get<size_t>(), r ? params_text(*r) : ""));
    }
    if (best.empty()) out.notes.push_back("no point succeeded: best.json is empty and plots are skipped");

    // Stale plots from an earlier invocation must not survive a skipped plot.
    std::error_code ec;
    for (const char* f : {"/heatmap.svg", "/pareto.svg"}) std::filesystem::remove(in.dir + f, ec);
    if (!best.empty()) {
        const PlotResult heat = plot_heatmap(in.dir, in.keys, in.rows, metric);
        if (heat.written) out.plots.push_back("heatmap.svg");
        if (!heat.note.empty()) out.notes.push_back(heat.note);
        if (!metric_varies(in.rows, pareto_x) || !metric_varies(in.rows, metric)) {
            out.notes.push_back(fmt::format("pareto.svg skipped: {} or {} differs by less than 1% over the points",
                                            pareto_x, metric));
        } else {
            const PlotResult pareto = plot_pareto(in.dir, in.rows, pareto_x, metric);
            if (pareto.written) out.plots.push_back("pareto.svg");
            if (!pareto.note.empty()) out.notes.push_back(pareto.note);
        }
    }

    HtmlInput h{in, best, metric, pareto_x, out.notes};
    write_file_atomic(in.dir + "/sweep.html", sweep_html(h));
    return out;
}

}  // namespace lpu::sweep
