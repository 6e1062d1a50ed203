#include "common/text.hpp"
#include "workloads/compiler/workload.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "common/yaml_fields.hpp"

namespace lpu::wl {
namespace {

constexpr int64_t kMaxTile = 65536;
constexpr int64_t kMaxChips = 65536;
constexpr int64_t kMaxBatch = 65536;
constexpr int64_t kMaxGemmDim = int64_t{1} << 24;
constexpr int kMaxPlanes = 64;

const std::vector<std::string> kKinds = {"llama", "gemm"};
const std::vector<std::string> kPhases = {"prefill", "decode"};
const std::vector<std::string> kLocations = {"sram", "memory_interface"};
const std::vector<std::string> kElementTypes = {"int8", "fp16"};
const std::vector<std::string> kEmbeddingFormats = {"fp16", "int8"};
const std::vector<std::string> kUnpackPaths = {"vxm", "install"};

// Fields that belong to one kind only: named in the message when found in the other.
const std::vector<std::string> kLlamaOnly = {"model", "phase",   "seq_len",  "context_len",
                                             "batch", "weights", "kv_cache", "parallelism"};
const std::vector<std::string> kGemmOnly = {"m", "k", "n", "precision", "group_size", "chips"};

int64_t mul(int64_t a, int64_t b) { return checked_mul(a, b); }
int64_t add(int64_t a, int64_t b) { return checked_add(a, b); }


// A fp16 weight spec seen while reading, checked against the activation type afterwards.
struct Fp16Use {
    SourceLocation where;
    std::string field;
};

// Reads `format` (and `group_size`, defaulting by format) of one section.
WeightSpec read_spec(FieldReader& r, const std::string& format_key, std::vector<Fp16Use>& fp16_uses) {
    WeightSpec s;
    s.format = *find_format(r.get_enum(format_key, weight_format_names()));
    const int64_t g = r.get_int_or("group_size", default_group_size(s.format), 0, 1 << 20);
    s.group_size = static_cast<int>(g);
    if (auto problem = spec_problem(s)) r.fail("group_size", std::to_string(g), *problem);
    if (s.format == WeightFormat::Fp16)
        fp16_uses.push_back({r.location_of(format_key), r.path_of(format_key)});
    return s;
}

// The source to name in messages about `path`: the --set that replaced it (or a section
// above it), whose text the nodes' marks refer to, else the file.
std::shared_ptr<YamlSource> source_for(const std::shared_ptr<YamlSource>& src, const std::string& path) {
    for (size_t end = 0; end != std::string::npos;) {
        end = path.find('.', end + 1);
        auto ov = src->overrides.find(path.substr(0, end));
        if (ov != src->overrides.end()) {
            auto named = std::make_shared<YamlSource>(*src);
            named->file = ov->second;
            return named;
        }
    }
    return src;
}

// "all", "7" or "0-3" -> [first, last], within the model's layers.
void parse_layers(FieldReader& item, const ModelShape& model, WeightOverride& o) {
    const std::string text = item.get_string("layers");
    const int64_t last = model.num_hidden_layers - 1;
    const std::string expected =
        fmt::format("\"all\", a layer index or a range \"first-last\" within 0-{} ({} has {} layers)", last,
                    model.name, model.num_hidden_layers);
    if (text == "all") {
        o.first_layer = 0;
        o.last_layer = last;
        return;
    }
    auto parse_index = [&](const std::string& s) -> int64_t {
        if (s.empty() || s.size() > 9 ||
            !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
            item.fail("layers", text, expected);
        return std::stoll(s);
    };
    const auto dash = text.find('-');
    o.first_layer = parse_index(dash == std::string::npos ? text : text.substr(0, dash));
    o.last_layer = dash == std::string::npos ? o.first_layer : parse_index(text.substr(dash + 1));
    if (o.first_layer > o.last_layer || o.last_layer > last) item.fail("layers", text, expected);
}

void read_overrides(const std::shared_ptr<YamlSource>& src, const ModelShape& model, Workload& w,
                    std::vector<Fp16Use>& fp16_uses) {
    const YAML::Node root = src->root;
    const YAML::Node list = root["weights"]["overrides"];
    const auto named = source_for(src, "weights.overrides");
    if (!list.IsSequence()) {
        FieldReader weights(named, root["weights"], "weights");
        weights.fail("overrides", list.IsScalar() ? list.Scalar() : "(not a list)",
                     "a list of entries like {layers: \"0-3\", format: int4}");
    }
    for (size_t i = 0; i < list.size(); ++i) {
        const YAML::Node node = list[i];
        const std::string path = fmt::format("weights.overrides[{}]", i);
        if (!node.IsMap())
            throw InputError(mark_location(named->file, node.Mark()), path,
                             node.IsScalar() ? node.Scalar() : "(a list)",
                             "an entry with layers, format and optionally matrices and group_size");
        FieldReader item(named, node, path);
        WeightOverride o;
        o.where = mark_location(named->file, node.Mark());
        parse_layers(item, model, o);
        if (item.has("matrices")) {
            const auto names = item.get_string_list("matrices");
            if (names.empty()) item.fail("matrices", "[]", "at least one of q, k, v, o, gate, up, down");
            for (const auto& name : names) {
                auto which = find_matrix(name);
                if (!which) item.fail("matrices", name, "a list of: q, k, v, o, gate, up, down");
                if (std::find(o.matrices.begin(), o.matrices.end(), *which) != o.matrices.end())
                    item.fail("matrices", name, "each matrix named once");
                o.matrices.push_back(*which);
            }
        } else {
            o.matrices.assign(kAllMatrices.begin(), kAllMatrices.end());
        }
        o.spec = read_spec(item, "format", fp16_uses);
        item.finish();
        w.overrides.push_back(std::move(o));
    }
}

void read_weights(FieldReader r, const std::shared_ptr<YamlSource>& src, Workload& w,
                  std::vector<Fp16Use>& fp16_uses) {
    w.weights = read_spec(r, "format", fp16_uses);
    w.weight_location = r.get_enum_or("location", "sram", kLocations) == "sram"
                            ? WeightLocation::Sram
                            : WeightLocation::MemoryInterface;
    if (r.has("lm_head")) {
        FieldReader head = r.child("lm_head");
        w.lm_head = read_spec(head, "format", fp16_uses);
        head.finish();
    } else {
        w.lm_head = w.weights;
    }
    if (r.has("embedding")) {
        const std::string e = r.get_enum("embedding", kEmbeddingFormats);
        if (w.model.tie_word_embeddings)
            r.fail("embedding", e,
                   "no embedding format: the model ties its embedding to the LM head, which "
                   "stores the one table (set weights.lm_head instead)");
        w.embedding = *find_format(e);
    }
    if (r.has("overrides")) read_overrides(src, w.model, w, fp16_uses);
    // `overrides` is a list, which FieldReader does not read, so check the keys here.
    for (const auto& key : r.keys())
        if (key != "format" && key != "group_size" && key != "location" && key != "lm_head" &&
            key != "embedding" && key != "overrides")
            r.fail(key, key,
                   "a known field of section 'weights' (unknown key): format, group_size, location, "
                   "lm_head, embedding, overrides");
}

Mapping read_mapping(FieldReader r) {
    Mapping m;
    m.tile_m_auto = !r.has("tile_m");
    m.tile_m = r.get_int_or("tile_m", m.tile_m, 1, kMaxTile);
    m.tile_n = r.get_int_or("tile_n", m.tile_n, 1, kMaxTile);
    m.tile_k = r.get_int_or("tile_k", m.tile_k, 1, kMaxTile);
    m.planes = static_cast<int>(r.get_int_or("planes", 0, 0, kMaxPlanes));
    m.weight_double_buffering = r.get_bool_or("weight_double_buffering", m.weight_double_buffering);
    m.fuse_dequant = r.get_bool_or("fuse_dequant", m.fuse_dequant);
    m.fuse_norm = r.get_bool_or("fuse_norm", m.fuse_norm);
    m.unpack = r.get_enum_or("unpack", "vxm", kUnpackPaths) == "vxm" ? UnpackPath::Vxm : UnpackPath::Install;
    r.finish();
    for (const std::string& key : r.keys()) m.where[key] = r.location_of(key);
    return m;
}

ElementType element_type(const std::string& s) { return s == "int8" ? ElementType::Int8 : ElementType::Fp16; }

// The MXM multiplies int8 x int8 or fp16 x fp16: fp16 weights need fp16 activations.
// (Quantized weights with fp16 activations are fine: they are converted after unpacking.)
void check_fp16_weights(const std::vector<Fp16Use>& uses, ElementType activations) {
    if (activations == ElementType::Fp16 || uses.empty()) return;
    throw InputError(
        uses.front().where, uses.front().field, "fp16",
        "a quantized format, or activations: fp16 (the MXM multiplies int8 x int8 or fp16 x fp16)");
}

void reject_foreign_keys(FieldReader& r, const std::vector<std::string>& keys, const std::string& kind) {
    for (const auto& key : keys)
        if (r.has(key)) r.fail(key, key, fmt::format("no '{}' field in a workload of kind: {}", key, kind));
}

void read_llama(FieldReader& r, const std::shared_ptr<YamlSource>& src, Workload& w,
                const std::string& models_dir) {
    reject_foreign_keys(r, kGemmOnly, "llama");
    const std::string model_name = r.get_string("model");
    const std::string base_dir = std::filesystem::path(src->file).parent_path().string();
    const auto model_file =
        find_model_file(model_name, models_dir, source_for(src, "model") == src ? base_dir : std::string());
    if (!model_file) {
        std::string known;
        for (const auto& n : bundled_model_names(models_dir)) known += (known.empty() ? "" : ", ") + n;
        r.fail("model", model_name,
               fmt::format("a bundled model ({}) or the path of a model .yaml or a Hugging Face config.json "
                           "(relative to the workload's folder or to {})",
                           known.empty() ? "none found" : known, models_dir));
    }
    w.model_file = *model_file;
    w.model = load_model_file(*model_file);
    const ModelShape& model = w.model;

    w.phase = r.get_enum("phase", kPhases) == "prefill" ? Phase::Prefill : Phase::Decode;
    // Both lengths may be present (one file swept over both phases); the phase's own is required.
    const int64_t max_pos = model.max_position_embeddings;
    if (w.phase == Phase::Prefill || r.has("seq_len")) w.seq_len = r.get_int("seq_len", 1, max_pos);
    if (w.phase == Phase::Decode || r.has("context_len"))
        w.context_len = r.get_int("context_len", 0, max_pos - 1);  // the new token needs a position too
    w.batch = r.get_int_or("batch", 1, 1, kMaxBatch);

    std::vector<Fp16Use> fp16_uses;
    read_weights(r.child("weights"), src, w, fp16_uses);
    const std::string default_act = w.weights.format == WeightFormat::Fp16 ? "fp16" : "int8";
    w.activations = element_type(r.get_enum_or("activations", default_act, kElementTypes));
    w.kv_cache = element_type(r.get_enum_or("kv_cache", "int8", kElementTypes));
    check_fp16_weights(fp16_uses, w.activations);

    if (r.has("parallelism")) {
        FieldReader p = r.child("parallelism");
        w.parallelism.tensor = p.get_int_or("tensor", 0, 0, kMaxChips);
        w.parallelism.pipeline = p.get_int_or("pipeline", 0, 0, kMaxChips);
        const auto& par = w.parallelism;
        if (par.tensor > 0 && model.num_attention_heads % par.tensor != 0)
            p.fail("tensor", std::to_string(par.tensor),
                   fmt::format(
                       "0 (chosen by the compiler) or a divisor of num_attention_heads ({}) so that every "
                       "chip holds whole heads",
                       model.num_attention_heads));
        if (par.pipeline > model.num_hidden_layers)
            p.fail("pipeline", std::to_string(par.pipeline),
                   fmt::format(
                       "0 (chosen by the compiler) or at most num_hidden_layers ({}): every stage holds at "
                       "least one layer",
                       model.num_hidden_layers));
        if (par.tensor > 0 && par.pipeline > 0 && par.tensor * par.pipeline > kMaxChips)
            p.fail("pipeline", std::to_string(par.pipeline),
                   fmt::format("tensor x pipeline <= {} chips (tensor = {})", kMaxChips, par.tensor));
        p.finish();
    }

    // Every count derived from this workload must fit in 64 bits.
    try {
        const MacCount macs = w.phase == Phase::Prefill ? prefill_macs(model, w.seq_len)
                                                        : decode_macs_per_token(model, w.context_len);
        (void)mul(macs.total(), w.batch);
        (void)weight_bytes(w);
        (void)kv_cache_bytes(w);
    } catch (const std::overflow_error&) {
        const char* key = w.phase == Phase::Prefill ? "seq_len" : "context_len";
        r.fail(key, std::to_string(w.phase == Phase::Prefill ? w.seq_len : w.context_len),
               "a size whose multiply-accumulate and byte counts fit in 64 bits (with this batch)");
    }
}

void read_gemm(FieldReader& r, Workload& w) {
    reject_foreign_keys(r, kLlamaOnly, "gemm");
    w.m = r.get_int("m", 1, kMaxGemmDim);
    w.k = r.get_int("k", 1, kMaxGemmDim);
    w.n = r.get_int("n", 1, kMaxGemmDim);
    std::vector<Fp16Use> fp16_uses;
    w.precision = read_spec(r, "precision", fp16_uses);
    const std::string default_act = w.precision.format == WeightFormat::Fp16 ? "fp16" : "int8";
    w.activations = element_type(r.get_enum_or("activations", default_act, kElementTypes));
    check_fp16_weights(fp16_uses, w.activations);
    w.chips = r.get_int_or("chips", 1, 1, kMaxChips);
    if (w.chips > w.n)
        r.fail("chips", std::to_string(w.chips),
               fmt::format("at most n ({}): each chip gets whole columns", w.n));
}

Workload read_workload(const std::shared_ptr<YamlSource>& src, const std::string& models_dir) {
    FieldReader r = FieldReader::root(src);
    Workload w;
    w.file = src->file;
    w.kind = r.get_enum("kind", kKinds) == "llama" ? WorkloadKind::Llama : WorkloadKind::Gemm;
    if (w.kind == WorkloadKind::Llama)
        read_llama(r, src, w, models_dir);
    else
        read_gemm(r, w);
    if (r.has("mapping")) w.mapping = read_mapping(r.child("mapping"));
    r.finish();
    return w;
}

}  // namespace

std::string_view kind_name(WorkloadKind k) { return k == WorkloadKind::Llama ? "llama" : "gemm"; }
std::string_view phase_name(Phase p) { return p == Phase::Prefill ? "prefill" : "decode"; }
std::string_view location_name(WeightLocation l) {
    return l == WeightLocation::Sram ? "sram" : "memory_interface";
}
std::string_view element_type_name(ElementType t) { return t == ElementType::Int8 ? "int8" : "fp16"; }
std::string_view unpack_path_name(UnpackPath u) { return u == UnpackPath::Vxm ? "vxm" : "install"; }
int element_bytes(ElementType t) { return t == ElementType::Int8 ? 1 : 2; }

Workload load_workload(const std::string& path, const std::vector<std::string>& overrides,
                       const std::string& models_dir) {
    auto src = load_yaml_file(path);
    for (const auto& o : overrides) apply_override(*src, o, "--wset");
    return read_workload(src, models_dir);
}

Workload load_workload_text(const std::string& text, const std::string& file_name,
                            const std::vector<std::string>& overrides, const std::string& models_dir) {
    auto src = load_yaml_text(text, file_name);
    for (const auto& o : overrides) apply_override(*src, o, "--wset");
    return read_workload(src, models_dir);
}

WeightSpec weight_spec(const Workload& w, int64_t layer, Matrix which) {
    if (w.kind != WorkloadKind::Llama) throw std::invalid_argument("weight_spec: not a llama workload");
    if (layer < 0 || layer >= w.model.num_hidden_layers)
        throw std::invalid_argument(
            fmt::format("weight_spec: layer {} outside 0-{}", layer, w.model.num_hidden_layers - 1));
    WeightSpec s = w.weights;
    for (const auto& o : w.overrides)
        if (layer >= o.first_layer && layer <= o.last_layer &&
            std::find(o.matrices.begin(), o.matrices.end(), which) != o.matrices.end())
            s = o.spec;
    return s;
}

int64_t tokens_per_step(const Workload& w) {
    if (w.kind == WorkloadKind::Gemm) return w.m;
    return w.phase == Phase::Prefill ? mul(w.batch, w.seq_len) : w.batch;
}

WeightBytes weight_bytes(const Workload& w) {
    if (w.kind != WorkloadKind::Llama) throw std::invalid_argument("weight_bytes: not a llama workload");
    const ModelShape& m = w.model;
    WeightBytes b;
    for (int64_t layer = 0; layer < m.num_hidden_layers; ++layer)
        for (Matrix which : kAllMatrices) {
            const MatrixShape s = matrix_shape(m, which);
            b.layers = add(b.layers, storage_bytes(weight_spec(w, layer, which), s.k, s.n));
        }
    b.norms = mul(add(mul(2, m.num_hidden_layers), 1), mul(m.hidden_size, 2));
    if (!m.tie_word_embeddings)
        b.embedding = w.embedding == WeightFormat::Fp16 ? mul(embedding_params(m), 2)
                                                        : add(embedding_params(m), mul(m.vocab_size, 2));
    const MatrixShape head = lm_head_shape(m);
    b.lm_head = storage_bytes(w.lm_head, head.k, head.n);
    (void)add(add(b.layers, b.norms), add(b.embedding, b.lm_head));  // total() must not overflow
    return b;
}

int64_t kv_cache_bytes(const Workload& w) {
    if (w.kind != WorkloadKind::Llama) throw std::invalid_argument("kv_cache_bytes: not a llama workload");
    const ModelShape& m = w.model;
    const int64_t positions = w.phase == Phase::Prefill ? w.seq_len : w.context_len + 1;
    const int64_t tokens = mul(positions, w.batch);
    int64_t bytes = mul(mul(tokens, kv_cache_elements_per_token(m)), element_bytes(w.kv_cache));
    if (w.kv_cache == ElementType::Int8)  // one fp16 scale per (token, layer, K or V, kv head)
        bytes = add(bytes, mul(mul(tokens, mul(2 * m.num_hidden_layers, m.num_key_value_heads)), 2));
    return bytes;
}

}  // namespace lpu::wl
