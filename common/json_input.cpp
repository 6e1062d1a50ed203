#include "common/json_input.hpp"

#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"

namespace lpu {
namespace {
constexpr size_t kMaxJsonBytes = size_t{64} << 20;
}

nlohmann::ordered_json parse_json_text(const std::string& text, const std::string& file) {
    if (text.size() > kMaxJsonBytes)
        throw InputError({file, 0, 0}, "file size", fmt::format("{} bytes", text.size()),
                         fmt::format("at most {} bytes", kMaxJsonBytes));
    // The parser itself is iterative, but copying or destroying a 100,000-deep value recurses
    // once per level: refuse while parsing, before such a value exists.
    const auto bounded = [&](int depth, nlohmann::ordered_json::parse_event_t, nlohmann::ordered_json&) {
        if (depth > kMaxJsonDepth)
            throw InputError({file, 0, 0}, "nesting", fmt::format("more than {} levels", kMaxJsonDepth),
                             fmt::format("at most {} levels of [ or {{", kMaxJsonDepth));
        return true;
    };
    try {
        return nlohmann::ordered_json::parse(text, bounded);
    } catch (const nlohmann::json::exception& e) {
        throw InputError({file, 0, 0}, fmt::format("not valid JSON: {}", e.what()));
    }
}

nlohmann::ordered_json read_json_file(const std::string& path) {
    return parse_json_text(read_file(path, kMaxJsonBytes + 1), path);
}

}  // namespace lpu
