#include "common/input_error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace lpu {

std::string format_location(const SourceLocation& where) {
    if (where.line <= 0) return where.file;
    if (where.column <= 0) return fmt::format("{}:{}", where.file, where.line);
    return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

namespace {
constexpr size_t kMaxQuotedBytes = 200;  // a 10 MB bad value must not become a 10 MB message
constexpr size_t kMaxMessageBytes = 1000;

// Length of the UTF-8 sequence starting at s[i] (1 for a stray byte).
size_t sequence_length(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    return std::min(n, s.size() - i);
}

// The text as the user typed it, but with control bytes (a NUL, an escape sequence) and the
// invisible direction overrides (U+202A-U+202E, U+2066-U+2069, which reorder what a terminal
// shows) written as \xNN or \u{NNNN}, and at most `limit` bytes of it quoted.
std::string printable(std::string_view s, size_t limit) {
    std::string out;
    size_t i = 0;
    for (; i < s.size() && out.size() < limit;) {
        const auto u = static_cast<unsigned char>(s[i]);
        const size_t n = sequence_length(s, i);
        if (u < 0x20 || u == 0x7f) {
            out += fmt::format("\\x{:02x}", u);
        } else if (n == 3 && u == 0xe2) {
            const unsigned cp = ((u & 0x0fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3fu) << 6) |
                                (static_cast<unsigned char>(s[i + 2]) & 0x3fu);
            if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029)
                out += fmt::format("\\u{{{:04x}}}", cp);
            else
                out.append(s.substr(i, n));
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    if (i < s.size()) out += fmt::format("... ({} bytes in all)", s.size());
    return out;
}
}  // namespace

void throw_write_error(const std::string& path, int error) {
    const std::string reason = std::strerror(error);
    switch (error) {
        case EACCES: case EPERM: case EROFS: case ENOTDIR: case EISDIR: case ENOENT: case ENAMETOOLONG:
            throw InputError({"command line", 0, 0}, "output", path, fmt::format("a place that can be written ({})", reason));
        default:
            throw OutputError(fmt::format("error: cannot write {}: {}", quote_value(path), reason));
    }
}

std::string quote_value(std::string_view value) { return printable(value, kMaxQuotedBytes); }

InputError::InputError(SourceLocation where, std::string field, std::string value, std::string expected)
    : std::runtime_error(fmt::format("{}: {}: got '{}', expected {}", format_location(where),
                                     field.empty() ? "value" : quote_value(field), quote_value(value), expected)),
      where_(std::move(where)),
      field_(std::move(field)) {}

InputError::InputError(SourceLocation where, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", printable(format_location(where), kMaxMessageBytes),
                                     printable(message, kMaxMessageBytes))),
      where_(std::move(where)) {}

}  // namespace lpu
