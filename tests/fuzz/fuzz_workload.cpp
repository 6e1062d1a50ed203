// libFuzzer target: the workload loader (wl::load_workload_text) and the sizes every run
// computes from a loaded workload (weight bytes, KV-cache bytes, tokens per step).
// Contract under test (common/input_error.hpp): bad input is reported by throwing
// lpu::InputError and nothing else. Any other exception, a crash, a sanitizer report or a
// hang is a finding. Build and run: tools/fuzz.sh.
//
// Bundled model names resolve against the models directory: $LPUSIM_FUZZ_MODELS_DIR if set,
// else the source tree's workloads/models (compile definition LPUSIM_MODELS_DIR).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/input_error.hpp"
#include "workloads/compiler/workload.hpp"

#ifndef LPUSIM_MODELS_DIR
#define LPUSIM_MODELS_DIR "workloads/models"
#endif

namespace {

const std::string& models_dir() {
    static const std::string dir = [] {
        const char* env = std::getenv("LPUSIM_FUZZ_MODELS_DIR");
        return std::string(env && *env ? env : LPUSIM_MODELS_DIR);
    }();
    return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lpu::wl;
    const std::string text(reinterpret_cast<const char*>(data), size);
    Workload w;
    try {
        // The file name has a folder that does not exist, so a relative `model:` path can
        // only resolve against the models directory.
        w = load_workload_text(text, "fuzz-input/workload.yaml", {}, models_dir());
    } catch (const lpu::InputError&) {
        return 0;  // rejected with a message: the expected outcome for most inputs
    }
    // An accepted workload must give its sizes without any error (and, under UBSan, without
    // a signed overflow): the compiler and the reports compute them from it at once.
    (void)tokens_per_step(w);
    if (w.kind == WorkloadKind::Llama) {
        (void)weight_bytes(w).total();
        (void)kv_cache_bytes(w);
    }
    return 0;
}
