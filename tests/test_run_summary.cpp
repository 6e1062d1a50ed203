// What `lpusim run` tells a person first: its version, the headline of a prefill or decode
// step, the files it wrote, and the report page's cards and inputs (docs/metrics.md).
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "hw/config.hpp"
#include "isa/assembler.hpp"
#include "sim/engine.hpp"
#include "sim/simulation.hpp"
#include "tests/cli_helpers.hpp"

using namespace lpu::test;

namespace {

nlohmann::json summary_of(const std::string& dir) { return nlohmann::json::parse(slurp(dir + "/summary.json")); }


}  // namespace

TEST_CASE("lpusim --version prints the project version and the commit", "[cli][summary]") {
    const auto r = run_cli("--version");
    REQUIRE(r.exit_code == 0);
    CHECK(std::regex_match(r.out, std::regex(R"(lpusim [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}|unknown)\)\n)")));
    // The version is CMakeLists.txt's project version.
    const std::string cmake = slurp(source_path("CMakeLists.txt"));
    std::smatch m;
    REQUIRE(std::regex_search(cmake, m, std::regex(R"(project\(lpusim VERSION ([0-9.]+))")));
    CHECK(r.out.rfind("lpusim " + m[1].str() + " ", 0) == 0);
}

TEST_CASE("a prefill run reports its time to first token and prompt rate, and no decode rate", "[cli][summary]") {
    const std::string dir = scratch_dir("prefill-summary");
    // 64 tokens for each of the batch's 2 sequences: 128 prompt tokens.
    const auto r = run_cli(tiny_pipeline_run(dir, "--wset phase=prefill --wset seq_len=64"));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = summary_of(dir);
    CHECK_FALSE(j.contains("tokens_per_s_per_user"));
    CHECK_FALSE(j.contains("latency_per_token_s"));
    CHECK_FALSE(j.contains("energy_per_token_J"));
    REQUIRE(j.contains("time_to_first_token_s"));
    CHECK(j["prompt_tokens"].get<int64_t>() == 64 * 2);
    const double ttft = j["time_to_first_token_s"].get<double>();
    CHECK(ttft == j["seconds"].get<double>());
    CHECK(j["prompt_tokens_per_s"].get<double>() * ttft == Approx(128));
    CHECK(j["energy_per_prompt_token_J"].get<double>() * 128 == Approx(j["energy_per_step_J"].get<double>()));
    // The step's energy includes every chip's static power over the whole step.
    CHECK(j["energy_per_step_J"].get<double>() > 2 * 55.0 * ttft);
    CHECK(r.out.find("time to first token") != std::string::npos);
    CHECK(r.out.find("tokens/s per user") == std::string::npos);
}

TEST_CASE("a decode run's MACs and MAC slots cover the same chips", "[cli][summary]") {
    const std::string dir = scratch_dir("decode-scope");
    REQUIRE(run_cli(tiny_pipeline_run(dir)).exit_code == 0);
    const auto j = summary_of(dir);
    // Useful MACs never exceed the slots swept on the same chips.
    CHECK(j["macs"].get<double>() <= j["mac_slots"].get<double>());
    CHECK(j["macs"].get<double>() > 0);
    CHECK(j.contains("macs_system"));
    CHECK(j.contains("tokens_per_s_per_user"));
}

TEST_CASE("utilization while active is the run's utilization over the chips' working cycles", "[cli][summary]") {
    const std::string dir = scratch_dir("active-util");
    REQUIRE(run_cli(tiny_pipeline_run(dir)).exit_code == 0);
    const auto j = summary_of(dir);
    const double active = j["active_fraction"].get<double>();
    // Two stages that take turns: neither chip works all the time.
    CHECK(active > 0);
    CHECK(active < 1);
    for (const auto& [kind, v] : j["utilization"].items()) {
        INFO(kind);
        const double run = v.get<double>(), while_active = j["utilization_active"][kind].get<double>();
        CHECK(while_active * active == Approx(run).margin(1e-15));
        CHECK(while_active <= 1.0 + 1e-12);
    }
}

TEST_CASE("every roofline category point of a pipelined run lies within the range of its layers", "[cli][summary]") {
    const std::string dir = scratch_dir("roofline-range");
    REQUIRE(run_cli(tiny_pipeline_run(dir)).exit_code == 0);
    std::istringstream in(slurp(dir + "/roofline.csv"));
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    {
        std::stringstream h(line);
        for (std::string f; std::getline(h, f, ',');) header.push_back(f);
    }
    auto col = [&](const char* name) { return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin()); };
    const size_t c_cat = col("category"), c_layer = col("layer"), c_rate = col("achieved_ops_per_s_per_chip");
    REQUIRE(c_rate < header.size());
    std::map<std::string, double> all;
    std::map<std::string, std::pair<double, double>> range;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream s(line);
        for (std::string x; std::getline(s, x, ',');) f.push_back(x);
        const double rate = std::stod(f[c_rate]);
        if (f[c_layer] == "all") {
            all[f[c_cat]] = rate;
            continue;
        }
        auto [it, fresh] = range.try_emplace(f[c_cat], rate, rate);
        if (!fresh) it->second = {std::min(it->second.first, rate), std::max(it->second.second, rate)};
    }
    size_t checked = 0;
    for (const auto& [cat, rate] : all) {
        if (!range.count(cat) || rate <= 0) continue;
        INFO(cat);
        CHECK(rate >= range[cat].first * (1 - 1e-9));
        CHECK(rate <= range[cat].second * (1 + 1e-9));
        ++checked;
    }
    CHECK(checked >= 3);
}

TEST_CASE("lpusim run names exactly the files it wrote", "[cli][summary]") {
    const std::string dir = scratch_dir("wrote-line");
    const auto r = run_cli(tiny_pipeline_run(dir));
    REQUIRE(r.exit_code == 0);
    const size_t at = r.out.find("wrote " + dir + ": ");
    REQUIRE(at != std::string::npos);
    const std::string rest = r.out.substr(at + dir.size() + 8);
    const std::string list = rest.substr(0, rest.find(" ("));
    std::set<std::string> named;
    std::stringstream s(list);
    for (std::string f; std::getline(s, f, ',');) named.insert(f[0] == ' ' ? f.substr(1) : f);
    std::set<std::string> present;
    for (const auto& e : std::filesystem::directory_iterator(dir)) present.insert(e.path().filename().string());
    CHECK(named == present);
    CHECK(rest.find(fmt::format("({} files)", present.size())) != std::string::npos);
}

TEST_CASE("report.html opens with headline cards, then the inputs with the command and the pipeline", "[cli][summary]") {
    const std::string dir = scratch_dir("report-cards");
    REQUIRE(run_cli(tiny_pipeline_run(dir)).exit_code == 0);
    const std::string html = slurp(dir + "/report.html");
    const size_t cards = html.find("class=\"cards\""), inputs = html.find("<h2>Inputs</h2>"),
                 breakdown = html.find("<h2>Per-operation breakdown</h2>"), all = html.find("<h2>All figures</h2>");
    REQUIRE(cards != std::string::npos);
    REQUIRE(inputs != std::string::npos);
    CHECK(cards < inputs);
    CHECK(inputs < breakdown);
    CHECK(breakdown < all);
    CHECK(html.find("tokens/s per user") < inputs);
    CHECK(html.find("lpusim run --hw") != std::string::npos);
    CHECK(html.find(run_cli("--version").out.substr(0, 20)) != std::string::npos);
    CHECK(html.find("id=\"pipeline-gnuplot_canvas\"") != std::string::npos);
}

TEST_CASE("lpusim run prints no progress line when stderr is not a terminal, or with --quiet", "[cli][summary]") {
    const std::string dir = scratch_dir("quiet");
    for (const char* extra : {"", "--quiet"}) {
        const auto r = run_cli(tiny_pipeline_run(dir, extra));
        REQUIRE(r.exit_code == 0);
        CHECK(r.err.find("simulating") == std::string::npos);
        CHECK(r.err.find('\r') == std::string::npos);
    }
}

TEST_CASE("the dynamic instruction count of a program counts each loop iteration, Repeat excluded", "[summary]") {
    // The outer block runs 3 times: one read, then the inner block (one read) 2 times:
    // 3 x (1 + 2) = 9 instructions.
    const lpu::isa::Program p = lpu::isa::assemble(
        ".chip 0\n.queue mem 0\nOUT:\n    mem.read addr=1 n=1 out=s0e\nIN:\n    mem.read addr=0 n=1 out=s0e\n"
        "    icu.repeat count=1 from=IN\n    icu.repeat count=2 from=OUT\n",
        "loops.lpuasm");
    CHECK(lpu::sim::dynamic_instructions(p) == 9);
    // And it is what a simulation executes: one record per executed instruction.
    const auto cfg = lpu::hw::load_hw_config(source_path("configs/tsp-v1.yaml"), {});
    const std::string path = source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm");
    const lpu::isa::Program gemm = lpu::isa::assemble(slurp(path), path);
    const auto r = lpu::sim::simulate(cfg, gemm, {});
    CHECK(lpu::sim::dynamic_instructions(gemm) == r.records->size());
}
