// Workload files: what to run (a LLaMA model in one phase, or a single GEMM), with which
// weight formats, parallelism and mapping knobs. Loaded from YAML with every field checked
// (file:line:column, dotted field path) and --set overrides applied before validation.
// The schema, every default and the meaning of each field: docs/workloads.md.
// Pure C++: no SystemC, no hardware knowledge (limits that depend on the chip, such as
// "planes <= the configured planes", are checked by the compiler against the hw config).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/input_error.hpp"
#include "workloads/compiler/model.hpp"
#include "workloads/compiler/weight_format.hpp"

namespace lpu::wl {

enum class WorkloadKind : uint8_t { Llama, Gemm };
enum class Phase : uint8_t { Prefill, Decode };
enum class WeightLocation : uint8_t { Sram, MemoryInterface };
enum class ElementType : uint8_t { Int8, Fp16 };  // activations and KV cache
enum class UnpackPath : uint8_t { Vxm, Install };

std::string_view kind_name(WorkloadKind k);         // "llama", "gemm"
std::string_view phase_name(Phase p);               // "prefill", "decode"
std::string_view location_name(WeightLocation l);   // "sram", "memory_interface"
std::string_view element_type_name(ElementType t);  // "int8", "fp16"
std::string_view unpack_path_name(UnpackPath u);    // "vxm", "install"
int element_bytes(ElementType t);                   // 1, 2

// How GEMMs are cut onto the MXM planes; the knobs a tile sweep varies.
struct Mapping {
    int64_t tile_m = 320;                 // activation rows (tokens x batch) per tile
    // tile_m not given: a GEMM cuts its rows into m-tiles of at most tile_m rows, as many as
    // keep every plane equally busy (docs/compiler.md, "Matmul")
    bool tile_m_auto = true;
    // Where each given field is (file:line:column), for errors found against the hardware.
    std::map<std::string, SourceLocation> where;
    int64_t tile_n = 320;                 // output columns per tile
    int64_t tile_k = 320;                 // reduction depth per tile
    int planes = 0;                       // planes to use; 0 = all planes of the chip
    bool weight_double_buffering = true;  // load the next tile's weights while this one computes
    bool fuse_dequant = true;             // dequantize in the matmul epilogue (no extra pass)
    bool fuse_norm = true;                // apply RMSNorm in the epilogue of the producing matmul
    UnpackPath unpack = UnpackPath::Vxm;  // where packed weights become int8
};

// One entry of weights.overrides: a format for some matrices of a range of layers.
struct WeightOverride {
    int64_t first_layer = 0;       // inclusive
    int64_t last_layer = 0;        // inclusive
    std::vector<Matrix> matrices;  // the matrices it applies to (all seven if not given)
    WeightSpec spec;
    SourceLocation where;  // of the entry, for messages from later stages
};

struct Parallelism {
    int64_t tensor = 0;    // chips sharing each layer (split by heads / columns); 0 = chosen by the compiler
    int64_t pipeline = 0;  // chips in a chain, each holding a run of layers; 0 = chosen by the compiler
};

struct Workload {
    std::string file;  // the workload file as given
    WorkloadKind kind = WorkloadKind::Llama;
    Mapping mapping;

    // ---- kind: llama
    ModelShape model;
    std::string model_file;  // the file the model was read from
    Phase phase = Phase::Decode;
    int64_t seq_len = 0;                          // prefill: prompt tokens (0 if not given)
    int64_t context_len = 0;                      // decode: tokens already in the KV cache (0 if not given)
    int64_t batch = 1;                            // independent sequences processed together
    WeightSpec weights;                           // every layer matrix, unless an override says otherwise
    WeightSpec lm_head;                           // the output projection (default: same as weights)
    WeightFormat embedding = WeightFormat::Fp16;  // the token table (a lookup, not a matmul)
    WeightLocation weight_location = WeightLocation::Sram;
    std::vector<WeightOverride> overrides;  // in file order; the last one that matches wins
    ElementType activations = ElementType::Int8;
    ElementType kv_cache = ElementType::Int8;
    Parallelism parallelism;

    // ---- kind: gemm  (C[m x n] = A[m x k] B[k x n], B is the weight)
    int64_t m = 0;
    int64_t k = 0;
    int64_t n = 0;
    WeightSpec precision;  // format of B (and its group size)
    int64_t chips = 1;
};

// `models_dir` is where bundled models live (workloads/models); a relative model path is
// resolved against the workload file's folder first, then models_dir. Overrides are
// "dotted.path=value" strings (the CLI's --set) applied before validation.
Workload load_workload(const std::string& path, const std::vector<std::string>& overrides,
                       const std::string& models_dir);
// As load_workload, for text; relative model paths resolve against file_name's folder.
Workload load_workload_text(const std::string& text, const std::string& file_name,
                            const std::vector<std::string>& overrides, const std::string& models_dir);

// The format of one matrix of one layer after overrides (llama workloads).
WeightSpec weight_spec(const Workload& w, int64_t layer, Matrix which);

// Tokens whose activations flow through each weight matrix in one step: batch x seq_len for
// prefill, batch for decode (one new token per sequence); m for gemm.
int64_t tokens_per_step(const Workload& w);

// Bytes of every stored weight of a llama workload, by part (formats after overrides, scales
// and zero points included; RMSNorm weights are fp16).
struct WeightBytes {
    int64_t layers = 0;  // the seven matrices of every layer
    int64_t norms = 0;   // 2 per layer + the final norm, fp16
    int64_t embedding =
        0;  // vocab x hidden in the embedding format (int8 adds an fp16 scale per row); 0 if tied
    int64_t lm_head = 0;  // hidden x vocab in the lm_head format
    int64_t total() const { return layers + norms + embedding + lm_head; }
};
WeightBytes weight_bytes(const Workload& w);

// KV-cache bytes held after this step (all sequences, all layers): positions x batch x
// 2 x layers x kv_dim x element bytes, where positions = seq_len (prefill) or
// context_len + 1 (decode). An int8 cache also stores one fp16 scale per token, layer, key or
// value, and key/value head.
int64_t kv_cache_bytes(const Workload& w);

}  // namespace lpu::wl
