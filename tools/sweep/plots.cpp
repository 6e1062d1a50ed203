#include "tools/sweep/plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "common/atomic_file.hpp"
#include "tools/sweep/process.hpp"
#include "tools/sweep/report.hpp"

namespace fs = std::filesystem;

namespace lpu::sweep {

namespace {

// A gnuplot double-quoted string.
std::string gp_string(const std::string& s) {
    std::string q = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + "\"";
}

std::string goal_word(Goal g) { return g == Goal::Max ? "higher is better" : "lower is better"; }

const char* kTerminal =
    "set terminal svg size {},{} noenhanced font \"sans,11\" background rgb \"white\"\n"
    "set output '{}.svg.tmp'\n";

std::string tics(const std::vector<std::string>& labels) {
    std::string t;
    for (size_t i = 0; i < labels.size(); ++i)
        t += fmt::format("{}{} {}", i ? ", " : "", gp_string(labels[i]), i);
    return "(" + t + ")";
}

}  // namespace

PlotResult run_gnuplot(const std::string& dir, const std::string& script, const std::string& name) {
    const char* env = std::getenv("LPUSIM_GNUPLOT");
    SpawnSpec spec;
    spec.program = env && *env ? env : "gnuplot";
    spec.search_path = true;
    spec.args = {"plot/" + script};
    spec.log_path = dir + "/plot/" + name + ".log";
    spec.cwd = dir;
    std::string error;
    const pid_t pid = spawn_logged(spec, error);
    if (pid < 0) return {false, fmt::format("{}.svg skipped: gnuplot is not available ({})", name, error)};
    const ExitStatus st = wait_for(pid);
    const std::string tmp = dir + "/" + name + ".svg.tmp";
    std::error_code ec;
    if (!st.exited() || st.exit_code != 0 || !fs::exists(tmp, ec)) {
        fs::remove(tmp, ec);
        if (st.exited() && st.exit_code == 127)
            return {false, fmt::format("{}.svg skipped: gnuplot is not available", name)};
        return {false,
                fmt::format("{}.svg not drawn: gnuplot {} (see plot/{}.log)", name, st.describe(), name)};
    }
    fs::rename(tmp, dir + "/" + name + ".svg", ec);
    if (ec) return {false, fmt::format("{}.svg not written: {}", name, ec.message())};
    return {true, ""};
}

PlotResult plot_heatmap(const std::string& dir, const std::vector<RoutedKey>& keys,
                        const std::vector<const Row*>& rows, const std::string& metric) {
    if (keys.size() < 2) return {false, "heatmap.svg skipped: it needs at least two swept parameters"};
    const MetricColumn* col = find_metric(metric);
    const Goal goal = col ? col->goal : Goal::Max;
    auto value_of = [](const Row* r, const std::string& key) {
        for (const auto& a : r->params)
            if (a.key.key == key) return a.value;
        return std::string();
    };
    std::vector<std::string> xs, ys;
    std::map<std::string, size_t> xi, yi;
    for (const Row* r : rows) {
        const std::string x = value_of(r, keys[0].key), y = value_of(r, keys[1].key);
        if (!xi.count(x)) xi[x] = xs.size(), xs.push_back(x);
        if (!yi.count(y)) yi[y] = ys.size(), ys.push_back(y);
    }
    std::map<std::pair<size_t, size_t>, double> cell;
    for (const Row* r : rows) {
        const auto v = r->metric(metric);
        if (!v) continue;
        const auto k = std::make_pair(xi[value_of(r, keys[0].key)], yi[value_of(r, keys[1].key)]);
        const auto it = cell.find(k);
        if (it == cell.end() || (goal == Goal::Max ? *v > it->second : *v < it->second)) cell[k] = *v;
    }
    if (cell.empty()) return {false, fmt::format("heatmap.svg skipped: no point reported {}", metric)};

    const bool labels = xs.size() * ys.size() <= 400;
    std::string data = "# x_index y_index value label\n";
    for (size_t y = 0; y < ys.size(); ++y) {
        for (size_t x = 0; x < xs.size(); ++x) {
            const auto it = cell.find({x, y});
            if (it == cell.end())
                data += fmt::format("{} {} NaN \"\"\n", x, y);
            else
                data += fmt::format("{} {} {} \"{:.4g}\"\n", x, y, it->second, it->second);
        }
        data += "\n";
    }
    const std::string others = keys.size() > 2 ? ", best over the other parameters" : "";
    std::string gp = fmt::format(fmt::runtime(kTerminal), std::clamp<size_t>(160 + 70 * xs.size(), 640, 1600),
                                 std::clamp<size_t>(140 + 40 * ys.size(), 480, 1200), "heatmap");
    gp += fmt::format("set title {}\n", gp_string(fmt::format("{} ({}{}); hatched = no value (failed)",
                                                              metric, goal_word(goal), others)));
    gp += fmt::format("set xlabel {}\nset ylabel {}\nset cblabel {}\n", gp_string(keys[0].key),
                      gp_string(keys[1].key), gp_string(metric));
    gp += fmt::format("set xrange [-0.5:{}.5]\nset yrange [-0.5:{}.5]\n", xs.size() - 1, ys.size() - 1);
    gp += fmt::format("set xtics {}{}\nset ytics {}\n", tics(xs), xs.size() > 12 ? " rotate by -45" : "",
                      tics(ys));
    gp += "set tics nomirror out\nunset key\nset format cb \"%.4g\"\n";
    gp += "set palette defined (0 '#440154', 0.25 '#3b528b', 0.5 '#21918c', 0.75 '#5ec962', 1 '#fde725')\n";
    gp += "set style textbox opaque fillcolor rgb \"white\" noborder\n";
    // One filled rectangle per cell (crisp in every viewer, unlike `with image`) over a
    // hatched one, which shows where a point failed (its value is NaN and not drawn).
    gp +=
        "plot 'plot/heatmap.dat' using 1:2:(0.5):(0.5) with boxxyerror fillstyle pattern 4 noborder lc rgb "
        "\"#b0b0b0\", "
        "'' using 1:2:(0.5):(0.5):3 with boxxyerror fillstyle solid noborder lc palette";
    if (labels) gp += ", '' using 1:2:4 with labels boxed font \",9\"";
    gp += "\n";
    fs::create_directories(dir + "/plot");
    write_file_atomic(dir + "/plot/heatmap.dat", data);
    write_file_atomic(dir + "/plot/heatmap.gp", gp);
    return run_gnuplot(dir, "heatmap.gp", "heatmap");
}

PlotResult plot_pareto(const std::string& dir, const std::vector<const Row*>& rows,
                       const std::string& x_metric, const std::string& y_metric) {
    if (x_metric == y_metric) return {false, "pareto.svg skipped: its x and y metric are the same"};
    const MetricColumn* xc = find_metric(x_metric);
    const MetricColumn* yc = find_metric(y_metric);
    const Goal xg = xc ? xc->goal : Goal::Min, yg = yc ? yc->goal : Goal::Max;
    std::vector<std::pair<double, double>> pts;
    std::vector<size_t> point_of;
    for (const Row* r : rows) {
        const auto x = r->metric(x_metric), y = r->metric(y_metric);
        if (!x || !y) continue;
        pts.emplace_back(*x, *y);
        point_of.push_back(r->point);
    }
    if (pts.empty())
        return {false,
                fmt::format("pareto.svg skipped: no point reported both {} and {}", x_metric, y_metric)};
    std::string all = "# x y point\n", front = "# x y point (Pareto front)\n";
    for (size_t i = 0; i < pts.size(); ++i)
        all += fmt::format("{} {} {}\n", pts[i].first, pts[i].second, point_of[i]);
    const std::vector<size_t> f = pareto_front(pts, xg, yg);
    for (const size_t i : f) front += fmt::format("{} {} {}\n", pts[i].first, pts[i].second, point_of[i]);
    std::string gp = fmt::format(fmt::runtime(kTerminal), 800, 560, "pareto");
    gp += fmt::format(
        "set title {}\n",
        gp_string(fmt::format("{} ({}) against {} ({}): {} of {} points on the Pareto front", y_metric,
                              goal_word(yg), x_metric, goal_word(xg), f.size(), pts.size())));
    gp += fmt::format("set xlabel {}\nset ylabel {}\n", gp_string(x_metric), gp_string(y_metric));
    gp += "set format x \"%.4g\"\nset format y \"%.4g\"\n";
    gp +=
        "set grid\nset key outside bottom center horizontal\nset offsets graph 0.05, graph 0.05, graph 0.05, "
        "graph 0.05\n";
    gp +=
        "plot 'plot/pareto_all.dat' using 1:2 with points pt 7 ps 0.6 lc rgb \"#9a9a9a\" title \"point\", "
        "'plot/pareto_front.dat' using 1:2 with linespoints pt 7 ps 0.9 lw 2 lc rgb \"#d62728\" title "
        "\"Pareto front\"";
    if (f.size() <= 40) gp += ", '' using 1:2:(sprintf(\"%d\", $3)) with labels offset 0.8,0.8 notitle";
    gp += "\n";
    fs::create_directories(dir + "/plot");
    write_file_atomic(dir + "/plot/pareto_all.dat", all);
    write_file_atomic(dir + "/plot/pareto_front.dat", front);
    write_file_atomic(dir + "/plot/pareto.gp", gp);
    return run_gnuplot(dir, "pareto.gp", "pareto");
}

}  // namespace lpu::sweep
