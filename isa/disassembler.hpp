// Program -> canonical assembly text (the form docs/isa.md calls canonical): the text a
// diff of two programs should be taken on. assemble(disassemble(p)) == p for every valid
// Program p, and disassemble(assemble(t)) is a fixed point of assemble-then-disassemble.
#pragma once

#include <string>

#include "isa/program.hpp"

namespace lpu::isa {

// Throws InputError (via validate_program) if `program` is not valid, since an invalid
// Program has no text that would assemble back to it.
std::string disassemble(const Program& program);

}  // namespace lpu::isa
