#include "common/input_error.hpp"

#include <fmt/format.h>

namespace lpu {

std::string format_location(const SourceLocation& where) {
    if (where.line <= 0) return where.file;
    if (where.column <= 0) return fmt::format("{}:{}", where.file, where.line);
    return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

InputError::InputError(SourceLocation where, std::string field, std::string value, std::string expected)
    : std::runtime_error(fmt::format("{}: {}: got '{}', expected {}", format_location(where),
                                     field.empty() ? "value" : field, value, expected)),
      where_(std::move(where)),
      field_(std::move(field)) {}

InputError::InputError(SourceLocation where, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", format_location(where), message)), where_(std::move(where)) {}

}  // namespace lpu
