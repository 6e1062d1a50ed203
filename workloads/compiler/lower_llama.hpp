// Lowering of a LLaMA model (prefill or decode) onto a system of chips: parallelism and
// fit, per-layer operations, tensor-parallel all-reduce and pipeline forwarding over C2C.
// docs/compiler.md, "LLaMA".
#pragma once

#include "workloads/compiler/compiler.hpp"

namespace lpu::wl {

CompiledWorkload compile_llama(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& options);

// Functional check of the feed-forward half of decoder layer 0 (RMSNorm, gate/up, SwiGLU,
// down, tensor-parallel all-reduce, residual add), compiled exactly as in compile_llama,
// with random weights quantized in the workload's formats. Every rank of the tensor group
// gets its program (no mirroring); `compiled.results` locate the residual stream on chip 0
// after the block. The data are what an independent reference needs to recompute it.
struct FfnCheck {
    CompiledWorkload compiled;
    std::vector<float> x;      // tokens x hidden: the residual stream before the block
    std::vector<float> gamma;  // hidden: RMSNorm weights, empty when mapping.fuse_norm folded them into gate/up
    std::vector<QuantizedMatrix> gate, up, down;  // per rank: column shards of gate/up, row shard of down
};
FfnCheck compile_ffn_check(const hw::HwConfig& cfg, const Workload& w, uint64_t seed);

}  // namespace lpu::wl
