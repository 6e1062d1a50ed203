// Sweeps: axis syntax, key routing, the point order, result rows, failed points, resuming
// after an abrupt end, the report, and (when built with MPI) mpirun.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_helpers.hpp"
#include "common/input_error.hpp"
#include "tools/sweep/report.hpp"
#include "tools/sweep/results.hpp"
#include "tools/sweep/runner.hpp"
#include "tools/sweep/space.hpp"

using namespace lpu;
using namespace lpu::sweep;
using lpu::test::run_cli;
using lpu::test::scratch_dir;
using lpu::test::slurp;
using lpu::test::source_path;

namespace {

std::vector<std::string> values_of(const Axis& a) {
    std::vector<std::string> v;
    for (const auto& t : a.values) v.push_back(t.at(0));
    return v;
}

std::string gemm_args() {
    return "--hw '" + source_path("configs/tsp-v1.yaml") + "' --program '" +
           source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm") + "'";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t eol = text.find('\n', pos);
        lines.push_back(text.substr(pos, eol - pos));
        pos = eol == std::string::npos ? text.size() : eol + 1;
    }
    return lines;
}

std::vector<std::string> split_csv_simple(const std::string& line) {
    std::vector<std::string> cells;
    size_t pos = 0;
    while (true) {
        const size_t comma = line.find(',', pos);
        cells.push_back(line.substr(pos, comma - pos));
        if (comma == std::string::npos) return cells;
        pos = comma + 1;
    }
}

size_t count_done(const std::string& dir) {
    size_t n = 0;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/points", ec))
        if (std::filesystem::exists(e.path() / "done.json")) ++n;
    return n;
}

bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0) return true;
    const std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
    const auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';  // reaped later
}

}  // namespace

TEST_CASE("a --sweep list keeps its values and a start:stop:step range includes stop on the grid") {
    CHECK(values_of(parse_sweep_arg("mxm.iw_cycles=1,2,5")) == std::vector<std::string>{"1", "2", "5"});
    CHECK(values_of(parse_sweep_arg("mxm.iw_cycles=1:4:1")) == std::vector<std::string>{"1", "2", "3", "4"});
    CHECK(values_of(parse_sweep_arg("mxm.iw_cycles=1:10:4")) == std::vector<std::string>{"1", "5", "9"});
    // Decimal ranges step exactly (no 0.30000000000000004) and print without trailing zeros.
    CHECK(values_of(parse_sweep_arg("clock.frequency_MHz=0.1:0.5:0.1")) ==
          std::vector<std::string>{"0.1", "0.2", "0.3", "0.4", "0.5"});
    CHECK(values_of(parse_sweep_arg("clock.frequency_MHz=900:1000:37.5")) ==
          std::vector<std::string>{"900", "937.5", "975"});
    CHECK(values_of(parse_sweep_arg("clock.frequency_MHz=-1:1:1")) ==
          std::vector<std::string>{"-1", "0", "1"});
    // A mix of ranges and values, and YAML flow lists whose commas do not split.
    CHECK(values_of(parse_sweep_arg("batch=1:3:1,8,16")) ==
          std::vector<std::string>{"1", "2", "3", "8", "16"});
    CHECK(values_of(parse_sweep_arg("mxm.precisions=[int8],[int8, fp16]")) ==
          std::vector<std::string>{"[int8]", "[int8, fp16]"});
}

TEST_CASE("bad --sweep syntax is an input error that says what was expected") {
    auto message = [](const std::string& arg) {
        try {
            parse_sweep_arg(arg);
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    CHECK_THAT(message("mxm.iw_cycles=1:4:0"), Catch::Contains("step must be > 0"));
    CHECK_THAT(message("mxm.iw_cycles=1:4:-1"), Catch::Contains("step must be > 0"));
    CHECK_THAT(message("mxm.iw_cycles=4:1:1"), Catch::Contains("stop is below start"));
    CHECK_THAT(message("mxm.iw_cycles=1:4"), Catch::Contains("start:stop:step"));
    CHECK_THAT(message("mxm.iw_cycles=a:b:1"), Catch::Contains("'a' is not a number"));
    CHECK_THAT(message("mxm.iw_cycles=1e2:1e3:1"), Catch::Contains("is not a number"));
    CHECK_THAT(message("mxm.iw_cycles=1:200000:1"), Catch::Contains("at most 100000"));
    CHECK_THAT(message("mxm.iw_cycles=1,,2"), Catch::Contains("non-empty values"));
    CHECK_THAT(message("mxm.iw_cycles="), Catch::Contains("non-empty values"));
    CHECK_THAT(message("mxm.iw_cycles=1,2,1"), Catch::Contains("appears twice"));
    CHECK_THAT(message("mxm.iw_cycles"), Catch::Contains("key=v1,v2"));
    CHECK_THAT(message("=1,2"), Catch::Contains("key=v1,v2"));
}

TEST_CASE("keys route to hardware --set, workload --wset or a workload alias, anything else is refused") {
    const SourceLocation here{"test", 0, 0};
    const RoutedKey hw = route_key("mxm.iw_cycles", here);
    CHECK(hw.route == Route::Hardware);
    CHECK(hw.target == "mxm.iw_cycles");
    CHECK(route_key("memory_interface.bandwidth_GBps", here).route == Route::Hardware);
    const RoutedKey wl = route_key("workload.mapping.tile_k", here);
    CHECK(wl.route == Route::Workload);
    CHECK(wl.target == "mapping.tile_k");
    const std::vector<std::pair<std::string, std::string>> aliases = {
        {"tile_m", "mapping.tile_m"},
        {"tile_n", "mapping.tile_n"},
        {"tile_k", "mapping.tile_k"},
        {"planes", "mapping.planes"},
        {"batch", "batch"},
        {"format", "weights.format"},
        {"tensor", "parallelism.tensor"},
        {"pipeline", "parallelism.pipeline"},
        {"seq_len", "seq_len"},
        {"context_len", "context_len"},
        {"weight_double_buffering", "mapping.weight_double_buffering"}};
    for (const auto& [alias, target] : aliases) {
        const RoutedKey k = route_key(alias, here);
        CHECK(k.route == Route::Workload);
        CHECK(k.target == target);
    }
    CHECK_THROWS_WITH(route_key("foo.bar", here),
                      Catch::Contains("workload alias") && Catch::Contains("mxm"));
    CHECK_THROWS_AS(route_key("workload.", here), InputError);
    CHECK_THROWS_AS(route_key("mxm..planes", here), InputError);
    CHECK_THROWS_AS(route_key("mxm.planes=4", here), InputError);
}

TEST_CASE("the cartesian product varies the first axis slowest and is capped at 100000 points") {
    std::vector<Axis> axes = {parse_sweep_arg("mxm.iw_cycles=1,2"),
                              parse_sweep_arg("mem.read_latency_cycles=4,8,16")};
    const Space space(axes);
    REQUIRE(space.size() == 6);
    const std::vector<std::pair<std::string, std::string>> expected = {{"1", "4"}, {"1", "8"}, {"1", "16"},
                                                                       {"2", "4"}, {"2", "8"}, {"2", "16"}};
    for (size_t i = 0; i < 6; ++i) {
        const auto p = space.point(i);
        REQUIRE(p.size() == 2);
        CHECK(p[0].key.key == "mxm.iw_cycles");
        CHECK(p[0].value == expected[i].first);
        CHECK(p[1].value == expected[i].second);
    }
    CHECK_THROWS_WITH(Space({parse_sweep_arg("mxm.iw_cycles=1:1000:1"),
                             parse_sweep_arg("mem.read_latency_cycles=1:101:1")}),
                      Catch::Contains("more than 100000 points"));
    CHECK_NOTHROW(Space(
        {parse_sweep_arg("mxm.iw_cycles=1:1000:1"), parse_sweep_arg("mem.read_latency_cycles=1:100:1")}));
    CHECK_THROWS_WITH(Space({parse_sweep_arg("mxm.iw_cycles=1,2"), parse_sweep_arg("mxm.iw_cycles=3")}),
                      Catch::Contains("swept twice"));
    // An alias and its long form are the same workload field.
    CHECK_THROWS_WITH(Space({parse_sweep_arg("batch=1,2"), parse_sweep_arg("workload.batch=3")}),
                      Catch::Contains("swept twice"));
    CHECK_THROWS_AS(Space({}), InputError);
}

TEST_CASE("a points file lists points by a header of keys, with quotes and comments") {
    const Axis a =
        parse_points_csv("# tile sweep\nmxm.iw_cycles, batch\n1,2\n\n\"3\",\"4\"\n5, \"a,b\"\n", "p.csv");
    REQUIRE(a.keys.size() == 2);
    CHECK(a.keys[1].target == "batch");
    REQUIRE(a.values.size() == 3);
    CHECK(a.values[1] == std::vector<std::string>{"3", "4"});
    CHECK(a.values[2] == std::vector<std::string>{"5", "a,b"});
    CHECK_THROWS_WITH(parse_points_csv("mxm.iw_cycles,batch\n1,2\n3\n", "p.csv"),
                      Catch::Contains("p.csv:3") && Catch::Contains("expected 2"));
    CHECK_THROWS_WITH(parse_points_csv("mxm.iw_cycles\n1\n1\n", "p.csv"),
                      Catch::Contains("p.csv:3") && Catch::Contains("twice"));
    CHECK_THROWS_WITH(parse_points_csv("bogus\n1\n", "p.csv"), Catch::Contains("p.csv:1"));
    CHECK_THROWS_WITH(parse_points_csv("mxm.iw_cycles\n", "p.csv"), Catch::Contains("no points"));
    CHECK_THROWS_WITH(parse_points_csv("mxm.iw_cycles\n\"1\n", "p.csv"), Catch::Contains("not closed"));
}

TEST_CASE("a point id depends on the routed assignment and the base, not on axis order or alias spelling") {
    const SourceLocation here{"test", 0, 0};
    const std::vector<Assignment> ab = {{route_key("mxm.iw_cycles", here), "2"},
                                        {route_key("batch", here), "4"}};
    const std::vector<Assignment> ba = {{route_key("workload.batch", here), "4"},
                                        {route_key("mxm.iw_cycles", here), "2"}};
    const std::vector<Assignment> other = {{route_key("mxm.iw_cycles", here), "3"},
                                           {route_key("batch", here), "4"}};
    CHECK(point_id("base", ab) == point_id("base", ba));
    CHECK(point_id("base", ab) != point_id("base", other));
    CHECK(point_id("base", ab) != point_id("base2", ab));
    CHECK(point_id("base", ab).size() == 16);
}

TEST_CASE("a point runs lpusim run with the base overrides first, then its own as --set or --wset") {
    const SourceLocation here{"test", 0, 0};
    BaseRun base;
    base.hw = "/cfg/hw.yaml";
    base.workload = "/wl/w.yaml";
    base.sets = {"clock.frequency_MHz=1000"};
    base.wsets = {"batch=4"};
    const std::vector<Assignment> point = {{route_key("mxm.planes", here), "8"},
                                           {route_key("tile_m", here), "160"},
                                           {route_key("workload.weights.group_size", here), "64"}};
    std::string args;
    for (const auto& a : point_arguments(base, point, "/out/points/x")) args += (args.empty() ? "" : " ") + a;
    CHECK(args ==
          "run --hw /cfg/hw.yaml --workload /wl/w.yaml --set clock.frequency_MHz=1000 --wset batch=4 "
          "--set mxm.planes=8 --wset mapping.tile_m=160 --wset weights.group_size=64 --out /out/points/x "
          "--trace off");
}

TEST_CASE("a failed run's first error line is kept without the lpusim prefix") {
    CHECK(first_error_line("tsp-v1: 795 cycles\nlpusim: error: --set x=1: bad\nmore\n") == "--set x=1: bad");
    CHECK(first_error_line("lpusim: model does not fit: 30 GB needed\n") ==
          "model does not fit: 30 GB needed");
    CHECK(first_error_line("terminate called\nAborted\n") == "Aborted");
    CHECK(csv_cell("a,b") == "\"a,b\"");
    CHECK(csv_cell("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_cell("plain") == "plain");
}

TEST_CASE("the Pareto front keeps exactly the points no other point beats in both metrics") {
    // x = power (lower is better), y = tokens/s (higher is better). By hand: (3,2) is beaten
    // by (2,3); (4,4) by (4,5); (5,5) by (4,5).
    const std::vector<std::pair<double, double>> pts = {{1, 1}, {2, 3}, {3, 2}, {4, 5}, {4, 4}, {5, 5}};
    CHECK(pareto_front(pts, Goal::Min, Goal::Max) == std::vector<size_t>{0, 1, 3});
    // Both minimised (seconds against power): (1,1) beats everything.
    CHECK(pareto_front(pts, Goal::Min, Goal::Min) == std::vector<size_t>{0});
}

TEST_CASE("a 3x2 sweep of the GEMM example writes one row per point in sweep order") {
    const std::string dir = scratch_dir("sweep-3x2");
    const auto r = run_cli(
        "sweep " + gemm_args() +
        " --sweep mxm.iw_cycles=1:3:1 --sweep mem.read_latency_cycles=4,8 --jobs 2 --out '" + dir + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(slurp(dir + "/results.csv"));
    REQUIRE(lines.size() == 7);
    const auto header = split_csv_simple(lines[0]);
    CHECK(header[4] == "mxm.iw_cycles");
    CHECK(header[5] == "mem.read_latency_cycles");
    CHECK(std::find(header.begin(), header.end(), "utilization_mxm") != header.end());
    CHECK(std::find(header.begin(), header.end(), "energy_total_J") != header.end());
    const size_t cycles_col =
        static_cast<size_t>(std::find(header.begin(), header.end(), "cycles") - header.begin());
    const std::vector<std::pair<std::string, std::string>> order = {{"1", "4"}, {"1", "8"}, {"2", "4"},
                                                                    {"2", "8"}, {"3", "4"}, {"3", "8"}};
    std::vector<long> cycles;
    for (size_t i = 0; i < 6; ++i) {
        const auto cells = split_csv_simple(lines[i + 1]);
        CHECK(cells[0] == std::to_string(i));
        CHECK(cells[2] == "ok");
        CHECK(cells[4] == order[i].first);
        CHECK(cells[5] == order[i].second);
        cycles.push_back(std::stol(cells[cycles_col]));
        CHECK(std::filesystem::exists(dir + "/points/" + cells[1] + "/done.json"));
    }
    // A longer SRAM read latency or a slower weight swap can only lengthen the program.
    for (size_t i = 0; i < 6; i += 2) CHECK(cycles[i + 1] > cycles[i]);
    for (size_t i = 0; i + 2 < 6; ++i) CHECK(cycles[i + 2] >= cycles[i]);
    CHECK(lines_of(slurp(dir + "/results.jsonl")).size() == 6);
    CHECK(slurp(dir + "/best.json").find("\"min_seconds\"") != std::string::npos);
    const std::string html = slurp(dir + "/sweep.html");
    CHECK(html.find("<table>") != std::string::npos);
    if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
        CHECK(std::filesystem::exists(dir + "/heatmap.svg"));
        CHECK(html.find("<svg") != std::string::npos);
    }
    // 795 to 801 cycles on one chip: no axis varies by 1%, so no Pareto plot pretends a
    // trade-off (every point would sit on the front).
    CHECK_FALSE(std::filesystem::exists(dir + "/pareto.svg"));
    CHECK(r.out.find("pareto.svg skipped") != std::string::npos);
}

TEST_CASE("a workload sweep passes aliases as --wset and reports tokens per second per point") {
    const std::string dir = scratch_dir("sweep-workload");
    const auto r = run_cli("sweep --hw '" + source_path("configs/tsp-v1.yaml") + "' --workload '" +
                           source_path("workloads/examples/tiny-llama-decode.yaml") +
                           "' --sweep batch=1,2,0 --jobs 2 --out '" + dir + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(slurp(dir + "/results.csv"));
    REQUIRE(lines.size() == 4);
    const auto header = split_csv_simple(lines[0]);
    auto col = [&](const std::string& name) {
        return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    const auto b1 = split_csv_simple(lines[1]), b2 = split_csv_simple(lines[2]);
    REQUIRE(b1[2] == "ok");
    REQUIRE(b2[2] == "ok");
    CHECK(b1[col("batch")] == "1");
    CHECK(b1[col("chips")] == "1");
    CHECK_FALSE(b1[col("sram_bytes_used")].empty());
    // One decode step serves every user of the batch: two users cannot take twice as long
    // as one on the same chip (the weights are read once per step), so aggregate tokens/s grows.
    CHECK(std::stod(b2[col("tokens_per_s")]) > std::stod(b1[col("tokens_per_s")]));
    CHECK(std::stod(b1[col("tokens_per_s_per_user")]) ==
          Approx(1.0 / std::stod(b1[col("latency_per_token_s")])));
    // batch=0 is refused by the workload loader: exit code 2 for that point only.
    CHECK(lines[3].find(",error,2,0,") != std::string::npos);
    CHECK(lines[3].find("batch") != std::string::npos);
    CHECK(slurp(dir + "/best.json").find("\"max_tokens_per_s\"") != std::string::npos);
}

TEST_CASE("a failing point is recorded with its error and the sweep goes on") {
    const std::string dir = scratch_dir("sweep-fail");
    const auto r =
        run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,-3,2 --jobs 2 --out '" + dir + "'");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(slurp(dir + "/results.csv"));
    REQUIRE(lines.size() == 4);
    CHECK(split_csv_simple(lines[1])[2] == "ok");
    CHECK(lines[2].find(",error,2,-3,") != std::string::npos);
    CHECK(lines[2].find("mxm.iw_cycles") != std::string::npos);  // the run's message names the field
    CHECK(split_csv_simple(lines[3])[2] == "ok");
    CHECK(r.out.find("1 failed") != std::string::npos);
}

TEST_CASE("bad sweep arguments exit with code 2 before any point runs") {
    const std::string dir = scratch_dir("sweep-bad");
    CHECK(run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1:4:0 --out '" + dir + "/a'").exit_code ==
          2);
    CHECK(run_cli("sweep " + gemm_args() + " --sweep foo=1,2 --out '" + dir + "/b'").exit_code == 2);
    CHECK(run_cli("sweep " + gemm_args() + " --sweep tile_m=160,320 --out '" + dir + "/c'").exit_code == 2);
    CHECK(run_cli("sweep " + gemm_args() + " --out '" + dir + "/d'").exit_code == 2);
    CHECK(run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,2 --set mxm.iw_cycles=3 --out '" + dir +
                  "/e'")
              .exit_code == 2);
    CHECK(run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,2 --metric speed --out '" + dir + "/f'")
              .exit_code == 2);
    CHECK(run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,2 --jobs 0 --out '" + dir + "/g'")
              .exit_code == 2);
    const auto r = run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1:4 --out '" + dir + "/h'");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("start:stop:step"));
    CHECK_FALSE(std::filesystem::exists(dir + "/h"));
}

TEST_CASE("a sweep stopped abruptly after some points resumes to byte-identical results") {
    const std::string ref = scratch_dir("sweep-ref"), dir = scratch_dir("sweep-resume");
    const std::string axes = " --sweep mxm.iw_cycles=1:4:1 --sweep mem.read_latency_cycles=4,8,-1 --jobs 2";
    REQUIRE(run_cli("sweep " + gemm_args() + axes + " --out '" + ref + "'").exit_code == 0);

    ::setenv("LPUSIM_SWEEP_STOP_AFTER", "5", 1);  // SIGKILLs itself after its 5th point
    const auto stopped = run_cli("sweep " + gemm_args() + axes + " --out '" + dir + "'");
    ::unsetenv("LPUSIM_SWEEP_STOP_AFTER");
    CHECK(stopped.exit_code == 128 + SIGKILL);
    const size_t done = count_done(dir);
    CHECK(done >= 5);
    CHECK(done < 12);

    const auto resumed = run_cli("sweep " + gemm_args() + axes + " --out '" + dir + "'");
    INFO(resumed.out << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK_THAT(resumed.out, Catch::Contains(std::to_string(done) + " done earlier"));
    CHECK(slurp(dir + "/results.csv") == slurp(ref + "/results.csv"));
    CHECK(slurp(dir + "/results.jsonl") == slurp(ref + "/results.jsonl"));
    CHECK(slurp(dir + "/best.json") == slurp(ref + "/best.json"));

    // A third run has nothing left to do and changes nothing.
    const auto again = run_cli("sweep " + gemm_args() + axes + " --out '" + dir + "'");
    CHECK_THAT(again.out, Catch::Contains("0 run now, 12 done earlier"));
    CHECK(slurp(dir + "/results.csv") == slurp(ref + "/results.csv"));
}

TEST_CASE("a sweep killed with SIGKILL from outside resumes to byte-identical results") {
    const std::string ref = scratch_dir("sweep-kill-ref"), dir = scratch_dir("sweep-kill");
    const std::string axes = " --sweep mxm.iw_cycles=1:4:1 --sweep mem.read_latency_cycles=4:7:1 --jobs 1";
    REQUIRE(run_cli("sweep " + gemm_args() + axes + " --out '" + ref + "'").exit_code == 0);

    const std::string pid_file = dir + ".pid";
    const std::string cmd = std::string("'") + LPUSIM_BINARY + "' sweep " + gemm_args() + axes + " --out '" +
                            dir + "' >/dev/null 2>&1 & echo $! > '" + pid_file + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const pid_t pid = static_cast<pid_t>(std::stol(slurp(pid_file)));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (count_done(dir) < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE(::kill(pid, SIGKILL) == 0);
    while (!process_gone(pid)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const size_t done = count_done(dir);
    CHECK(done >= 3);
    CHECK(done < 16);  // killed mid-sweep, not after it

    const auto resumed = run_cli("sweep " + gemm_args() + axes + " --out '" + dir + "'");
    INFO(resumed.out << resumed.err);
    REQUIRE(resumed.exit_code == 0);
    CHECK(slurp(dir + "/results.csv") == slurp(ref + "/results.csv"));
    CHECK(slurp(dir + "/results.jsonl") == slurp(ref + "/results.jsonl"));
}

TEST_CASE("a restart into the same directory with other base arguments is refused") {
    const std::string dir = scratch_dir("sweep-base");
    REQUIRE(run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,2 --out '" + dir + "'").exit_code ==
            0);
    const auto r = run_cli("sweep " + gemm_args() +
                           " --set mem.read_latency_cycles=9 --sweep mxm.iw_cycles=1,2 --out '" + dir + "'");
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("other base arguments") && Catch::Contains("set"));
    // Extending an axis with the same base reuses the finished points.
    const auto more = run_cli("sweep " + gemm_args() + " --sweep mxm.iw_cycles=1,2,3 --out '" + dir + "'");
    CHECK(more.exit_code == 0);
    CHECK_THAT(more.out, Catch::Contains("1 run now, 2 done earlier"));
}

TEST_CASE("without gnuplot the plots are skipped with a note and the rest of the report is written") {
    const std::string dir = scratch_dir("sweep-nognuplot");
    ::setenv("LPUSIM_GNUPLOT", "/nonexistent/gnuplot", 1);
    const auto r =
        run_cli("sweep " + gemm_args() +
                " --sweep mxm.iw_cycles=1,2 --sweep mem.read_latency_cycles=4,8 --out '" + dir + "'");
    ::unsetenv("LPUSIM_GNUPLOT");
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("gnuplot is not available"));
    CHECK_FALSE(std::filesystem::exists(dir + "/heatmap.svg"));
    CHECK(std::filesystem::exists(dir + "/best.json"));
    CHECK(slurp(dir + "/sweep.html").find("gnuplot is not available") != std::string::npos);
}

TEST_CASE("under mpirun -np 2 a sweep gives the same results as --jobs 2") {
    if (run_cli("sweep --help").out.find("built with MPI") == std::string::npos ||
        std::system("command -v mpirun >/dev/null 2>&1") != 0) {
        WARN("skipped: lpusim built without MPI or mpirun not installed");
        return;
    }
    const std::string local = scratch_dir("sweep-mpi-local"), mpi = scratch_dir("sweep-mpi");
    const std::string axes = " --sweep mxm.iw_cycles=1:3:1 --sweep mem.read_latency_cycles=4,8,-1";
    REQUIRE(run_cli("sweep " + gemm_args() + axes + " --jobs 2 --out '" + local + "'").exit_code == 0);
    const std::string cmd =
        std::string(
            "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --allow-run-as-root "
            "--oversubscribe -np 2 '") +
        LPUSIM_BINARY + "' sweep " + gemm_args() + axes + " --jobs 1 --out '" + mpi + "' > '" + mpi +
        ".log' 2>&1";
    const int status = std::system(cmd.c_str());
    INFO(slurp(mpi + ".log"));
    REQUIRE(status == 0);
    CHECK(slurp(mpi + "/results.csv") == slurp(local + "/results.csv"));
    CHECK(slurp(mpi + "/results.jsonl") == slurp(local + "/results.jsonl"));
    CHECK_THAT(slurp(mpi + ".log"), Catch::Contains("rank 1:"));
}
