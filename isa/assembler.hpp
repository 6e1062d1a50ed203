// The text assembly form of a Program (see docs/isa.md for the syntax), and the rules that
// make a Program valid. The same rules guard every way a Program enters or leaves the
// tools: the assembler (text), the binary decoder and, for Programs built in memory by the
// compiler, validate_program() before disassembling or encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/input_error.hpp"
#include "isa/program.hpp"

namespace lpu::isa {

// Assembles `text`; `file_name` only labels error messages. Throws InputError with the
// file, line, 1-based column and operand key of the first problem found.
Program assemble(std::string_view text, const std::string& file_name);

// Reads and assembles a file; an unreadable file is an InputError too.
Program assemble_file(const std::string& path);

// ---- Validity rules shared by the assembler, the disassembler and the binary codec ----

// Limits on numbers, from the text format: counts and addresses are 40-bit unsigned,
// immediates 40-bit signed, chips 32-bit, queue indices 16-bit.
inline constexpr int64_t kMaxUnsigned = (int64_t{1} << 40) - 1;
inline constexpr int64_t kMinImm = -(int64_t{1} << 39);
inline constexpr int64_t kMaxImm = (int64_t{1} << 39) - 1;
inline constexpr int64_t kMaxChip = (int64_t{1} << 32) - 1;
inline constexpr int64_t kMaxQueueIndex = (int64_t{1} << 16) - 1;
inline constexpr size_t kMaxLabelLength = 65535;  // the binary stores the length in a u16

// For a stored operand value (as in Instruction::operands) of `kind`: nullopt if valid,
// else what was expected, phrased for the user. Label values are checked against their
// queue by label_target_problem() instead.
std::optional<std::string> operand_value_problem(OperandKind kind, int64_t value);

// For a Label operand of instruction `own_index` in `queue` whose target is `target`:
// nullopt if the target exists, carries a label and (for icu.repeat) lies at or before
// the instruction; else what was expected. `instruction_count` is the queue's final size.
std::optional<std::string> label_target_problem(const Queue& queue, size_t instruction_count, Opcode opcode,
                                                size_t own_index, int64_t target);

// True for `[A-Za-z_][A-Za-z0-9_.]*`, at most kMaxLabelLength characters.
bool is_label_name(std::string_view name);

// Throws InputError (file `source_name`, field naming the queue and instruction) unless
// `program` obeys every rule the assembler enforces: unique non-icu queues with indices
// below 2^16, unique well-formed labels at most one past the last instruction, opcodes
// valid for the queue's unit, operand values in range, unused operand slots zero, label
// operands naming labelled instructions, icu.repeat targets backwards.
void validate_program(const Program& program, const std::string& source_name = "<program>");

}  // namespace lpu::isa
