// Lowering of a LLaMA model (prefill or decode) onto a system of chips: parallelism and
// fit, per-layer operations, tensor-parallel all-reduce and pipeline forwarding over C2C.
// docs/compiler.md, "LLaMA".
#pragma once

#include "workloads/compiler/compiler.hpp"

namespace lpu::wl {

CompiledWorkload compile_llama(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& options);

}  // namespace lpu::wl
