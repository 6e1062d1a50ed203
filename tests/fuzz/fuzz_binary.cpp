// libFuzzer target: the binary program decoder (isa::decode_binary).
// Contract under test (isa/binary.hpp): bad bytes are reported by throwing lpu::InputError
// and nothing else, and the encoding is canonical: any byte string decode_binary accepts
// re-encodes to itself. Any other exception, a crash, a sanitizer report, a hang or
// encode(decode(x)) != x is a finding. Build and run: tools/fuzz.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "common/input_error.hpp"
#include "isa/binary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lpu::isa;
    const std::span<const uint8_t> bytes(data, size);
    Program program;
    try {
        program = decode_binary(bytes, "fuzz.bin");
    } catch (const lpu::InputError&) {
        return 0;  // rejected with a message: the expected outcome for most inputs
    }
    // Outside the try: an accepted program throwing anything here is a finding.
    const auto again = encode_binary(program);
    if (again.size() != size || !std::equal(again.begin(), again.end(), bytes.begin())) {
        std::fprintf(stderr, "fuzz_binary: encode(decode(x)) != x (%zu bytes in, %zu bytes out)\n", size,
                     again.size());
        std::abort();
    }
    return 0;
}
