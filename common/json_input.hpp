// Reading JSON that a user may have edited (a run's summary.json, a sweep's done.json): the
// size and the nesting depth are bounded before anything recursive (copy, compare, dump)
// touches the value, and every failure is an InputError naming the file.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lpu {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text` (from `file`, for messages); InputError if it is not JSON or nests deeper
// than kMaxJsonDepth.
nlohmann::ordered_json parse_json_text(const std::string& text, const std::string& file);
// Reads and parses a file of at most 64 MiB.
nlohmann::ordered_json read_json_file(const std::string& path);

}  // namespace lpu
