// LLaMA-family model shapes: loading them (bundled YAML, a model YAML file, or a Hugging Face
// config.json) and the analytic counts everything else is checked against: parameters per
// matrix, total parameters, and multiply-accumulates per token for decode and prefill.
// The formulas are written out in docs/workloads.md ("Model files", "Formulas").
// Pure C++: no SystemC, no hardware knowledge.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lpu::wl {

// The hyper-parameters that fix every tensor shape of a LLaMA decoder, named as in the
// Hugging Face config.json so that a reader can compare the two files side by side.
struct ModelShape {
    std::string name;    // e.g. "llama-2-70b"
    std::string source;  // where the numbers come from (citation text, or the file read)
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_hidden_layers = 0;
    int64_t num_attention_heads = 0;
    int64_t num_key_value_heads = 0;
    int64_t vocab_size = 0;
    int64_t max_position_embeddings = 0;
    double rms_norm_eps = 0;
    double rope_theta = 0;
    bool tie_word_embeddings = false;

    int64_t head_dim() const { return hidden_size / num_attention_heads; }
    int64_t kv_dim() const { return num_key_value_heads * head_dim(); }  // width of K (and of V)
    int64_t query_heads_per_kv_head() const { return num_attention_heads / num_key_value_heads; }
};

// Same architecture: every number equal (name and source may differ).
bool same_architecture(const ModelShape& a, const ModelShape& b);

// ---- loading ------------------------------------------------------------------------------

// `name_or_path` is one of
//   - a bundled model name ("llama-2-70b"): the file <models_dir>/<name>.yaml;
//   - a path to a model YAML file (ends in .yaml or .yml, or contains a '/');
//   - a path to a Hugging Face config.json (ends in .json).
// A relative path is tried against `base_dir` (the current directory if empty), then
// against `models_dir`. Returns the file to read, or nothing if there is none.
std::optional<std::string> find_model_file(const std::string& name_or_path, const std::string& models_dir,
                                           const std::string& base_dir = "");

// Names of the bundled models (the *.yaml files of models_dir, without extension), sorted.
std::vector<std::string> bundled_model_names(const std::string& models_dir);

// Resolve (as find_model_file, relative to the current directory) and load. Bad or missing files, missing or
// out-of-range fields, and inconsistent shapes (heads not dividing hidden_size, ...) give
// InputError with the file, line and field.
ModelShape load_model(const std::string& name_or_path, const std::string& models_dir);

// Load one file; the format is chosen by the extension (.json = Hugging Face config).
ModelShape load_model_file(const std::string& path);
ModelShape load_model_yaml_text(const std::string& text, const std::string& file_name);
ModelShape load_hf_config_text(const std::string& text, const std::string& file_name);

// ---- matrices and parameter counts --------------------------------------------------------

// The seven weight matrices of one decoder layer. Each computes y[1 x N] = x[1 x K] W[K x N]
// (K = input features, the reduction dimension; N = output features).
enum class Matrix : uint8_t { Q, K, V, O, Gate, Up, Down };
inline constexpr int kMatrixCount = 7;
inline constexpr std::array<Matrix, kMatrixCount> kAllMatrices = {
    Matrix::Q, Matrix::K, Matrix::V, Matrix::O, Matrix::Gate, Matrix::Up, Matrix::Down};
std::string_view matrix_name(Matrix m);                    // "q", "k", "v", "o", "gate", "up", "down"
std::optional<Matrix> find_matrix(std::string_view name);  // inverse of matrix_name

struct MatrixShape {
    int64_t k = 0;  // input features (rows of W)
    int64_t n = 0;  // output features (columns of W)
    int64_t params() const { return k * n; }
};
// q: h x h; k, v: h x kv_dim; o: h x h; gate, up: h x i; down: i x h.
MatrixShape matrix_shape(const ModelShape& m, Matrix which);
MatrixShape lm_head_shape(const ModelShape& m);  // h x vocab

int64_t matrix_params(const ModelShape& m, Matrix which);
int64_t layer_matrix_params(const ModelShape& m);  // the seven matrices of one layer
int64_t layer_norm_params(const ModelShape& m);    // two RMSNorm weight vectors: 2 h
int64_t layer_params(const ModelShape& m);         // matrices + norms
int64_t embedding_params(const ModelShape& m);     // vocab x h
int64_t lm_head_params(const ModelShape& m);       // vocab x h, or 0 when tied to the embedding
int64_t final_norm_params(const ModelShape& m);    // h
int64_t total_params(const ModelShape& m);         // layers x layer + embedding + lm_head + final norm

// Key and value elements one token adds to the KV cache over all layers: 2 x layers x kv_dim.
int64_t kv_cache_elements_per_token(const ModelShape& m);

// ---- multiply-accumulates -----------------------------------------------------------------

// Matrix multiply-accumulates of one sequence, split by where they happen. Elementwise work
// (norms, RoPE, softmax, SiLU, residuals) is not a MAC and is not counted here.
struct MacCount {
    int64_t projections = 0;       // q, k, v, o, gate, up, down over all layers
    int64_t attention_scores = 0;  // q . k for every (query, key position, head)
    int64_t attention_values = 0;  // sum of p x v for every (query, key position, head)
    int64_t lm_head = 0;           // logits
    int64_t total() const { return projections + attention_scores + attention_values + lm_head; }
};

// One new token of one sequence with `context_len` tokens already in the KV cache. The new
// token's own key/value is appended first, so it attends to context_len + 1 positions.
MacCount decode_macs_per_token(const ModelShape& m, int64_t context_len);

// A prompt of `seq_len` tokens of one sequence, causal: the token at position p (0-based)
// attends to p + 1 positions, seq_len (seq_len + 1) / 2 in total. Logits are computed for
// the last position only (the one that produces the first output token).
MacCount prefill_macs(const ModelShape& m, int64_t seq_len);

}  // namespace lpu::wl
