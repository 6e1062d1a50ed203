#include "common/input_error.hpp"

#include <fmt/format.h>

namespace lpu {

std::string format_location(const SourceLocation& where) {
    if (where.line <= 0) return where.file;
    if (where.column <= 0) return fmt::format("{}:{}", where.file, where.line);
    return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

namespace {
// The value as the user typed it, but with control bytes (a NUL, an escape sequence) shown
// as \xNN so that the message itself stays printable.
std::string printable(const std::string& s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    return out;
}
}  // namespace

InputError::InputError(SourceLocation where, std::string field, std::string value, std::string expected)
    : std::runtime_error(fmt::format("{}: {}: got '{}', expected {}", format_location(where),
                                     field.empty() ? "value" : printable(field), printable(value), expected)),
      where_(std::move(where)),
      field_(std::move(field)) {}

InputError::InputError(SourceLocation where, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", format_location(where), message)), where_(std::move(where)) {}

}  // namespace lpu
