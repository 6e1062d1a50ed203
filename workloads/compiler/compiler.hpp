// The workload compiler: lowers a workload (a LLaMA model in one phase, or one GEMM) onto a
// hardware config as per-chip, per-queue instruction streams, with SRAM placement, tiling
// onto the MXM planes, unpack/dequant on the VXM, and C2C collectives for tensor and
// pipeline parallelism. docs/compiler.md describes every lowering and its approximations.
// Pure C++: no SystemC (the simulator runs the result).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "isa/program.hpp"
#include "workloads/compiler/workload.hpp"

namespace lpu::wl {

// Breakdown tag of one instruction, compact: millions of instructions carry one.
struct InstrTag {
    uint16_t category = 0;  // index into CompiledWorkload::categories (matmul, unpack, ...)
    int16_t layer = -1;     // model layer, -1 for none
};

// Initial SRAM contents (functional mode): `bytes` at vector address `addr` of a slice.
struct SramInit {
    int chip = 0;
    int slice = 0;
    uint64_t addr = 0;
    std::vector<uint8_t> bytes;
};

// Where a functional result lands: `rows` rows of `row_vectors` vectors each, row r at
// vector address addr + r * row_vectors of `slice`, elements of `type`.
struct ResultLocation {
    int chip = 0;
    int slice = 0;
    uint64_t addr = 0;
    int64_t rows = 0;
    int64_t row_vectors = 0;
    int64_t columns = 0;  // valid elements per row
    int64_t column0 = 0;  // first output column of this tile
    int64_t row0 = 0;     // first output row of this tile
    isa::DType type = isa::DType::Fp32;
};

struct CompileOptions {
    bool functional = false;    // also produce SRAM contents (random weights, fixed seed)
    bool full_system = false;   // simulate every chip instead of one representative per stage
    uint64_t seed = 1;
};

struct CompiledWorkload {
    isa::Program program;
    std::vector<std::string> categories;           // breakdown category names
    std::vector<std::vector<InstrTag>> tags;       // [queue index][instruction index]
    std::vector<SramInit> sram_init;
    std::vector<ResultLocation> results;  // functional: per output tile, columns from column0
    std::vector<ResultLocation> next_tokens;  // functional llama: sampled token per sequence (fp32 rows)
    std::vector<int64_t> reference_next_tokens;  // functional llama: the reference's, when computed
    std::vector<float> reference;  // functional GEMM: the reference result (rows x columns)
    // functional GEMM: A x dequantize(B) in double, the product the quantized arithmetic
    // approximates (reference differs from it only by fp32 rounding)
    std::vector<double> reference_exact;

    int tensor = 1;
    int pipeline = 1;
    int chips = 1;                     // chips the workload occupies
    std::vector<int> simulated_chips;  // chips given a program
    bool mirror_peers = false;         // tensor-parallel peers stand in for each other
    int64_t sram_bytes_used = 0;       // largest over chips, after placement
    int64_t weight_bytes = 0;          // whole model, true stored size
    int64_t kv_cache_bytes = 0;        // whole model
    double macs = 0;                   // analytical MACs of the step over the whole system
    double tokens_per_step = 0;        // tokens produced by one simulated step (all users)
    double users = 1;                  // concurrent sequences (batch x pipeline micro-batches)
    bool prefill = false;
    std::vector<std::string> notes;    // what the compiler decided and why
};

// Throws InputError (exit 2) for workloads the hardware cannot express (tile larger than a
// plane, planes beyond the config), SimulationError (exit 1) when the model does not fit.
CompiledWorkload compile(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& options);

}  // namespace lpu::wl
