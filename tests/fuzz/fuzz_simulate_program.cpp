// libFuzzer target past parsing: an assembly program is assembled and then simulated on the
// tsp-v1 config, in timing mode or (for inputs whose first byte is odd) functional mode,
// under a small dynamic-instruction bound. Contract: bad input ends in lpu::InputError, a
// program that cannot run (over the bound) in lpu::SimulationError; anything else that
// escapes, a crash, a sanitizer report or a hang is a finding. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "isa/assembler.hpp"
#include "sim/asan_systemc.hpp"
#include "sim/simulation.hpp"

#ifndef LPUSIM_SOURCE_DIR
#define LPUSIM_SOURCE_DIR "."
#endif

namespace {
// Few enough that one input simulates in milliseconds; -timeout catches what escapes it.
constexpr uint64_t kFuzzMaxInstructions = 20000;

const lpu::hw::HwConfig& config() {
    static const lpu::hw::HwConfig cfg = lpu::hw::load_hw_config(std::string(LPUSIM_SOURCE_DIR) + "/configs/tsp-v1.yaml");
    return cfg;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const lpu::isa::Program program = lpu::isa::assemble(text, "fuzz-input.lpuasm");
        lpu::sim::SimOptions so;
        so.program_file = "fuzz-input.lpuasm";
        so.functional = size > 0 && (data[0] & 1) != 0;
        so.max_instructions = kFuzzMaxInstructions;
        (void)lpu::sim::simulate(config(), program, so);
    } catch (const lpu::InputError&) {
    } catch (const lpu::SimulationError&) {
    }
    return 0;
}
