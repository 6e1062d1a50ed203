// The parameter space of a sweep: axes from `--sweep key=values` and `--points FILE`, the
// routing of each key to `lpusim run --set` (hardware) or `--wset` (workload), and the
// enumeration of points in a fixed order (first axis outermost). No SystemC, no processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/input_error.hpp"

namespace lpu::sweep {

inline constexpr uint64_t kMaxPoints = 100000;

// Where a swept value goes on the point's command line: `lpusim run --set` (hardware),
// `--wset` (workload), or a flag of `lpusim serve` (the point is then a served load).
enum class Route { Hardware, Workload, Serve };

struct RoutedKey {
    std::string key;  // as the user wrote it (the column name in results)
    Route route = Route::Hardware;
    std::string target;  // dotted path given to --set (hardware) or --wset (workload); serve: the flag
};

// How the key is passed, for records and pages: "--set mxm.planes", "--wset batch",
// "serve --concurrency".
std::string passed_as(const RoutedKey& k);
// The `lpusim serve` flags a sweep may set (serve.<flag>).
const std::vector<std::string>& serve_flags();

// Hardware top-level sections (hw/config.cpp reads exactly these).
const std::vector<std::string>& hardware_sections();
// Short names for workload fields: alias -> workload dotted path.
const std::vector<std::pair<std::string, std::string>>& workload_aliases();

// Routes one key. `where` names the flag or file the key came from. Throws InputError
// listing the accepted forms for anything else.
RoutedKey route_key(const std::string& key, const SourceLocation& where);

// One axis: one key for --sweep, the header's keys for --points; one tuple per position.
struct Axis {
    std::vector<RoutedKey> keys;
    std::vector<std::vector<std::string>> values;
    std::string origin;  // "--sweep ..." or the points file, for messages and sweep.json
};

// `key=v1,v2,...`, `key=start:stop:step` (inclusive of stop when on the grid), or a mix
// (`batch=1:4:1,8,16`). Values keep their text (passed verbatim to --set); range values
// are printed without trailing zeros. Commas inside [] or {} do not split (YAML lists).
Axis parse_sweep_arg(const std::string& arg);

// Values of one `start:stop:step` element (integers, or plain decimals without exponents).
std::vector<std::string> expand_range(const std::string& text, const SourceLocation& where,
                                      const std::string& key);

// A points file: a header row of keys, then one row of values per point. Quoted fields
// ("a,b", "" for a quote), blank lines and lines starting with # are allowed.
Axis parse_points_csv(const std::string& text, const std::string& file);

struct Assignment {
    RoutedKey key;
    std::string value;
};

// The cartesian product of the axes, first axis outermost (its value changes slowest).
class Space {
public:
    // Validates: at least one axis, no key on two axes (also compared by target), no
    // duplicate tuple within an axis, at most kMaxPoints points in total.
    explicit Space(std::vector<Axis> axes);

    size_t size() const { return size_; }
    const std::vector<Axis>& axes() const { return axes_; }
    // All keys in column order (axis order, then key order within the axis).
    std::vector<RoutedKey> keys() const;
    std::vector<Assignment> point(size_t index) const;

private:
    std::vector<Axis> axes_;
    size_t size_ = 0;
};

// 64-bit FNV-1a (with a final mix) as 16 lower-case hex digits: stable across builds and machines (unlike
// std::hash), used for point ids and file fingerprints.
std::string fnv1a64_hex(std::string_view bytes);

// A point's id: the hash of the base fingerprint and its routed assignments, sorted so
// that reordering axes or renaming a key by its alias keeps the id.
std::string point_id(const std::string& base_fingerprint, const std::vector<Assignment>& point);

}  // namespace lpu::sweep
