#include "common/yaml_fields.hpp"

#include "common/atomic_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

namespace lpu {
namespace {

constexpr size_t kMaxYamlBytes = 16u << 20;  // configs and workloads are small; refuse huge files
constexpr int kMaxNesting = 64;              // yaml-cpp recurses per level; refuse deep nesting early

// Position (1-based line, column) of the first byte that is not valid UTF-8, if any.
bool find_invalid_utf8(const std::string& s, int& line, int& column) {
    line = 1;
    column = 1;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
        if (extra < 0 || i + extra >= s.size() + (extra == 0 ? 1 : 0)) return true;
        for (int k = 1; k <= extra; ++k)
            if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) >> 6) != 2) return true;
        if (c == '\n') {
            ++line;
            column = 0;
        }
        if (c == 0) return true;
        i += extra + 1;
        ++column;
    }
    return false;
}

// Flow-style nesting depth ([ { ) and block indentation depth are both bounded by counting
// brackets and leading spaces; cheap and conservative.
void check_nesting(const std::string& text, const std::string& file) {
    int depth = 0, line = 1, column = 0;
    for (char c : text) {
        ++column;
        if (c == '\n') {
            ++line;
            column = 0;
        } else if (c == '[' || c == '{') {
            if (++depth > kMaxNesting)
                throw InputError({file, line, column}, "nesting", fmt::format("more than {} levels", kMaxNesting),
                                 fmt::format("at most {} levels of [ or {{", kMaxNesting));
        } else if (c == ']' || c == '}') {
            depth = depth > 0 ? depth - 1 : 0;
        }
    }
    std::istringstream in(text);
    std::string l;
    line = 0;
    while (std::getline(in, l)) {
        ++line;
        size_t indent = l.find_first_not_of(" -");
        if (indent != std::string::npos && indent > 2 * kMaxNesting)
            throw InputError({file, line, 1}, "nesting", fmt::format("indentation of {} columns", indent),
                             fmt::format("at most {} columns", 2 * kMaxNesting));
    }
}

// yaml-cpp reads a lone carriage return (classic Mac line endings) as part of a line, so a
// whole file would be one line and every field "missing"; a byte-order mark after the start is
// an invisible character that moves yaml-cpp's line count. Both are refused where they are.
void check_line_endings(const std::string& text, const std::string& file) {
    int line = 1, column = 1;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))
            throw InputError({file, line, column}, "line ending", "a carriage return without a line feed",
                             "lines ending in LF or CRLF (convert classic Mac CR line endings)");
        if (i > 0 && text.compare(i, 3, "\xef\xbb\xbf") == 0)
            throw InputError({file, line, column}, "encoding", "a byte-order mark (U+FEFF) inside the file",
                             "a byte-order mark only as the first bytes of the file, or none");
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
            ++column;
        }
    }
}

// YAML::Load reads the first document and drops the rest silently. A document marker
// ("---" or "...") at the start of a line after content, followed by more content, starts a
// second document (inside a quoted or block scalar a marker at column 0 is not allowed
// either, so this text scan needs no parser).
void check_single_document(const std::string& text, const std::string& file) {
    bool content = false;
    int line = 0, marker_line = 0;
    std::istringstream in(text);
    std::string l;
    const auto is_marker = [](const std::string& s) {
        return (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0) &&
               (s.size() == 3 || s[3] == ' ' || s[3] == '\t' || s[3] == '\r');
    };
    while (std::getline(in, l)) {
        ++line;
        const bool marker = is_marker(l);
        const std::string rest = marker ? l.substr(3) : l;
        const size_t first = rest.find_first_not_of(" \t\r");
        const bool has_content = first != std::string::npos && rest[first] != '#' && !(line == 1 && rest[first] == '%');
        if (marker && content && marker_line == 0) marker_line = line;
        if (has_content && marker_line > 0 && (line > marker_line || l.rfind("---", 0) == 0))
            throw InputError({file, marker_line, 1}, "document", "a second YAML document",
                             "one document per file (no second '---')");
        content = content || has_content;
    }
}

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

// yaml-cpp keeps the first of two equal keys silently; a config must say each thing once.
// An alias (*a) is the same node as its anchor (&a): each collection is checked once, keyed by
// its position in the text, so nested aliases (a "billion laughs" file) cost one walk of the
// text instead of one per reference (10 aliases x 9 levels would be 10^9 walks).
// YAML core-schema tags and yaml-cpp's markers for "no tag" ("?" plain, "!" quoted).
bool known_tag(const std::string& tag) {
    static const std::set<std::string> known = {"",
                                                "?",
                                                "!",
                                                "tag:yaml.org,2002:str",
                                                "tag:yaml.org,2002:int",
                                                "tag:yaml.org,2002:float",
                                                "tag:yaml.org,2002:bool",
                                                "tag:yaml.org,2002:null",
                                                "tag:yaml.org,2002:map",
                                                "tag:yaml.org,2002:seq"};
    return known.count(tag) > 0;
}

void reject_unknown_tag(const YAML::Node& node, const std::string& file, const std::string& path) {
    if (known_tag(node.Tag())) return;
    throw InputError(mark_location(file, node.Mark()), path.empty() ? "tag" : path, quote_value(node.Tag()),
                     "no tag, or a YAML core tag (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq)");
}

void reject_duplicate_keys(const YAML::Node& node, const std::string& file, const std::string& path,
                           std::set<size_t>& walked) {
    reject_unknown_tag(node, file, path);
    if (!node.IsSequence() && !node.IsMap()) return;
    const YAML::Mark mark = node.Mark();
    if (!mark.is_null() && !walked.insert(static_cast<size_t>(mark.pos)).second) return;
    if (node.IsSequence()) {
        for (const auto& item : node) reject_duplicate_keys(item, file, path, walked);
        return;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
        const std::string field = path.empty() ? key : path + "." + key;
        if (!key.empty() && !seen.insert(key).second)
            throw InputError(mark_location(file, it->first.Mark()), field, key,
                             "each key once per section (duplicate key)");
        reject_unknown_tag(it->first, file, field);
        reject_duplicate_keys(it->second, file, field, walked);
    }
}

}  // namespace

SourceLocation mark_location(const std::string& file, const YAML::Mark& m) {
    if (m.is_null()) return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
}

std::shared_ptr<YamlSource> load_yaml_text(const std::string& text, const std::string& file_name) {
    if (text.size() > kMaxYamlBytes)
        throw InputError({file_name, 0, 0}, "file size", fmt::format("{} bytes", text.size()),
                         fmt::format("at most {} bytes", kMaxYamlBytes));
    int line = 0, column = 0;
    if (find_invalid_utf8(text, line, column))
        throw InputError({file_name, line, column}, "encoding", "a byte that is not UTF-8 text",
                         "a UTF-8 text file");
    check_line_endings(text, file_name);
    check_nesting(text, file_name);
    auto src = std::make_shared<YamlSource>();
    src->file = file_name;
    check_single_document(text, file_name);
    try {
        src->root = YAML::Load(text);  // not LoadAll: yaml-cpp 0.7's LoadAll can loop forever on a syntax error
    } catch (const YAML::Exception& e) {
        throw InputError(mark_location(file_name, e.mark), fmt::format("YAML syntax error: {}", quote_value(e.msg)));
    }
    if (!src->root.IsDefined() || src->root.IsNull()) src->root = YAML::Node(YAML::NodeType::Map);
    if (!src->root.IsMap())
        throw InputError(mark_location(file_name, src->root.Mark()), "document", "not a mapping",
                         "a YAML mapping of key: value at the top level");
    std::set<size_t> walked;
    reject_duplicate_keys(src->root, file_name, "", walked);
    return src;
}

std::shared_ptr<YamlSource> load_yaml_file(const std::string& path) {
    // Read at most one byte more than the limit, so /dev/zero or a huge file is refused
    // without being loaded.
    return load_yaml_text(read_file(path, kMaxYamlBytes + 1), path);
}

SourceLocation locate_field(const std::string& file, const std::vector<std::string>& overrides,
                            const std::string& flag, const std::string& dotted) {
    for (auto it = overrides.rbegin(); it != overrides.rend(); ++it)  // the last one wins
        if (it->rfind(dotted + "=", 0) == 0) return {flag + " " + *it, 0, 0};
    try {
        YAML::Node node = load_yaml_file(file)->root;
        for (size_t start = 0;;) {
            const size_t dot = dotted.find('.', start);
            const std::string part = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            if (!node.IsMap() || !node[part]) return {file, 0, 0};
            node = node[part];
            if (dot == std::string::npos) return mark_location(file, node.Mark());
            start = dot + 1;
        }
    } catch (const InputError&) {
        return {file, 0, 0};
    }
}

void apply_override(YamlSource& src, const std::string& assignment, const std::string& flag) {
    const SourceLocation where{flag + " " + assignment, 0, 0};
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError(where, flag, assignment, "dotted.path=value, e.g. mxm.planes=8");
    const std::string path = assignment.substr(0, eq);
    const std::string value_text = assignment.substr(eq + 1);
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
        size_t dot = path.find('.', start);
        parts.push_back(path.substr(start, dot - start));
        if (parts.back().empty()) throw InputError(where, flag, path, "a dotted path without empty parts");
        if (dot == std::string::npos) break;
        start = dot + 1;
    }
    YAML::Node value;
    try {
        value = YAML::Load(value_text);
    } catch (const YAML::Exception& e) {
        throw InputError(where, path, value_text, fmt::format("a YAML value ({})", e.msg));
    }
    // Walk down with fresh handles: yaml-cpp's operator[] on a temporary creates the key.
    std::vector<YAML::Node> chain{src.root};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        YAML::Node next = chain.back()[parts[i]];
        if (next.IsDefined() && !next.IsMap())
            throw InputError(where, path, value_text,
                             fmt::format("'{}' to be a section, but it is a value", parts[i]));
        if (!next.IsDefined()) {
            chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
            next = chain.back()[parts[i]];
        }
        chain.push_back(next);
    }
    chain.back()[parts.back()] = value;
    src.overrides[path] = flag + " " + assignment;
}

FieldReader::FieldReader(std::shared_ptr<const YamlSource> src, YAML::Node node, std::string path)
    : src_(std::move(src)), node_(std::move(node)), path_(std::move(path)),
      read_keys_(std::make_shared<std::set<std::string>>()) {}

FieldReader FieldReader::root(std::shared_ptr<const YamlSource> src) {
    YAML::Node root = src->root;
    return FieldReader(std::move(src), root, "");
}

std::string FieldReader::path_of(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

SourceLocation FieldReader::location_of(const std::string& key) const {
    auto ov = src_->overrides.find(path_of(key));
    if (ov != src_->overrides.end()) return {ov->second, 0, 0};
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        if (it->first.IsScalar() && it->first.Scalar() == key) return mark_location(src_->file, it->second.Mark());
        if (!it->first.IsScalar() && key == "(non-text key)") return mark_location(src_->file, it->first.Mark());
    }
    return mark_location(src_->file, node_.Mark());
}

bool FieldReader::has(const std::string& key) const {
    if (!node_.IsMap()) return false;
    for (auto it = node_.begin(); it != node_.end(); ++it)
        if (it->first.IsScalar() && it->first.Scalar() == key) return true;
    return false;
}

void FieldReader::fail(const std::string& key, const std::string& value, const std::string& expected) const {
    throw InputError(location_of(key), path_of(key), value, expected);
}

YAML::Node FieldReader::require(const std::string& key, const char* kind) {
    if (!has(key)) {
        // A missing field is most often a misspelt one: report the misspelling where it is.
        for (auto it = node_.begin(); it != node_.end(); ++it) {
            const std::string other = it->first.IsScalar() ? it->first.Scalar() : "";
            if (!other.empty() && !read_keys_->count(other) && edit_distance(other, key) <= 2)
                throw InputError(mark_location(src_->file, it->first.Mark()), path_of(other), other,
                                 fmt::format("a known field of section '{}' (unknown key; did you mean '{}'?)",
                                             path_.empty() ? "(top)" : path_, key));
        }
        const char* article = (kind[0] == 'i' || kind[0] == 'a') ? "an" : "a";
        throw InputError(mark_location(src_->file, node_.Mark()), path_of(key), "(missing)",
                         fmt::format("{} {} field '{}' in section '{}'", article, kind, key,
                                     path_.empty() ? "(top)" : path_));
    }
    read_keys_->insert(key);
    return node_[key];
}

std::string FieldReader::scalar_text(const YAML::Node& n) const {
    if (n.IsScalar()) return n.Scalar();
    if (n.IsMap()) return "(a mapping)";
    if (n.IsSequence()) return "(a list)";
    return "(null)";
}

namespace {
// A number or a boolean must be written as one: "12" (quoted) or !!str 12 is text, and a
// value with spaces or a sign stoll would skip is not what the user meant.
bool plain_or_tagged(const YAML::Node& n, const char* core_tag) {
    return n.Tag() == "?" || n.Tag() == std::string("tag:yaml.org,2002:") + core_tag;
}
bool has_outer_space(const std::string& text) {
    return text.empty() || std::isspace(static_cast<unsigned char>(text.front())) ||
           std::isspace(static_cast<unsigned char>(text.back()));
}
}  // namespace

int64_t FieldReader::get_int(const std::string& key, int64_t min, int64_t max) {
    YAML::Node n = require(key, "integer");
    const std::string expected = fmt::format("an integer in [{}, {}]", min, max);
    if (!n.IsScalar()) fail(key, scalar_text(n), expected);
    const std::string& text = n.Scalar();
    if (!plain_or_tagged(n, "int") || has_outer_space(text)) fail(key, text, expected + " (a number, not quoted text)");
    int64_t v = 0;
    try {
        size_t used = 0;
        long long parsed = std::stoll(text, &used, 0);
        if (used != text.size()) {
            // Accept integral floats written as 9e8 or 1.0e3.
            double d = std::stod(text, &used);
            if (used != text.size() || d != std::floor(d) || std::fabs(d) > 9.2e18) fail(key, text, expected);
            parsed = static_cast<long long>(d);
        }
        v = parsed;
    } catch (const std::logic_error&) {
        fail(key, text, expected);
    }
    if (v < min || v > max) fail(key, text, expected);
    return v;
}

int64_t FieldReader::get_int_or(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    return has(key) ? get_int(key, min, max) : fallback;
}

double FieldReader::get_double(const std::string& key, double min, double max) {
    YAML::Node n = require(key, "number");
    const std::string expected = fmt::format("a number in [{}, {}]", min, max);
    if (!n.IsScalar()) fail(key, scalar_text(n), expected);
    const std::string& text = n.Scalar();
    if (!(plain_or_tagged(n, "float") || plain_or_tagged(n, "int")) || has_outer_space(text))
        fail(key, text, expected + " (a number, not quoted text)");
    double v = 0;
    try {
        size_t used = 0;
        v = std::stod(text, &used);
        if (used != text.size()) fail(key, text, expected);
    } catch (const std::logic_error&) {
        fail(key, text, expected);
    }
    if (!std::isfinite(v) || v < min || v > max) fail(key, text, expected);
    return v;
}

double FieldReader::get_double_or(const std::string& key, double fallback, double min, double max) {
    return has(key) ? get_double(key, min, max) : fallback;
}

bool FieldReader::get_bool(const std::string& key) {
    YAML::Node n = require(key, "boolean");
    if (n.IsScalar() && plain_or_tagged(n, "bool")) {
        const std::string& t = n.Scalar();
        if (t == "true" || t == "yes" || t == "on") return true;
        if (t == "false" || t == "no" || t == "off") return false;
    }
    fail(key, scalar_text(n), n.IsScalar() && n.Tag() != "?" ? "true or false (a boolean, not quoted text)" : "true or false");
}

bool FieldReader::get_bool_or(const std::string& key, bool fallback) { return has(key) ? get_bool(key) : fallback; }

std::string FieldReader::get_string(const std::string& key) {
    YAML::Node n = require(key, "text");
    if (!n.IsScalar()) fail(key, scalar_text(n), "a text value");
    for (const char c : n.Scalar())
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            fail(key, n.Scalar(), "text without control characters (no NUL, tab or line break)");
    if (n.Scalar().find("\xe2\x80\xae") != std::string::npos || n.Scalar().find("\xe2\x80\xad") != std::string::npos)
        fail(key, n.Scalar(), "text without direction overrides (U+202D, U+202E)");
    return n.Scalar();
}

std::string FieldReader::get_string_or(const std::string& key, const std::string& fallback) {
    return has(key) ? get_string(key) : fallback;
}

std::string FieldReader::get_enum(const std::string& key, const std::vector<std::string>& allowed) {
    YAML::Node n = require(key, "choice");
    std::string expected = "one of:";
    for (const auto& a : allowed) expected += " " + a;
    if (!n.IsScalar()) fail(key, scalar_text(n), expected);
    for (const auto& a : allowed)
        if (n.Scalar() == a) return a;
    fail(key, n.Scalar(), expected);
}

std::string FieldReader::get_enum_or(const std::string& key, const std::string& fallback,
                                     const std::vector<std::string>& allowed) {
    return has(key) ? get_enum(key, allowed) : fallback;
}

std::vector<std::string> FieldReader::get_string_list(const std::string& key) {
    YAML::Node n = require(key, "list");
    if (!n.IsSequence()) fail(key, scalar_text(n), "a list like [a, b]");
    std::vector<std::string> out;
    for (const auto& item : n) {
        if (!item.IsScalar()) fail(key, scalar_text(item), "a list of plain values");
        out.push_back(item.Scalar());
    }
    return out;
}

bool FieldReader::child_is_map(const std::string& key) const { return has(key) && node_[key].IsMap(); }

FieldReader FieldReader::child(const std::string& key) {
    YAML::Node n = require(key, "section");
    if (!n.IsMap()) fail(key, scalar_text(n), "a section (a mapping of key: value)");
    return FieldReader(src_, n, path_of(key));
}

std::vector<std::string> FieldReader::keys() const {
    std::vector<std::string> out;
    for (auto it = node_.begin(); it != node_.end(); ++it)
        out.push_back(it->first.IsScalar() ? it->first.Scalar() : "(non-text key)");
    return out;
}

void FieldReader::finish() const {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        const std::string key = it->first.IsScalar() ? it->first.Scalar() : "(non-text key)";
        if (read_keys_->count(key)) continue;
        // A key made by --set (possibly a whole new section, as --set nosuch.path=1 makes) is
        // reported at that flag, not at a position in the file it is not in.
        SourceLocation where = mark_location(src_->file, it->first.Mark());
        for (const auto& [path, flag] : src_->overrides)
            if (path == path_of(key) || path.rfind(path_of(key) + ".", 0) == 0) where = {flag, 0, 0};
        throw InputError(where, path_of(key), key,
                         fmt::format("a known field of section '{}' (unknown key)", path_.empty() ? "(top)" : path_));
    }
}

}  // namespace lpu
