// Small text and arithmetic helpers shared by the libraries above `common/`.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lpu {

// Escapes & < > " ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

// Counts are int64; a workload large enough to overflow is rejected, never wrapped.
inline int64_t checked_mul(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) throw std::overflow_error("count exceeds 64 bits");
    return r;
}
inline int64_t checked_add(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw std::overflow_error("count exceeds 64 bits");
    return r;
}

}  // namespace lpu
