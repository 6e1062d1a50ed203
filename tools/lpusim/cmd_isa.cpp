// asm and disasm: text assembly <-> binary encoding.
#include <fmt/format.h>

#include <filesystem>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "isa/assembler.hpp"
#include "isa/binary.hpp"
#include "isa/disassembler.hpp"
#include "tools/lpusim/commands.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

int cmd_asm(const Args& args) {
    po::options_description opts("asm options");
    std::string in, out;
    opts.add_options()("input", po::value(&in)->required(), "text assembly (.lpuasm)")(
        "output,o", po::value(&out)->required(), "binary output file");
    po::positional_options_description pos;
    pos.add("input", 1);
    po::variables_map vm;
    if (!parse_args("asm", args, opts, pos, vm)) return 0;
    std::error_code ec;
    if (std::filesystem::equivalent(in, out, ec))
        throw InputError({"command line", 0, 0}, "-o", out, "an output file other than the input (it would overwrite the source)");
    const isa::Program program = isa::assemble_file(in);
    const auto bytes = isa::encode_binary(program);
    write_file_atomic(out, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    size_t count = 0;
    for (const auto& q : program.queues) count += q.instructions.size();
    fmt::print("{}: {} queues, {} instructions, {} bytes\n", out, program.queues.size(), count, bytes.size());
    return 0;
}

int cmd_disasm(const Args& args) {
    po::options_description opts("disasm options");
    std::string in, out;
    opts.add_options()("input", po::value(&in)->required(), "binary program")(
        "output,o", po::value(&out), "write the text here instead of standard output");
    po::positional_options_description pos;
    pos.add("input", 1);
    po::variables_map vm;
    if (!parse_args("disasm", args, opts, pos, vm)) return 0;
    std::error_code ec;
    if (!out.empty() && std::filesystem::equivalent(in, out, ec))
        throw InputError({"command line", 0, 0}, "-o", out, "an output file other than the input (it would overwrite the binary)");
    const std::string bytes = read_input_file(in, isa::kMaxProgramBytes);
    const isa::Program program = isa::decode_binary(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), in);
    const std::string text = isa::disassemble(program);
    if (out.empty())
        fmt::print("{}", text);
    else
        write_file_atomic(out, text);
    return 0;
}

}  // namespace lpu::cli
