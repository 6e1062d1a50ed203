// Lowering of a LLaMA model (prefill or decode) onto a system of chips: parallelism and
// fit, per-layer operations, tensor-parallel all-reduce and pipeline forwarding over C2C.
// docs/compiler.md, "LLaMA".
#pragma once

#include "workloads/compiler/attention.hpp"
#include "workloads/compiler/compiler.hpp"

namespace lpu::wl {

CompiledWorkload compile_llama(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& options);

// Random parameters of one layer, per rank of the tensor group.
struct LayerParams {
    std::vector<float> gamma;       // feed-forward RMSNorm weights; empty when mapping.fuse_norm folded them into gate/up
    std::vector<float> gamma_attn;  // attention RMSNorm weights; empty when folded into q/k/v
    std::vector<QuantizedMatrix> gate, up, down;  // per rank: column shards of gate/up, row shard of down
    std::vector<QuantizedMatrix> q, k, v, o;      // per rank: column shards of q/k/v (its heads), row shard of o
    std::vector<std::vector<KvState>> kv;         // per rank: [sequence * local KV heads + head]
};
struct LayerCheck : LayerParams {
    CompiledWorkload compiled;
    std::vector<float> x;    // tokens x hidden: the residual stream before the layer
    bool fused_qkv = false;  // q, k, v quantized together (one matmul)
    int64_t position = 0;    // of the new token
};
// Functional check of decoder layer 0 in decode: its attention half (RMSNorm, Q/K/V, RoPE,
// KV-cache append, attention, O, all-reduce, residual add) and/or its feed-forward half
// (RMSNorm, gate/up, SwiGLU, down, all-reduce, residual add), compiled exactly as in
// compile_llama, with random weights quantized in the workload's formats and a random int8
// KV cache for the positions before this one. Every rank of the tensor group gets its
// program (no mirroring); `compiled.results` locate the residual stream on chip 0 after the
// layer. The data are what an independent reference needs to recompute it.
LayerCheck compile_layer_check(const hw::HwConfig& cfg, const Workload& w, uint64_t seed, bool attention, bool feed_forward);

// Functional simulation of a whole model's decode step (what `run --functional` compiles):
// random parameters (every layer as in LayerParams, an fp16 embedding table, the final norm,
// an LM head) and random input tokens, compiled for every chip of the system. Results:
// `compiled.results` = the logits on the last stage's chips (column0 = vocabulary index),
// `compiled.next_tokens` = the greedily sampled token of each sequence (as fp32, on every
// chip of the last stage). Throws SimulationError with what is missing when the workload
// is not lowered with its real data flow (docs/compiler.md sec. 3).
struct ModelCheck {
    CompiledWorkload compiled;
    std::vector<LayerParams> layers;
    std::vector<float> embedding;          // vocab x hidden, fp16-rounded
    std::vector<float> gamma_final;        // empty when mapping.fuse_norm folded it into the LM head
    std::vector<QuantizedMatrix> lm_head;  // per rank: ceil(vocab / t) columns, zero past the vocabulary
    std::vector<int64_t> tokens;           // input token of each sequence
    std::vector<bool> fused_qkv;           // per layer
    int64_t position = 0;                  // of the new tokens
};
ModelCheck compile_model_check(const hw::HwConfig& cfg, const Workload& w, uint64_t seed);

}  // namespace lpu::wl
