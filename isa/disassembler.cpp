#include "isa/disassembler.hpp"

#include <fmt/format.h>

#include <bit>
#include <iterator>

#include "isa/assembler.hpp"

namespace lpu::isa {
namespace {

// One operand value in its canonical spelling; `queue` resolves label targets to names.
void append_operand(std::string& out, OperandKind kind, int64_t v, const Queue& queue) {
    auto it = std::back_inserter(out);
    switch (kind) {
        case OperandKind::Count:
        case OperandKind::Imm:
        case OperandKind::Chip:
            fmt::format_to(it, "{}", v);
            return;
        case OperandKind::Address:
            fmt::format_to(it, "{:#x}", v);
            return;
        // fmt prints the shortest text that reads back as the same float.
        case OperandKind::Real:
            fmt::format_to(it, "{}", std::bit_cast<float>(static_cast<uint32_t>(v)));
            return;
        case OperandKind::Stream: {
            const StreamRef s = decode_stream(v);
            fmt::format_to(it, "s{}{}", s.id, s.east ? 'e' : 'w');
            if (s.width != 1) fmt::format_to(it, ":{}", s.width);
            return;
        }
        case OperandKind::Type:
            out += dtype_name(static_cast<DType>(v));
            return;
        case OperandKind::Label:
            out += queue.labels.at(static_cast<uint32_t>(v));
            return;
    }
}

void append_instruction(std::string& out, const Instruction& ins, const Queue& queue) {
    const OpcodeSpec& sp = spec(ins.opcode);
    out += "    ";
    out += sp.mnemonic;
    for (int slot = 0; slot < sp.operand_count; ++slot) {
        out += ' ';
        out += sp.operands[slot].name;
        out += '=';
        append_operand(out, sp.operands[slot].kind, ins.operands[slot], queue);
    }
    out += '\n';
}

void append_label(std::string& out, const Queue& queue, uint32_t index) {
    const auto it = queue.labels.find(index);
    if (it != queue.labels.end()) fmt::format_to(std::back_inserter(out), "{}:\n", it->second);
}

}  // namespace

std::string disassemble(const Program& program) {
    validate_program(program);
    std::string out;
    bool first = true;
    uint32_t chip = 0;
    for (const Queue& queue : program.queues) {
        if (!first) out += '\n';  // a blank line between queues, for the reader
        if (first || queue.chip != chip) fmt::format_to(std::back_inserter(out), ".chip {}\n", queue.chip);
        first = false;
        chip = queue.chip;
        fmt::format_to(std::back_inserter(out), ".queue {} {}\n", unit_name(queue.unit), queue.index);
        for (size_t i = 0; i < queue.instructions.size(); ++i) {
            append_label(out, queue, static_cast<uint32_t>(i));
            append_instruction(out, queue.instructions[i], queue);
        }
        // A label may sit past the last instruction (e.g. at the end of a queue).
        append_label(out, queue, static_cast<uint32_t>(queue.instructions.size()));
    }
    return out;
}

}  // namespace lpu::isa
