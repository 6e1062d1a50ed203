#include "tools/sweep/space.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace lpu::sweep {

namespace {

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

bool valid_path(const std::string& key) {
    if (key.empty() || key.front() == '.' || key.back() == '.') return false;
    for (size_t i = 0; i < key.size(); ++i) {
        const char c = key[i];
        if (c == '.' && key[i + 1] == '.') return false;
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
    }
    return true;
}

std::string accepted_forms() {
    std::string hw, aliases;
    for (const auto& s : hardware_sections()) hw += (hw.empty() ? "" : ", ") + s;
    for (const auto& [a, target] : workload_aliases())
        aliases += fmt::format("{}{} ({})", aliases.empty() ? "" : ", ", a, target);
    return fmt::format(
        "a hardware field <section>.<field> with section one of {} (passed as --set); "
        "workload.<field> (passed as --wset <field>); a workload alias: {}; or serve.<flag>, a flag of "
        "lpusim serve ({})",
        hw, aliases, fmt::format("{}", fmt::join(serve_flags(), ", ")));
}

// Splits at commas that are not inside [] or {} (so YAML flow lists survive).
std::vector<std::string> split_top_level(const std::string& text) {
    std::vector<std::string> parts;
    int depth = 0;
    std::string cur;
    for (const char c : text) {
        if (c == '[' || c == '{') ++depth;
        if ((c == ']' || c == '}') && depth > 0) --depth;
        if (c == ',' && depth == 0) {
            parts.push_back(trim(cur));
            cur.clear();
        } else {
            cur += c;
        }
    }
    parts.push_back(trim(cur));
    return parts;
}

bool is_range_element(const std::string& element) {
    if (element.empty() || element.front() == '[' || element.front() == '{' || element.front() == '"' ||
        element.front() == '\'')
        return false;
    return element.find(':') != std::string::npos;
}

// A plain decimal: optional sign, digits, optional fraction. Returns digits after the point.
bool parse_decimal(const std::string& s, bool& negative, std::string& int_digits, std::string& frac_digits) {
    size_t i = 0;
    negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    int_digits.clear();
    frac_digits.clear();
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) int_digits += s[i++];
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) frac_digits += s[i++];
    }
    return i == s.size() && !(int_digits.empty() && frac_digits.empty());
}

// Scaled integer value of a decimal at `scale` fractional digits; false on overflow.
bool scaled_value(bool negative, const std::string& int_digits, std::string frac_digits, int scale,
                  int64_t& out) {
    frac_digits.resize(static_cast<size_t>(scale), '0');
    const std::string digits = int_digits + frac_digits;
    if (digits.size() > 18) return false;  // below 1e18: start + count * step cannot overflow
    int64_t v = 0;
    for (const char c : digits) v = v * 10 + (c - '0');
    out = negative ? -v : v;
    return true;
}

std::string format_scaled(int64_t v, int scale) {
    if (scale == 0) return std::to_string(v);
    const bool negative = v < 0;
    const uint64_t mag = negative ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
    uint64_t pow10 = 1;
    for (int i = 0; i < scale; ++i) pow10 *= 10;
    std::string frac = fmt::format("{:0{}}", mag % pow10, scale);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    std::string s = (negative ? "-" : "") + std::to_string(mag / pow10);
    if (!frac.empty()) s += "." + frac;
    return s == "-0" ? "0" : s;
}

// One CSV record starting at `pos`; advances `pos` past the record's line end.
std::vector<std::string> csv_record(const std::string& text, size_t& pos, int line, const std::string& file) {
    std::vector<std::string> fields;
    std::string cur;
    bool quoted_field = false;
    while (true) {
        if (pos < text.size() && text[pos] == '"' && trim(cur).empty()) {
            quoted_field = true;
            cur.clear();
            ++pos;
            while (true) {
                if (pos >= text.size())
                    throw InputError({file, line, 0}, "a quoted field is not closed (missing '\"')");
                if (text[pos] == '"') {
                    if (pos + 1 < text.size() && text[pos + 1] == '"') {
                        cur += '"';
                        pos += 2;
                        continue;
                    }
                    ++pos;
                    break;
                }
                cur += text[pos++];
            }
            while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
            if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
                throw InputError({file, line, 0},
                                 "text after a closing quote; expected ',' or the end of the line");
        }
        if (pos >= text.size() || text[pos] == '\n' || text[pos] == '\r') {
            fields.push_back(quoted_field ? cur : trim(cur));
            if (pos < text.size() && text[pos] == '\r') ++pos;
            if (pos < text.size() && text[pos] == '\n') ++pos;
            return fields;
        }
        if (text[pos] == ',') {
            fields.push_back(quoted_field ? cur : trim(cur));
            cur.clear();
            quoted_field = false;
            ++pos;
            continue;
        }
        cur += text[pos++];
    }
}

}  // namespace

const std::vector<std::string>& hardware_sections() {
    static const std::vector<std::string> s = {
        "name", "clock", "lanes", "streams",          "mem",    "mxm",   "vxm",
        "sxm",  "icu",   "c2c",   "memory_interface", "system", "energy"};
    return s;
}

const std::vector<std::pair<std::string, std::string>>& workload_aliases() {
    static const std::vector<std::pair<std::string, std::string>> a = {
        {"tile_m", "mapping.tile_m"},
        {"tile_n", "mapping.tile_n"},
        {"tile_k", "mapping.tile_k"},
        {"planes", "mapping.planes"},
        {"weight_double_buffering", "mapping.weight_double_buffering"},
        {"batch", "batch"},
        {"format", "weights.format"},
        {"tensor", "parallelism.tensor"},
        {"pipeline", "parallelism.pipeline"},
        {"seq_len", "seq_len"},
        {"context_len", "context_len"},
    };
    return a;
}

RoutedKey route_key(const std::string& key, const SourceLocation& where) {
    if (!valid_path(key))
        throw InputError(where, "sweep key", key,
                         "a dotted path of letters, digits, '_' and '-' (" + accepted_forms() + ")");
    const std::string first = key.substr(0, key.find('.'));
    const auto& hw = hardware_sections();
    if (std::find(hw.begin(), hw.end(), first) != hw.end()) return {key, Route::Hardware, key};
    if (first == "workload") {
        if (key.size() <= 9)
            throw InputError(where, "sweep key", key, "workload.<field> names a field, " + accepted_forms());
        return {key, Route::Workload, key.substr(9)};
    }
    for (const auto& [alias, target] : workload_aliases())
        if (key == alias) return {key, Route::Workload, target};
    if (first == "serve") {
        const std::string flag = key.size() > 6 ? key.substr(6) : "";
        const auto& flags = serve_flags();
        if (std::find(flags.begin(), flags.end(), flag) != flags.end()) return {key, Route::Serve, flag};
    }
    throw InputError(where, "sweep key", key, accepted_forms());
}

const std::vector<std::string>& serve_flags() {
    static const std::vector<std::string> flags = {"concurrency", "rate",   "requests",  "prompt-tokens", "output-tokens",
                                                   "seed",        "policy", "max-batch", "chunk-tokens"};
    return flags;
}

std::string passed_as(const RoutedKey& k) {
    switch (k.route) {
        case Route::Hardware: return "--set " + k.target;
        case Route::Workload: return "--wset " + k.target;
        case Route::Serve: return "serve --" + k.target;
    }
    return "";
}

std::vector<std::string> expand_range(const std::string& text, const SourceLocation& where,
                                      const std::string& key) {
    const std::string expected =
        "start:stop:step with numbers (integers or plain decimals), step > 0 and stop >= start, e.g. 1:8:1 "
        "or 0.5:2:0.25";
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        const size_t colon = text.find(':', start);
        parts.push_back(
            trim(text.substr(start, colon == std::string::npos ? std::string::npos : colon - start)));
        if (colon == std::string::npos) break;
        start = colon + 1;
    }
    if (parts.size() != 3) throw InputError(where, key, text, expected);
    bool neg[3];
    std::string ints[3], fracs[3];
    int scale = 0;
    for (int i = 0; i < 3; ++i) {
        if (!parse_decimal(parts[static_cast<size_t>(i)], neg[i], ints[i], fracs[i]))
            throw InputError(
                where, key, text,
                fmt::format("{} ('{}' is not a number)", expected, parts[static_cast<size_t>(i)]));
        scale = std::max(scale, static_cast<int>(fracs[i].size()));
    }
    if (scale > 9) throw InputError(where, key, text, "a range with at most 9 decimal places");
    int64_t v[3];
    for (int i = 0; i < 3; ++i)
        if (!scaled_value(neg[i], ints[i], fracs[i], scale, v[i]))
            throw InputError(where, key, text, "range bounds of magnitude below 1e18");
    const int64_t start = v[0], stop = v[1], step = v[2];
    if (step <= 0) throw InputError(where, key, text, fmt::format("{} (step must be > 0)", expected));
    if (stop < start) throw InputError(where, key, text, fmt::format("{} (stop is below start)", expected));
    const uint64_t count = static_cast<uint64_t>((stop - start) / step) + 1;
    if (count > kMaxPoints)
        throw InputError(where, key, text,
                         fmt::format("a range of at most {} values (this one has {})", kMaxPoints, count));
    std::vector<std::string> values;
    values.reserve(count);
    for (uint64_t i = 0; i < count; ++i)
        values.push_back(format_scaled(start + static_cast<int64_t>(i) * step, scale));
    return values;
}

Axis parse_sweep_arg(const std::string& arg) {
    const SourceLocation where{"--sweep " + arg, 0, 0};
    const auto eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError(where, "--sweep", arg,
                         "key=v1,v2,... or key=start:stop:step, e.g. mxm.iw_cycles=1:4:1");
    const std::string key = trim(arg.substr(0, eq));
    Axis axis;
    axis.origin = "--sweep " + arg;
    axis.keys.push_back(route_key(key, where));
    std::set<std::string> seen;
    for (const std::string& element : split_top_level(arg.substr(eq + 1))) {
        if (element.empty())
            throw InputError(where, key, arg.substr(eq + 1),
                             "a comma-separated list of non-empty values or start:stop:step");
        std::vector<std::string> values =
            is_range_element(element) ? expand_range(element, where, key) : std::vector<std::string>{element};
        for (auto& v : values) {
            if (!seen.insert(v).second)
                throw InputError(where, key, v, "each value once (it appears twice on this axis)");
            axis.values.push_back({std::move(v)});
            if (axis.values.size() > kMaxPoints)
                throw InputError(where, key, arg.substr(eq + 1),
                                 fmt::format("at most {} values", kMaxPoints));
        }
    }
    return axis;
}

Axis parse_points_csv(const std::string& text, const std::string& file) {
    Axis axis;
    axis.origin = file;
    size_t pos = 0;
    size_t counted_to = 0;
    int line_at_counted = 1;
    auto line_of = [&](size_t p) {  // 1-based line of text[p], counted incrementally
        line_at_counted += static_cast<int>(std::count(text.begin() + static_cast<long>(counted_to),
                                                       text.begin() + static_cast<long>(p), '\n'));
        counted_to = p;
        return line_at_counted;
    };
    std::set<std::vector<std::string>> seen;
    bool have_header = false;
    while (pos < text.size()) {
        const size_t eol = text.find('\n', pos);
        const std::string raw =
            trim(text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos));
        if (raw.empty() || raw.front() == '#') {
            pos = eol == std::string::npos ? text.size() : eol + 1;
            continue;
        }
        const int record_line = line_of(pos);
        std::vector<std::string> fields = csv_record(text, pos, record_line, file);
        if (!have_header) {
            have_header = true;
            std::set<std::string> keys;
            for (size_t i = 0; i < fields.size(); ++i) {
                const SourceLocation where{file, record_line, 0};
                if (fields[i].empty())
                    throw InputError(where, fmt::format("header column {} is empty; expected a key", i + 1));
                if (!keys.insert(fields[i]).second)
                    throw InputError(where, "header", fields[i], "each key once");
                axis.keys.push_back(route_key(fields[i], where));
            }
            continue;
        }
        if (fields.size() != axis.keys.size())
            throw InputError({file, record_line, 0},
                             fmt::format("{} values in this row; expected {} (one per header key)",
                                         fields.size(), axis.keys.size()));
        for (size_t i = 0; i < fields.size(); ++i)
            if (fields[i].empty())
                throw InputError({file, record_line, 0}, axis.keys[i].key, "",
                                 "a value (empty cells are not allowed)");
        if (!seen.insert(fields).second)
            throw InputError({file, record_line, 0}, "this point is listed twice; expected each point once");
        axis.values.push_back(std::move(fields));
        if (axis.values.size() > kMaxPoints)
            throw InputError({file, record_line, 0}, fmt::format("more than {} points", kMaxPoints));
    }
    if (!have_header)
        throw InputError({file, 0, 0},
                         "empty points file; expected a header row of keys, then one row per point");
    if (axis.values.empty()) throw InputError({file, 0, 0}, "no points after the header row");
    return axis;
}

Space::Space(std::vector<Axis> axes) : axes_(std::move(axes)) {
    if (axes_.empty())
        throw InputError({"command line", 0, 0},
                         "nothing to sweep: give --sweep key=values (repeatable) or --points FILE");
    std::set<std::string> keys, targets;
    uint64_t total = 1;
    for (const Axis& a : axes_) {
        for (const RoutedKey& k : a.keys) {
            const std::string target = passed_as(k);
            if (!keys.insert(k.key).second || !targets.insert(target).second)
                throw InputError({a.origin, 0, 0}, "sweep key", k.key,
                                 "each key on one axis only (it is swept twice)");
        }
        total *= a.values.size();
        if (total > kMaxPoints)
            throw InputError({"command line", 0, 0},
                             fmt::format("the sweep has more than {} points; expected at most {} (split it)",
                                         kMaxPoints, kMaxPoints));
    }
    size_ = static_cast<size_t>(total);
}

std::vector<RoutedKey> Space::keys() const {
    std::vector<RoutedKey> k;
    for (const Axis& a : axes_) k.insert(k.end(), a.keys.begin(), a.keys.end());
    return k;
}

std::vector<Assignment> Space::point(size_t index) const {
    // Mixed-radix decomposition, the last axis varying fastest.
    std::vector<size_t> pos(axes_.size());
    for (size_t i = axes_.size(); i-- > 0;) {
        pos[i] = index % axes_[i].values.size();
        index /= axes_[i].values.size();
    }
    std::vector<Assignment> p;
    for (size_t i = 0; i < axes_.size(); ++i)
        for (size_t k = 0; k < axes_[i].keys.size(); ++k)
            p.push_back({axes_[i].keys[k], axes_[i].values[pos[i]][k]});
    return p;
}

std::string fnv1a64_hex(std::string_view bytes) {
    uint64_t h = 1469598103934665603ULL;
    for (const char c : bytes) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    // FNV-1a alone changes few bits when only the last bytes differ; a 64-bit finaliser
    // (MurmurHash3's fmix64) spreads them so ids of neighbouring points look unrelated.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return fmt::format("{:016x}", h);
}

std::string point_id(const std::string& base_fingerprint, const std::vector<Assignment>& point) {
    std::vector<std::string> lines;
    for (const Assignment& a : point)
        lines.push_back(a.key.route == Route::Serve ? fmt::format("serve --{}={}", a.key.target, a.value)
                                                     : fmt::format("{} {}={}", a.key.route == Route::Hardware ? "--set" : "--wset",
                                                                   a.key.target, a.value));
    std::sort(lines.begin(), lines.end());
    std::string text = base_fingerprint;
    for (const auto& l : lines) text += "\n" + l;
    return fnv1a64_hex(text);
}

}  // namespace lpu::sweep
