// Functional co-simulation of compiled LLaMA layers against the straightforward reference of
// workloads/reference/llama_reference.hpp: the simulated chips must carry exactly the values the
// reference computes with the same quantized weights.
#include <catch2/catch.hpp>

#include <cstring>
#include <functional>
#include <regex>

#include "cli_helpers.hpp"
#include "hw/config.hpp"
#include "workloads/reference/llama_reference.hpp"
#include "sim/simulation.hpp"
#include "workloads/compiler/lower_llama.hpp"
#include "workloads/compiler/workload.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

// tiny-llama, one decode step at position 16, batch 2; the KV cache is int8 (the real data
// flow's attention needs it) unless `kv` says otherwise.
wl::Workload tiny_decode(const std::string& format, int group, const std::string& acts, int tensor, bool fuse_norm,
                         const std::string& kv = "int8") {
    const std::string text = "kind: llama\nmodel: tiny-llama\nphase: decode\ncontext_len: 16\nbatch: 2\nweights:\n  format: " + format +
                             "\n  group_size: " + std::to_string(group) + "\nactivations: " + acts + "\nkv_cache: " + kv +
                             "\nparallelism:\n  tensor: " + std::to_string(tensor) + "\n  pipeline: 1\nmapping:\n  fuse_norm: " +
                             (fuse_norm ? "true" : "false") + "\n";
    return wl::load_workload_text(text, "tiny.yaml", {}, source_path("workloads/models"));
}

// Reference shape of a workload on a config.
ref::FfnShape shape_of(const hw::HwConfig& cfg, const wl::Workload& w, int tensor) {
    ref::FfnShape shape;
    shape.hidden = w.model.hidden_size;
    shape.intermediate = w.model.intermediate_size;
    shape.tensor = tensor;
    shape.eps = w.model.rms_norm_eps;
    shape.act_fp16 = w.activations == wl::ElementType::Fp16;
    shape.lanes = cfg.vector_bytes();
    shape.tile_k = std::min<int64_t>(w.mapping.tile_k, cfg.mxm.rows);
    return shape;
}

// Simulates the check's program; counts the residual values on chip 0 that differ bit for bit
// from want(m) (the reference's hidden vector of token m). Also checks the layer moved them.
int64_t mismatches(const hw::HwConfig& cfg, const wl::LayerCheck& check, int64_t tokens,
                   const std::function<std::vector<float>(int64_t)>& want) {
    const wl::CompiledWorkload& c = check.compiled;
    sim::SimOptions so;
    so.functional = true;
    for (const auto& s : c.sram_init) so.sram_init.push_back({s.chip, s.slice, s.addr, s.bytes});
    const auto r = sim::simulate(cfg, c.program, so);
    const int64_t H = static_cast<int64_t>(check.x.size()) / tokens;
    int64_t bad = 0, seen = 0, moved = 0;
    double worst = 0;
    for (int64_t m = 0; m < tokens; ++m) {
        const std::vector<float> ref = want(m);
        for (int64_t i = 0; i < H; ++i)
            moved += std::abs(ref[static_cast<size_t>(i)] - check.x[static_cast<size_t>(m * H + i)]) > 1e-3f ? 1 : 0;
        for (const auto& loc : c.results) {
            const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * 4), cfg.vector_bytes());
            for (int64_t col = 0; col < loc.columns; ++col) {
                float v;
                std::memcpy(&v, bytes.data() + m * 4 * cfg.vector_bytes() + 4 * col, 4);
                const float expect = ref[static_cast<size_t>(loc.column0 + col)];
                if (std::memcmp(&v, &expect, 4) != 0) ++bad;
                worst = std::max(worst, static_cast<double>(std::abs(v - expect)));
                ++seen;
            }
        }
    }
    CAPTURE(worst);
    CHECK(seen == tokens * H);
    CHECK(moved > tokens * H / 2);  // the layer does change the residual stream (the check is not vacuous)
    return bad;
}

std::vector<std::vector<ref::KvCache>> caches_of(const wl::LayerCheck& check) {
    std::vector<std::vector<ref::KvCache>> out;
    for (const auto& rank : check.kv) {
        out.emplace_back();
        for (const auto& st : rank) out.back().push_back({st.k, st.v, st.k_scale, st.v_scale});
    }
    return out;
}

ref::AttentionShape attention_shape(const wl::Workload& w, const wl::LayerCheck& check, int tensor) {
    ref::AttentionShape a;
    a.heads = w.model.num_attention_heads / tensor;
    a.kv_heads = w.model.num_key_value_heads / tensor;
    a.head_dim = w.model.head_dim();
    a.position = check.position;
    a.rope_theta = w.model.rope_theta;
    a.fused_qkv = check.fused_qkv;
    return a;
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
    const wl::LayerCheck check = wl::compile_layer_check(cfg, w, 7, false, true);
    REQUIRE(check.compiled.simulated_chips.size() == static_cast<size_t>(tensor));
    const ref::FfnShape shape = shape_of(cfg, w, tensor);
    const int64_t H = shape.hidden;
    CHECK(mismatches(cfg, check, w.batch, [&](int64_t m) {
              const std::vector<float> x(check.x.begin() + m * H, check.x.begin() + (m + 1) * H);
              return ref::ffn_block(x, check.gamma, check.gate, check.up, check.down, shape);
          }) == 0);
}

TEST_CASE("the attention half of a compiled tiny LLaMA layer computes the reference bit for bit", "[compiler][functional]") {
    // RMSNorm, Q/K/V, RoPE, KV-cache append, scores, softmax, P.V, O, all-reduce, residual,
    // for 2 sequences at position 16 with a random int8 cache before it.
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    auto [format, group, acts] = GENERATE(table<std::string, int, std::string>(
        {{"fp16", 0, "fp16"}, {"int8", 0, "int8"}, {"int4", 64, "int8"}, {"int3p5", 0, "int8"}, {"int3p5b", 32, "int8"}}));
    const int tensor = GENERATE(1, 2);
    const bool fuse_norm = GENERATE(true, false);
    CAPTURE(format, group, acts, tensor, fuse_norm);
    const wl::Workload w = tiny_decode(format, group, acts, tensor, fuse_norm);
    const wl::LayerCheck check = wl::compile_layer_check(cfg, w, 11, true, false);
    const ref::FfnShape shape = shape_of(cfg, w, tensor);
    const ref::AttentionShape as = attention_shape(w, check, tensor);
    const int64_t H = shape.hidden;
    CHECK(mismatches(cfg, check, w.batch, [&](int64_t m) {
              const std::vector<float> x(check.x.begin() + m * H, check.x.begin() + (m + 1) * H);
              return ref::attention_block(x, m, check.gamma_attn, check.q, check.k, check.v, check.o, caches_of(check), shape, as);
          }) == 0);
}

TEST_CASE("a whole tiny LLaMA decode step gives the reference's logits and next tokens, bit for bit", "[compiler][functional]") {
    // Embedding, 2 layers, final norm, LM head and greedy sampling; batch 2 at position 16.
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    auto [format, group, acts] = GENERATE(table<std::string, int, std::string>(
        {{"fp16", 0, "fp16"}, {"int8", 0, "int8"}, {"int4", 64, "int8"}, {"int3p5", 0, "int8"}, {"int3p5b", 32, "int8"}}));
    const int tensor = GENERATE(1, 2);
    const int pipeline = GENERATE(1, 2);
    CAPTURE(format, group, acts, tensor, pipeline);
    wl::Workload w = tiny_decode(format, group, acts, tensor, true);
    w.parallelism.pipeline = pipeline;
    const wl::ModelCheck mc = wl::compile_model_check(cfg, w, 3);
    const wl::CompiledWorkload& c = mc.compiled;
    REQUIRE(c.chips == tensor * pipeline);
    REQUIRE(c.simulated_chips.size() == static_cast<size_t>(tensor * pipeline));
    sim::SimOptions so;
    so.functional = true;
    for (const auto& s : c.sram_init) so.sram_init.push_back({s.chip, s.slice, s.addr, s.bytes});
    const auto r = sim::simulate(cfg, c.program, so);
    const ref::FfnShape shape = shape_of(cfg, w, tensor);
    const int64_t vocab = w.model.vocab_size;
    int64_t bad = 0, seen = 0;
    for (int64_t m = 0; m < w.batch; ++m) {
        const std::vector<float> want = ref::model_logits(mc, m, vocab, w.model.num_key_value_heads, w.model.num_attention_heads,
                                                          w.model.rope_theta, shape);
        for (const auto& loc : c.results) {
            const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * 4), cfg.vector_bytes());
            for (int64_t col = 0; col < loc.columns; ++col) {
                float v;
                std::memcpy(&v, bytes.data() + m * 4 * cfg.vector_bytes() + 4 * col, 4);
                if (std::memcmp(&v, &want[static_cast<size_t>(loc.column0 + col)], 4) != 0) ++bad;
                ++seen;
            }
        }
        const int64_t next = ref::greedy(want);
        REQUIRE(c.next_tokens.size() == static_cast<size_t>(tensor));
        for (const auto& loc : c.next_tokens) {  // every rank of the last stage agrees
            const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * 4), cfg.vector_bytes());
            float v;
            std::memcpy(&v, bytes.data() + m * 4 * cfg.vector_bytes(), 4);
            CHECK(static_cast<int64_t>(v) == next);
        }
    }
    CHECK(seen == w.batch * vocab);
    CHECK(bad == 0);
}

TEST_CASE("run --functional on the tiny LLaMA example compares logits and next tokens with the reference", "[compiler][functional][cli]") {
    // The example mixes formats (int4 g64, layer 1's feed-forward int3p5 g32) at a 128-token context.
    const std::string hw = source_path("configs/tsp-v1-x72.yaml"), wl_file = source_path("workloads/examples/tiny-llama-decode.yaml");
    const int tensor = GENERATE(1, 2);
    const auto r = test::run_cli("run --hw " + hw + " --workload " + wl_file + " --functional --wset parallelism.tensor=" + std::to_string(tensor));
    CAPTURE(tensor, r.out, r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("2000 values compared, 0 differ from the reference") != std::string::npos);
    const std::regex tokens("next tokens: ([0-9, ]+) \\(reference: ([0-9, ]+)\\)");
    std::smatch mt;
    REQUIRE(std::regex_search(r.out, mt, tokens));
    CHECK(mt[1] == mt[2]);
}

TEST_CASE("the functional program of a decode step is the timing program: same instructions and cycles", "[compiler][functional]") {
    // Only the embedding row reads differ (their address is the input token's row); on this
    // seed the rows sit in the same hemisphere as the timing program's, so cycles are equal.
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1-x72.yaml"));
    wl::Workload w = tiny_decode("int4", 64, "int8", 2, true);
    wl::CompileOptions full;
    full.full_system = true;
    const wl::CompiledWorkload timing = wl::compile(cfg, w, full);
    const wl::ModelCheck mc = wl::compile_model_check(cfg, w, 1);
    REQUIRE(timing.program.queues.size() == mc.compiled.program.queues.size());
    int64_t differing = 0;
    for (size_t q = 0; q < timing.program.queues.size(); ++q) {
        const auto& a = timing.program.queues[q].instructions;
        const auto& b = mc.compiled.program.queues[q].instructions;
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) differing += a[i] == b[i] ? 0 : 1;
    }
    CHECK(differing <= w.batch * 2);  // the embedding row reads (one per sequence and rank)
    sim::SimOptions so;
    const auto r1 = sim::simulate(cfg, timing.program, so);
    const auto r2 = sim::simulate(cfg, mc.compiled.program, so);
    CHECK(r1.cycles == r2.cycles);
}
