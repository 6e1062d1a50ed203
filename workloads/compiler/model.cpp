#include "common/text.hpp"
#include "workloads/compiler/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "common/input_error.hpp"
#include "common/yaml_fields.hpp"

namespace lpu::wl {
namespace fs = std::filesystem;

namespace {

// Upper bounds well above any published LLaMA (405B: hidden 16384, FFN 53248, 126 layers,
// vocab 128256, context 131072) that keep every count below 2^63.
constexpr int64_t kMaxHidden = int64_t{1} << 17;
constexpr int64_t kMaxIntermediate = int64_t{1} << 19;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxVocab = int64_t{1} << 24;
constexpr int64_t kMaxPositions = int64_t{1} << 24;

int64_t mul(int64_t a, int64_t b) { return checked_mul(a, b); }
int64_t add(int64_t a, int64_t b) { return checked_add(a, b); }

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool file_exists(const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec);
}

// Shape rules shared by both file formats (the keys have the same names in both).
void check_consistency(FieldReader& r, const ModelShape& m) {
    if (m.num_attention_heads > m.hidden_size || m.hidden_size % m.num_attention_heads != 0)
        r.fail("num_attention_heads", std::to_string(m.num_attention_heads),
               fmt::format("a divisor of hidden_size ({}) so that every head has the same width",
                           m.hidden_size));
    if (m.num_key_value_heads > m.num_attention_heads || m.num_attention_heads % m.num_key_value_heads != 0)
        r.fail("num_key_value_heads", std::to_string(m.num_key_value_heads),
               fmt::format("a divisor of num_attention_heads ({}): each key/value head serves the same "
                           "number of query heads",
                           m.num_attention_heads));
    if (m.head_dim() % 2 != 0)
        r.fail("num_attention_heads", std::to_string(m.num_attention_heads),
               fmt::format("a head count giving an even head_dim (hidden_size / heads = {}); RoPE rotates "
                           "pairs of elements",
                           m.head_dim()));
}

void read_sizes(FieldReader& r, ModelShape& m, bool hf) {
    m.hidden_size = r.get_int("hidden_size", 2, kMaxHidden);
    m.intermediate_size = r.get_int("intermediate_size", 1, kMaxIntermediate);
    m.num_hidden_layers = r.get_int("num_hidden_layers", 1, kMaxLayers);
    m.num_attention_heads = r.get_int("num_attention_heads", 1, kMaxHidden);
    m.vocab_size = r.get_int("vocab_size", 1, kMaxVocab);
    if (hf) {
        // Hugging Face LlamaConfig defaults for keys older config.json files omit
        // (transformers/models/llama/configuration_llama.py): no key/value grouping,
        // 2048 positions, eps 1e-6, theta 10000, untied.
        m.num_key_value_heads = r.get_int_or("num_key_value_heads", m.num_attention_heads, 1, kMaxHidden);
        m.max_position_embeddings = r.get_int_or("max_position_embeddings", 2048, 1, kMaxPositions);
        m.rms_norm_eps = r.get_double_or("rms_norm_eps", 1e-6, 1e-30, 1.0);
        m.rope_theta = r.get_double_or("rope_theta", 10000.0, 1.0, 1e12);
    } else {
        m.num_key_value_heads = r.get_int("num_key_value_heads", 1, kMaxHidden);
        m.max_position_embeddings = r.get_int("max_position_embeddings", 1, kMaxPositions);
        m.rms_norm_eps = r.get_double("rms_norm_eps", 1e-30, 1.0);
        m.rope_theta = r.get_double("rope_theta", 1.0, 1e12);
    }
    m.tie_word_embeddings = r.get_bool_or("tie_word_embeddings", false);
}

ModelShape read_model_yaml(const std::shared_ptr<YamlSource>& src) {
    FieldReader r = FieldReader::root(src);
    ModelShape m;
    m.name = r.get_string("name");
    if (m.name.empty()) r.fail("name", "", "a non-empty model name");
    m.source = r.get_string_or("source", src->file);
    read_sizes(r, m, false);
    r.finish();
    check_consistency(r, m);
    return m;
}

// A Hugging Face config.json is JSON, which is YAML: read it with the same field reader so
// that errors carry the same file:line:column. Keys we do not need are ignored (there are
// many: token ids, dtype, initializer range, ...), except the ones that would change the
// architecture away from what lpusim models.
ModelShape read_hf_config(const std::shared_ptr<YamlSource>& src) {
    // transformers writes unset options as null ("rope_scaling": null): treat them as absent.
    std::vector<std::string> nulls;
    for (auto it = src->root.begin(); it != src->root.end(); ++it)
        if (it->first.IsScalar() && it->second.IsNull()) nulls.push_back(it->first.Scalar());
    for (const auto& key : nulls) src->root.remove(key);
    FieldReader r = FieldReader::root(src);
    ModelShape m;
    const std::string type = r.get_string("model_type");
    if (type != "llama") r.fail("model_type", type, "\"llama\" (lpusim models the LLaMA architecture only)");
    read_sizes(r, m, true);
    if (r.has("hidden_act")) {
        const std::string act = r.get_string("hidden_act");
        if (act != "silu") r.fail("hidden_act", act, "\"silu\" (the SwiGLU feed-forward of LLaMA)");
    }
    for (const char* bias : {"attention_bias", "mlp_bias"})
        if (r.has(bias) && r.get_bool(bias))
            r.fail(bias, "true", "false (lpusim models LLaMA without biases)");
    // Options that change the architecture while keeping model_type llama: experts (a MoE
    // feed-forward) and windowed attention are not what lpusim lowers.
    for (const char* moe : {"num_local_experts", "num_experts_per_tok", "n_routed_experts", "num_experts"})
        if (r.has(moe) && r.get_int(moe, 0, INT64_MAX) > 1)
            r.fail(moe, std::to_string(r.get_int(moe, 0, INT64_MAX)), "at most 1 (a mixture of experts is not modelled)");
    if (r.has("use_sliding_window") && r.get_bool("use_sliding_window"))
        r.fail("use_sliding_window", "true", "false (sliding-window attention is not modelled)");
    check_consistency(r, m);
    const int64_t head_dim = r.get_int_or("head_dim", m.head_dim(), 1, kMaxHidden);
    if (head_dim != m.head_dim())
        r.fail("head_dim", std::to_string(head_dim),
               fmt::format("hidden_size / num_attention_heads = {} (a decoupled head width is not modelled)",
                           m.head_dim()));
    // Name: the checkpoint's own name if recorded, else the folder holding config.json.
    m.name = r.get_string_or("_name_or_path", "");
    if (m.name.empty()) {
        const fs::path p(src->file);
        m.name = p.has_parent_path() && !p.parent_path().filename().empty()
                     ? p.parent_path().filename().string()
                     : p.stem().string();
    }
    m.source = src->file;
    return m;
}

}  // namespace

bool same_architecture(const ModelShape& a, const ModelShape& b) {
    return a.hidden_size == b.hidden_size && a.intermediate_size == b.intermediate_size &&
           a.num_hidden_layers == b.num_hidden_layers && a.num_attention_heads == b.num_attention_heads &&
           a.num_key_value_heads == b.num_key_value_heads && a.vocab_size == b.vocab_size &&
           a.max_position_embeddings == b.max_position_embeddings && a.rms_norm_eps == b.rms_norm_eps &&
           a.rope_theta == b.rope_theta && a.tie_word_embeddings == b.tie_word_embeddings;
}

std::optional<std::string> find_model_file(const std::string& name_or_path, const std::string& models_dir,
                                           const std::string& base_dir) {
    if (name_or_path.empty()) return std::nullopt;
    const bool is_path = ends_with(name_or_path, ".yaml") || ends_with(name_or_path, ".yml") ||
                         ends_with(name_or_path, ".json") || name_or_path.find('/') != std::string::npos;
    if (!is_path) {
        const fs::path bundled = fs::path(models_dir) / (name_or_path + ".yaml");
        if (!models_dir.empty() && file_exists(bundled)) return bundled.string();
        return std::nullopt;
    }
    const fs::path p(name_or_path);
    if (p.is_absolute()) return file_exists(p) ? std::optional<std::string>(p.string()) : std::nullopt;
    const fs::path first = base_dir.empty() ? p : fs::path(base_dir) / p;
    if (file_exists(first)) return first.string();
    if (!models_dir.empty() && file_exists(fs::path(models_dir) / p))
        return (fs::path(models_dir) / p).string();
    return std::nullopt;
}

std::vector<std::string> bundled_model_names(const std::string& models_dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(models_dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".yaml") names.push_back(it->path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

ModelShape load_model(const std::string& name_or_path, const std::string& models_dir) {
    if (auto file = find_model_file(name_or_path, models_dir)) return load_model_file(*file);
    std::string known;
    for (const auto& n : bundled_model_names(models_dir)) known += (known.empty() ? "" : ", ") + n;
    throw InputError({name_or_path, 0, 0}, "model", name_or_path,
                     fmt::format("a bundled model name ({}) or the path of a model .yaml or a Hugging Face "
                                 "config.json",
                                 known.empty() ? "none found in " + models_dir : known));
}

ModelShape load_model_file(const std::string& path) {
    auto src = load_yaml_file(path);
    return ends_with(path, ".json") ? read_hf_config(src) : read_model_yaml(src);
}

ModelShape load_model_yaml_text(const std::string& text, const std::string& file_name) {
    return read_model_yaml(load_yaml_text(text, file_name));
}

ModelShape load_hf_config_text(const std::string& text, const std::string& file_name) {
    return read_hf_config(load_yaml_text(text, file_name));
}

std::string_view matrix_name(Matrix m) {
    static constexpr std::array<std::string_view, kMatrixCount> kNames = {"q",    "k",  "v",   "o",
                                                                          "gate", "up", "down"};
    return kNames[static_cast<size_t>(m)];
}

std::optional<Matrix> find_matrix(std::string_view name) {
    for (Matrix m : kAllMatrices)
        if (matrix_name(m) == name) return m;
    return std::nullopt;
}

MatrixShape matrix_shape(const ModelShape& m, Matrix which) {
    const int64_t h = m.hidden_size;
    switch (which) {
        case Matrix::Q:
        case Matrix::O:
            return {h, h};
        case Matrix::K:
        case Matrix::V:
            return {h, m.kv_dim()};
        case Matrix::Gate:
        case Matrix::Up:
            return {h, m.intermediate_size};
        case Matrix::Down:
            return {m.intermediate_size, h};
    }
    throw std::logic_error("matrix_shape: unknown matrix");
}

MatrixShape lm_head_shape(const ModelShape& m) { return {m.hidden_size, m.vocab_size}; }

int64_t matrix_params(const ModelShape& m, Matrix which) {
    const MatrixShape s = matrix_shape(m, which);
    return mul(s.k, s.n);
}

int64_t layer_matrix_params(const ModelShape& m) {
    int64_t sum = 0;
    for (Matrix which : kAllMatrices) sum = add(sum, matrix_params(m, which));
    return sum;
}

int64_t layer_norm_params(const ModelShape& m) { return 2 * m.hidden_size; }
int64_t layer_params(const ModelShape& m) { return add(layer_matrix_params(m), layer_norm_params(m)); }
int64_t embedding_params(const ModelShape& m) { return mul(m.vocab_size, m.hidden_size); }
int64_t lm_head_params(const ModelShape& m) { return m.tie_word_embeddings ? 0 : embedding_params(m); }
int64_t final_norm_params(const ModelShape& m) { return m.hidden_size; }

int64_t total_params(const ModelShape& m) {
    return add(add(mul(m.num_hidden_layers, layer_params(m)), add(embedding_params(m), lm_head_params(m))),
               final_norm_params(m));
}

int64_t kv_cache_elements_per_token(const ModelShape& m) { return mul(2 * m.num_hidden_layers, m.kv_dim()); }

MacCount decode_macs_per_token(const ModelShape& m, int64_t context_len) {
    if (context_len < 0) throw std::invalid_argument("decode_macs_per_token: negative context length");
    MacCount c;
    c.projections = mul(m.num_hidden_layers, layer_matrix_params(m));
    // Every query head scores every attended position with a head_dim dot product; the
    // weighted sum of values costs the same. heads x head_dim = hidden_size.
    const int64_t per_layer = mul(context_len + 1, m.hidden_size);
    c.attention_scores = mul(m.num_hidden_layers, per_layer);
    c.attention_values = c.attention_scores;
    c.lm_head = mul(m.vocab_size, m.hidden_size);
    return c;
}

MacCount prefill_macs(const ModelShape& m, int64_t seq_len) {
    if (seq_len < 1) throw std::invalid_argument("prefill_macs: sequence length below 1");
    MacCount c;
    c.projections = mul(seq_len, mul(m.num_hidden_layers, layer_matrix_params(m)));
    // sum over p = 0 .. S-1 of (p + 1) attended positions = S (S + 1) / 2
    const int64_t pairs = mul(seq_len, seq_len + 1) / 2;
    c.attention_scores = mul(m.num_hidden_layers, mul(pairs, m.hidden_size));
    c.attention_values = c.attention_scores;
    c.lm_head = mul(m.vocab_size, m.hidden_size);
    return c;
}

}  // namespace lpu::wl
