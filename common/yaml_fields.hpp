// Reading user YAML with validation: every field is read through a FieldReader that knows
// its dotted path and source position, checks type and range, and reports unknown keys.
// Used by the hardware config loader and the workload loader, so both report errors the
// same way (see common/input_error.hpp).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/input_error.hpp"

namespace lpu {

// A parsed YAML document plus where it came from and which fields --set overrode.
struct YamlSource {
    std::string file;
    YAML::Node root;
    std::map<std::string, std::string> overrides;  // dotted path -> "--set path=value" text
};

// Parse a file (or text) into a YamlSource; syntax errors, unreadable files, non-UTF-8,
// absurd nesting or size give InputError with the position.
std::shared_ptr<YamlSource> load_yaml_file(const std::string& path);
std::shared_ptr<YamlSource> load_yaml_text(const std::string& text, const std::string& file_name);

// Apply `dotted.path=value` to the document (creating the path if absent, so that an
// unknown key is still reported by the reader). The value is parsed as a YAML scalar or
// flow collection. Malformed assignment -> InputError at "--set".
// `flag` names the option in messages: "--set" (hardware) or "--wset" (workload).
void apply_override(YamlSource& src, const std::string& assignment, const std::string& flag = "--set");

// Where the field `dotted` (e.g. "mapping.tile_m") of a YAML file is given: the --set/--wset
// flag that set it, else its position in the file, else the file alone (the field is absent
// and took its default). For errors found after loading, by code that only has the value.
SourceLocation locate_field(const std::string& file, const std::vector<std::string>& overrides,
                            const std::string& flag, const std::string& dotted);

// file:line:column of a YAML node (1-based; 0 when the node has no position).
SourceLocation mark_location(const std::string& file, const YAML::Mark& m);

class FieldReader {
public:
    FieldReader(std::shared_ptr<const YamlSource> src, YAML::Node node, std::string path);
    static FieldReader root(std::shared_ptr<const YamlSource> src);

    bool has(const std::string& key) const;
    int64_t get_int(const std::string& key, int64_t min, int64_t max);
    int64_t get_int_or(const std::string& key, int64_t fallback, int64_t min, int64_t max);
    double get_double(const std::string& key, double min, double max);
    double get_double_or(const std::string& key, double fallback, double min, double max);
    bool get_bool(const std::string& key);
    bool get_bool_or(const std::string& key, bool fallback);
    std::string get_string(const std::string& key);
    std::string get_string_or(const std::string& key, const std::string& fallback);
    std::string get_enum(const std::string& key, const std::vector<std::string>& allowed);
    std::string get_enum_or(const std::string& key, const std::string& fallback,
                            const std::vector<std::string>& allowed);
    std::vector<std::string> get_string_list(const std::string& key);
    FieldReader child(const std::string& key);  // must be a map
    bool child_is_map(const std::string& key) const;
    // Keys of this map in document order (for open-ended maps like per-op latency tables).
    std::vector<std::string> keys() const;

    // Every key of this map must have been read; otherwise InputError naming the first
    // unknown key. Call after reading a section.
    void finish() const;

    // Error about a field of this map that was read fine but is inconsistent with others.
    [[noreturn]] void fail(const std::string& key, const std::string& value, const std::string& expected) const;

    const std::string& path() const { return path_; }
    std::string path_of(const std::string& key) const;
    SourceLocation location_of(const std::string& key) const;
    const YamlSource& source() const { return *src_; }

private:
    YAML::Node require(const std::string& key, const char* kind);
    std::string scalar_text(const YAML::Node& n) const;

    std::shared_ptr<const YamlSource> src_;
    YAML::Node node_;
    std::string path_;
    std::shared_ptr<std::set<std::string>> read_keys_;
};

}  // namespace lpu
