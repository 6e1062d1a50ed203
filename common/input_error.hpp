// Errors in what the user gave us (config, workload, assembly, flags): exit code 2.
// One message names where (file:line:column), what (the dotted field path), the value
// found and what was expected, so the user can fix it without reading our code.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace lpu {

struct SourceLocation {
    std::string file;  // path as given, or "--set", "command line"
    int line = 0;      // 1-based; 0 = unknown
    int column = 0;    // 1-based; 0 = unknown
};

class InputError : public std::runtime_error {
public:
    InputError(SourceLocation where, std::string field, std::string value, std::string expected);
    // A message that does not fit the field/value/expected shape (e.g. an unreadable file).
    InputError(SourceLocation where, const std::string& message);

    const SourceLocation& where() const { return where_; }
    const std::string& field() const { return field_; }

private:
    SourceLocation where_;
    std::string field_;
};

// A valid input that cannot be simulated (e.g. the model does not fit): exit code 1.
class SimulationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// An output that could not be written for a reason outside the input (a full disk, an I/O
// error): exit code 1, with the path and the system's reason.
class OutputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Error for a failed write of `path` (errno in `error`): a place the user named that cannot be
// written (permission, read-only, not a directory) is bad input; anything else an OutputError.
[[noreturn]] void throw_write_error(const std::string& path, int error);

inline constexpr int kExitOk = 0;
inline constexpr int kExitSimulationError = 1;
inline constexpr int kExitBadInput = 2;

std::string format_location(const SourceLocation& where);

// `value` fit to quote in a one-line message: control bytes and direction overrides escaped,
// at most ~200 bytes kept (the rest counted, not shown).
std::string quote_value(std::string_view value);

}  // namespace lpu
