// libFuzzer target past parsing: a workload is loaded, compiled for the tsp-v1-x72 config (72 chips) and the
// compiled program simulated under a dynamic-instruction bound. Workloads too big to compile
// in milliseconds (over 64 MiB of weights, or a gemm over 2^28 MACs) are skipped; so are
// compiled programs over the bound. Contract: bad input ends in lpu::InputError, a valid input
// that cannot run (does not fit, not supported) in lpu::SimulationError; anything else that
// escapes, a crash, a sanitizer report or a hang is a finding. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "sim/asan_systemc.hpp"
#include "sim/simulation.hpp"
#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/workload.hpp"

#ifndef LPUSIM_SOURCE_DIR
#define LPUSIM_SOURCE_DIR "."
#endif

namespace {
constexpr uint64_t kFuzzMaxInstructions = 50000;
constexpr int64_t kMaxWeightBytes = int64_t{64} << 20;
constexpr double kMaxGemmMacs = double(int64_t{1} << 28);

const lpu::hw::HwConfig& config() {
    static const lpu::hw::HwConfig cfg = lpu::hw::load_hw_config(std::string(LPUSIM_SOURCE_DIR) + "/configs/tsp-v1-x72.yaml");
    return cfg;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lpu::wl;
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const Workload w = load_workload_text(text, "fuzz-input/workload.yaml", {},
                                              std::string(LPUSIM_SOURCE_DIR) + "/workloads/models");
        if (w.kind == WorkloadKind::Llama && (weight_bytes(w).total() > kMaxWeightBytes || w.batch > 64 ||
                                              w.seq_len > 512 || w.context_len > 4096))
            return 0;
        if (w.kind == WorkloadKind::Gemm && static_cast<double>(w.m) * static_cast<double>(w.k) * static_cast<double>(w.n) *
                                                    static_cast<double>(std::max<int64_t>(w.chips, 1)) >
                                                kMaxGemmMacs)
            return 0;
        CompileOptions co;
        const CompiledWorkload c = compile(config(), w, co);
        uint64_t instructions = 0;
        for (const auto& q : c.program.queues) instructions += q.instructions.size();
        if (instructions > kFuzzMaxInstructions) return 0;
        lpu::sim::SimOptions so;
        so.program_file = "fuzz-input/workload.yaml (compiled)";
        so.max_instructions = kFuzzMaxInstructions;
        so.mirror_unsimulated_peers = c.mirror_peers;
        (void)lpu::sim::simulate(config(), c.program, so);
    } catch (const lpu::InputError&) {
    } catch (const lpu::SimulationError&) {
    }
    return 0;
}
