// A program: per-chip, per-queue instruction lists, as assembled from text or decoded
// from the binary encoding. Pure data; the assembler, disassembler, binary codec, compiler
// and simulator all exchange this type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "isa/opcodes.hpp"

namespace lpu::isa {

// Largest program file (text or binary) read: ~10x the biggest compiled program's binary,
// so /dev/zero or a stray huge file is refused while reading instead of filling the memory.
inline constexpr size_t kMaxProgramBytes = size_t{256} << 20;

struct Instruction {
    Opcode opcode = Opcode::Nop;
    // Operand values in the order of spec(opcode).operands; unused slots are 0.
    // Stream: encode_stream(); Type: DType value; Label: target instruction index in the
    // queue; Real: the float's 32-bit pattern; Imm: signed value.
    std::array<int64_t, kMaxOperands> operands{};
    uint32_t line = 0;  // source line in the text it was assembled from (0 = unknown)
    friend bool operator==(const Instruction& x, const Instruction& y) {
        return x.opcode == y.opcode && x.operands == y.operands;  // line is not semantic
    }
};

// One in-order ICU queue bound to one unit instance on one chip (`.chip 0` / `.queue mxm 2`).
struct Queue {
    uint32_t chip = 0;
    Unit unit = Unit::Icu;
    uint32_t index = 0;  // slice, plane, ALU, link ... within the unit kind
    std::vector<Instruction> instructions;
    std::map<uint32_t, std::string> labels;  // instruction index -> label name
    uint32_t line = 0;  // source line of its first .queue directive (0 = unknown); not semantic
    friend bool operator==(const Queue& a, const Queue& b) {
        return a.chip == b.chip && a.unit == b.unit && a.index == b.index && a.instructions == b.instructions && a.labels == b.labels;
    }
};

struct Program {
    std::vector<Queue> queues;  // in source order; (chip, unit, index) unique
    friend bool operator==(const Program&, const Program&) = default;
};

}  // namespace lpu::isa
