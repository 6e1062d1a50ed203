// Model shapes: bundled files match the published configs, parameter and MAC counts match
// hand calculations, Hugging Face config.json import, and every class of bad model file.
#include <algorithm>
#include <catch2/catch.hpp>

#include "cli_helpers.hpp"
#include "common/input_error.hpp"
#include "workloads/compiler/model.hpp"

using namespace lpu;
using namespace lpu::wl;
using lpu::test::source_path;

namespace {

std::string models_dir() { return source_path("workloads/models"); }
ModelShape bundled(const std::string& name) { return load_model(name, models_dir()); }

// A model YAML with one line replaced, loaded from text.
const char* kTinyText = R"(name: tiny
hidden_size: 640
intermediate_size: 1280
num_hidden_layers: 2
num_attention_heads: 4
num_key_value_heads: 2
vocab_size: 1000
max_position_embeddings: 4096
rms_norm_eps: 1.0e-5
rope_theta: 10000.0
)";

ModelShape load_edited(const std::string& from, const std::string& to) {
    std::string text = kTinyText;
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    return load_model_yaml_text(text, "edited.yaml");
}

// The config.json that Hugging Face publishes for meta-llama/Llama-2-7b-hf (all its keys,
// including the ones lpusim ignores).
const char* kLlama2_7bConfigJson = R"({
  "_name_or_path": "meta-llama/Llama-2-7b-hf",
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 11008,
  "max_position_embeddings": 4096,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 32,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "transformers_version": "4.31.0.dev0",
  "use_cache": true,
  "vocab_size": 32000
}
)";

}  // namespace

TEST_CASE("bundled models have the published shapes") {
    struct Expected {
        const char* name;
        int64_t hidden, intermediate, layers, heads, kv_heads, vocab, positions;
        double theta;
    };
    const Expected table[] = {
        {"llama-2-7b", 4096, 11008, 32, 32, 32, 32000, 4096, 10000.0},
        {"llama-2-13b", 5120, 13824, 40, 40, 40, 32000, 4096, 10000.0},
        {"llama-2-70b", 8192, 28672, 80, 64, 8, 32000, 4096, 10000.0},
        {"llama-3-8b", 4096, 14336, 32, 32, 8, 128256, 8192, 500000.0},
        {"llama-3-70b", 8192, 28672, 80, 64, 8, 128256, 8192, 500000.0},
        {"tiny-llama", 640, 1280, 2, 4, 2, 1000, 4096, 10000.0},
    };
    for (const auto& e : table) {
        INFO(e.name);
        const ModelShape m = bundled(e.name);
        CHECK(m.name == e.name);
        CHECK(m.hidden_size == e.hidden);
        CHECK(m.intermediate_size == e.intermediate);
        CHECK(m.num_hidden_layers == e.layers);
        CHECK(m.num_attention_heads == e.heads);
        CHECK(m.num_key_value_heads == e.kv_heads);
        CHECK(m.vocab_size == e.vocab);
        CHECK(m.max_position_embeddings == e.positions);
        CHECK(m.rope_theta == e.theta);
        CHECK(m.rms_norm_eps == 1e-5);
        CHECK_FALSE(m.tie_word_embeddings);
        CHECK((m.source.find("Hugging Face") != std::string::npos ||
               m.source.find("not published") != std::string::npos));
    }
    CHECK(bundled("llama-2-70b").head_dim() == 128);
    CHECK(bundled("llama-2-70b").kv_dim() == 1024);
    CHECK(bundled("tiny-llama").head_dim() == 160);
    const auto names = bundled_model_names(models_dir());
    for (const char* name :
         {"llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "llama-3-70b", "tiny-llama"})
        CHECK(std::find(names.begin(), names.end(), name) != names.end());
    CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("parameter counts agree with the published model sizes, computed by hand") {
    // Per layer: q and o are h x h, k and v are h x (kv_heads x head_dim), gate, up and
    // down are h x i, plus two RMSNorm vectors of h; then embedding and LM head (vocab x h)
    // and the final norm (h).
    const int64_t l2_70b = 80 * (2LL * 8192 * 8192 + 2LL * 8192 * 1024 + 3LL * 8192 * 28672 + 2 * 8192) +
                           2LL * 32000 * 8192 + 8192;
    CHECK(l2_70b == 68976648192LL);  // "70B" is 68.98e9
    CHECK(total_params(bundled("llama-2-70b")) == l2_70b);

    const int64_t l2_7b =
        32 * (4LL * 4096 * 4096 + 3LL * 4096 * 11008 + 2 * 4096) + 2LL * 32000 * 4096 + 4096;
    CHECK(l2_7b == 6738415616LL);  // 6.74e9
    CHECK(total_params(bundled("llama-2-7b")) == l2_7b);

    const int64_t l2_13b =
        40 * (4LL * 5120 * 5120 + 3LL * 5120 * 13824 + 2 * 5120) + 2LL * 32000 * 5120 + 5120;
    CHECK(total_params(bundled("llama-2-13b")) == l2_13b);  // 13.02e9
    CHECK(l2_13b == Approx(13.0e9).epsilon(0.005));

    const int64_t l3_8b = 32 * (2LL * 4096 * 4096 + 2LL * 4096 * 1024 + 3LL * 4096 * 14336 + 2 * 4096) +
                          2LL * 128256 * 4096 + 4096;
    CHECK(l3_8b == 8030261248LL);  // 8.03e9
    CHECK(total_params(bundled("llama-3-8b")) == l3_8b);

    const int64_t l3_70b = 80 * (2LL * 8192 * 8192 + 2LL * 8192 * 1024 + 3LL * 8192 * 28672 + 2 * 8192) +
                           2LL * 128256 * 8192 + 8192;
    CHECK(total_params(bundled("llama-3-70b")) == l3_70b);  // 70.55e9
    CHECK(l3_70b == Approx(70.55e9).epsilon(0.001));
}

TEST_CASE("matrix shapes follow y = x W with W of K inputs by N outputs") {
    const ModelShape m = bundled("llama-2-70b");
    CHECK(matrix_shape(m, Matrix::Q).k == 8192);
    CHECK(matrix_shape(m, Matrix::Q).n == 8192);
    CHECK(matrix_shape(m, Matrix::K).n == 1024);
    CHECK(matrix_shape(m, Matrix::V).n == 1024);
    CHECK(matrix_shape(m, Matrix::Gate).n == 28672);
    CHECK(matrix_shape(m, Matrix::Up).n == 28672);
    CHECK(matrix_shape(m, Matrix::Down).k == 28672);
    CHECK(matrix_shape(m, Matrix::Down).n == 8192);
    CHECK(lm_head_shape(m).n == 32000);
    CHECK(layer_norm_params(m) == 2 * 8192);
    CHECK(kv_cache_elements_per_token(m) == 2 * 80 * 1024);  // 163,840: 160 KiB per token at int8
    for (Matrix which : kAllMatrices) CHECK(find_matrix(matrix_name(which)) == which);
    CHECK_FALSE(find_matrix("w1").has_value());
}

TEST_CASE("decode MACs per token: projections, attention over context + 1 positions, LM head") {
    const ModelShape m = bundled("tiny-llama");
    // tiny: h 640, i 1280, 2 layers, 4 heads of 160, 2 KV heads (kv_dim 320), vocab 1000.
    const int64_t per_layer_proj = 640 * 640 + 2 * 640 * 320 + 640 * 640 + 3 * 640 * 1280;  // 3,686,400
    const int64_t L = 100;
    const MacCount c = decode_macs_per_token(m, L);
    CHECK(c.projections == 2 * per_layer_proj);
    CHECK(c.attention_scores == 2 * 4 * 160 * (L + 1));  // layers x heads x head_dim x positions
    CHECK(c.attention_values == c.attention_scores);
    CHECK(c.lm_head == 1000 * 640);
    CHECK(c.total() == 2 * per_layer_proj + 2 * 2 * 4 * 160 * (L + 1) + 640000);

    // 70B at a 2048 context: 68.45e9 projection MACs dominate; attention adds 2 x 80 x 8192 x 2049.
    const MacCount big = decode_macs_per_token(bundled("llama-2-70b"), 2048);
    CHECK(big.projections == 80LL * (2LL * 8192 * 8192 + 2LL * 8192 * 1024 + 3LL * 8192 * 28672));
    CHECK(big.attention_scores + big.attention_values == 2LL * 80 * 8192 * 2049);
    CHECK(decode_macs_per_token(m, 0).attention_scores == 2 * 4 * 160);  // attends to itself only
}

TEST_CASE("prefill MACs are causal: the sum of the decode steps that would build the same cache") {
    const ModelShape m = bundled("tiny-llama");
    const int64_t S = 37;
    const MacCount p = prefill_macs(m, S);
    int64_t attention = 0;
    for (int64_t pos = 0; pos < S; ++pos) {
        const MacCount d = decode_macs_per_token(m, pos);
        attention += d.attention_scores + d.attention_values;
    }
    CHECK(p.attention_scores + p.attention_values == attention);
    CHECK(p.attention_scores == 2 * 4 * 160 * (S * (S + 1) / 2));
    CHECK(p.projections == S * decode_macs_per_token(m, 0).projections);
    CHECK(p.lm_head == 1000 * 640);  // logits of the last position only
}

TEST_CASE("a Hugging Face config.json imports as the bundled model") {
    const std::string dir = test::scratch_dir("hfconfig") + "/Llama-2-7b-hf";
    std::system(("mkdir -p '" + dir + "'").c_str());
    test::write_text(dir + "/config.json", kLlama2_7bConfigJson);
    const ModelShape hf = load_model(dir + "/config.json", models_dir());
    CHECK(same_architecture(hf, bundled("llama-2-7b")));
    CHECK(hf.name == "meta-llama/Llama-2-7b-hf");
    CHECK(total_params(hf) == 6738415616LL);
}

TEST_CASE("Hugging Face import: defaults for old keys, refusals for other architectures") {
    std::string text = kLlama2_7bConfigJson;
    // Old configs have no num_key_value_heads (= heads, no grouping) and no rope_theta.
    auto without = [](std::string t, const std::string& line) {
        const auto pos = t.find(line);
        REQUIRE(pos != std::string::npos);
        t.erase(pos, line.size());
        return t;
    };
    const ModelShape old =
        load_hf_config_text(without(text, "\"num_key_value_heads\": 32,\n"), "config.json");
    CHECK(old.num_key_value_heads == 32);
    CHECK(old.rope_theta == 10000.0);

    try {
        std::string mistral = text;
        mistral.replace(mistral.find("\"llama\""), 7, "\"mistral\"");
        load_hf_config_text(mistral, "config.json");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "model_type");
        CHECK(e.where().line == 11);
        CHECK(std::string(e.what()).find("mistral") != std::string::npos);
    }
    try {
        load_hf_config_text(without(text, "\"hidden_size\": 4096,\n"), "config.json");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "hidden_size");
    }
    std::string gelu = text;
    gelu.replace(gelu.find("\"silu\""), 6, "\"gelu\"");
    CHECK_THROWS_AS(load_hf_config_text(gelu, "config.json"), InputError);
    std::string decoupled = text;
    decoupled.replace(decoupled.find("\"hidden_act\""), 0, "\"head_dim\": 64,\n  ");
    CHECK_THROWS_AS(load_hf_config_text(decoupled, "config.json"), InputError);
    std::string biased = text;
    biased.replace(biased.find("\"hidden_act\""), 0, "\"attention_bias\": true,\n  ");
    CHECK_THROWS_AS(load_hf_config_text(biased, "config.json"), InputError);
    CHECK_THROWS_AS(load_hf_config_text(text.substr(0, text.size() / 2), "config.json"), InputError);
}

TEST_CASE("inconsistent model shapes are rejected with the field and the rule") {
    try {
        load_edited("num_attention_heads: 4", "num_attention_heads: 3");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "num_attention_heads");
        CHECK(e.where().line == 5);
        CHECK(std::string(e.what()).find("divisor of hidden_size") != std::string::npos);
    }
    try {
        load_edited("num_key_value_heads: 2", "num_key_value_heads: 3");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "num_key_value_heads");
        CHECK(e.where().line == 6);
    }
    // 640 / 128 = 5 is odd: RoPE needs pairs.
    CHECK_THROWS_AS(load_edited("num_attention_heads: 4", "num_attention_heads: 128"), InputError);
    CHECK_THROWS_AS(load_edited("num_key_value_heads: 2", "num_key_value_heads: 8"), InputError);
    CHECK_THROWS_AS(load_edited("hidden_size: 640", "hidden_size: 0"), InputError);
    CHECK_THROWS_AS(load_edited("vocab_size: 1000", "vocab_size: -5"), InputError);
    CHECK_THROWS_AS(load_edited("num_hidden_layers: 2", "num_hidden_layers: 2.5"), InputError);
    CHECK_THROWS_AS(load_edited("rms_norm_eps: 1.0e-5", "rms_norm_eps: 0"), InputError);
    CHECK_THROWS_AS(load_edited("rope_theta: 10000.0", "rope_theta: .inf"), InputError);
    CHECK_THROWS_AS(load_edited("name: tiny", "name: ''"), InputError);
    CHECK_THROWS_AS(load_edited("hidden_size: 640", "hidden_size: 99999999999"), InputError);
    try {
        load_edited("vocab_size: 1000", "vocab_size: 1000\nvocab: 7");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "vocab");
        CHECK(e.where().line == 8);
    }
    try {
        load_edited("rope_theta: 10000.0\n", "");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "rope_theta");
        CHECK(std::string(e.what()).find("(missing)") != std::string::npos);
    }
}

TEST_CASE("model names resolve to bundled files, paths to files, and unknown names to an error") {
    CHECK(find_model_file("llama-2-7b", models_dir()) == models_dir() + "/llama-2-7b.yaml");
    CHECK(find_model_file(models_dir() + "/llama-3-8b.yaml", models_dir()) ==
          models_dir() + "/llama-3-8b.yaml");
    CHECK(find_model_file("llama-3-8b.yaml", models_dir(), "/nonexistent") ==
          models_dir() + "/llama-3-8b.yaml");
    CHECK_FALSE(find_model_file("llama-9", models_dir()).has_value());
    CHECK_FALSE(find_model_file("", models_dir()).has_value());
    try {
        load_model("llama-9", models_dir());
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "model");
        CHECK(std::string(e.what()).find("llama-2-70b") != std::string::npos);  // lists what exists
    }
    CHECK_THROWS_AS(load_model("/nonexistent/config.json", models_dir()), InputError);
}
