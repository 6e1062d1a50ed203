// Functional-mode element access. A row of `lanes` elements of a type with b bytes is
// carried as b consecutive 320-byte vectors holding the elements little-endian and
// contiguous (docs/timing.md, "data layout"). fp16 follows IEEE 754 binary16 with
// round-to-nearest-even conversions.
#pragma once

#include <cstdint>
#include <cstring>

#include "isa/opcodes.hpp"

namespace lpu::sim {

// Bytes per element on streams for element types; packed weight types have no element size.
int element_bytes(isa::DType t);
bool is_float(isa::DType t);

float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

double load_element(const uint8_t* row, int index, isa::DType t);
// Stores with conversion: integers round half away from zero and wrap (saturate=false) or
// clamp (saturate=true); floats round to the target precision.
void store_element(uint8_t* row, int index, isa::DType t, double v, bool saturate);

}  // namespace lpu::sim
