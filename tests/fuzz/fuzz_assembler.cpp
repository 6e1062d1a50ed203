// libFuzzer target: the assembler (isa::assemble).
// Contract under test (isa/assembler.hpp, isa/binary.hpp): bad assembly is reported by
// throwing lpu::InputError and nothing else; a Program the assembler accepts is valid, so
// it encodes without error, and its binary decodes back to the same Program; its canonical
// disassembly assembles back to the same Program too. Any other exception, a crash, a
// sanitizer report, a hang or a failed round trip is a finding. Build and run: tools/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/input_error.hpp"
#include "isa/assembler.hpp"
#include "isa/binary.hpp"
#include "isa/disassembler.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_assembler: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lpu::isa;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Program program;
    try {
        program = assemble(text, "fuzz.lpuasm");
    } catch (const lpu::InputError&) {
        return 0;  // rejected with a message: the expected outcome for most inputs
    }
    // Outside the try: an accepted program throwing anything here is a finding.
    const auto bytes = encode_binary(program);
    const Program decoded = decode_binary(bytes, "fuzz.bin");
    if (!(decoded == program)) finding("decode(encode(assemble(x))) differs from assemble(x)");
    const Program reassembled = assemble(disassemble(program), "fuzz-disassembly.lpuasm");
    if (!(reassembled == program)) finding("assemble(disassemble(p)) differs from p");
    return 0;
}
