// The binary encoding of a Program ("LPUB", version 1; byte layout in docs/isa.md).
// The encoding is canonical: any byte string decode_binary accepts re-encodes to itself,
// so binary files can be compared byte for byte.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/program.hpp"

namespace lpu::isa {

inline constexpr uint16_t kBinaryVersion = 1;

// Throws InputError (via validate_program) if `program` is not valid. Source lines are not
// encoded.
std::vector<uint8_t> encode_binary(const Program& program);

// Checks everything (magic, version, ranges, labels, lengths, trailing bytes) and throws
// InputError naming `file_name` and the byte offset of the problem ("byte 17: ...") on any
// violation; never reads past the end nor trusts a count the remaining bytes cannot hold.
// Decoded instructions have line 0.
Program decode_binary(std::span<const uint8_t> bytes, const std::string& file_name);

}  // namespace lpu::isa
