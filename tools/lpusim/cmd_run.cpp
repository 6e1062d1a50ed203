// run: simulate a program (hand-written or compiled) or a workload, print the summary and
// write the run's output directory.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>
#include <chrono>
#include <functional>
#include <unistd.h>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/staging_dir.hpp"
#include "common/version.hpp"
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


namespace {

// A word as a POSIX shell reads it back: bare if it is plain, else single-quoted.
std::string shell_word(const std::string& w) {
    const bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                         "_-./=:,+@%") == std::string::npos;
    if (plain) return w;
    std::string out = "'";
    for (char c : w) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// 64-bit FNV-1a of a file's bytes, in hex: names the exact input a report came from.
std::string file_hash(const std::string& path) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : read_file(path)) h = (h ^ c) * 0x100000001b3ULL;
    return fmt::format("fnv1a64:{:016x}", h);
}

// The inputs of the run for summary.json and report.html's Inputs section.
nlohmann::ordered_json run_inputs(const Args& args, const std::string& hw, const std::string& workload,
                                  const std::string& program) {
    nlohmann::ordered_json in;
    // The output directory is written as DIR: a run gives the same bytes wherever it writes.
    std::string command = "lpusim run";
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--out" && i + 1 < args.size()) {
            command += " --out DIR";
            ++i;
        } else {
            command += " " + (args[i].rfind("--out=", 0) == 0 ? std::string("--out=DIR") : shell_word(args[i]));
        }
    }
    in["command"] = command;
    in["lpusim_version"] = lpusim_version_line();
    in["hw_file"] = hw;
    in["hw_hash"] = file_hash(hw);
    if (!workload.empty()) {
        in["workload_file"] = workload;
        in["workload_hash"] = file_hash(workload);
    }
    if (!program.empty()) {
        in["program_file"] = program;
        in["program_hash"] = file_hash(program);
    }
    return in;
}

// A progress line on stderr while simulating, when stderr is a terminal: how far, and when
// it will end at the rate so far.
class Progress {
public:
    Progress(bool enabled, uint64_t total) : enabled_(enabled), total_(total) {}
    ~Progress() { done(); }

    std::function<void(uint64_t)> callback() {
        if (!enabled_ || total_ == 0) return {};
        return [this](uint64_t executed) { update(executed); };
    }
    void note(const std::string& what) {
        if (!enabled_) return;
        fmt::print(stderr, "\r\033[K{}", what);
        shown_ = !what.empty();
    }
    void done() {
        if (enabled_ && shown_) fmt::print(stderr, "\r\033[K");
        shown_ = false;
    }

private:
    void update(uint64_t executed) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(250)) return;
        last_ = now;
        const double elapsed = std::chrono::duration<double>(now - start_).count();
        const double fraction = std::min(1.0, static_cast<double>(executed) / static_cast<double>(total_));
        const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
        fmt::print(stderr, "\r\033[Ksimulating: {:.0f}% ({:.3g} M of {:.3g} M instructions), {:.1f} s, about {:.0f} s left",
                   100 * fraction, static_cast<double>(executed) / 1e6, static_cast<double>(total_) / 1e6, elapsed, eta);
        shown_ = true;
    }

    bool enabled_;
    uint64_t total_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_ = start_;
};

// The workload's headline, in the units a reader expects (docs/metrics.md).
void print_headline(const wl::Workload& w, const wl::CompiledWorkload& c, const nlohmann::ordered_json& j) {
    if (w.kind != wl::WorkloadKind::Llama) return;
    if (c.prefill) {
        fmt::print("{} prefill: time to first token {:.4g} ms, {} prompt tokens, {:.6g} prompt tokens/s; {} chips; "
                   "{:.4g} J per prompt token; {:.4g} W per chip (system)\n",
                   w.model.name, 1e3 * j.value("time_to_first_token_s", 0.0), j.value("prompt_tokens", int64_t{0}),
                   j.value("prompt_tokens_per_s", 0.0), c.chips, j.value("energy_per_prompt_token_J", 0.0),
                   j.value("average_power_W_per_chip", 0.0));
        return;
    }
    fmt::print("{} decode: {:.6g} tokens/s per user, {:.6g} tokens/s in all, {:.4g} ms per token; {} chips; "
               "{:.4g} J per token; {:.4g} W per chip (system)\n",
               w.model.name, j.value("tokens_per_s_per_user", 0.0), j.value("tokens_per_s", 0.0),
               1e3 * j.value("latency_per_token_s", 0.0), c.chips, j.value("energy_per_token_J", 0.0),
               j.value("average_power_W_per_chip", 0.0));
}

}  // namespace

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
    double trace_max_mb = static_cast<double>(sim::TraceLimits{}.max_bytes >> 20);
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
        "out", po::value(&out), "output directory (summary.json, reports, trace.json.gz)")(
        "trace", po::value(&trace_flag),
        "trace.json.gz: on, off, auto (on and auto: every chip, instruction detail chip by chip within --trace-max-mb)")(
        "trace-max-mb", po::value(&trace_max_mb),
        "bound on the trace's JSON text in MB (default 64); chips beyond it keep their layer and operation tracks")(
        "trace-chips", po::value(&trace_chips_text), "trace only chips with index below N")(
        "trace-layers", po::value(&trace_layers), "trace only layers A:B (inclusive)")(
        "trace-window", po::value(&trace_window), "trace only instructions starting in cycles A:B")(
        "vcd", po::value(&vcd), "also write a VCD waveform of per-unit busy signals (small runs)")(
        "quiet", "no progress line on stderr (shown only when stderr is a terminal)")(
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
    const bool show_progress = vm.count("quiet") == 0 && ::isatty(STDERR_FILENO) == 1;
    Progress compiling(show_progress, 0);
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
        compiling.note(fmt::format("compiling {} ...", workload));
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
        compiling.note("");
        so = sim_options(compiled, functional, workload + " (compiled)");
    }
    const isa::Program& to_run = program.empty() ? compiled.program : prog;
    if (!(trace_max_mb > 0)) throw InputError({"command line", 0, 0}, "--trace-max-mb", std::to_string(trace_max_mb), "a size above 0");
    if (out_stage) {
        if (trace_flag != "off") so.trace_path = out_stage->path() + "/trace.json.gz";
        // Large runs: the sink bounds the file (coarser tracks for the chips beyond the bound).
        so.trace_limits.max_bytes = static_cast<uint64_t>(trace_max_mb * (1 << 20));
        if (trace_chips_flag >= 0) so.trace_limits.max_chips = static_cast<int>(trace_chips_flag);
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
    Progress progress(show_progress, show_progress ? sim::dynamic_instructions(to_run) : 0);
    so.progress = progress.callback();
    const sim::SimResult result = sim::simulate(cfg, to_run, so);
    progress.done();
    const report::RunMetrics m = report::compute_metrics(cfg, result);
    nlohmann::ordered_json j;
    j["inputs"] = run_inputs(args, hw, workload, program);
    const nlohmann::ordered_json metrics = report::metrics_json(m);
    for (auto it = metrics.begin(); it != metrics.end(); ++it) j[it.key()] = it.value();
    j["functional"] = functional;
    if (!program.empty()) j["program"] = program;
    if (w) {
        const nlohmann::ordered_json ws = workload_summary(cfg, *w, compiled, result, m);
        for (auto it = ws.begin(); it != ws.end(); ++it) j[it.key()] = it.value();
        for (const auto& note : compiled.notes) fmt::print("{}\n", note);
    }
    fmt::print("{}", report::metrics_text(m));
    fmt::print("{}", report::breakdown_table(result));
    if (w) print_headline(*w, compiled, j);
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
    std::vector<std::string> written;
    if (out_stage) {
        progress.note("writing reports ...");
        write_file_atomic(out_stage->path() + "/summary.json", j.dump(2) + "\n");
        written.push_back("summary.json");
        for (auto& f : report::write_run_reports(out_stage->path(), {cfg, result, m, j})) written.push_back(std::move(f));
        if (result.trace) {
            result.trace->finish();  // with the reports' counter tracks
            written.push_back(std::filesystem::path(so.trace_path).filename().string());
        }
        progress.done();
        out_stage->commit_directory();
    }
    if (vcd_stage) vcd_stage->commit_file("waves.vcd");
    if (out_stage) fmt::print("{}", report::wrote_line(out, written));
    if (vcd_stage) fmt::print("wrote {}\n", vcd);
    return exit_code;
}
}  // namespace

}  // namespace lpu::cli
