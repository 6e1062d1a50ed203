// GEMM mapping against the closed form of the MXM plane (sim/mxm_timing.hpp, derived in
// docs/timing-mxm.md and checked against the PE-level model): a compiled, double-buffered
// GEMM takes what its busiest plane's instruction sequence takes, plus a small fixed head and
// the epilogue of its last tile — never less. And the plane utilization ISCA 2022 Fig. 13
// reports for [2304x4096]x[4096xN] on one TSP (0.8-1.0) is reached.
#include <catch2/catch.hpp>

#include "cli_helpers.hpp"
#include "hw/config.hpp"
#include "sim/mxm_timing.hpp"
#include "sim/simulation.hpp"
#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/workload.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

wl::Workload gemm(int64_t m, int64_t k, int64_t n, const std::string& format) {
    std::string text = "kind: gemm\nm: " + std::to_string(m) + "\nk: " + std::to_string(k) + "\nn: " + std::to_string(n) +
                       "\nprecision: " + format + "\nchips: 1\n";
    if (format == "fp16") text += "activations: fp16\n";
    return wl::load_workload_text(text, "gemm.yaml", {}, source_path("workloads/models"));
}

sim::SimResult simulate(const hw::HwConfig& cfg, const wl::Workload& w) {
    const wl::CompiledWorkload c = wl::compile(cfg, w, {});
    return sim::simulate(cfg, c.program, {});
}

// The plane's parameters as the hardware config gives them.
timing::MxmParams params(const hw::HwConfig& cfg) {
    timing::MxmParams p;
    p.rows_per_cycle = timing::rows_per_cycle_from_install_bandwidth(cfg.mxm.install_bytes_per_cycle, cfg.mxm.planes, cfg.mxm.cols);
    p.weight_double_buffering = cfg.mxm.weight_double_buffering;
    p.iw_cycles = cfg.mxm.iw_cycles;
    p.accumulator_rows = cfg.mxm.accumulator_rows;
    p.drain_vectors_per_cycle = cfg.mxm.acc_drain_vectors_per_cycle;
    return p;
}

// What a simulated GEMM may take beyond the closed form of its busiest plane: 3% and 150
// cycles (the first weights' read latency and hops, queue issue slots), and the epilogue of
// the last tile after its drain: dequant (2 ALU cycles a row, half the rows on each of two
// ALUs) and the write (4 vectors a row, one vector a cycle into each of two slices).
int64_t allowance(int64_t closed_form, int64_t last_tile_rows) {
    return closed_form * 3 / 100 + 150 + 3 * last_tile_rows;
}

}  // namespace

TEST_CASE("one-plane double-buffered GEMMs take their closed form plus a small head and tail", "[compiler][mapping]") {
    hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    cfg.mxm.planes = 1;
    cfg.mxm.install_bytes_per_cycle = 2560;  // 8 rows per cycle into the one plane, as on tsp-v1's four
    const timing::MxmGeometry g{cfg.mxm.rows, cfg.mxm.cols};
    // odd shapes and LLaMA-2-70B projection shapes at tensor 8 (fused QKV 8192 x 1280, O 1024 x 8192)
    const std::vector<std::pair<int64_t, int64_t>> kn = {{8192, 1280}, {1024, 8192}, {1000, 700}, {4096, 4096}};
    for (const int64_t m : {1, 8, 128, 2048})
        for (const auto& [k, n] : kn) {
            if (m == 2048 && k * n > 8192 * 1280) continue;  // keep the suite fast
            const int64_t cf = timing::gemm_cycles(g, m, k, n, params(cfg));
            const int64_t cycles = static_cast<int64_t>(simulate(cfg, gemm(m, k, n, "int8")).cycles);
            CAPTURE(m, k, n, cf, cycles);
            if (m <= 320) {  // one m-tile: the compiled schedule is the closed form's
                CHECK(cycles >= cf);
            } else {  // m-tiles of 320 rows: never below the activation port's time
                const int64_t tiles = timing::ceil_div(n, g.cols) * timing::ceil_div(k, g.rows);
                CHECK(cycles >= tiles * (m + timing::ceil_div(m, 320) * cfg.mxm.iw_cycles));
            }
            CHECK(cycles <= cf + allowance(cf, std::min<int64_t>(m, 320)));
        }
}

TEST_CASE("four planes share a decode-shaped GEMM's output tiles: its busiest plane's closed form", "[compiler][mapping]") {
    const hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    const timing::MxmGeometry g{cfg.mxm.rows, cfg.mxm.cols};
    for (const auto& [k, n] : std::vector<std::pair<int64_t, int64_t>>{{4096, 4096}, {8192, 1280}, {1000, 700}}) {
        // the busiest plane gets ceil(NT / planes) whole n-tiles
        const int64_t n_tiles = timing::ceil_div(n, cfg.mxm.cols);
        const int64_t busiest = std::min(n, timing::ceil_div(n_tiles, cfg.mxm.planes) * cfg.mxm.cols);
        const int64_t cf = timing::gemm_cycles(g, 8, k, busiest, params(cfg));
        const int64_t cycles = static_cast<int64_t>(simulate(cfg, gemm(8, k, n, "int8")).cycles);
        CAPTURE(k, n, cf, cycles);
        CHECK(cycles >= cf);
        CHECK(cycles <= cf + allowance(cf, 8));
    }
}

TEST_CASE("a narrow GEMM with many rows keeps all four planes busy (ISCA 2022 Fig. 13)", "[compiler][mapping]") {
    const hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    for (const std::string format : {"int8", "fp16"})
        for (const int64_t n : {1376, 2560}) {
            const sim::SimResult r = simulate(cfg, gemm(2304, 4096, n, format));
            // useful MACs against the arrays' peak over the run (fp16 at 1/4 of the int8 rate)
            const double rate = format == "fp16" ? 1.0 / cfg.mxm.fp16_cycles_per_vector : 1.0;
            const double peak = static_cast<double>(cfg.mxm.planes) * cfg.mxm.rows * cfg.mxm.cols * rate;
            const double util = 2304.0 * 4096.0 * static_cast<double>(n) / (peak * static_cast<double>(r.cycles));
            CAPTURE(format, n, r.cycles, util);
            CHECK(util >= 0.80);
            CHECK(util <= 1.0);
        }
}

TEST_CASE("one weight tile and many rows: every plane streams a share of the rows", "[compiler][mapping]") {
    const hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    const timing::MxmGeometry g{cfg.mxm.rows, cfg.mxm.cols};
    // 4096 rows over 4 planes: the compiler cuts 16 m-tiles of 256 (tile_m not given), 4 per
    // plane, each installed and drained on its own: the plane's instruction sequence, timed
    // by the plane's timeline (sim/mxm_timing.hpp).
    timing::MxmTimeline tl(g, params(cfg));
    int64_t cf = 0;
    for (int i = 0; i < 4; ++i) {
        tl.lw(320);
        tl.iw();
        tl.abc(256, false);
        cf = tl.acc(256).end;
    }
    const int64_t cycles = static_cast<int64_t>(simulate(cfg, gemm(4096, 320, 320, "int8")).cycles);
    CAPTURE(cf, cycles);
    CHECK(cycles >= cf);
    CHECK(cycles <= cf + allowance(cf, 256) + 4 * 256);  // four tiles' epilogues, not one, follow the drains
}

TEST_CASE("a GEMM on more chips splits columns, then K, and reduces the partial sums over C2C", "[compiler][mapping]") {
    const hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1-x576.yaml"));
    // ISCA 2022 Fig. 14's [800 x 32576] x [32576 x 8192] fp16
    auto run = [&](int chips) {
        wl::Workload w = gemm(800, 32576, 8192, "fp16");
        w.chips = chips;
        const wl::CompiledWorkload c = wl::compile(cfg, w, {});
        return std::make_pair(c.chips, sim::simulate(cfg, c.program, {}));
    };
    const double fp16_macs_per_cycle = static_cast<double>(cfg.mxm.planes) * cfg.mxm.rows * cfg.mxm.cols / cfg.mxm.fp16_cycles_per_vector;
    const double macs = 800.0 * 32576.0 * 8192.0;
    const auto [chips8, r8] = run(8);
    const auto [chips16, r16] = run(16);
    const auto [chips100, r100] = run(100);
    CAPTURE(r8.cycles, r16.cycles, r100.cycles, chips100);
    CHECK(chips8 == 8);
    CHECK(chips16 == 16);
    // 8192 columns are 26 n-tiles: 26 column blocks, K over 3 chips each (78 of the 100)
    CHECK(chips100 == 78);
    // never faster than the used chips' fp16 peak
    CHECK(static_cast<double>(r8.cycles) >= macs / (8 * fp16_macs_per_cycle));
    CHECK(static_cast<double>(r16.cycles) >= macs / (16 * fp16_macs_per_cycle));
    CHECK(static_cast<double>(r100.cycles) >= macs / (78 * fp16_macs_per_cycle));
    // twice the chips: nearly half the time (a column block per chip, every plane busy)
    CHECK(static_cast<double>(r16.cycles) <= 0.55 * static_cast<double>(r8.cycles));
    CHECK(r100.cycles < r16.cycles);
    // the K split moves each chip's partial sums (800 rows x 316 columns, fp32) over C2C:
    // every chip of a 3-chip group sends its peers one chunk each (real or padding)
    const double sent = r100.stats->sum_over_chips("bytes.c2c");
    CHECK(sent >= 78.0 * 2 * 800 * 320 * 4);
    // and with no K split nothing crosses a link
    CHECK(r16.stats->sum_over_chips("bytes.c2c") == 0);
}

TEST_CASE("mapping knobs the hardware cannot honour are input errors at their line", "[compiler][mapping][cli]") {
    const std::string hw = source_path("configs/tsp-v1.yaml"), gemm_file = source_path("workloads/examples/gemm-2048x8192x8192.yaml");
    const auto tile_k = test::run_cli("run --hw " + hw + " --workload " + gemm_file + " --wset mapping.tile_k=512");
    CHECK(tile_k.exit_code == 2);
    CHECK(tile_k.err.find("mapping.tile_k") != std::string::npos);
    CHECK(tile_k.err.find("mxm.rows = 320") != std::string::npos);
    const auto tile_n = test::run_cli("run --hw " + hw + " --workload " + gemm_file + " --wset mapping.tile_n=321");
    CHECK(tile_n.exit_code == 2);
    CHECK(tile_n.err.find("mxm.cols = 320") != std::string::npos);
    // the example gives tile_k: 320 on its own line: a hardware with shorter arrays is told where
    const auto narrow = test::run_cli("run --hw " + hw + " --set mxm.rows=160 --workload " + gemm_file);
    CHECK(narrow.exit_code == 2);
    CHECK(narrow.err.find("gemm-2048x8192x8192.yaml:") != std::string::npos);
    const auto single = test::run_cli("run --hw " + hw + " --workload " + gemm_file + " --wset mapping.weight_double_buffering=false");
    CHECK(single.exit_code == 2);
    CHECK(single.err.find("not yet supported") != std::string::npos);
}
