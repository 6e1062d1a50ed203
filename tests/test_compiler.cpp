// The workload compiler end to end: compiled programs compute the reference exactly,
// count the analytical MACs, respect representative-chip symmetry, and fail clearly.
#include <catch2/catch.hpp>

#include <cstring>
#include <regex>

#include "cli_helpers.hpp"
#include "hw/config.hpp"
#include "sim/simulation.hpp"
#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/workload.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

const std::string kModels = source_path("workloads/models");

wl::Workload gemm(int64_t m, int64_t k, int64_t n, const std::string& format, int group) {
    std::string text = "kind: gemm\nm: " + std::to_string(m) + "\nk: " + std::to_string(k) + "\nn: " + std::to_string(n) +
                       "\nprecision: " + format + "\ngroup_size: " + std::to_string(group) + "\nchips: 1\n";
    if (format == "fp16") text += "activations: fp16\n";
    return wl::load_workload_text(text, "gemm.yaml", {}, kModels);
}

sim::SimOptions options_for(const wl::CompiledWorkload& c, bool functional) {
    sim::SimOptions so;
    so.functional = functional;
    so.mirror_unsimulated_peers = c.mirror_peers;
    for (const auto& s : c.sram_init) so.sram_init.push_back({s.chip, s.slice, s.addr, s.bytes});
    return so;
}

// Compiles a workload in functional mode and simulates it.
struct FunctionalRun {
    wl::CompiledWorkload compiled;
    sim::SimResult result;
};
FunctionalRun run_functional(const hw::HwConfig& cfg, const wl::Workload& w) {
    wl::CompileOptions co;
    co.functional = true;
    auto c = wl::compile(cfg, w, co);
    auto r = sim::simulate(cfg, c.program, options_for(c, true));
    return {std::move(c), std::move(r)};
}

// Calls f(simulated value, index into the reference) for every result of a functional GEMM.
template <typename F>
int64_t for_each_result(const hw::HwConfig& cfg, const wl::CompiledWorkload& c, const sim::SimResult& r, int64_t n, F f) {
    int64_t seen = 0;
    for (const auto& loc : c.results) {
        const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * 4), cfg.vector_bytes());
        for (int64_t row = 0; row < loc.rows; ++row)
            for (int64_t col = 0; col < loc.columns; ++col) {
                float v;
                std::memcpy(&v, bytes.data() + row * 4 * cfg.vector_bytes() + 4 * col, 4);
                f(v, static_cast<size_t>((loc.row0 + row) * n + loc.column0 + col));
                ++seen;
            }
    }
    return seen;
}

// Number of result values that differ from the compiler's reference, bit for bit.
int64_t mismatches(const hw::HwConfig& cfg, const wl::CompiledWorkload& c, const sim::SimResult& r, int64_t n) {
    int64_t bad = 0;
    const int64_t seen = for_each_result(cfg, c, r, n, [&](float v, size_t i) {
        if (std::memcmp(&v, &c.reference[i], 4) != 0) ++bad;
    });
    CHECK(seen == static_cast<int64_t>(c.reference.size()));
    return bad;
}

}  // namespace

TEST_CASE("a compiled GEMM of odd shape computes the reference bit for bit in every weight format", "[compiler]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    // Shapes that divide neither the 320x320 planes nor the tiles; groups along K for packed formats.
    auto [format, group] = GENERATE(table<std::string, int>({{"int8", 0}, {"fp16", 0}, {"int4", 0}, {"int4", 32}, {"int4", 128},
                                                              {"int3p5", 0}, {"int3p5", 64}, {"int3p5b", 128}}));
    CAPTURE(format, group);
    const wl::Workload w = gemm(37, 700, 333, format, group);
    const auto run = run_functional(cfg, w);
    const auto& c = run.compiled;
    const auto& r = run.result;
    CHECK(mismatches(cfg, c, r, w.n) == 0);
    // MACs counted by the simulator are the matrix's, no padding: 37 x 700 x 333.
    const double macs = r.stats->sum_over_chips("mxm.macs_int8") + r.stats->sum_over_chips("mxm.macs_fp16");
    CHECK(macs == 37.0 * 700 * 333);
}

TEST_CASE("a compiled GEMM with zero-point formats approximates A times the dequantized weights", "[compiler]") {
    // The bit-exact reference above follows the lowering's arithmetic; this one is the plain
    // product A x dequantize(B) in double. Asymmetric formats need the zero-point term
    // s * z * sum(x): without it the error would be of the order of the result itself.
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    auto [format, group] = GENERATE(table<std::string, int>({{"int8", 0}, {"int4", 0}, {"int4", 64}, {"int3p5", 0}, {"int3p5", 128},
                                                              {"int3p5b", 32}}));
    CAPTURE(format, group);
    const wl::Workload w = gemm(5, 700, 333, format, group);
    const auto run = run_functional(cfg, w);
    const auto& c = run.compiled;
    const auto& r = run.result;
    REQUIRE(c.reference_exact.size() == static_cast<size_t>(w.m * w.n));
    double worst = 0, scale = 0;
    for_each_result(cfg, c, r, w.n, [&](float v, size_t i) {
        worst = std::max(worst, std::abs(static_cast<double>(v) - c.reference_exact[i]));
        scale = std::max(scale, std::abs(c.reference_exact[i]));
    });
    CAPTURE(worst, scale);
    // fp32 rounding of a few partial sums of magnitude ~scale: far below 1e-5 of it
    CHECK(worst <= 1e-5 * scale);
}

TEST_CASE("a GEMM tiled with m-tiles and a narrow tile_k still matches the reference", "[compiler]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    std::string text = "kind: gemm\nm: 700\nk: 650\nn: 200\nprecision: int8\nchips: 1\nmapping:\n  tile_m: 128\n  tile_k: 96\n  tile_n: 160\n  planes: 2\n";
    const auto w = wl::load_workload_text(text, "gemm.yaml", {}, kModels);
    const auto run = run_functional(cfg, w);
    const auto& c = run.compiled;
    const auto& r = run.result;
    CHECK(mismatches(cfg, c, r, w.n) == 0);
}

TEST_CASE("a GEMM in waves of m-tiles over all planes, with results in row pieces, matches the reference", "[compiler]") {
    // 5 n-tiles on 4 planes: 3 m-tiles go together (wave), units cross hemispheres, each
    // tile's results are two pieces (int8: two dequant ALUs) or four (fp16)
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    for (const std::string format : {"int8", "fp16", "int4"}) {
        const auto w = gemm(700, 650, 1376, format, format == "int4" ? 64 : 0);
        const auto run = run_functional(cfg, w);
        CAPTURE(format);
        CHECK(mismatches(cfg, run.compiled, run.result, w.n) == 0);
    }
}

TEST_CASE("decode of the tiny model counts exactly the analytical MACs of one token", "[compiler]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    const auto w = wl::load_workload(source_path("workloads/examples/tiny-llama-decode.yaml"), {}, kModels);
    const auto c = wl::compile(cfg, w, {});
    const auto r = sim::simulate(cfg, c.program, options_for(c, false));
    const double simulated = r.stats->sum_over_chips("mxm.macs_int8") + r.stats->sum_over_chips("mxm.macs_fp16");
    // The analytical count (workloads/compiler/model.cpp): projections, attention over
    // context_len + 1 positions, LM head; times the batch.
    const auto macs = wl::decode_macs_per_token(w.model, w.context_len);
    CHECK(simulated == static_cast<double>(macs.total()) * static_cast<double>(w.batch));
    CHECK(c.macs == static_cast<double>(macs.total()) * static_cast<double>(w.batch));
}

TEST_CASE("prefill attention is causal: simulated MACs follow the analytical S(S+1)/2 pairs", "[compiler]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    const auto w = wl::load_workload_text("kind: llama\nmodel: tiny-llama\nphase: prefill\nseq_len: 1280\nbatch: 1\n"
                                          "weights:\n  format: int8\nmapping:\n  tile_m: 128\n",
                                          "prefill.yaml", {}, kModels);
    const auto c = wl::compile(cfg, w, {});
    const auto r = sim::simulate(cfg, c.program, options_for(c, false));
    const double simulated = r.stats->sum_over_chips("mxm.macs_int8") + r.stats->sum_over_chips("mxm.macs_fp16");
    const auto macs = wl::prefill_macs(w.model, w.seq_len);
    CAPTURE(simulated, macs.total());
    // Query chunks of tile_m rows attend up to their last token: the excess over the exact
    // causal count is at most one chunk's worth of positions per chunk.
    CHECK(simulated >= static_cast<double>(macs.total()));
    CHECK(simulated <= static_cast<double>(macs.total()) * 1.02);
}

TEST_CASE("mirrored tensor-parallel peers give the same cycles as simulating every chip", "[compiler]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    const auto w = wl::load_workload(source_path("workloads/examples/tiny-llama-decode.yaml"),
                                     {"parallelism.tensor=2", "parallelism.pipeline=2"}, kModels);
    wl::CompileOptions rep, full;
    full.full_system = true;
    const auto c_rep = wl::compile(cfg, w, rep);
    const auto c_full = wl::compile(cfg, w, full);
    CHECK(c_rep.simulated_chips.size() == 2);   // one per stage
    CHECK(c_full.simulated_chips.size() == 4);  // every chip
    const auto r_rep = sim::simulate(cfg, c_rep.program, options_for(c_rep, false));
    const auto r_full = sim::simulate(cfg, c_full.program, options_for(c_full, false));
    CHECK(r_rep.cycles == r_full.cycles);
    CHECK(r_rep.stats->sum_over_chips("bytes.c2c") * 2 == r_full.stats->sum_over_chips("bytes.c2c"));
}

TEST_CASE("LLaMA-2-70B fits the 576-chip system in int8, int4 and 3.5-bit", "[compiler]") {
    // Whole-layer stages left int8 two layers (~227 MB) on some chips; half-layer stages and
    // fused Q/K/V make it fit (docs/compiler.md sec. 1).
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x576.yaml"));
    const std::string format = GENERATE("int8", "int4", "3p5");
    CAPTURE(format);
    const auto w = wl::load_workload(source_path("workloads/examples/llama2-70b-decode-" + format + ".yaml"), {}, kModels);
    const auto c = wl::compile(cfg, w, {});
    CHECK(c.tensor == 8);
    CHECK(c.chips <= 576);
    CHECK(c.sram_bytes_used <= int64_t{cfg.mem.slices} * cfg.mem.slice_bytes());
}

TEST_CASE("a model too large for the system fails with bytes needed, bytes available and minimum chips", "[compiler][cli]") {
    const auto r = test::run_cli("run --hw " + source_path("configs/tsp-v1.yaml") + " --workload " +
                                 source_path("workloads/examples/llama2-70b-decode-int8.yaml") + " --wset parallelism.tensor=1");
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("does not fit") != std::string::npos);
    CHECK(r.err.find("69.59 GB") != std::string::npos);   // 69.25 GB weights + 0.34 GB KV cache
    CHECK(r.err.find("0.23 GB on 1 chip") != std::string::npos);
    // 69.59 GB / (230,686,720 B x 0.85 usable) = 354.9 -> 355 chips
    CHECK(r.err.find("minimum chips: 355") != std::string::npos);
}

TEST_CASE("compiled assembly re-assembles and runs to the same cycles as the in-memory program", "[compiler][cli]") {
    const std::string dir = test::scratch_dir("compile");
    const std::string hw = source_path("configs/tsp-v1.yaml"), wl_file = source_path("workloads/examples/tiny-llama-decode.yaml");
    REQUIRE(test::run_cli("compile --hw " + hw + " --workload " + wl_file + " --out " + dir).exit_code == 0);
    const auto a = test::run_cli("run --hw " + hw + " --workload " + wl_file + " --trace off");
    const auto b = test::run_cli("run --hw " + hw + " --program " + dir + "/chip0.lpuasm --trace off");
    REQUIRE(a.exit_code == 0);
    REQUIRE(b.exit_code == 0);
    const std::regex cycles(R"((\d+) cycles)");
    std::smatch ma, mb;
    REQUIRE(std::regex_search(a.out, ma, cycles));
    REQUIRE(std::regex_search(b.out, mb, cycles));
    CHECK(ma[1] == mb[1]);
}

TEST_CASE("mapping knobs beyond the hardware are input errors", "[compiler][cli]") {
    const std::string hw = source_path("configs/tsp-v1.yaml"), wl_file = source_path("workloads/examples/tiny-llama-decode.yaml");
    const auto too_many_planes = test::run_cli("run --hw " + hw + " --workload " + wl_file + " --wset mapping.planes=8");
    CHECK(too_many_planes.exit_code == 2);
    CHECK(too_many_planes.err.find("mapping.planes") != std::string::npos);
    const auto tile_m = test::run_cli("run --hw " + hw + " --workload " + wl_file + " --wset mapping.tile_m=8192");
    CHECK(tile_m.exit_code == 2);
    CHECK(tile_m.err.find("accumulator_rows") != std::string::npos);
    // functional llama needs the real data flow (int8 KV cache among others)
    const auto functional = test::run_cli("run --hw " + hw + " --workload " + wl_file + " --wset kv_cache=fp16 --functional");
    CHECK(functional.exit_code == 1);
    CHECK(functional.err.find("not yet supported") != std::string::npos);
}

TEST_CASE("a run writes every report file and two runs are byte-identical", "[compiler][cli]") {
    const std::string a = test::scratch_dir("runa"), b = test::scratch_dir("runb");
    const std::string args = "run --hw " + source_path("configs/tsp-v1.yaml") + " --workload " +
                             source_path("workloads/examples/tiny-llama-decode.yaml") + " --out ";
    REQUIRE(test::run_cli(args + a).exit_code == 0);
    REQUIRE(test::run_cli(args + b).exit_code == 0);
    for (const char* f : {"summary.json", "breakdown.csv", "roofline.csv", "utilization.csv", "power.csv", "trace.json.gz", "report.html"}) {
        CAPTURE(f);
        const std::string x = test::slurp(a + "/" + f), y = test::slurp(b + "/" + f);
        CHECK(!x.empty());
        CHECK(x == y);
    }
    const std::string summary = test::slurp(a + "/summary.json");
    for (const char* key : {"\"tokens_per_s_per_user\"", "\"tokens_per_s\"", "\"latency_per_token_s\"", "\"chips\"",
                            "\"sram_bytes_used\"", "\"weight_bytes\"", "\"macs\"", "\"utilization\"", "\"bytes\"",
                            "\"energy_per_token_J\""})
        CHECK(summary.find(key) != std::string::npos);
}
