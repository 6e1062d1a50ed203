// Shared by run and compile: load a workload against a config, and turn a compiled
// workload into simulator options and summary figures.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "sim/simulation.hpp"
#include "tools/report/metrics.hpp"
#include "workloads/compiler/compiler.hpp"

namespace lpu::cli {

std::string models_dir();  // LPUSIM_MODELS_DIR, else the source tree's workloads/models

sim::SimOptions sim_options(const wl::CompiledWorkload& c, bool functional, const std::string& name);

// Workload-level figures for summary.json (docs/metrics.md): tokens/s, latency, chips,
// SRAM used, weight bytes, MACs, energy per token and power scaled to the whole system.
nlohmann::ordered_json workload_summary(const hw::HwConfig& cfg, const wl::Workload& w, const wl::CompiledWorkload& c,
                                        const sim::SimResult& r, const report::RunMetrics& m);

// Functional gemm: largest difference between the simulated result and the reference.
struct FunctionalCheck {
    bool checked = false;
    double max_abs_error = 0;
    int64_t mismatches = 0;
    int64_t compared = 0;
    std::vector<int64_t> next_tokens;  // llama: sampled by the simulated chips, one per sequence
};
FunctionalCheck check_functional(const hw::HwConfig& cfg, const wl::CompiledWorkload& c, const sim::SimResult& r);

// Compiles for `run`; a functional llama step also gets the reference's logits and next
// tokens (workloads/reference/llama_reference.hpp) to compare with.
wl::CompiledWorkload compile_for_run(const hw::HwConfig& cfg, const wl::Workload& w, const wl::CompileOptions& co);

}  // namespace lpu::cli
