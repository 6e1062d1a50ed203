// libFuzzer target: the hardware config loader (hw::load_hw_config_text) and the derived
// figures every command prints from a loaded config (hw::derive).
// Contract under test (common/input_error.hpp): bad input is reported by throwing
// lpu::InputError and nothing else. Any other exception, a crash, a sanitizer report or a
// hang is a finding. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "hw/derived.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    lpu::hw::HwConfig cfg;
    try {
        cfg = lpu::hw::load_hw_config_text(text, "fuzz.yaml");
    } catch (const lpu::InputError&) {
        return 0;  // rejected with a message: the expected outcome for most inputs
    }
    // An accepted config must also yield its derived figures without any error: they are
    // computed from validated fields only.
    const lpu::hw::DerivedFigures d = lpu::hw::derive(cfg);
    (void)lpu::hw::figure_rows(d);
    return 0;
}
