#include "tools/report/plots.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>

#include "common/atomic_file.hpp"

extern char** environ;

namespace lpu::report {

namespace {

constexpr std::array<const char*, 10> kColors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char* color(size_t i) { return kColors[i % kColors.size()]; }

// A label for gnuplot data or titles: double-quoted, with only characters that no gnuplot
// parser treats specially (the report tables show the exact names).
std::string label(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        const bool plain = std::isalnum(static_cast<unsigned char>(c)) ||
                           std::string_view("_.:+-/() %=,").find(c) != std::string_view::npos;
        out += plain ? c : '_';
    }
    return out + "\"";
}

std::string num(double v) { return csv_number(v); }

std::string preamble(const std::string& name, const std::string& source) {
    return fmt::format(
        "# lpusim {} plot, generated from {} by lpusim. Render: gnuplot {}.gp > {}.svg\n"
        "set terminal svg size 960,560 dynamic noenhanced font \"sans,12\" background \"#ffffff\"\n"
        "set encoding utf8\n"
        "set clip two\n",
        name, source, name, name);
}

std::string no_data(const std::string& what) {
    return fmt::format(
        "set xrange [0:1]\nset yrange [0:1]\nunset xtics\nunset ytics\n"
        "set label 1 {} at graph 0.5,0.5 center\nplot 2 notitle\n",
        label("no data: " + what));
}

double pow10_floor(double v) { return std::pow(10.0, std::floor(std::log10(v))); }
double pow10_ceil(double v) { return std::pow(10.0, std::ceil(std::log10(v))); }

// Rows grouped by chip (ascending), each chip's rows in file order.
std::map<long long, std::vector<size_t>> rows_by_chip(const CsvTable& t) {
    std::map<long long, std::vector<size_t>> out;
    const size_t chip = t.column("chip");
    for (size_t i = 0; i < t.rows(); ++i) out[std::llround(t.number(i, chip))].push_back(i);
    return out;
}

}  // namespace

std::string roofline_script(const CsvTable& t, const std::vector<Roof>& roofs) {
    const size_t c_cat = t.column("category"), c_layer = t.column("layer"), c_ops = t.column("ops"),
                 c_int = t.column("memory_intensity_ops_per_byte"),
                 c_ach = t.column("achieved_ops_per_s_per_chip");
    struct Point {
        double x, y;
        std::string name;
    };
    // Points without memory traffic (infinite memory intensity) go to the right edge.
    std::vector<Point> categories, layers, categories_edge, layers_edge;
    for (size_t i = 0; i < t.rows(); ++i) {
        const double ops = t.number(i, c_ops), x = t.number(i, c_int), y = t.number(i, c_ach);
        if (!(ops > 0) || !(x > 0) || !(y > 0) || !std::isfinite(y)) continue;
        const bool all = t.text(i, c_layer) == "all";
        const bool edge = std::isinf(x);
        auto& set = all ? (edge ? categories_edge : categories) : (edge ? layers_edge : layers);
        set.push_back({x, y, all ? t.text(i, c_cat) : t.text(i, c_cat) + " L" + t.text(i, c_layer)});
    }
    double peak = 0;
    for (const Roof& r : roofs)
        if (r.compute && r.name == "mxm_int8") peak = r.value;
    for (const Roof& r : roofs)
        if (r.compute && peak <= 0) peak = std::max(peak, r.value);
    std::string s = preamble("roofline", "roofline.csv and roofline_roofs.csv");
    const size_t plotted = categories.size() + layers.size() + categories_edge.size() + layers_edge.size();
    if (peak <= 0 && plotted == 0) return s + no_data("no roofs and no points with arithmetic");

    // Axis ranges: every point, every ridge and a decade of margin.
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = 0,
           y_lo = std::numeric_limits<double>::infinity();
    double y_hi = peak;
    for (const auto* set : {&categories, &layers, &categories_edge, &layers_edge})
        for (const Point& p : *set) {
            if (std::isfinite(p.x)) {
                x_lo = std::min(x_lo, p.x);
                x_hi = std::max(x_hi, p.x);
            }
            y_lo = std::min(y_lo, p.y);
            y_hi = std::max(y_hi, p.y);
        }
    for (const Roof& r : roofs)
        if (!r.compute && r.ridge_ops_per_byte > 0) {
            x_lo = std::min(x_lo, r.ridge_ops_per_byte);
            x_hi = std::max(x_hi, r.ridge_ops_per_byte);
        }
    if (!(x_hi > 0)) x_lo = 0.1, x_hi = 100;
    x_lo = pow10_floor(x_lo / 3);
    x_hi = pow10_ceil(x_hi * 3);
    y_hi = pow10_ceil(y_hi * 3);
    for (auto* set : {&categories_edge, &layers_edge})
        for (Point& p : *set) p.x = x_hi / 1.5;
    for (const Roof& r : roofs)
        if (!r.compute) y_lo = std::min(y_lo, r.value * x_lo);
    y_lo = std::max(pow10_floor(std::min(y_lo, y_hi / 1e3) / 3), y_hi / 1e9);

    s += fmt::format(
        "set title {}\nset logscale xy\nset xrange [{}:{}]\nset yrange [{}:{}]\n"
        "set xlabel \"memory intensity (ops per byte of SRAM, install, C2C and memory-interface traffic)\"\n"
        "set ylabel \"achieved ops/s per chip\"\nset format x \"%g\"\nset format y \"%.0s%c\"\n"
        "set grid xtics ytics lc \"#e0e0e0\"\nset key outside right top\n",
        label(fmt::format("Roofline per chip: {} categories, {} category x layer points",
                          categories.size() + categories_edge.size(), layers.size() + layers_edge.size())),
        num(x_lo), num(x_hi), num(y_lo), num(y_hi));
    std::vector<std::string> clauses;
    size_t k = 0;
    for (const Roof& r : roofs) {
        const std::string block = fmt::format("$roof{}", k);
        if (r.compute) {
            s += fmt::format("{} << EOD\n{} {}\n{} {}\nEOD\n", block, num(x_lo), num(r.value), num(x_hi),
                             num(r.value));
            clauses.push_back(fmt::format("{} using 1:2 with lines lw 2 lc rgb \"{}\" title {}", block,
                                          color(k),
                                          label(fmt::format("{} peak {:.3g} ops/s", r.name, r.value))));
        } else {
            // Slanted bandwidth x intensity, up to its ridge with the MXM int8 peak.
            const double ridge = r.ridge_ops_per_byte > 0 ? r.ridge_ops_per_byte : x_hi;
            s += fmt::format("{} << EOD\n{} {}\n{} {}\nEOD\n", block, num(x_lo), num(r.value * x_lo),
                             num(ridge), num(r.value * ridge));
            clauses.push_back(fmt::format("{} using 1:2 with lines lw 2 dt 2 lc rgb \"{}\" title {}", block,
                                          color(k), label(fmt::format("{} {:.3g} B/s", r.name, r.value))));
        }
        ++k;
    }
    // Ridge labels alternate above and below the roof so that close ridges stay legible.
    // (about 16 px on a 460 px high plot: a fraction of the decades shown).
    const double label_shift = std::pow(10.0, 0.035 * std::log10(y_hi / y_lo));
    std::string ridges;
    size_t ridge_count = 0;
    for (const Roof& r : roofs)
        if (!r.compute && r.ridge_ops_per_byte > 0) {
            const double y = r.value * r.ridge_ops_per_byte;
            ridges += fmt::format("{} {} {} {}\n", num(r.ridge_ops_per_byte), num(y),
                                  label(fmt::format("{} ridge {:.3g}", r.name, r.ridge_ops_per_byte)),
                                  num(ridge_count++ % 2 == 0 ? y * label_shift : y / label_shift));
        }
    if (!ridges.empty()) {
        s += "$ridges << EOD\n" + ridges + "EOD\n";
        clauses.push_back(
            "$ridges using 1:2 with points pt 6 ps 1.3 lc rgb \"#000000\" title \"ridge points (ops/byte)\"");
        clauses.push_back("$ridges using 1:4:3 with labels center font \",9\" notitle");
    }
    auto block = [&](const char* name, const std::vector<Point>& pts) {
        s += fmt::format("{} << EOD\n", name);
        for (const Point& p : pts) s += fmt::format("{} {} {}\n", num(p.x), num(p.y), label(p.name));
        s += "EOD\n";
    };
    if (!layers.empty()) {
        block("$layers", layers);
        clauses.push_back(
            "$layers using 1:2 with points pt 1 ps 0.7 lc rgb \"#888888\" title \"category x layer\"");
    }
    if (!layers_edge.empty()) {
        block("$layers_edge", layers_edge);
        clauses.push_back(
            "$layers_edge using 1:2 with points pt 8 ps 0.7 lc rgb \"#888888\" "
            "title \"category x layer, no memory traffic (at the edge)\"");
    }
    if (!categories.empty()) {
        block("$categories", categories);
        clauses.push_back(
            "$categories using 1:2 with points pt 7 ps 1.1 lc rgb \"#d62728\" title \"category\"");
        clauses.push_back("$categories using 1:2:3 with labels left offset 0.8,0.5 font \",10\" notitle");
    }
    if (!categories_edge.empty()) {
        block("$categories_edge", categories_edge);
        clauses.push_back(
            "$categories_edge using 1:2 with points pt 9 ps 1.2 lc rgb \"#d62728\" "
            "title \"category, no memory traffic (at the edge)\"");
        clauses.push_back(
            "$categories_edge using 1:2:3 with labels right offset -0.8,0.5 font \",10\" notitle");
    }
    s += "plot ";
    for (size_t i = 0; i < clauses.size(); ++i) s += (i ? ", \\\n     " : "") + clauses[i];
    return s + "\n";
}

std::string utilization_script(const CsvTable& t) {
    const size_t c_start = t.column("bucket_start_cycle"), c_end = t.column("bucket_end_cycle");
    const auto kinds = columns_with_suffix(t, "_busy_fraction");
    const auto chips = rows_by_chip(t);
    std::string s = preamble("utilization", "utilization.csv");
    if (chips.empty() || kinds.empty()) return s + no_data("an empty run");
    // Per bucket, the mean over the chips with a busy unit in it: stages of a pipeline that
    // run one after another do not dilute each other.
    struct Sum {
        std::vector<double> busy;
        int chips = 0;
    };
    std::map<std::pair<double, double>, Sum> sum;
    for (size_t i = 0; i < t.rows(); ++i) {
        Sum& v = sum[{t.number(i, c_start), t.number(i, c_end)}];
        v.busy.resize(kinds.size());
        bool busy = false;
        for (const auto& k : kinds) busy = busy || t.number(i, k.second) > 0;
        if (!busy) continue;
        ++v.chips;
        for (size_t k = 0; k < kinds.size(); ++k) v.busy[k] += t.number(i, kinds[k].second);
    }
    const bool some_windowed = std::any_of(sum.begin(), sum.end(), [&](const auto& b) {
        return b.second.chips < static_cast<int>(chips.size());
    });
    s += fmt::format(
        "set title {}\nset xlabel \"cycle\"\nset ylabel \"busy instances (%)\"\nset yrange [0:105]\n"
        "set xrange [{}:{}]\nset grid ytics lc \"#e0e0e0\"\nset key outside right top\n$u << EOD\n",
        label(some_windowed ? fmt::format("Utilization over time ({} buckets, mean over the chips busy in each, of {})",
                                          sum.size(), chips.size())
                            : fmt::format("Utilization over time ({} buckets, mean over {} simulated chip(s))",
                                          sum.size(), chips.size())),
        num(sum.begin()->first.first), num(sum.rbegin()->first.second));
    auto mean = [](const Sum& v, size_t k) { return v.chips > 0 ? 100 * v.busy[k] / v.chips : 0.0; };
    for (const auto& [bucket, v] : sum) {
        s += num(bucket.first);
        for (size_t k = 0; k < kinds.size(); ++k) s += " " + num(mean(v, k));
        s += "\n";
    }
    // Repeat the last bucket at its end so that the last step is drawn.
    s += num(sum.rbegin()->first.second);
    for (size_t k = 0; k < kinds.size(); ++k) s += " " + num(mean(sum.rbegin()->second, k));
    s += "\nEOD\nplot ";
    for (size_t k = 0; k < kinds.size(); ++k)
        s += fmt::format("{}$u using 1:{} with steps lw 1.5 lc rgb \"{}\" title {}", k ? ", \\\n     " : "",
                         k + 2, color(k), label(kinds[k].first));
    return s + "\n";
}

std::string pipeline_script(const CsvTable& t) {
    const size_t c_start = t.column("bucket_start_cycle"), c_end = t.column("bucket_end_cycle");
    const auto kinds = columns_with_suffix(t, "_busy_fraction");
    const auto chips = rows_by_chip(t);
    const int height = static_cast<int>(std::clamp<size_t>(120 + 14 * chips.size(), 300, 1400));
    std::string s = fmt::format(
        "# lpusim pipeline plot, generated from utilization.csv by lpusim. Render: gnuplot pipeline.gp > pipeline.svg\n"
        "set terminal svg size 960,{} dynamic noenhanced font \"sans,11\" background \"#ffffff\"\n"
        "set encoding utf8\nset clip two\n",
        height);
    if (chips.empty() || kinds.empty()) return s + no_data("an empty run");
    // One row per chip; each run of buckets with the same busiest unit kind is one box,
    // coloured by that kind (no box where nothing but the ICU was busy).
    struct Box {
        double x0, x1;
        size_t row, kind;
    };
    std::vector<Box> boxes;
    size_t row = 0;
    std::string ytics;
    for (const auto& [chip, rows] : chips) {
        ytics += fmt::format("{}\"chip {}\" {}", ytics.empty() ? "" : ", ", chip, row);
        for (size_t i : rows) {
            size_t best = 0;
            double best_v = 0;
            for (size_t k = 0; k < kinds.size(); ++k)
                if (t.number(i, kinds[k].second) > best_v) best_v = t.number(i, kinds[k].second), best = k;
            if (!(best_v > 0)) continue;
            const double x0 = t.number(i, c_start), x1 = t.number(i, c_end);
            if (!boxes.empty() && boxes.back().row == row && boxes.back().kind == best && boxes.back().x1 == x0)
                boxes.back().x1 = x1;
            else
                boxes.push_back({x0, x1, row, best});
        }
        ++row;
    }
    const double x_lo = t.number(chips.begin()->second.front(), c_start);
    double x_hi = x_lo;
    for (size_t i = 0; i < t.rows(); ++i) x_hi = std::max(x_hi, t.number(i, c_end));
    s += fmt::format(
        "set title {}\nset xlabel \"cycle\"\nset xrange [{}:{}]\nset yrange [{}:-0.5] reverse\n"
        "set ytics ({}) font \",9\"\nset grid xtics lc \"#e0e0e0\"\nset key outside right top\n$b << EOD\n",
        label("Which chip is busy when: each time bucket coloured by its busiest unit kind (white: idle)"), num(x_lo),
        num(x_hi), num(static_cast<double>(chips.size()) - 0.5), ytics);
    for (const Box& b : boxes) {
        const unsigned rgb = static_cast<unsigned>(std::strtoul(color(b.kind) + 1, nullptr, 16));
        s += fmt::format("{} {} {} {} {}\n", num((b.x0 + b.x1) / 2), b.row, num((b.x1 - b.x0) / 2), "0.4", rgb);
    }
    s += "EOD\nplot $b using 1:2:3:4:5 with boxxyerror fs solid 1.0 noborder lc rgb variable notitle";
    for (size_t k = 0; k < kinds.size(); ++k)
        s += fmt::format(", \\\n     keyentry with boxes fs solid 1.0 lc rgb \"{}\" title {}", color(k),
                         label(kinds[k].first));
    return s + "\n";
}

std::string power_script(const CsvTable& t) {
    const size_t c_start = t.column("bucket_start_cycle"), c_end = t.column("bucket_end_cycle"),
                 c_power = t.column("power_W"), c_static = t.column("static_J"),
                 c_dur = t.column("bucket_duration_s");
    const auto chips = rows_by_chip(t);
    std::string s = preamble("power", "power.csv");
    if (chips.empty()) return s + no_data("an empty run");
    constexpr size_t kMaxLines = 8;  // more chips: their mean and maximum
    std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>>
        series;  // (x, W), last x = end
    auto steps = [&](const std::vector<size_t>& rows, auto value) {
        std::vector<std::pair<double, double>> out;
        for (size_t i : rows) out.emplace_back(t.number(i, c_start), value(i));
        out.emplace_back(t.number(rows.back(), c_end), out.back().second);
        return out;
    };
    if (chips.size() <= kMaxLines) {
        for (const auto& [chip, rows] : chips)
            series.emplace_back(fmt::format("chip {}", chip),
                                steps(rows, [&](size_t i) { return t.number(i, c_power); }));
    } else {
        std::map<double, std::pair<double, double>> agg;  // start -> (sum, max)
        std::map<double, double> ends;
        for (size_t i = 0; i < t.rows(); ++i) {
            auto& a = agg[t.number(i, c_start)];
            a.first += t.number(i, c_power);
            a.second = std::max(a.second, t.number(i, c_power));
            ends[t.number(i, c_start)] = t.number(i, c_end);
        }
        std::vector<std::pair<double, double>> mean, max;
        for (const auto& [x, a] : agg) {
            mean.emplace_back(x, a.first / static_cast<double>(chips.size()));
            max.emplace_back(x, a.second);
        }
        mean.emplace_back(ends.rbegin()->second, mean.back().second);
        max.emplace_back(ends.rbegin()->second, max.back().second);
        series.emplace_back(fmt::format("mean of {} chips", chips.size()), mean);
        series.emplace_back("max over chips", max);
    }
    const size_t first = chips.begin()->second.front();
    const double static_W =
        t.number(first, c_dur) > 0 ? t.number(first, c_static) / t.number(first, c_dur) : 0;
    s += fmt::format(
        "set title \"Power over time per chip (energy of the run placed where its instructions ran)\"\n"
        "set xlabel \"cycle\"\nset ylabel \"power (W)\"\nset yrange [0:*]\nset xrange [{}:{}]\n"
        "set grid ytics lc \"#e0e0e0\"\nset key outside right top\n",
        num(series.front().second.front().first), num(series.front().second.back().first));
    std::string plot = "plot ";
    for (size_t k = 0; k < series.size(); ++k) {
        s += fmt::format("$p{} << EOD\n", k);
        for (const auto& [x, w] : series[k].second) s += num(x) + " " + num(w) + "\n";
        s += "EOD\n";
        plot += fmt::format("{}$p{} using 1:2 with steps lw 1.5 lc rgb \"{}\" title {}",
                            k ? ", \\\n     " : "", k, color(k), label(series[k].first));
    }
    plot += fmt::format(", \\\n     {} with lines dt 2 lc rgb \"#555555\" title {}", num(static_W),
                        label(fmt::format("static {:.4g} W", static_W)));
    return s + plot + "\n";
}

std::string breakdown_script(const CsvTable& t) {
    const size_t c_cat = t.column("category"), c_layer = t.column("layer"),
                 c_share = t.column("share_of_time");
    std::vector<std::pair<std::string, double>> bars;
    for (size_t i = 0; i < t.rows(); ++i)
        if (t.text(i, c_layer) == "all") bars.emplace_back(t.text(i, c_cat), t.number(i, c_share));
    std::stable_sort(bars.begin(), bars.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string s = preamble("breakdown", "breakdown.csv");
    if (bars.empty()) return s + no_data("no categories");
    s += "set title \"Share of run time per category (active cycles / run cycles; categories overlap)\"\n"
         "set ylabel \"share of time (%)\"\nset yrange [0:105]\nset style fill solid 0.85 border -1\n"
         "set boxwidth 0.7\nset xtics rotate by -40 nomirror\nset grid ytics lc \"#e0e0e0\"\nunset key\n"
         "set bmargin 8\n$b << EOD\n";
    for (const auto& [name, share] : bars) s += fmt::format("{} {}\n", label(name), num(100 * share));
    s += "EOD\nplot $b using 0:2:xtic(1) with boxes lc rgb \"#1f77b4\", \\\n"
         "     $b using 0:2:(sprintf(\"%.1f\", $2)) with labels offset 0,0.7 font \",9\"\n";
    return s;
}

std::string find_gnuplot(const std::string& program) {
    if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0 ? program : "";
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "/usr/bin:/bin";
    while (true) {
        const size_t colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        if (dir.empty()) dir = ".";
        const std::string candidate = dir + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        if (colon == std::string_view::npos) return "";
        rest.remove_prefix(colon + 1);
    }
}

PlotResult render_plot(const std::string& gnuplot_path, const std::string& dir, const std::string& name,
                       const std::string& script) {
    const std::string script_path = dir + "/" + name + ".gp";
    write_file_atomic(script_path, script);
    PlotResult result;
    if (gnuplot_path.empty()) {
        result.error = "gnuplot not found";
        return result;
    }
    const std::string tmp = fmt::format("{}/{}.svg.tmp.{}", dir, name, ::getpid());
    const std::string err_path = fmt::format("{}/{}.gnuplot-err.{}", dir, name, ::getpid());
    std::string quoted;  // a gnuplot single-quoted string: '' stands for '
    for (char c : tmp) quoted += c == '\'' ? std::string("''") : std::string(1, c);
    const std::string set_output = "set output '" + quoted + "'";
    std::vector<std::string> args = {gnuplot_path, "-d", "-e", set_output, script_path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = 0;
    const int spawn_error = posix_spawn(&pid, gnuplot_path.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (spawn_error == 0) {
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    std::string err_text;
    if (FILE* f = std::fopen(err_path.c_str(), "rb")) {
        char buf[512];
        const size_t n = std::fread(buf, 1, sizeof buf, f);
        err_text.assign(buf, n);
        std::fclose(f);
    }
    std::remove(err_path.c_str());
    const bool ok =
        spawn_error == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && ::access(tmp.c_str(), R_OK) == 0;
    if (!ok) {
        std::remove(tmp.c_str());
        result.error = spawn_error != 0 ? fmt::format("cannot start {}", gnuplot_path)
                                        : fmt::format("gnuplot failed on {}: {}", script_path, err_text);
        return result;
    }
    result.svg = read_file(tmp);
    std::remove(tmp.c_str());
    write_file_atomic(dir + "/" + name + ".svg", result.svg);
    return result;
}

}  // namespace lpu::report
