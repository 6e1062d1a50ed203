// run: simulate a program (hand-written or compiled) or a workload, print the summary and
// write the run's output directory.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "isa/assembler.hpp"
#include "isa/binary.hpp"
#include "sim/simulation.hpp"
#include "tools/lpusim/commands.hpp"
#include "tools/report/metrics.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

isa::Program load_program(const std::string& path) {
    const std::string bytes = read_file(path);
    if (bytes.rfind("LPUB", 0) == 0)
        return isa::decode_binary(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), path);
    return isa::assemble(bytes, path);
}

void prepare_out_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw InputError({"command line", 0, 0}, "--out", dir, "a directory that can be created and written");
}

int cmd_run(const Args& args) {
    po::options_description opts("run options");
    std::string hw, program, out, trace_flag = "auto";
    std::vector<std::string> sets;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a hardware field: dotted.path=value (repeatable)")(
        "program", po::value(&program), "program to run: text assembly or binary (.bin)")(
        "functional", "carry real values through the instructions (slower)")(
        "out", po::value(&out), "output directory (summary.json, trace.json)")(
        "trace", po::value(&trace_flag), "write trace.json: on, off, auto (auto = on for runs under 2M instructions)");
    po::variables_map vm;
    if (!parse_args("run", args, opts, {}, vm)) return 0;
    if (trace_flag != "on" && trace_flag != "off" && trace_flag != "auto")
        throw InputError({"command line", 0, 0}, "--trace", trace_flag, "on, off or auto");
    if (program.empty()) throw InputError({"command line", 0, 0}, "--program", "(missing)", "a program file to run");
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    const isa::Program prog = load_program(program);
    sim::SimOptions so;
    so.functional = vm.count("functional") > 0;
    so.program_file = program;
    if (!out.empty()) {
        prepare_out_dir(out);
        if (trace_flag != "off") so.trace_path = out + "/trace.json";
    }
    const sim::SimResult result = sim::simulate(cfg, prog, so);
    const report::RunMetrics m = report::compute_metrics(cfg, result);
    fmt::print("{}", report::metrics_text(m));
    if (!out.empty()) {
        nlohmann::ordered_json j = report::metrics_json(m);
        j["program"] = program;
        j["functional"] = so.functional;
        write_file_atomic(out + "/summary.json", j.dump(2) + "\n");
        fmt::print("wrote {}/summary.json{}\n", out, so.trace_path.empty() ? "" : " and trace.json");
    }
    return 0;
}

}  // namespace lpu::cli
