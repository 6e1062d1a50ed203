// run: simulate a program (hand-written or compiled) or a workload, print the summary and
// write the run's output directory.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/staging_dir.hpp"
#include "common/yaml_fields.hpp"
#include "hw/config.hpp"
#include "isa/assembler.hpp"
#include "isa/binary.hpp"
#include "sim/simulation.hpp"
#include "tools/lpusim/commands.hpp"
#include "tools/lpusim/workload_run.hpp"
#include "tools/report/metrics.hpp"
#include "tools/report/run_report.hpp"
#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/workload.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

isa::Program load_program(const std::string& path) {
    const std::string bytes = read_input_file(path, isa::kMaxProgramBytes);
    if (bytes.rfind("LPUB", 0) == 0)
        return isa::decode_binary(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), path);
    return isa::assemble(bytes, path);
}

// A whole number in [min, max] from a flag's text: program_options would wrap "-1" into an
// unsigned flag, and accepts "1x" for an int.
int64_t parse_count(const std::string& flag, const std::string& text, int64_t min, int64_t max) {
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
        throw InputError({"command line", 0, 0}, flag, text, fmt::format("a whole number in [{}, {}]", min, max));
    return v;
}

// "A:B" with 0 <= A <= B.
std::pair<int64_t, int64_t> parse_range(const std::string& flag, const std::string& text) {
    const auto colon = text.find(':');
    try {
        if (colon != std::string::npos) {
            const int64_t a = parse_count(flag, text.substr(0, colon), 0, INT64_MAX);
            const int64_t b = parse_count(flag, text.substr(colon + 1), 0, INT64_MAX);
            if (b >= a) return {a, b};
        }
    } catch (const InputError&) {
    }
    throw InputError({"command line", 0, 0}, flag, text, "A:B with 0 <= A <= B (whole numbers)");
}

// Creates --out as given (kept for commands that still write into it directly, e.g. serve on
// main); run and compile stage their output instead (common/staging_dir.hpp).
void prepare_out_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw InputError({"command line", 0, 0}, "--out", dir, "a directory that can be created and written");
}

namespace {
int run(const Args& args);
}

// Messages about a staged output name the place the user gave, not the temporary.
int cmd_run(const Args& args) {
    try {
        return run(args);
    } catch (const OutputError& e) {
        throw OutputError(unstaged_paths(e.what()));
    }
}

namespace {
int run(const Args& args) {
    po::options_description opts("run options");
    std::string hw, program, workload, out, trace_flag = "auto", models, trace_layers, trace_window, vcd;
    std::string seed_text = "1", trace_chips_text, max_instructions_text = std::to_string(sim::kDefaultMaxInstructions);
    std::vector<std::string> sets, wsets;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a hardware field: dotted.path=value (repeatable)")(
        "program", po::value(&program), "program to run: text assembly or binary (.bin)")(
        "workload", po::value(&workload), "workload YAML to compile and run (instead of --program)")(
        "wset", po::value(&wsets)->composing(), "override a workload field: dotted.path=value (repeatable)")(
        "models-dir", po::value(&models), "where bundled models live (default: the source tree's workloads/models)")(
        "full-system", "simulate every chip instead of one representative per pipeline stage")(
        "functional", "carry real values through the instructions (slower)")(
        "seed", po::value(&seed_text), "functional workloads: seed of the random weights and input tokens (default 1)")(
        "out", po::value(&out), "output directory (summary.json, reports, trace.json)")(
        "trace", po::value(&trace_flag),
        "trace.json: on, off, auto (auto: everything for runs under 2M instructions, else only chip 0)")(
        "trace-chips", po::value(&trace_chips_text), "trace only chips with index below N")(
        "trace-layers", po::value(&trace_layers), "trace only layers A:B (inclusive)")(
        "trace-window", po::value(&trace_window), "trace only instructions starting in cycles A:B")(
        "vcd", po::value(&vcd), "also write a VCD waveform of per-unit busy signals (small runs)")(
        "max-instructions", po::value(&max_instructions_text),
        "stop with exit 1 rather than run more than N dynamic instructions (default 100000000)");
    po::variables_map vm;
    if (!parse_args("run", args, opts, {}, vm)) return 0;
    if (trace_flag != "on" && trace_flag != "off" && trace_flag != "auto")
        throw InputError({"command line", 0, 0}, "--trace", trace_flag, "on, off or auto");
    if (program.empty() == workload.empty())
        throw InputError({"command line", 0, 0}, "--program/--workload", program.empty() ? "(neither)" : "(both)",
                         "exactly one of --program FILE or --workload FILE");
    const uint64_t seed = static_cast<uint64_t>(parse_count("--seed", seed_text, 0, INT64_MAX));
    const int64_t trace_chips_flag = trace_chips_text.empty() ? -1 : parse_count("--trace-chips", trace_chips_text, 1, 1 << 16);
    const uint64_t max_instructions = static_cast<uint64_t>(parse_count("--max-instructions", max_instructions_text, 1, INT64_MAX));
    // Trace flags are checked even without --out (where they have no effect), so that a typo
    // is not silently accepted.
    std::optional<std::pair<int64_t, int64_t>> layers, window;
    if (!trace_layers.empty()) layers = parse_range("--trace-layers", trace_layers);
    if (!trace_window.empty()) window = parse_range("--trace-window", trace_window);
    // Outputs are built in temporaries beside their final names and moved there only when the
    // run has succeeded: a failure, a full disk or a signal leaves nothing (common/staging_dir).
    // Made before the run so that an unwritable place is refused before minutes of simulation.
    std::optional<StagingDir> out_stage, vcd_stage;
    if (!out.empty()) out_stage.emplace(out, "--out");
    if (!vcd.empty()) {
        if (std::filesystem::is_directory(vcd))
            throw InputError({"command line", 0, 0}, "--vcd", vcd, "a file name (this is a directory)");
        vcd_stage.emplace(vcd, "--vcd", false);
    }
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    const bool functional = vm.count("functional") > 0;
    isa::Program prog;
    sim::SimOptions so;
    std::optional<wl::Workload> w;
    wl::CompiledWorkload compiled;
    if (!program.empty()) {
        prog = load_program(program);
        so.functional = functional;
        so.program_file = program;
    } else {
        w = wl::load_workload(workload, wsets, models.empty() ? models_dir() : models);
        wl::CompileOptions co;
        co.functional = functional;
        co.seed = seed;
        co.full_system = vm.count("full-system") > 0;
        try {
            compiled = compile_for_run(cfg, *w, co);
        } catch (const InputError& e) {
            // The compiler checks a workload field against the hardware knowing only its value
            // ("workload: mapping.tile_m: ..."): add where the field is written.
            const std::string prefix = "workload: ";
            const std::string what = e.what();
            if (e.where().file != "workload" || what.rfind(prefix, 0) != 0 || e.field().empty()) throw;
            throw InputError(locate_field(workload, wsets, "--wset", e.field()), what.substr(prefix.size()));
        }
        so = sim_options(compiled, functional, workload + " (compiled)");
    }
    const isa::Program& to_run = program.empty() ? compiled.program : prog;
    size_t instructions = 0;
    for (const auto& q : to_run.queues) instructions += q.instructions.size();
    if (out_stage) {
        if (trace_flag != "off") so.trace_path = out_stage->path() + "/trace.json";
        // Large runs: a bounded trace instead of gigabytes (the sink also caps its events).
        int64_t trace_chips = trace_chips_flag;
        if (trace_flag == "auto" && instructions >= 2'000'000 && trace_chips < 0) trace_chips = 1;
        if (trace_chips >= 0) so.trace_limits.max_chips = static_cast<int>(trace_chips);
        if (layers) {
            so.trace_limits.first_layer = static_cast<int>(std::min<int64_t>(layers->first, INT32_MAX));
            so.trace_limits.last_layer = static_cast<int>(std::min<int64_t>(layers->second, INT32_MAX));
        }
        if (window) {
            so.trace_limits.window_start_cycle = static_cast<uint64_t>(window->first);
            so.trace_limits.window_end_cycle = static_cast<uint64_t>(window->second);
        }
    }
    if (vcd_stage) so.vcd_path = vcd_stage->path() + "/waves.vcd";
    so.max_instructions = max_instructions;
    const sim::SimResult result = sim::simulate(cfg, to_run, so);
    const report::RunMetrics m = report::compute_metrics(cfg, result);
    nlohmann::ordered_json j = report::metrics_json(m);
    j["functional"] = functional;
    if (!program.empty()) j["program"] = program;
    if (w) {
        const nlohmann::ordered_json ws = workload_summary(cfg, *w, compiled, result, m);
        for (auto it = ws.begin(); it != ws.end(); ++it) j[it.key()] = it.value();
        for (const auto& note : compiled.notes) fmt::print("{}\n", note);
    }
    fmt::print("{}", report::metrics_text(m));
    fmt::print("{}", report::breakdown_table(result));
    if (w && w->kind == wl::WorkloadKind::Llama)
        fmt::print("{}: {:.6g} tokens/s per user, {:.6g} tokens/s in all, {:.4g} s per step, {} chips, {:.4g} J per token\n",
                   w->model.name, j.value("tokens_per_s_per_user", 0.0), j.value("tokens_per_s", 0.0), result.seconds,
                   compiled.chips, j.value("energy_per_token_J", 0.0));
    int exit_code = 0;
    if (w && functional) {
        const FunctionalCheck f = check_functional(cfg, compiled, result);
        j["functional_check"] = {{"compared", f.compared}, {"mismatches", f.mismatches}, {"max_abs_error", f.max_abs_error}};
        fmt::print("functional check: {} values compared, {} differ from the reference (max abs error {:.3g})\n", f.compared,
                   f.mismatches, f.max_abs_error);
        if (!compiled.next_tokens.empty()) {
            j["functional_check"]["next_tokens"] = f.next_tokens;
            j["functional_check"]["reference_next_tokens"] = compiled.reference_next_tokens;
            fmt::print("next tokens: {} (reference: {})\n", fmt::join(f.next_tokens, ", "), fmt::join(compiled.reference_next_tokens, ", "));
        }
        if (f.mismatches > 0) exit_code = kExitSimulationError;
    }
    if (out_stage) {
        write_file_atomic(out_stage->path() + "/summary.json", j.dump(2) + "\n");
        report::write_run_reports(out_stage->path(), {cfg, result, m, j});
        out_stage->commit_directory();
    }
    if (vcd_stage) vcd_stage->commit_file("waves.vcd");
    if (out_stage) fmt::print("wrote {}/summary.json{}\n", out, so.trace_path.empty() ? "" : " and trace.json");
    return exit_code;
}
}  // namespace

}  // namespace lpu::cli
