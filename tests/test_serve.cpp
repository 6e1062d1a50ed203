// The served-load scheduler (tools/serve/scheduler.hpp) against hand calculations with
// synthetic step costs, and `lpusim serve` against separate `lpusim run`s of the same steps.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli_helpers.hpp"
#include "tools/serve/load.hpp"
#include "tools/serve/scheduler.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

// Prefill: 1 ms + 10 us per prompt token; decode: 2 ms + 1 us per context token + 0.5 ms per
// extra sequence of the batch.
class LinearCosts : public serve::StepCosts {
public:
    serve::StepCost prefill(int64_t done, int64_t tokens) override {
        const auto p = [](int64_t n) { return n > 0 ? 1e-3 + 1e-5 * static_cast<double>(n) : 0.0; };
        return {p(done + tokens) - p(done), 1.0};
    }
    serve::StepCost decode(int64_t batch, int64_t context) override {
        ++decodes;
        return {2e-3 + 1e-6 * static_cast<double>(context) + 5e-4 * static_cast<double>(batch - 1), 0.5};
    }
    int64_t decodes = 0;
};

serve::Load closed(int users, int64_t n, int64_t prompt, int64_t output) {
    serve::Load l;
    l.closed = true;
    l.concurrency = users;
    l.requests = serve::generate_requests(n, {static_cast<double>(prompt), 0}, {static_cast<double>(output), 0}, 0, 1, 1 << 20);
    return l;
}

}  // namespace

TEST_CASE("one user's request takes its prefill and then one decode step per further token", "[serve]") {
    LinearCosts costs;
    serve::ServeConfig sc;
    const serve::ServeResult r = serve::simulate_serving(sc, closed(1, 1, 550, 150), costs);
    REQUIRE(r.requests.size() == 1);
    // by hand: prefill 1 ms + 5.5 ms; decode steps at contexts 550 .. 698 (149 of them)
    double decode = 0;
    for (int64_t g = 1; g < 150; ++g) decode += 2e-3 + 1e-6 * static_cast<double>(550 + g - 1);
    CHECK(r.requests[0].ttft_s() == Approx(6.5e-3).epsilon(1e-12));
    CHECK(r.requests[0].e2e_s() == Approx(6.5e-3 + decode).epsilon(1e-12));
    CHECK(r.requests[0].tpot_s() == Approx(decode / 149).epsilon(1e-12));
    CHECK(costs.decodes == 149);
    CHECK(r.dynamic_J == Approx(1.0 + 149 * 0.5));
}

TEST_CASE("a closed loop obeys Little's law and its percentiles are ordered", "[serve]") {
    LinearCosts costs;
    serve::ServeConfig sc;
    sc.lanes = 3;
    sc.max_batch = 2;
    serve::Load load = closed(8, 400, 100, 20);
    for (size_t i = 0; i < load.requests.size(); ++i) load.requests[i].output_tokens = 5 + static_cast<int64_t>(i % 7) * 5;
    const serve::ServeResult r = serve::simulate_serving(sc, load, costs);
    double sum_e2e = 0;
    std::vector<double> e2e;
    for (const auto& q : r.requests) {
        CHECK(q.first_token_s >= q.request.arrival_s);
        CHECK(q.finish_s >= q.first_token_s);
        sum_e2e += q.e2e_s();
        e2e.push_back(q.e2e_s());
    }
    // L = lambda W: 8 users always have one request in the system (no think time)
    const double lambda = static_cast<double>(r.requests.size()) / r.makespan_s;
    CHECK(lambda * sum_e2e / static_cast<double>(r.requests.size()) == Approx(8.0).epsilon(0.03));
    const double p50 = serve::percentile(e2e, 50), p90 = serve::percentile(e2e, 90), p99 = serve::percentile(e2e, 99);
    CHECK(p50 <= p90);
    CHECK(p90 <= p99);
    CHECK(p99 <= *std::max_element(e2e.begin(), e2e.end()));
}

TEST_CASE("batches share decode steps, lanes run at once, and chunked prefill interleaves prompts with decoding", "[serve]") {
    serve::ServeConfig sc;
    sc.max_batch = 4;
    LinearCosts one_lane;
    const auto batched = serve::simulate_serving(sc, closed(4, 4, 100, 10), one_lane);
    // four prefills one after another, then the batch decodes together: 9 steps at batch 4
    CHECK(one_lane.decodes < 4 * 9);
    sc.lanes = 4;
    sc.max_batch = 1;
    LinearCosts four_lanes;
    const auto parallel = serve::simulate_serving(sc, closed(4, 4, 100, 10), four_lanes);
    for (const auto& q : parallel.requests) CHECK(q.finish_s == Approx(parallel.requests[0].finish_s));  // all alone, all at once
    sc.lanes = 1;
    sc.max_batch = 2;
    sc.policy = serve::Policy::ChunkedPrefill;
    sc.chunk_tokens = 64;
    LinearCosts chunked;
    const auto c = serve::simulate_serving(sc, closed(2, 2, 200, 10), chunked);
    CHECK(c.prefill_iterations == 2 * 4);  // 200 tokens in chunks of 64: 4 each
    // the second prompt's chunks ride along with the first sequence's decode steps
    CHECK(c.requests[1].first_token_s > c.requests[0].first_token_s);
    CHECK(c.decode_iterations < c.iterations);
    (void)batched;
}

TEST_CASE("the same seed gives the same requests, and bad lengths and trace files are refused", "[serve]") {
    const auto a = serve::generate_requests(50, serve::parse_lengths("550:150"), serve::parse_lengths("150"), 2.0, 7, 4096);
    const auto b = serve::generate_requests(50, serve::parse_lengths("550:150"), serve::parse_lengths("150"), 2.0, 7, 4096);
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].arrival_s == b[i].arrival_s);
        CHECK(a[i].prompt_tokens == b[i].prompt_tokens);
        CHECK(a[i].prompt_tokens >= 1);
    }
    CHECK(a.back().arrival_s > a.front().arrival_s);
    CHECK_THROWS_AS(serve::parse_lengths("0"), std::invalid_argument);
    CHECK_THROWS_AS(serve::parse_lengths("5:-1"), std::invalid_argument);
    CHECK_THROWS_AS(serve::parse_lengths("nan"), std::invalid_argument);
    CHECK_THROWS_AS(serve::parse_trace_csv("arrival_s,prompt_tokens,output_tokens\n0,1.5,3\n"), std::invalid_argument);
    CHECK_THROWS_AS(serve::parse_trace_csv("a,b,c\n"), std::invalid_argument);
    CHECK(serve::parse_trace_csv("arrival_s,prompt_tokens,output_tokens\n0.5,100,10\n0,20,2\n").size() == 2);
}

TEST_CASE("lpusim serve: one user's latency is a lone prefill plus its decode steps, and rows are reproducible", "[serve][cli]") {
    const std::string hw = source_path("configs/tsp-v1-x72.yaml"), w = source_path("workloads/examples/tiny-llama-decode.yaml");
    const std::string dir = "/tmp/lpusim-serve-test-" + std::to_string(::getpid());
    const std::string cmd = "serve --hw " + hw + " --workload " + w + " --concurrency 1 --requests 1 --prompt-tokens 40 --output-tokens 5 --cache-dir none --out ";
    const auto r1 = test::run_cli(cmd + dir + "a");
    REQUIRE(r1.exit_code == 0);
    const auto r2 = test::run_cli(cmd + dir + "b");
    REQUIRE(r2.exit_code == 0);
    CHECK(test::slurp(dir + "a/requests.csv") == test::slurp(dir + "b/requests.csv"));
    const auto j = nlohmann::json::parse(test::slurp(dir + "a/serving.json"));
    // the same prefill, alone, through `lpusim run` with the deployment serve pinned
    const std::string pin = " --wset parallelism.tensor=" + std::to_string(j["tensor_parallel"].get<int>()) +
                            " --wset parallelism.pipeline=" + std::to_string(j["pipeline_parallel"].get<int>());
    const auto pre = test::run_cli("run --hw " + hw + " --workload " + w + " --wset phase=prefill --wset seq_len=40 --wset batch=1" + pin +
                                   " --trace off --out " + dir + "p");
    REQUIRE(pre.exit_code == 0);
    const double ttft = nlohmann::json::parse(test::slurp(dir + "p/summary.json"))["seconds"].get<double>();
    CHECK(j["ttft_s"]["p50"].get<double>() == Approx(ttft).epsilon(1e-9));
    // decode steps at contexts 40..43, costed at the next multiple of 64 up: 64
    const auto dec = test::run_cli("run --hw " + hw + " --workload " + w + " --wset phase=decode --wset context_len=64 --wset batch=1" + pin +
                                   " --trace off --out " + dir + "d");
    REQUIRE(dec.exit_code == 0);
    const double step = nlohmann::json::parse(test::slurp(dir + "d/summary.json"))["seconds"].get<double>();
    CHECK(j["e2e_s"]["p50"].get<double>() == Approx(ttft + 4 * step).epsilon(1e-9));
    // bad load parameters are input errors
    CHECK(test::run_cli("serve --hw " + hw + " --workload " + w + " --rate -1 --out " + dir + "x").exit_code == 2);
    CHECK(test::run_cli("serve --hw " + hw + " --workload " + w + " --concurrency 2 --rate 1 --out " + dir + "x").exit_code == 2);
    CHECK(test::run_cli("serve --hw " + hw + " --workload " + w + " --concurrency 2 --policy lifo --out " + dir + "x").exit_code == 2);
    CHECK(test::run_cli("serve --hw " + hw + " --workload " + w + " --concurrency 2 --prompt-tokens 0 --out " + dir + "x").exit_code == 2);
    // and leave no output directory behind (it is staged and moved into place when complete)
    CHECK_FALSE(std::filesystem::exists(dir + "x"));
}

TEST_CASE("lpusim sweep over serve.concurrency gives one served load per point", "[serve][cli]") {
    const std::string hw = source_path("configs/tsp-v1-x72.yaml"), w = source_path("workloads/examples/tiny-llama-decode.yaml");
    const std::string dir = "/tmp/lpusim-serve-sweep-" + std::to_string(::getpid());
    const auto r = test::run_cli("sweep --hw " + hw + " --workload " + w +
                                 " --serve prompt-tokens=40 --serve output-tokens=6 --serve requests=8 --serve cache-dir=none"
                                 " --sweep serve.concurrency=1,4 --jobs 2 --out " + dir);
    // cache-dir is not a sweepable serve flag: refused before any point runs
    CHECK(r.exit_code == 2);
    const auto ok = test::run_cli("sweep --hw " + hw + " --workload " + w +
                                  " --serve prompt-tokens=40 --serve output-tokens=6 --serve requests=8"
                                  " --sweep serve.concurrency=1,4 --jobs 2 --out " + dir);
    REQUIRE(ok.exit_code == 0);
    const std::string csv = test::slurp(dir + "/results.csv");
    CHECK(csv.find("output_tokens_per_s") != std::string::npos);
    CHECK(csv.find("e2e_p50_s") != std::string::npos);
    // each row is that point's own served load: 4 users on one lane wait longer than 1
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(csv);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
        rows.push_back(cells);
    }
    REQUIRE(rows.size() == 3);
    auto col = [&](const std::string& name) {
        const auto it = std::find(rows[0].begin(), rows[0].end(), name);
        REQUIRE(it != rows[0].end());
        return static_cast<size_t>(it - rows[0].begin());
    };
    const size_t users = col("serve.concurrency"), e2e = col("e2e_p50_s"), tps = col("output_tokens_per_s");
    CHECK(rows[1][users] == "1");
    CHECK(rows[2][users] == "4");
    CHECK(std::stod(rows[2][e2e]) > std::stod(rows[1][e2e]));
    CHECK(std::stod(rows[2][tps]) >= std::stod(rows[1][tps]));
    CHECK(test::run_cli("sweep --hw " + hw + " --program x.lpuasm --sweep serve.concurrency=1,2 --out " + dir + "x").exit_code == 2);
}
