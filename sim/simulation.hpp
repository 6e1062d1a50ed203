// The public face of the simulator: one call runs a program on a hardware config and
// returns cycles, statistics and per-instruction records. It hides SystemC: each call gets
// a fresh SystemC kernel (SystemC 2.3 allows one elaboration per kernel).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "isa/program.hpp"
#include "sim/stats.hpp"
#include "sim/trace.hpp"

namespace lpu::sim {

struct ExecRecord;

// Dynamic instructions (every executed instruction, each pass of an icu.repeat body
// counted) a run may take before it is stopped: far above the bundled workloads (the largest,
// LLaMA-2-70B decode with --full-system, runs ~26 M), far below what fills the memory
// (~90 bytes of records per instruction).
inline constexpr uint64_t kDefaultMaxInstructions = 100'000'000;

// Dynamic instructions `q` runs to completion (icu.repeat bodies counted once per pass,
// nested loops multiplied), saturating at UINT64_MAX.
uint64_t dynamic_instructions(const isa::Queue& q);

struct SimOptions {
    bool functional = false;
    uint64_t max_instructions = kDefaultMaxInstructions;  // over all queues; SimulationError beyond
    std::string program_file = "program";
    std::string trace_path;  // empty: no trace
    TraceLimits trace_limits;
    // SystemC VCD of each queue's program counter (one signal per queue; for small runs).
    std::string vcd_path;
    bool mirror_unsimulated_peers = false;
    // Breakdown categories and layers per instruction: category names, then per queue (in
    // Program order) and instruction a (category index, layer). Instructions without a tag get
    // a category from their opcode.
    struct Tag {
        uint16_t category = 0;
        int16_t layer = -1;
    };
    std::vector<std::string> category_names;
    std::vector<std::vector<Tag>> tags;
    // Functional mode: initial SRAM contents (bytes at a vector address of a slice).
    struct SramInit {
        int chip = 0;
        int slice = 0;
        uint64_t addr = 0;
        std::vector<uint8_t> bytes;
    };
    std::vector<SramInit> sram_init;
    // Called with the number of instructions executed so far, every 16384 of them (for a
    // progress line; dynamic_instructions() gives the total).
    std::function<void(uint64_t)> progress;
};

// Instructions a run of `program` executes (loop bodies counted each time, Repeat itself
// not): what ExecRecords the run will produce.
uint64_t dynamic_instructions(const isa::Program& program);

struct SimResult {
    uint64_t cycles = 0;
    double seconds = 0;
    std::map<int, uint64_t> chip_cycles;
    std::shared_ptr<StatsRegistry> stats;
    std::vector<std::string> categories;
    std::shared_ptr<std::vector<ExecRecord>> records;
    uint64_t instructions = 0;
    double wall_seconds = 0;
    // The trace sink of options.trace_path (null without one): the caller may add counter
    // tracks, then finish() writes the file (simulate() leaves that to the caller so that a
    // trace can carry figures computed from the result).
    std::shared_ptr<TraceSink> trace;
    // Functional mode: final SRAM contents per chip and slice (empty if never written).
    std::map<int, std::vector<std::vector<uint8_t>>> sram;

    // Read `n` vectors from a slice after a functional run (zeros if never written).
    std::vector<uint8_t> read_sram(int chip, int slice, uint64_t addr, uint64_t n, int vector_bytes) const;
};

// The default breakdown category of an opcode (weight_install, matmul, unpack, ...).
std::string default_category(isa::Opcode op);

// Validates queue placement against the config (InputError, exit 2), then runs.
SimResult simulate(const hw::HwConfig& cfg, const isa::Program& program, const SimOptions& options);

}  // namespace lpu::sim
