// The bad-input catalogue (docs/bad-input.md): every kind of malformed input the lpusim
// command line can be given, run through the real binary. Each case must end within 20 s
// with exit code 2, one error message on standard error that names the file (and the line
// where the input has lines), and nothing written into the --out directory.
// The expectation comes from STYLE.md ("bad input ... gives one message with the file, line
// and column ... and exit code 2. Never a crash, a silent default, or a partial output file").
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"

namespace fs = std::filesystem;
using lpu::test::slurp;
using lpu::test::source_path;
using lpu::test::write_text;

namespace {

constexpr int kTimeoutSeconds = 20;

struct InputFile {
    std::string name;  // relative to the case's input folder
    std::string contents;
};

struct BadInput {
    std::string what;                 // the input, as listed in docs/bad-input.md
    std::vector<InputFile> files;     // written into the case's input folder {in}
    std::string args;                 // lpusim arguments; {in}, {out} and {src} are substituted
    std::vector<std::string> expect;  // fragments the message must contain (substituted too)
    std::string shell_prefix = "";    // shell commands run before lpusim (e.g. a ulimit)
    int exit_code = 2;                // 1 for a valid input that cannot be run or written
    std::string shell_suffix = "";    // redirections after lpusim's own (e.g. 2>/dev/full)
};

struct Outcome {
    int exit_code = -1;
    bool timed_out = false;
    std::string err;
    std::string out;
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
    return s;
}

// Standard error without AddressSanitizer's note about a throw on a SystemC coroutine stack
// (sanitizer builds only; see sim/asan_systemc.hpp): three lines, the first
// "==PID==WARNING: ASan is ignoring requested __asan_handle_no_return ...".
std::string without_asan_note(const std::string& err) {
    const size_t at = err.find("WARNING: ASan is ignoring requested __asan_handle_no_return");
    if (at == std::string::npos) return err;
    const size_t begin = err.rfind('\n', at) == std::string::npos ? 0 : err.rfind('\n', at) + 1;
    const std::string last = "google/sanitizers/issues/189\n";
    const size_t end = err.find(last, at);
    if (end == std::string::npos) return err;
    return err.substr(0, begin) + err.substr(end + last.size());
}

// As run_cli (cli_helpers.hpp), but under `timeout`, so that a hang fails the case instead of
// stalling the whole suite.
Outcome run_bounded(const std::string& args, const std::string& scratch, const std::string& prefix,
                    const std::string& suffix = "") {
    const std::string cmd = prefix + "timeout -k 5 " + std::to_string(kTimeoutSeconds) + " '" +
                            LPUSIM_BINARY + "' " + args + " </dev/null >'" + scratch + "/stdout' 2>'" +
                            scratch + "/stderr'" + suffix;
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.timed_out = o.exit_code == 124 || o.exit_code == 137;  // timeout's codes for TERM and KILL
    o.err = without_asan_note(slurp(scratch + "/stderr"));
    o.out = slurp(scratch + "/stdout");
    return o;
}

// Every file (not directory) below `dir`, if it exists.
std::vector<std::string> files_below(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (!it->is_directory()) out.push_back(it->path().string());
    return out;
}

size_t count_lines(const std::string& s) {
    size_t lines = 0;
    std::string line;
    std::istringstream in(s);
    while (std::getline(in, line))
        if (!line.empty()) ++lines;
    return lines;
}

void check_refused(const BadInput& c) {
    static int counter = 0;
    const std::string scratch = lpu::test::scratch_dir("bad-input-" + std::to_string(counter++));
    const std::string in = scratch + "/in", out = scratch + "/out";
    fs::create_directories(in);
    for (const auto& f : c.files) {
        fs::create_directories(fs::path(in + "/" + f.name).parent_path());
        write_text(in + "/" + f.name, f.contents);
    }
    auto subst = [&](const std::string& s) {
        return replace_all(replace_all(replace_all(s, "{in}", in), "{out}", out), "{src}", LPUSIM_SOURCE_DIR);
    };
    const std::string args = subst(c.args);
    const Outcome o = run_bounded(args, scratch, subst(c.shell_prefix), subst(c.shell_suffix));
    // LPUSIM_BAD_INPUT_LOG=FILE appends every case's outcome to FILE (for docs/bad-input.md).
    if (const char* log = std::getenv("LPUSIM_BAD_INPUT_LOG"))
        std::ofstream(log, std::ios::app) << c.what << "\t" << o.exit_code << "\t" << o.err;

    INFO("case: " << c.what);
    INFO("command: lpusim " << args);
    INFO("exit code " << o.exit_code << ", stderr:\n" << o.err);
    CHECK_FALSE(o.timed_out);
    CHECK(o.exit_code == c.exit_code);
    CHECK(o.err.rfind(c.exit_code == 2 ? "lpusim: error: " : "lpusim: ", 0) == 0);
    CHECK(o.err.size() < 2000);  // values are quoted in part, never whole
    // SystemC's own reports ("Info: ... Simulation stopped by user.") are not a second message.
    CHECK(o.out.find("/OSCI/SystemC") == std::string::npos);
    CHECK(o.out.find("Warning: (W") == std::string::npos);
    CHECK(count_lines(o.err) == 1);
    for (const auto& e : c.expect) {
        const std::string fragment = subst(e);
        INFO("expected in the message: " << fragment);
        CHECK(o.err.find(fragment) != std::string::npos);
    }
    const auto left = files_below(out);
    INFO("left in --out: " << (left.empty() ? std::string("nothing") : left.front()));
    CHECK(left.empty());
    std::vector<std::string> temporaries;  // staging directories or *.tmp.PID files beside --out
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(scratch, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
        if (it->path().filename().string().find(".tmp.") != std::string::npos) temporaries.push_back(it->path().string());
    INFO("temporary left: " << (temporaries.empty() ? std::string("none") : temporaries.front()));
    CHECK(temporaries.empty());
    fs::remove_all(scratch);
}

void check_all(const std::vector<BadInput>& cases) {
    for (const auto& c : cases) check_refused(c);
}

// `text` with the first occurrence of `from` replaced by `to`; `from` must be there (else the
// case would silently test the unmodified file).
std::string edited(const std::string& text, const std::string& from, const std::string& to) {
    const size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.substr(0, at) + to + text.substr(at + from.size());
}

// 1-based line holding the first occurrence of `needle`.
int line_of(const std::string& text, const std::string& needle) {
    const size_t at = text.find(needle);
    REQUIRE(at != std::string::npos);
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

std::string loc(const std::string& file, int line) {
    return "{in}/" + file + ":" + std::to_string(line) + ":";
}

const std::string kProgram = "{src}/workloads/examples/programs/gemm-8x320x320-int8.lpuasm";
const std::string kHw = "{src}/configs/tsp-v1.yaml";

std::string garbage_bytes() {
    std::string s;
    uint32_t x = 12345;
    for (int i = 0; i < 512; ++i) {
        x = x * 1103515245u + 12345u;  // a fixed LCG: the same garbage every run
        s.push_back(static_cast<char>(x >> 24));
    }
    return s;
}

std::string deep_flow(int levels) { return "name: " + std::string(static_cast<size_t>(levels), '[') + "\n"; }

std::string deep_block(int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i)
        s += std::string(static_cast<size_t>(2 * i), ' ') + "k" + std::to_string(i) + ":\n";
    return s;
}

// Malformed files of any kind, as the file `name` given to `args` (which names {in}/name).
std::vector<BadInput> malformed_files(const std::string& kind, const std::string& name,
                                      const std::string& valid, const std::string& args) {
    const std::string truncated = valid.substr(0, valid.size() / 2);
    const std::string non_utf8 = "# caf\xe9 (latin-1)\n" + valid;
    return {
        {kind + ": truncated in the middle of a line", {{name, truncated}}, args, {"{in}/" + name}},
        {kind + ": binary garbage", {{name, garbage_bytes()}}, args, {"{in}/" + name}},
        {kind + ": non-UTF-8 byte on line 1", {{name, non_utf8}}, args, {loc(name, 1), "UTF-8"}},
        {kind + ": 10000-deep flow nesting", {{name, deep_flow(10000)}}, args, {loc(name, 1), "nesting"}},
        {kind + ": 1000-deep block nesting",
         {{name, deep_block(1000)}},
         args,
         {"{in}/" + name + ":", "nesting"}},
        {kind + ": empty file", {{name, ""}}, args, {"{in}/" + name}},
        {kind + ": YAML syntax error", {{name, valid + "\nbroken: [1, 2\n"}}, args, {"{in}/" + name + ":"}},
        {kind + ": top level is a list", {{name, "- a\n- b\n"}}, args, {loc(name, 1), "mapping"}},
        {kind + ": larger than 16 MiB",
         {{name, valid + "#" + std::string(17u << 20, 'x') + "\n"}},
         args,
         {"{in}/" + name, "bytes"}},
        {kind + ": file does not exist",
         {},
         replace_all(args, "{in}/" + name, "{in}/missing.yaml"),
         {"{in}/missing.yaml"}},
        {kind + ": a directory instead of a file",
         {{"dir/keep", "x"}},
         replace_all(args, "{in}/" + name, "{in}/dir"),
         {"{in}/dir"}},
    };
}

}  // namespace

TEST_CASE("every malformed hardware config is refused with exit 2, its file and line, and no output",
          "[bad-input]") {
    const std::string cfg = slurp(source_path("configs/tsp-v1.yaml"));
    const std::string args = "run --hw {in}/hw.yaml --program " + kProgram + " --out {out}";
    // 10^4 list items by reference; a reader that expands aliases would build 10^4 nodes per level.
    const std::string laughs = cfg +
                               "laughs: &a [x, x, x, x, x, x, x, x, x, x]\n"
                               "l2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                               "l3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                               "l4: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
    std::vector<BadInput> cases = {
        {"config: wrong type (text for an integer)",
         {{"hw.yaml", edited(cfg, "planes: 4", "planes: four")}},
         args,
         {loc("hw.yaml", line_of(cfg, "planes: 4")), "mxm.planes", "four"}},
        {"config: fraction for an integer",
         {{"hw.yaml", edited(cfg, "planes: 4", "planes: 4.5")}},
         args,
         {loc("hw.yaml", line_of(cfg, "planes: 4")), "mxm.planes"}},
        {"config: negative",
         {{"hw.yaml", edited(cfg, "hop_cycles: 1", "hop_cycles: -1")}},
         args,
         {loc("hw.yaml", line_of(cfg, "hop_cycles: 1")), "streams.hop_cycles"}},
        {"config: zero",
         {{"hw.yaml", edited(cfg, "frequency_MHz: 900", "frequency_MHz: 0")}},
         args,
         {loc("hw.yaml", line_of(cfg, "frequency_MHz: 900")), "clock.frequency_MHz"}},
        {"config: not a number (.nan)",
         {{"hw.yaml", edited(cfg, "frequency_MHz: 900", "frequency_MHz: .nan")}},
         args,
         {loc("hw.yaml", line_of(cfg, "frequency_MHz: 900")), "clock.frequency_MHz"}},
        {"config: absurd size words_per_tile: 999999999999",
         {{"hw.yaml", edited(cfg, "words_per_tile: 8192", "words_per_tile: 999999999999")}},
         args,
         {loc("hw.yaml", line_of(cfg, "words_per_tile: 8192")), "mem.words_per_tile"}},
        {"config: integer beyond 64 bits",
         {{"hw.yaml", edited(cfg, "planes: 4", "planes: 99999999999999999999999")}},
         args,
         {loc("hw.yaml", line_of(cfg, "planes: 4")), "mxm.planes"}},
        {"config: unknown key",
         {{"hw.yaml", edited(cfg, "  word_bytes:", "  bogus_field: 3\n  word_bytes:")}},
         args,
         {loc("hw.yaml", line_of(cfg, "  word_bytes:")), "mem.bogus_field"}},
        {"config: duplicate key",
         {{"hw.yaml", edited(cfg, "  planes: 4", "  planes: 4\n  planes: 8")}},
         args,
         {"{in}/hw.yaml:", "mxm.planes"}},
        {"config: a non-text key (? [a]) before a bad value in the same section",
         {{"hw.yaml", edited(cfg, "  planes: 4", "  ? [a]\n  : 1\n  planes: four")}},
         args,
         {loc("hw.yaml", line_of(cfg, "planes: 4") + 2), "mxm.planes"}},
        {"config: billion-laughs aliases under an unknown key",
         {{"hw.yaml", laughs}},
         args,
         {loc("hw.yaml", line_of(laughs, "laughs:")), "laughs"}},
    };
    for (auto& c : malformed_files("config", "hw.yaml", cfg, args)) cases.push_back(std::move(c));
    check_all(cases);
}

TEST_CASE("a hardware config read from an endless device stops at the size limit with exit 2",
          "[bad-input]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("skipped: needs a memory limit (ulimit -v), which AddressSanitizer's shadow memory does not allow");
#else
    // The size limit must apply while reading, not after: /dev/zero never ends. The ulimit
    // keeps a wrong implementation from taking the machine's memory.
    check_all({{"config: /dev/zero (endless)",
                {},
                "check-config /dev/zero",
                {"/dev/zero", "bytes"},
                "ulimit -v 4000000; "}});
#endif
}

TEST_CASE("every malformed workload is refused with exit 2, its file and line, and no output",
          "[bad-input]") {
    const std::string wl = slurp(source_path("workloads/examples/tiny-llama-decode.yaml"));
    const std::string model = slurp(source_path("workloads/models/tiny-llama.yaml"));
    const std::string args = "run --hw " + kHw + " --workload {in}/wl.yaml --out {out}";
    std::vector<BadInput> cases = {
        {"workload: wrong type (text for batch)",
         {{"wl.yaml", edited(wl, "batch: 2", "batch: two")}},
         args,
         {loc("wl.yaml", line_of(wl, "batch: 2")), "batch"}},
        {"workload: batch: -1",
         {{"wl.yaml", edited(wl, "batch: 2", "batch: -1")}},
         args,
         {loc("wl.yaml", line_of(wl, "batch: 2")), "batch"}},
        {"workload: tile_m: 0",
         {{"wl.yaml", edited(wl, "tile_m: 320", "tile_m: 0")}},
         args,
         {loc("wl.yaml", line_of(wl, "tile_m: 320")), "mapping.tile_m"}},
        {"workload: absurd tile_n: 999999999999",
         {{"wl.yaml", edited(wl, "tile_n: 320", "tile_n: 999999999999")}},
         args,
         {loc("wl.yaml", line_of(wl, "tile_n: 320")), "mapping.tile_n"}},
        {"workload: unknown key",
         {{"wl.yaml", edited(wl, "batch: 2", "batch: 2\nspeed: fast")}},
         args,
         {loc("wl.yaml", line_of(wl, "batch: 2") + 1), "speed"}},
        {"workload: unknown model name",
         {{"wl.yaml", edited(wl, "model: tiny-llama", "model: llama-9000")}},
         args,
         {loc("wl.yaml", line_of(wl, "model: tiny-llama")), "llama-9000"}},
        {"workload: seq_len beyond max_position_embeddings (4096)",
         {{"wl.yaml", edited(wl, "phase: decode", "phase: prefill\nseq_len: 5000")}},
         args,
         {loc("wl.yaml", line_of(wl, "phase: decode") + 1), "seq_len"}},
        {"workload: context_len leaves no position for the new token (4096 of 4096)",
         {{"wl.yaml", edited(wl, "context_len: 128", "context_len: 4096")}},
         args,
         {loc("wl.yaml", line_of(wl, "context_len: 128")), "context_len"}},
        {"workload: override layer range beyond the model (1-7 of 2 layers)",
         {{"wl.yaml", edited(wl, "layers: \"1\"", "layers: \"1-7\"")}},
         args,
         {loc("wl.yaml", line_of(wl, "layers: \"1\"")), "weights.overrides[0].layers"}},
        {"workload: override layer range reversed (1-0)",
         {{"wl.yaml", edited(wl, "layers: \"1\"", "layers: \"1-0\"")}},
         args,
         {loc("wl.yaml", line_of(wl, "layers: \"1\"")), "weights.overrides[0].layers"}},
        {"workload: override layer range not numbers (a-b)",
         {{"wl.yaml", edited(wl, "layers: \"1\"", "layers: \"a-b\"")}},
         args,
         {loc("wl.yaml", line_of(wl, "layers: \"1\"")), "weights.overrides[0].layers"}},
        {"workload: a non-text key (? [a]) in weights",
         {{"wl.yaml", edited(wl, "  location: sram", "  location: sram\n  ? [a]\n  : 1")}},
         args,
         {loc("wl.yaml", line_of(wl, "  location: sram") + 1), "weights"}},
        {"workload: a non-text key (? [a]) before a bad value",
         {{"wl.yaml", "kind: gemm\n? [a]\n: 1\nm: 0\nk: 320\nn: 320\nprecision: int8\n"}},
         args,
         {loc("wl.yaml", 4), "m"}},
        {"workload: gemm with m: 0",
         {{"wl.yaml", "kind: gemm\nm: 0\nk: 320\nn: 320\nprecision: int8\n"}},
         args,
         {loc("wl.yaml", 2), "m"}},
        {"workload: model file with hidden_size: 0 (error in the model file)",
         {{"wl.yaml", edited(wl, "model: tiny-llama", "model: model.yaml")},
          {"model.yaml", edited(model, "hidden_size: 640", "hidden_size: 0")}},
         args,
         {loc("model.yaml", line_of(model, "hidden_size: 640")), "hidden_size"}},
        {"workload: Hugging Face config.json of another architecture",
         {{"wl.yaml", edited(wl, "model: tiny-llama", "model: config.json")},
          {"config.json", "{\n  \"model_type\": \"gpt2\",\n  \"hidden_size\": 640\n}\n"}},
         args,
         {"{in}/config.json:", "model_type"}},
    };
    for (auto& c : malformed_files("workload", "wl.yaml", wl, args)) cases.push_back(std::move(c));
    check_all(cases);
}

TEST_CASE("every malformed assembly program is refused with exit 2, its file and line, and no output",
          "[bad-input]") {
    const std::string args = "run --hw " + kHw + " --program {in}/p.lpuasm --out {out}";
    auto program = [](const std::string& body) {
        return std::vector<InputFile>{{"p.lpuasm", ".queue mem 0\n" + body + "\n"}};
    };
    check_all({
        {"assembly: unknown mnemonic",
         program("    mem.reed addr=0 n=1 out=s0e"),
         args,
         {loc("p.lpuasm", 2), "mem.reed"}},
        {"assembly: bad stream name",
         program("    mem.read addr=0 n=1 out=s99q"),
         args,
         {loc("p.lpuasm", 2), "s99q"}},
        {"assembly: missing operand", program("    mem.read addr=0 n=1"), args, {loc("p.lpuasm", 2), "out"}},
        {"assembly: undefined label",
         program("    icu.repeat count=1 from=nowhere"),
         args,
         {loc("p.lpuasm", 2), "nowhere"}},
        {"assembly: operand out of range",
         program("    mem.read addr=0x10000000000 n=1 out=s0e"),
         args,
         {loc("p.lpuasm", 2), "addr"}},
        {"assembly: instruction before any .queue",
         {{"p.lpuasm", "    mem.read addr=0 n=1 out=s0e\n"}},
         args,
         {loc("p.lpuasm", 1)}},
        {"assembly: garbage bytes", {{"p.lpuasm", garbage_bytes()}}, args, {"{in}/p.lpuasm"}},
        {"assembly: queue the chip does not have (mxm 9 of 4 planes), reported at its .queue line",
         {{"p.lpuasm", "; header\n.queue mxm 9\n    mxm.iw cols=320\n"}},
         args,
         {"{in}/p.lpuasm:2:", "mxm 9"}},
        {"assembly: a control byte in a value is shown escaped",
         {{"p.lpuasm", ".queue mem 0\n    mem.read addr=0 n=1 out=s0\x01"
                      "e\n"}},
         args,
         {"{in}/p.lpuasm:2:", "s0\\x01e"}},
        {"assembly: chip the system does not have (.chip 5 of 1)",
         {{"p.lpuasm", ".chip 5\n.queue mem 0\n    mem.read addr=0 n=1 out=s0e\n"}},
         args,
         {"{in}/p.lpuasm:", "5"}},
        {"assembly: file does not exist",
         {},
         "run --hw " + kHw + " --program {in}/missing.lpuasm --out {out}",
         {"{in}/missing.lpuasm"}},
    });
}

TEST_CASE("a program that reads a stream against its direction stops with exit 2 and no partial output",
          "[bad-input]") {
    // Slice 44 is the first east slice, east of the VXM (docs/timing.md sec. 2, positions):
    // what it puts on an eastward register can never reach the VXM to its west.
    const std::string text =
        ".queue mem 44\n"
        "    mem.read addr=0 n=1 out=s0e\n"
        ".queue vxm 0\n"
        "    vxm.relu n=1 in=s0e out=s1e type=int8\n"
        ".queue mem 45\n"
        "    mem.write addr=0 n=1 in=s1e\n";
    check_all({
        {"program: eastward stream consumed west of its producer (trace on)",
         {{"p.lpuasm", text}},
         "run --hw " + kHw + " --program {in}/p.lpuasm --out {out} --trace on",
         {loc("p.lpuasm", 4), "s0e", "east"}},
    });
}

TEST_CASE("every malformed binary program is refused with exit 2, its file and byte offset, and no output",
          "[bad-input]") {
    const std::string scratch = lpu::test::scratch_dir("bad-input-binary-seed");
    const auto made =
        lpu::test::run_cli("asm '" + source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm") +
                           "' -o '" + scratch + "/good.bin'");
    REQUIRE(made.exit_code == 0);
    const std::string good = slurp(scratch + "/good.bin");
    REQUIRE(good.size() > 16);
    fs::remove_all(scratch);
    std::string wrong_version = good;
    wrong_version[4] = static_cast<char>(0x7f);
    const std::string run = "run --hw " + kHw + " --program {in}/p.bin --out {out}";
    const std::string disasm = "disasm {in}/p.bin -o {out}/p.lpuasm";
    check_all({
        {"binary: truncated (run)",
         {{"p.bin", good.substr(0, good.size() - 3)}},
         run,
         {"{in}/p.bin", "byte"}},
        {"binary: truncated (disasm)",
         {{"p.bin", good.substr(0, good.size() - 3)}},
         disasm,
         {"{in}/p.bin", "byte"}},
        {"binary: truncated inside the header (disasm)",
         {{"p.bin", good.substr(0, 6)}},
         disasm,
         {"{in}/p.bin", "byte"}},
        {"binary: wrong magic (disasm)",
         {{"p.bin", "LPUX" + good.substr(4)}},
         disasm,
         {"{in}/p.bin", "byte 0"}},
        {"binary: wrong magic (run: read as assembly text)",
         {{"p.bin", "LPUX" + good.substr(4)}},
         run,
         {"{in}/p.bin"}},
        {"binary: unknown version", {{"p.bin", wrong_version}}, disasm, {"{in}/p.bin", "byte 4"}},
        {"binary: trailing bytes", {{"p.bin", good + "xyz"}}, disasm, {"{in}/p.bin", "byte"}},
        {"binary: empty file (disasm)", {{"p.bin", ""}}, disasm, {"{in}/p.bin", "byte 0"}},
    });
}

TEST_CASE("every bad command line is refused with exit 2, naming the flag, and no output", "[bad-input]") {
    const std::string base = "run --hw " + kHw + " --program " + kProgram + " --out {out}";
    check_all({
        {"flags: unknown command", {}, "frobnicate", {"frobnicate"}},
        {"flags: unknown flag", {}, base + " --bogus", {"command line", "bogus"}},
        {"flags: missing --hw", {}, "run --program " + kProgram + " --out {out}", {"command line", "hw"}},
        {"flags: --hw names a missing file",
         {},
         "run --hw {in}/none.yaml --program " + kProgram + " --out {out}",
         {"{in}/none.yaml"}},
        {"flags: neither --program nor --workload",
         {},
         "run --hw " + kHw + " --out {out}",
         {"--program/--workload"}},
        {"flags: both --program and --workload",
         {},
         base + " --workload {src}/workloads/examples/tiny-llama-decode.yaml",
         {"--program/--workload"}},
        {"flags: --set without '='", {}, base + " --set mxm.planes", {"--set", "mxm.planes"}},
        {"flags: --set with an empty path part", {}, base + " --set mxm..planes=4", {"--set", "mxm..planes"}},
        {"flags: --set unknown key", {}, base + " --set mxm.bogus=1", {"--set mxm.bogus=1", "mxm.bogus"}},
        {"flags: --set wrong type",
         {},
         base + " --set mxm.planes=lots",
         {"--set mxm.planes=lots", "mxm.planes"}},
        {"flags: --set into a value (mxm.planes.x=1)",
         {},
         base + " --set mxm.planes.x=1",
         {"--set", "mxm.planes"}},
        {"flags: --wset unknown key",
         {},
         "run --hw " + kHw +
             " --workload {src}/workloads/examples/tiny-llama-decode.yaml --wset bogus=1 --out {out}",
         {"bogus=1", "bogus"}},
        {"flags: --trace maybe", {}, base + " --trace maybe", {"--trace", "maybe"}},
        {"flags: --out names an existing file",
         {{"file.txt", "keep me\n"}},
         "run --hw " + kHw + " --program " + kProgram + " --out {in}/file.txt",
         {"--out", "{in}/file.txt"}},
        {"flags: asm without -o", {}, "asm " + kProgram, {"command line", "output"}},
        {"flags: sweep axis without values",
         {},
         "sweep --hw " + kHw +
             " --workload {src}/workloads/examples/tiny-llama-decode.yaml --sweep tile_m --out {out}",
         {"tile_m"}},
        {"flags: sweep key that routes nowhere",
         {},
         "sweep --hw " + kHw +
             " --workload {src}/workloads/examples/tiny-llama-decode.yaml --sweep nonsense=1,2 --out {out}",
         {"nonsense"}},
    });
}

TEST_CASE("an output directory that is an existing file is refused and the file left untouched",
          "[bad-input]") {
    const std::string dir = lpu::test::scratch_dir("bad-input-out-file");
    write_text(dir + "/file.txt", "keep me\n");
    const auto r = lpu::test::run_cli("run --hw " + source_path("configs/tsp-v1.yaml") + " --program " +
                                      source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm") +
                                      " --out " + dir + "/file.txt");
    CHECK(r.exit_code == 2);
    CHECK(slurp(dir + "/file.txt") == "keep me\n");
    fs::remove_all(dir);
}

// ---- Hardening, round two (issue 19; docs/bad-input.md, second table) ----

namespace {

const std::string kWorkload = "{src}/workloads/examples/tiny-llama-decode.yaml";

// Nested aliases: `levels` levels of 10 references each; a reader that follows every alias
// walks 10^levels nodes.
std::string alias_bomb(int levels) {
    std::string s = "bomb0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < levels; ++i) {
        s += "bomb" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int k = 0; k < 10; ++k) s += (k ? ", *a" : "*a") + std::to_string(i - 1);
        s += "]\n";
    }
    return s;
}

// A 100,000-deep JSON value: [[[[...]]]].
std::string deep_json(int levels) {
    return "{\"cycles\": 1, \"seconds\": 1, \"x\": " + std::string(static_cast<size_t>(levels), '[') +
           std::string(static_cast<size_t>(levels), ']') + "}\n";
}

// A complete run directory (summary.json and the CSVs) to hand-edit for `lpusim report`.
std::string run_dir_for_report() {
    static const std::string dir = [] {
        const std::string d = lpu::test::scratch_dir("bad-input-report-seed") + "/run";
        const auto r = lpu::test::run_cli("run --hw '" + source_path("configs/tsp-v1.yaml") + "' --program '" +
                                          source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm") +
                                          "' --trace off --out '" + d + "'");
        REQUIRE(r.exit_code == 0);
        return d;
    }();
    return dir;
}

std::vector<InputFile> report_dir_with(const std::string& name, const std::string& contents) {
    std::vector<InputFile> files;
    for (const auto& f : fs::directory_iterator(run_dir_for_report())) {
        const std::string n = f.path().filename().string();
        if (n.ends_with(".csv") || n == "summary.json") files.push_back({"r/" + n, slurp(f.path().string())});
    }
    for (auto& f : files)
        if (f.name == "r/" + name) f.contents = contents;
    return files;
}

const std::string kHfLlama = R"({"model_type": "llama", "hidden_size": 640,
"intermediate_size": 1280, "num_hidden_layers": 2, "num_attention_heads": 4,
"num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 4096,
"rms_norm_eps": 1e-05, "rope_theta": 10000.0)";

}  // namespace

TEST_CASE("configs the compiler cannot target are refused by validation with the physical reason",
          "[bad-input]") {
    // Each used to compile a program the chip could not run: a division by zero in the
    // matmul lowering (mem.slices=2), or an error at a line of the compiled program.
    const std::string run = "run --hw " + kHw + " --workload " + kWorkload + " --out {out} ";
    check_all({
        {"config: mem.slices=2 with 4 MXM planes", {}, run + "--set mem.slices=2",
         {"--set mem.slices=2", "mem.slices", "MXM planes"}},
        {"config: streams.registers_per_direction=1", {}, run + "--set streams.registers_per_direction=1",
         {"streams.registers_per_direction", "stream plan"}},
        {"config: icu.queues=1", {}, run + "--set icu.queues=1", {"icu.queues", "one per functional unit"}},
        {"config: icu.queues=1 (check-config)", {}, "check-config " + kHw + " --set icu.queues=1", {"icu.queues"}},
        {"config: memory_interface.kind: hbm without its parameters", {},
         run + "--set memory_interface.kind=hbm",
         {"--set memory_interface.kind=hbm", "memory_interface.kind", "channels"}},
        {"config: --set nosuch.path=1 is reported at the flag", {}, run + "--set nosuch.path=1",
         {"--set nosuch.path=1: nosuch"}},
        {"workload: tile_m above mxm.accumulator_rows=1, at the workload's line", {},
         run + "--set mxm.accumulator_rows=1",
         {"workloads/examples/tiny-llama-decode.yaml:26:", "mapping.tile_m", "accumulator_rows"}},
        {"workload: streamed weights beyond the off-chip capacity (capacity_bytes=1)", {},
         "run --hw {src}/configs/seed-lpu.yaml --set memory_interface.capacity_bytes=1 --workload " + kWorkload +
             " --wset weights.location=memory_interface --out {out}",
         {"does not fit", "capacity_bytes"}, "", 1},
        {"workload: a gemm over 8192 chips is refused before compiling", {},
         "run --hw " + kHw + " --set system.chips=65536 --workload {src}/workloads/examples/gemm-2048x8192x8192.yaml "
         "--wset chips=8192 --out {out}",
         {"8192 chips", "at most"}, "", 1},
    });
}

TEST_CASE("a run with mxm.rows=1 is refused at the workload's tile_k, which the array cannot hold", "[bad-input]") {
    // the tiny workload gives tile_k: 320; a 1-row array holds k-tiles of 1 row (issue 12: no
    // silent clamping); with tile_k=1 the same run compiles to a program the chip runs
    const std::string base = "run --hw " + source_path("configs/tsp-v1.yaml") + " --set mxm.rows=1 --workload " +
                             source_path("workloads/examples/tiny-llama-decode.yaml") + " --trace off";
    const auto r = lpu::test::run_cli(base);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("tiny-llama-decode.yaml:") != std::string::npos);
    CHECK(r.err.find("mapping.tile_k") != std::string::npos);
    CHECK(r.err.find("mxm.rows = 1") != std::string::npos);
    const auto ok = lpu::test::run_cli(base + " --wset mapping.tile_k=1");
    INFO(ok.err);
    CHECK(ok.exit_code == 0);
}

TEST_CASE("alias bombs, unknown tags, second documents and odd line endings are refused quickly",
          "[bad-input]") {
    const std::string cfg = slurp(source_path("configs/tsp-v1.yaml"));
    const std::string wl = slurp(source_path("workloads/examples/tiny-llama-decode.yaml"));
    const std::string hw_args = "run --hw {in}/hw.yaml --program " + kProgram + " --out {out}";
    const std::string wl_args = "run --hw " + kHw + " --workload {in}/wl.yaml --out {out}";
    // 9 levels: 10^9 nodes if aliases were expanded (8 levels took 26-58 s before).
    const std::string bomb = alias_bomb(9);
    std::string cr_only = wl;
    for (auto& c : cr_only)
        if (c == '\n') c = '\r';
    check_all({
        {"config: 9-level alias bomb under an unknown key", {{"hw.yaml", cfg + bomb}}, hw_args,
         {"{in}/hw.yaml:", "bomb0"}},
        {"workload: 9-level alias bomb under an unknown key", {{"wl.yaml", wl + bomb}}, wl_args,
         {"{in}/wl.yaml:", "bomb0"}},
        {"workload: an alias bomb as a known field's value",
         {{"wl.yaml", bomb + edited(wl, "batch: 2", "batch: *a8")}}, wl_args, {"{in}/wl.yaml:"}},
        {"workload: unknown tag (!foo)", {{"wl.yaml", edited(wl, "batch: 2", "batch: !foo 2")}}, wl_args,
         {loc("wl.yaml", line_of(wl, "batch: 2")), "!foo"}},
        {"workload: a second YAML document", {{"wl.yaml", wl + "---\nbatch: 3\n"}}, wl_args,
         {"{in}/wl.yaml:", "second YAML document"}},
        // yaml-cpp 0.7's LoadAll loops forever on this (found by fuzz_config).
        {"workload: ',inkdk:' (a lone comma)", {{"wl.yaml", ",inkdk:"}}, wl_args, {"{in}/wl.yaml"}},
        {"workload: CR-only line endings", {{"wl.yaml", cr_only}}, wl_args, {loc("wl.yaml", 1), "carriage return"}},
        {"workload: a byte-order mark mid-file, at its line",
         {{"wl.yaml", edited(wl, "batch: 2", "batch: 2\n\xef\xbb\xbfphase: decode")}}, wl_args,
         {loc("wl.yaml", line_of(wl, "batch: 2") + 1), "byte-order mark"}},
    });
}

TEST_CASE("numbers and booleans must be written as such, text without control characters", "[bad-input]") {
    const std::string wl = slurp(source_path("workloads/examples/tiny-llama-decode.yaml"));
    const std::string model = slurp(source_path("workloads/models/tiny-llama.yaml"));
    const std::string args = "run --hw " + kHw + " --workload {in}/wl.yaml --out {out}";
    const int batch = line_of(wl, "batch: 2");
    const auto with_model = [&](const std::string& file, const std::string& text) {
        return std::vector<InputFile>{{"wl.yaml", edited(wl, "model: tiny-llama", "model: " + file)}, {file, text}};
    };
    check_all({
        {"workload: batch: \"12\" (quoted)", {{"wl.yaml", edited(wl, "batch: 2", "batch: \"12\"")}}, args,
         {loc("wl.yaml", batch), "batch", "not quoted text"}},
        {"workload: batch: !!str 4", {{"wl.yaml", edited(wl, "batch: 2", "batch: !!str 4")}}, args,
         {loc("wl.yaml", batch), "batch"}},
        {"workload: batch: \" 4\"", {{"wl.yaml", edited(wl, "batch: 2", "batch: \" 4\"")}}, args,
         {loc("wl.yaml", batch), "batch"}},
        {"model: tie_word_embeddings: \"yes\" (HF config.json)",
         with_model("config.json", kHfLlama + ", \"tie_word_embeddings\": \"yes\"}\n"), args,
         {"{in}/config.json:", "tie_word_embeddings", "not quoted"}},
        {"model: llama with num_local_experts: 8 (a mixture of experts)",
         with_model("config.json", kHfLlama + ", \"num_local_experts\": 8, \"num_experts_per_tok\": 2}\n"), args,
         {"{in}/config.json:", "num_local_experts"}},
        {"model: llama with use_sliding_window: true",
         with_model("config.json", kHfLlama + ", \"use_sliding_window\": true, \"sliding_window\": 64}\n"), args,
         {"{in}/config.json:", "use_sliding_window"}},
        {"model: a name with a newline",
         with_model("m.yaml", edited(model, "name: tiny-llama", "name: \"tiny\\nllama\"")), args,
         {"{in}/m.yaml:", "name", "\\x0a"}},
        {"model: a name with U+202E (right-to-left override), shown escaped",
         with_model("m.yaml", edited(model, "name: tiny-llama", "name: \"tiny\xe2\x80\xaellama\"")), args,
         {"{in}/m.yaml:", "name", "\\u{202e}"}},
        {"flags: --seed -1", {}, args + " --seed -1", {"--seed", "-1"}},
        {"flags: --trace-chips -1", {}, args + " --trace-chips -1", {"--trace-chips"}},
        {"flags: --trace-layers checked without --out", {}, "run --hw " + kHw + " --program " + kProgram +
         " --trace-layers 3:x", {"--trace-layers", "3:x"}},
    });
    // The positive side: the bundled files, written plainly, still load.
    CHECK(lpu::test::run_cli("check-config " + source_path("configs/tsp-v1.yaml")).exit_code == 0);
}

TEST_CASE("programs that would run without bound stop at --max-instructions with exit 1", "[bad-input]") {
    const std::string args = "run --hw " + kHw + " --program {in}/p.lpuasm --out {out}";
    check_all({
        {"program: a nop repeated 2^32 times",
         {{"p.lpuasm", ".queue mem 0\na: icu.nop cycles=1000000\n    icu.repeat count=4294967295 from=a\n"}}, args,
         {"{in}/p.lpuasm:3", "--max-instructions"}, "", 1},
        {"program: a repeat of itself 2^32 times",
         {{"p.lpuasm", ".queue mem 0\nr: icu.repeat count=4294967295 from=r\n"}}, args,
         {"{in}/p.lpuasm:2", "--max-instructions"}, "", 1},
        {"program: nested repeats whose product is beyond the bound",
         {{"p.lpuasm", ".queue mem 0\na: icu.nop cycles=1\nb: icu.repeat count=100000 from=a\n"
                       "    icu.repeat count=100000 from=a\n"}}, args,
         {"{in}/p.lpuasm:", "--max-instructions"}, "", 1},
        {"program: the bundled gemm under --max-instructions 10", {},
         "run --hw " + kHw + " --program " + kProgram + " --max-instructions 10 --out {out}",
         {"--max-instructions = 10"}, "", 1},
        {"flags: --max-instructions 0", {}, "run --hw " + kHw + " --program " + kProgram + " --max-instructions 0",
         {"--max-instructions"}},
    });
    // Under the bound the same loop runs: 1 + 3 x (1 + 1) + 1 = 8 dynamic instructions.
    const std::string dir = lpu::test::scratch_dir("bad-input-repeat-ok");
    write_text(dir + "/p.lpuasm", ".queue mem 0\na: icu.nop cycles=1\n    icu.repeat count=3 from=a\n");
    const auto ok = lpu::test::run_cli("run --hw " + source_path("configs/tsp-v1.yaml") + " --program " + dir +
                                       "/p.lpuasm --max-instructions 8");
    CHECK(ok.exit_code == 0);
    const auto over = lpu::test::run_cli("run --hw " + source_path("configs/tsp-v1.yaml") + " --program " + dir +
                                         "/p.lpuasm --max-instructions 7");
    CHECK(over.exit_code == 1);
    fs::remove_all(dir);
}

TEST_CASE("endless, huge and blocking inputs are refused while reading", "[bad-input]") {
    const std::string run = "run --hw " + kHw + " --program ";
    std::vector<BadInput> cases = {
        {"binary: a 10 MB file of NUL bytes gives a short message", {{"p.bin", std::string(10u << 20, '\0')}},
         run + "{in}/p.bin --out {out}", {"{in}/p.bin"}},
        {"flags: --hw is a FIFO", {}, "run --hw {in}/fifo --program " + kProgram + " --out {out}",
         {"{in}/fifo", "FIFO"}, "mkfifo {in}/fifo; "},
        {"flags: --program is a FIFO", {}, run + "{in}/fifo --out {out}", {"{in}/fifo", "FIFO"},
         "mkfifo {in}/fifo; "},
    };
#if !defined(__SANITIZE_ADDRESS__)
    // The ulimit keeps a wrong implementation (reading all of /dev/zero) from taking the machine.
    cases.push_back({"binary: disasm /dev/zero", {}, "disasm /dev/zero", {"/dev/zero", "bytes"}, "ulimit -v 4000000; "});
    cases.push_back({"program: run --program /dev/zero", {}, run + "/dev/zero --out {out}", {"/dev/zero", "bytes"},
                     "ulimit -v 4000000; "});
#endif
    check_all(cases);
}

TEST_CASE("output that cannot be written is refused or reported with nothing left behind", "[bad-input]") {
    const std::string run = "run --hw " + kHw + " --program " + kProgram;
    check_all({
        {"output: stdout on a full device (describe >/dev/full)", {}, "describe --hw " + kHw,
         {"cannot write standard output"}, "", 1, " >/dev/full"},
        {"output: the disk fills while writing --out (ulimit -f)", {}, run + " --out {out} --vcd {in}/t.vcd",
         {"cannot write {out}/"}, "trap '' XFSZ; ulimit -f 20; ", 1},
        {"output: --out d where d/summary.json is a directory", {{"out/summary.json/keep", "x"}},
         run + " --out {in}/out", {"--out", "summary.json"}},
        {"output: --out under a read-only place", {}, run + " --out /sys/lpusim-cannot-write", {"--out"}},
        {"output: --vcd in a directory that does not exist", {}, run + " --vcd {in}/none/x.vcd --out {out}",
         {"--vcd"}},
        {"output: asm -o onto its own input", {{"x.lpuasm", slurp(source_path(
                                                  "workloads/examples/programs/gemm-8x320x320-int8.lpuasm"))}},
         "asm {in}/x.lpuasm -o {in}/x.lpuasm", {"-o", "overwrite"}},
    });
    CHECK_FALSE(fs::exists("/sys/lpusim-cannot-write"));
    // The error message cannot be written at all: still exit 2, not SIGABRT (134) from an
    // exception thrown while reporting one.
    const std::string dir = lpu::test::scratch_dir("bad-input-stderr-full");
    const Outcome o = run_bounded("check-config " + dir + "/nonexistent", dir, "", " 2>/dev/full");
    CHECK(o.exit_code == 2);
    fs::remove_all(dir);
}

TEST_CASE("a run killed by SIGINT, SIGTERM or SIGHUP leaves nothing in or beside --out", "[bad-input]") {
    const std::string dir = lpu::test::scratch_dir("bad-input-signals");
    // A long but bounded loop: 30 M dynamic instructions, several seconds of simulation.
    write_text(dir + "/loop.lpuasm", ".queue mem 0\na: icu.nop cycles=1\n    icu.repeat count=15000000 from=a\n");
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) {
        INFO("signal " << sig);
        const std::string out = dir + "/out" + std::to_string(sig);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::signal(sig, SIG_DFL);  // a shell's background job would ignore SIGINT
            const std::string hw = source_path("configs/tsp-v1.yaml");
            const std::string prog = dir + "/loop.lpuasm";
            ::freopen("/dev/null", "w", stdout);
            ::execl(LPUSIM_BINARY, "lpusim", "run", "--hw", hw.c_str(), "--program", prog.c_str(), "--out",
                    out.c_str(), "--trace", "on", static_cast<char*>(nullptr));
            ::_exit(127);
        }
        // Wait until the staging directory exists (the run has started writing), then signal.
        bool staged = false;
        for (int i = 0; i < 200 && !staged; ++i) {
            for (const auto& e : fs::directory_iterator(dir))
                staged = staged || e.path().filename().string().rfind(".out" + std::to_string(sig) + ".tmp.", 0) == 0;
            if (!staged) ::usleep(20000);
        }
        CHECK(staged);
        ::usleep(300000);
        ::kill(pid, sig);
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == sig);
        CHECK_FALSE(fs::exists(out));
        for (const auto& e : fs::directory_iterator(dir)) CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
    }
    fs::remove_all(dir);
}

TEST_CASE("lpusim report refuses hand-edited summaries and tables", "[bad-input]") {
    const std::string summary = slurp(run_dir_for_report() + "/summary.json");
    const std::string breakdown = slurp(run_dir_for_report() + "/breakdown.csv");
    const size_t second_line = breakdown.find('\n') + 1;
    const std::string first_row = breakdown.substr(second_line, breakdown.find('\n', second_line) - second_line);
    const std::string nan_row = first_row.substr(0, first_row.rfind(',')) + ",nan";
    const std::string cut_row = first_row.substr(0, first_row.rfind(',')) + ",";
    check_all({
        {"report: summary.json nested 100,000 levels", report_dir_with("summary.json", deep_json(100000)),
         "report {in}/r", {"{in}/r/summary.json", "nesting"}},
        {"report: summary.json with cycles: \"lots\"",
         report_dir_with("summary.json", edited(summary, "\"cycles\": ", "\"cycles\": \"lots\", \"was\": ")),
         "report {in}/r", {"{in}/r/summary.json", "cycles", "lots"}},
        {"report: summary.json with chips: -1",
         report_dir_with("summary.json", edited(summary, "{", "{\n  \"chips\": -1,")), "report {in}/r",
         {"{in}/r/summary.json", "chips"}},
        {"report: breakdown.csv with NaN", report_dir_with("breakdown.csv", edited(breakdown, first_row, nan_row)),
         "report {in}/r", {"{in}/r/breakdown.csv:2", "bytes_total"}},
        {"report: breakdown.csv with a truncated row",
         report_dir_with("breakdown.csv", edited(breakdown, first_row, cut_row)), "report {in}/r",
         {"{in}/r/breakdown.csv:2"}},
        {"report: breakdown.csv with a NUL byte",
         report_dir_with("breakdown.csv", edited(breakdown, first_row, first_row + std::string(1, '\0'))),
         "report {in}/r", {"{in}/r/breakdown.csv:2", "NUL"}},
    });
}

TEST_CASE("a sweep resumed after killed points removes their temporaries and reruns garbled points",
          "[bad-input]") {
    const std::string dir = lpu::test::scratch_dir("bad-input-sweep");
    const std::string sweep = "sweep --hw " + source_path("configs/tsp-v1.yaml") + " --workload " +
                              source_path("workloads/examples/tiny-llama-decode.yaml") +
                              " --sweep tile_m=32 --out " + dir + "/s";
    REQUIRE(lpu::test::run_cli(sweep).exit_code == 0);
    std::string point;
    for (const auto& e : fs::directory_iterator(dir + "/s/points")) point = e.path().string();
    REQUIRE_FALSE(point.empty());
    for (const std::string& garbled : std::vector<std::string>{"[1,2]", "null", "{\"id\": 5}", std::string(100000, '[')}) {
        INFO("done.json: " << garbled.substr(0, 20));
        write_text(point + "/done.json", garbled);
        write_text(point + "/summary.json.tmp.999999", "partial");
        fs::create_directories(dir + "/s/points/.x.tmp.999999.0");
        write_text(dir + "/s/points/.x.tmp.999999.0/trace.json", "partial");
        const auto r = lpu::test::run_cli(sweep);
        INFO(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.err.find("internal error") == std::string::npos);
        CHECK_FALSE(fs::exists(point + "/summary.json.tmp.999999"));
        CHECK_FALSE(fs::exists(dir + "/s/points/.x.tmp.999999.0"));
        CHECK(slurp(point + "/done.json").find("\"result\"") != std::string::npos);  // run again
    }
    fs::remove_all(dir);
}
