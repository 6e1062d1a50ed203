// Workload files: the examples load, defaults are as documented, every field's bad value is
// reported at its line with its dotted path, --set overrides go through the same checks,
// per-layer formats resolve as documented, and byte counts match hand calculations.
#include <catch2/catch.hpp>

#include "cli_helpers.hpp"
#include "common/input_error.hpp"
#include "workloads/compiler/workload.hpp"

using namespace lpu;
using namespace lpu::wl;
using lpu::test::source_path;

namespace {

std::string models_dir() { return source_path("workloads/models"); }
std::string example(const std::string& name) { return source_path("workloads/examples/" + name); }

// Line numbers matter: the table in "every field's bad value ..." refers to them.
const char* kBase = R"(kind: llama
model: tiny-llama
phase: decode
context_len: 128
batch: 2
weights:
  format: int4
  group_size: 64
  location: sram
  overrides:
    - layers: "1"
      matrices: [gate, up, down]
      format: int3p5
      group_size: 32
activations: int8
kv_cache: int8
parallelism:
  tensor: 1
  pipeline: 1
mapping:
  tile_m: 320
  tile_n: 320
  tile_k: 320
  planes: 0
  weight_double_buffering: true
  fuse_dequant: true
  fuse_norm: true
  unpack: vxm
)";

const char* kGemm = R"(kind: gemm
m: 2048
k: 8192
n: 8192
precision: int8
chips: 1
mapping:
  tile_k: 160
)";

std::string edited(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    return text;
}

Workload load_text(const std::string& text, const std::vector<std::string>& overrides = {}) {
    return load_workload_text(text, "w.yaml", overrides, models_dir());
}

struct BadCase {
    const char* from;
    const char* to;
    const char* field;
    int line;
};

void check_bad(const char* base, const BadCase& c) {
    INFO("replacing '" << c.from << "' with '" << c.to << "'");
    try {
        load_text(edited(base, c.from, c.to));
        FAIL("expected an InputError");
    } catch (const InputError& e) {
        INFO(e.what());
        CHECK(e.field() == c.field);
        CHECK(e.where().file == "w.yaml");
        CHECK(e.where().line == c.line);
    }
}

}  // namespace

TEST_CASE("the base workload loads with every field as written") {
    const Workload w = load_text(kBase);
    CHECK(w.kind == WorkloadKind::Llama);
    CHECK(w.model.name == "tiny-llama");
    CHECK(w.model_file == models_dir() + "/tiny-llama.yaml");
    CHECK(w.phase == Phase::Decode);
    CHECK(w.context_len == 128);
    CHECK(w.seq_len == 0);
    CHECK(w.batch == 2);
    CHECK(w.weights == WeightSpec{WeightFormat::Int4, 64});
    CHECK(w.lm_head == w.weights);
    CHECK(w.embedding == WeightFormat::Fp16);
    CHECK(w.weight_location == WeightLocation::Sram);
    REQUIRE(w.overrides.size() == 1);
    CHECK(w.overrides[0].first_layer == 1);
    CHECK(w.overrides[0].last_layer == 1);
    CHECK(w.overrides[0].matrices == std::vector<Matrix>{Matrix::Gate, Matrix::Up, Matrix::Down});
    CHECK(w.overrides[0].spec == WeightSpec{WeightFormat::Int3p5, 32});
    CHECK(w.overrides[0].where.line == 11);
    CHECK(w.activations == ElementType::Int8);
    CHECK(w.kv_cache == ElementType::Int8);
    CHECK(w.parallelism.tensor == 1);
    CHECK(w.parallelism.pipeline == 1);
    CHECK(w.mapping.tile_m == 320);
    CHECK(w.mapping.unpack == UnpackPath::Vxm);
    CHECK(tokens_per_step(w) == 2);
}

TEST_CASE("omitted optional fields take their documented defaults") {
    const Workload w = load_text(
        "kind: llama\nmodel: llama-2-7b\nphase: decode\ncontext_len: 10\n"
        "weights:\n  format: int3p5\n");
    CHECK(w.batch == 1);
    CHECK(w.weights == WeightSpec{WeightFormat::Int3p5, 128});
    CHECK(w.lm_head == w.weights);
    CHECK(w.embedding == WeightFormat::Fp16);
    CHECK(w.weight_location == WeightLocation::Sram);
    CHECK(w.overrides.empty());
    CHECK(w.activations == ElementType::Int8);
    CHECK(w.kv_cache == ElementType::Int8);
    CHECK(w.parallelism.tensor == 0);    // chosen by the compiler
    CHECK(w.parallelism.pipeline == 0);  // chosen by the compiler
    const Mapping defaults;
    CHECK(w.mapping.tile_m == 320);
    CHECK(w.mapping.tile_n == 320);
    CHECK(w.mapping.tile_k == 320);
    CHECK(w.mapping.planes == 0);
    CHECK(w.mapping.weight_double_buffering);
    CHECK(w.mapping.fuse_dequant);
    CHECK(w.mapping.fuse_norm);
    CHECK(w.mapping.unpack == defaults.unpack);
    // int8 and fp16 default to per channel; fp16 weights default to fp16 activations.
    const Workload f = load_text(
        "kind: llama\nmodel: llama-2-7b\nphase: prefill\nseq_len: 64\n"
        "weights:\n  format: fp16\n");
    CHECK(f.weights == WeightSpec{WeightFormat::Fp16, 0});
    CHECK(f.activations == ElementType::Fp16);
    CHECK(tokens_per_step(f) == 64);
}

TEST_CASE("every field's bad value is reported at its line with its dotted path") {
    const BadCase cases[] = {
        {"kind: llama", "kind: conv", "kind", 1},
        {"model: tiny-llama", "model: llama-9", "model", 2},
        {"model: tiny-llama", "model: ./missing.yaml", "model", 2},
        {"phase: decode", "phase: train", "phase", 3},
        {"context_len: 128", "context_len: -1", "context_len", 4},
        {"context_len: 128", "context_len: 4096", "context_len", 4},  // max_position_embeddings 4096
        {"context_len: 128", "context_len: 1e99", "context_len", 4},
        {"batch: 2", "batch: 0", "batch", 5},
        {"batch: 2", "batch: two", "batch", 5},
        {"batch: 2", "batch: 2\nbatchsize: 3", "batchsize", 6},
        {"  format: int4", "  format: int5", "weights.format", 7},
        {"  format: int4\n  group_size: 64", "  format: fp16\n  group_size: 0", "weights.format",
         7},  // int8 activations
        {"  group_size: 64", "  group_size: 100", "weights.group_size", 8},
        {"  group_size: 64", "  group_size: -64", "weights.group_size", 8},
        {"  location: sram", "  location: dram", "weights.location", 9},
        {"  location: sram", "  location: sram\n  bogus: 1", "weights.bogus", 10},
        {"    - layers: \"1\"", "    - layers: \"0-2\"", "weights.overrides[0].layers", 11},  // 2 layers
        {"    - layers: \"1\"", "    - layers: \"1-0\"", "weights.overrides[0].layers", 11},
        {"    - layers: \"1\"", "    - layers: \"x\"", "weights.overrides[0].layers", 11},
        {"    - layers: \"1\"", "    - layers: -1", "weights.overrides[0].layers", 11},
        {"    - layers: \"1\"", "    - note: x", "weights.overrides[0].layers", 11},  // missing
        {"      matrices: [gate, up, down]", "      matrices: [gate, up, w3]",
         "weights.overrides[0].matrices", 12},
        {"      matrices: [gate, up, down]", "      matrices: [up, up]", "weights.overrides[0].matrices", 12},
        {"      matrices: [gate, up, down]", "      matrices: []", "weights.overrides[0].matrices", 12},
        {"      matrices: [gate, up, down]", "      matrices: gate", "weights.overrides[0].matrices", 12},
        {"      format: int3p5", "      format: int2", "weights.overrides[0].format", 13},
        {"      group_size: 32", "      group_size: 48", "weights.overrides[0].group_size", 14},
        {"      group_size: 32", "      group_size: 32\n      colour: red", "weights.overrides[0].colour",
         15},
        {"activations: int8", "activations: int4", "activations", 15},
        {"kv_cache: int8", "kv_cache: int3", "kv_cache", 16},
        {"  tensor: 1", "  tensor: 3", "parallelism.tensor", 18},  // 4 heads
        {"  tensor: 1", "  tensor: -1", "parallelism.tensor", 18},
        {"  pipeline: 1", "  pipeline: 3", "parallelism.pipeline", 19},  // 2 layers
        {"  pipeline: 1", "  pipeline: 1\n  data: 2", "parallelism.data", 20},
        {"  tile_m: 320", "  tile_m: 0", "mapping.tile_m", 21},
        {"  tile_n: 320", "  tile_n: 65537", "mapping.tile_n", 22},
        {"  tile_k: 320", "  tile_k: abc", "mapping.tile_k", 23},
        {"  planes: 0", "  planes: -1", "mapping.planes", 24},
        {"  planes: 0", "  planes: 65", "mapping.planes", 24},
        {"  weight_double_buffering: true", "  weight_double_buffering: maybe",
         "mapping.weight_double_buffering", 25},
        {"  fuse_dequant: true", "  fuse_dequant: 2", "mapping.fuse_dequant", 26},
        {"  fuse_norm: true", "  fuse_norm: [1]", "mapping.fuse_norm", 27},
        {"  unpack: vxm", "  unpack: sxm", "mapping.unpack", 28},
        {"  unpack: vxm", "  unpack: vxm\n  tile_q: 3", "mapping.tile_q", 29},
        {"batch: 2", "batch: 2\nm: 5", "m", 6},  // a gemm field in a llama workload
    };
    for (const auto& c : cases) check_bad(kBase, c);

    const BadCase gemm_cases[] = {
        {"m: 2048", "m: 0", "m", 2},
        {"k: 8192", "k: 99999999999", "k", 3},
        {"precision: int8", "precision: int5", "precision", 5},
        {"precision: int8", "precision: int4\ngroup_size: 16", "group_size", 6},
        {"precision: int8", "precision: fp16\nactivations: int8", "precision", 5},
        {"chips: 1", "chips: 0", "chips", 6},
        {"chips: 1", "chips: 9000", "chips", 6},  // more chips than the 8192 columns
        {"chips: 1", "chips: 1\nmodel: llama-2-7b", "model", 7},
        {"  tile_k: 160", "  tile_k: 0", "mapping.tile_k", 8},
    };
    for (const auto& c : gemm_cases) check_bad(kGemm, c);
}

TEST_CASE("phase-specific lengths are required for their phase and bounded by the model") {
    try {
        load_text(edited(kBase, "context_len: 128\n", ""));
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "context_len");
        CHECK(std::string(e.what()).find("(missing)") != std::string::npos);
    }
    try {
        load_text(kBase, {"phase=prefill"});
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "seq_len");
    }
    // Both lengths may be present, so one file can be swept over both phases.
    const Workload p = load_text(kBase, {"phase=prefill", "seq_len=4096"});
    CHECK(p.phase == Phase::Prefill);
    CHECK(p.seq_len == 4096);
    CHECK(tokens_per_step(p) == 2 * 4096);
    CHECK_THROWS_AS(load_text(kBase, {"phase=prefill", "seq_len=4097"}), InputError);
    CHECK_THROWS_AS(load_text(kBase, {"phase=prefill", "seq_len=0"}), InputError);
}

TEST_CASE("workload overrides (--wset) go through the same validation, named --wset in messages") {
    const Workload w = load_workload(
        example("tiny-llama-decode.yaml"),
        {"context_len=512", "weights.format=int8", "weights.group_size=0", "mapping.tile_k=160", "batch=4",
         "mapping.unpack=install", "model=llama-2-7b", "parallelism.tensor=8", "parallelism.pipeline=32"},
        models_dir());
    CHECK(w.context_len == 512);
    CHECK(w.weights == WeightSpec{WeightFormat::Int8, 0});
    CHECK(w.mapping.tile_k == 160);
    CHECK(w.batch == 4);
    CHECK(w.mapping.unpack == UnpackPath::Install);
    CHECK(w.model.name == "llama-2-7b");
    CHECK(w.parallelism.tensor == 8);
    try {
        load_workload(example("tiny-llama-decode.yaml"), {"mapping.tile_k=0"}, models_dir());
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mapping.tile_k");
        CHECK(e.where().file == "--wset mapping.tile_k=0");
    }
    // A whole list replaced from the command line; errors inside it name the --set.
    const std::string set_list = "weights.overrides=[{layers: 5, format: int4}]";
    try {
        load_workload(example("tiny-llama-decode.yaml"), {set_list}, models_dir());
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "weights.overrides[0].layers");
        CHECK(e.where().file == "--wset " + set_list);
    }
    const Workload l =
        load_workload(example("tiny-llama-decode.yaml"),
                      {"weights.overrides=[{layers: all, matrices: [q], format: int3p5b}]"}, models_dir());
    CHECK(weight_spec(l, 1, Matrix::Q) == WeightSpec{WeightFormat::Int3p5b, 128});
    CHECK(weight_spec(l, 1, Matrix::Down) == WeightSpec{WeightFormat::Int4, 64});
    CHECK_THROWS_AS(load_workload(example("tiny-llama-decode.yaml"), {"mapping.tile=3"}, models_dir()),
                    InputError);
    CHECK_THROWS_AS(load_workload(example("tiny-llama-decode.yaml"), {"weights.overrides=3"}, models_dir()),
                    InputError);
    CHECK_THROWS_AS(load_workload(example("tiny-llama-decode.yaml"), {"weights.overrides=[3]"}, models_dir()),
                    InputError);
    CHECK_THROWS_AS(load_workload(example("tiny-llama-decode.yaml"), {"nonsense"}, models_dir()), InputError);
}

TEST_CASE("per-layer formats: overrides apply in order and the last match wins") {
    const std::string text = edited(kBase, R"(  overrides:
    - layers: "1"
      matrices: [gate, up, down]
      format: int3p5
      group_size: 32
)",
                                    R"(  overrides:
    - layers: all
      format: int3p5b
    - layers: 1
      matrices: [q, down]
      format: int8
      group_size: 0
    - layers: "0-0"
      matrices: [v]
      format: int4
)");
    const Workload w = load_text(text);
    CHECK(weight_spec(w, 0, Matrix::Q) == WeightSpec{WeightFormat::Int3p5b, 128});
    CHECK(weight_spec(w, 1, Matrix::Q) == WeightSpec{WeightFormat::Int8, 0});
    CHECK(weight_spec(w, 1, Matrix::Down) == WeightSpec{WeightFormat::Int8, 0});
    CHECK(weight_spec(w, 1, Matrix::K) == WeightSpec{WeightFormat::Int3p5b, 128});
    CHECK(weight_spec(w, 0, Matrix::V) == WeightSpec{WeightFormat::Int4, 128});
    CHECK(weight_spec(w, 1, Matrix::V) == WeightSpec{WeightFormat::Int3p5b, 128});
    CHECK_THROWS_AS(weight_spec(w, 2, Matrix::Q), std::invalid_argument);
}

TEST_CASE("the example workloads load and say what their comments say") {
    const Workload i8 = load_workload(example("llama2-70b-decode-int8.yaml"), {}, models_dir());
    CHECK(i8.model.name == "llama-2-70b");
    CHECK(i8.weights == WeightSpec{WeightFormat::Int8, 0});
    CHECK(i8.parallelism.tensor == 8);
    CHECK(i8.parallelism.pipeline == 0);
    CHECK(i8.context_len == 2048);

    const Workload i4 = load_workload(example("llama2-70b-decode-int4.yaml"), {}, models_dir());
    CHECK(i4.weights == WeightSpec{WeightFormat::Int4, 128});

    const Workload p35 = load_workload(example("llama2-70b-decode-3p5.yaml"), {}, models_dir());
    CHECK(weight_spec(p35, 0, Matrix::Q) == WeightSpec{WeightFormat::Int4, 128});
    CHECK(weight_spec(p35, 2, Matrix::Q) == WeightSpec{WeightFormat::Int3p5, 128});
    CHECK(weight_spec(p35, 79, Matrix::Down) == WeightSpec{WeightFormat::Int4, 128});

    const Workload pre = load_workload(example("llama3-8b-prefill.yaml"), {}, models_dir());
    CHECK(pre.phase == Phase::Prefill);
    CHECK(pre.seq_len == 2048);
    CHECK(pre.model.vocab_size == 128256);

    const Workload tiny = load_workload(example("tiny-llama-decode.yaml"), {}, models_dir());
    CHECK(tiny.model.name == "tiny-llama");
    CHECK(weight_spec(tiny, 1, Matrix::Up) == WeightSpec{WeightFormat::Int3p5, 32});
    CHECK(weight_spec(tiny, 1, Matrix::Q) == WeightSpec{WeightFormat::Int4, 64});
    CHECK(weight_bytes(tiny).total() < 230686720);  // fits one chip's SRAM

    const Workload g = load_workload(example("gemm-2048x8192x8192.yaml"), {}, models_dir());
    CHECK(g.kind == WorkloadKind::Gemm);
    CHECK(g.m == 2048);
    CHECK(g.k == 8192);
    CHECK(g.n == 8192);
    CHECK(g.precision == WeightSpec{WeightFormat::Int8, 0});
    CHECK(g.activations == ElementType::Int8);
    CHECK(g.chips == 1);
    CHECK(tokens_per_step(g) == 2048);
    CHECK_THROWS_AS(weight_bytes(g), std::invalid_argument);
}

TEST_CASE("weight and KV-cache bytes of the 70B examples match hand calculations") {
    const int64_t layer = 2LL * 8192 * 8192 + 2LL * 8192 * 1024 + 3LL * 8192 * 28672;  // 855,638,016
    const int64_t norms = 2LL * (2 * 80 + 1) * 8192;
    const int64_t embedding = 2LL * 32000 * 8192;

    // int8 per channel: 1 byte per weight + an fp16 scale per output column.
    const Workload i8 = load_workload(example("llama2-70b-decode-int8.yaml"), {}, models_dir());
    const int64_t columns = 2 * 8192 + 2 * 1024 + 2 * 28672 + 8192;  // q, o, k, v, gate, up, down
    const WeightBytes b8 = weight_bytes(i8);
    CHECK(b8.layers == 80 * (layer + 2 * columns));
    CHECK(b8.norms == norms);
    CHECK(b8.embedding == embedding);
    CHECK(b8.lm_head == 8192LL * 32000 + 2 * 32000);
    // Decode at 2048: 2049 positions x (K and V of 80 layers x 1024) bytes + fp16 scale per
    // token, layer, K/V and KV head.
    CHECK(kv_cache_bytes(i8) == 2049LL * (2 * 80 * 1024 + 2 * 80 * 8 * 2));

    // 3.5-bit with layers 0, 1, 78, 79 at int4: 3.75 and 4.25 bits per weight as stored.
    const Workload p35 = load_workload(example("llama2-70b-decode-3p5.yaml"), {}, models_dir());
    const WeightBytes b35 = weight_bytes(p35);
    CHECK(b35.layers == 76 * layer * 15 / 32 + 4 * layer * 17 / 32);
    CHECK(b35.lm_head == 8192LL * 32000 * 15 / 32);
    CHECK(b35.total() == b35.layers + norms + embedding + b35.lm_head);
    CHECK(b35.total() == Approx(32.9e9).epsilon(0.01));  // not the seeds' 19 GB

    // fp16 KV cache for a prefill: seq_len positions, 2 bytes, no scales.
    const Workload pre =
        load_workload(example("llama3-8b-prefill.yaml"), {"kv_cache=fp16", "batch=3"}, models_dir());
    CHECK(kv_cache_bytes(pre) == 3LL * 2048 * 2 * 32 * 1024 * 2);
}

TEST_CASE("a Hugging Face config.json next to the workload is found and imported") {
    const std::string dir = test::scratch_dir("wl-hf");
    std::system(("mkdir -p '" + dir + "/ckpt'").c_str());
    test::write_text(dir + "/ckpt/config.json", R"({"model_type": "llama", "hidden_size": 4096,
"intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
"num_key_value_heads": 32, "vocab_size": 32000, "max_position_embeddings": 4096,
"rms_norm_eps": 1e-05, "rope_theta": 10000.0, "tie_word_embeddings": false, "bos_token_id": 1})");
    test::write_text(dir + "/w.yaml",
                     "kind: llama\nmodel: ckpt/config.json\nphase: decode\ncontext_len: 5\n"
                     "weights:\n  format: int8\n");
    const Workload w = load_workload(dir + "/w.yaml", {}, models_dir());
    CHECK(w.model_file == dir + "/ckpt/config.json");
    CHECK(same_architecture(w.model, load_model("llama-2-7b", models_dir())));
    CHECK(w.model.name == "ckpt");
    // A model file in the workload's folder wins over a bundled file of the same relative name.
    test::write_text(dir + "/tiny-llama.yaml", test::slurp(models_dir() + "/tiny-llama.yaml"));
    const Workload local = load_workload(dir + "/w.yaml", {"model=tiny-llama.yaml"}, models_dir());
    CHECK(local.model_file == models_dir() + "/tiny-llama.yaml");  // --set paths are relative to the cwd
    test::write_text(dir + "/w2.yaml",
                     "kind: llama\nmodel: tiny-llama.yaml\nphase: decode\ncontext_len: 5\n"
                     "weights:\n  format: int8\n");
    CHECK(load_workload(dir + "/w2.yaml", {}, models_dir()).model_file == dir + "/tiny-llama.yaml");
    // Errors inside the model file point into the model file.
    test::write_text(dir + "/bad.yaml", "name: bad\nhidden_size: 0\n");
    try {
        load_workload(dir + "/w.yaml", {"model=" + dir + "/bad.yaml"}, models_dir());
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.where().file == dir + "/bad.yaml");
        CHECK(e.field() == "hidden_size");
    }
}

TEST_CASE("parallelism beyond 65536 chips is refused") {
    const std::string dir = test::scratch_dir("wl-par");
    test::write_text(dir + "/wide.yaml",
                     "name: wide\nhidden_size: 2048\nintermediate_size: 4096\n"
                     "num_hidden_layers: 100\nnum_attention_heads: 1024\n"
                     "num_key_value_heads: 1024\nvocab_size: 1000\n"
                     "max_position_embeddings: 1024\nrms_norm_eps: 1e-5\nrope_theta: 10000\n");
    test::write_text(dir + "/w.yaml",
                     "kind: llama\nmodel: wide.yaml\nphase: decode\ncontext_len: 5\n"
                     "weights:\n  format: int8\nparallelism:\n  tensor: 1024\n  pipeline: 64\n");
    CHECK(load_workload(dir + "/w.yaml", {}, models_dir()).parallelism.pipeline == 64);
    try {
        load_workload(dir + "/w.yaml", {"parallelism.pipeline=65"}, models_dir());
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "parallelism.pipeline");
        CHECK(std::string(e.what()).find("65536") != std::string::npos);
    }
}

TEST_CASE("malformed workload files are input errors, never crashes") {
    CHECK_THROWS_AS(load_text(""), InputError);
    CHECK_THROWS_AS(load_text("kind: [llama"), InputError);
    CHECK_THROWS_AS(load_text("- a\n- b\n"), InputError);
    CHECK_THROWS_AS(load_text(std::string("kind: \xff\n")), InputError);
    CHECK_THROWS_AS(load_text(std::string(kBase).substr(0, 200)), InputError);
    CHECK_THROWS_AS(
        load_text("kind: llama\nmodel: tiny-llama\nphase: decode\ncontext_len: 1\nweights: int8\n"),
        InputError);
    CHECK_THROWS_AS(load_workload("/nonexistent/w.yaml", {}, models_dir()), InputError);
}
