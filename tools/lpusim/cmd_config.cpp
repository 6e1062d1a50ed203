// describe and check-config: load a hardware config and print its derived figures.
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "hw/config.hpp"
#include "hw/derived.hpp"
#include "tools/lpusim/commands.hpp"

namespace po = boost::program_options;

namespace lpu::cli {
namespace {

std::string human(double v) {
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        // thousands separators for exact integers: 230,686,720
        std::string digits = fmt::format("{:.0f}", std::fabs(v));
        std::string out;
        for (size_t i = 0; i < digits.size(); ++i) {
            if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
            out += digits[i];
        }
        return v < 0 ? "-" + out : out;
    }
    return fmt::format("{:.4g}", v);
}

}  // namespace

int cmd_describe(const Args& args) {
    po::options_description opts("describe options");
    std::string hw;
    std::vector<std::string> sets;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a field: dotted.path=value (repeatable)")(
        "json", "print JSON instead of a table");
    po::variables_map vm;
    if (!parse_args("describe", args, opts, {}, vm)) return 0;
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    const auto rows = hw::figure_rows(hw::derive(cfg));
    if (vm.count("json")) {
        nlohmann::ordered_json j;
        j["name"] = cfg.name;
        for (const auto& r : rows) {
            if (r.value == std::floor(r.value) && std::fabs(r.value) < 9e15)
                j[r.key] = static_cast<int64_t>(r.value);
            else
                j[r.key] = r.value;
        }
        fmt::print("{}\n", j.dump(2));
        return 0;
    }
    fmt::print("{} ({})\n", cfg.name, cfg.source_file);
    for (const auto& r : rows) fmt::print("  {:<26} {:>24} {}\n", r.label, human(r.value), r.unit);
    return 0;
}

int cmd_check_config(const Args& args) {
    po::options_description opts("check-config options");
    std::string hw;
    std::vector<std::string> sets;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a field: dotted.path=value (repeatable)");
    po::positional_options_description pos;
    pos.add("hw", 1);
    po::variables_map vm;
    if (!parse_args("check-config", args, opts, pos, vm)) return 0;
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    fmt::print("{}: ok ({})\n", hw, cfg.name);
    return 0;
}

}  // namespace lpu::cli
