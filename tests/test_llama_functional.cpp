// Functional co-simulation of compiled LLaMA layers against the straightforward reference of
// tests/reference/llama_reference.hpp: the simulated chips must carry exactly the values the
// reference computes with the same quantized weights.
#include <catch2/catch.hpp>

#include <cstring>

#include "cli_helpers.hpp"
#include "hw/config.hpp"
#include "reference/llama_reference.hpp"
#include "sim/simulation.hpp"
#include "workloads/compiler/lower_llama.hpp"
#include "workloads/compiler/workload.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

wl::Workload tiny_decode(const std::string& format, int group, const std::string& acts, int tensor, bool fuse_norm) {
    const std::string text = "kind: llama\nmodel: tiny-llama\nphase: decode\ncontext_len: 16\nbatch: 2\nweights:\n  format: " + format +
                             "\n  group_size: " + std::to_string(group) + "\nactivations: " + acts + "\nkv_cache: " + acts +
                             "\nparallelism:\n  tensor: " + std::to_string(tensor) + "\n  pipeline: 1\nmapping:\n  fuse_norm: " +
                             (fuse_norm ? "true" : "false") + "\n";
    return wl::load_workload_text(text, "tiny.yaml", {}, source_path("workloads/models"));
}

}  // namespace

TEST_CASE("the feed-forward half of a compiled tiny LLaMA layer computes the reference bit for bit", "[compiler][functional]") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    auto [format, group, acts] = GENERATE(table<std::string, int, std::string>({{"fp16", 0, "fp16"},
                                                                                {"int8", 0, "int8"},
                                                                                {"int4", 0, "int8"},
                                                                                {"int4", 64, "int8"},
                                                                                {"int3p5", 0, "int8"},
                                                                                {"int3p5", 32, "int8"},
                                                                                {"int3p5b", 128, "int8"}}));
    const int tensor = GENERATE(1, 2);
    const bool fuse_norm = GENERATE(true, false);
    CAPTURE(format, group, acts, tensor, fuse_norm);
    const wl::Workload w = tiny_decode(format, group, acts, tensor, fuse_norm);
    const wl::FfnCheck check = wl::compile_ffn_check(cfg, w, 7);
    const wl::CompiledWorkload& c = check.compiled;
    REQUIRE(c.simulated_chips.size() == static_cast<size_t>(tensor));

    sim::SimOptions so;
    so.functional = true;
    for (const auto& s : c.sram_init) so.sram_init.push_back({s.chip, s.slice, s.addr, s.bytes});
    const auto r = sim::simulate(cfg, c.program, so);

    ref::FfnShape shape;
    shape.hidden = w.model.hidden_size;
    shape.intermediate = w.model.intermediate_size;
    shape.tensor = tensor;
    shape.eps = w.model.rms_norm_eps;
    shape.act_fp16 = acts == "fp16";
    shape.lanes = cfg.vector_bytes();
    shape.tile_k = w.mapping.tile_k;
    const int64_t M = w.batch, H = shape.hidden;
    int64_t bad = 0, seen = 0, moved = 0;
    double worst = 0;
    for (int64_t m = 0; m < M; ++m) {
        const std::vector<float> x(check.x.begin() + m * H, check.x.begin() + (m + 1) * H);
        const std::vector<float> want = ref::ffn_block(x, check.gamma, check.gate, check.up, check.down, shape);
        for (int64_t i = 0; i < H; ++i) moved += std::abs(want[static_cast<size_t>(i)] - x[static_cast<size_t>(i)]) > 1e-3f ? 1 : 0;
        for (const auto& loc : c.results) {
            const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * 4), cfg.vector_bytes());
            for (int64_t col = 0; col < loc.columns; ++col) {
                float v;
                std::memcpy(&v, bytes.data() + m * 4 * cfg.vector_bytes() + 4 * col, 4);
                const float ref = want[static_cast<size_t>(loc.column0 + col)];
                if (std::memcmp(&v, &ref, 4) != 0) ++bad;
                worst = std::max(worst, static_cast<double>(std::abs(v - ref)));
                ++seen;
            }
        }
    }
    CAPTURE(worst);
    CHECK(seen == M * H);
    CHECK(moved > M * H / 2);  // the block does change the residual stream (the check is not vacuous)
    CHECK(bad == 0);
}
