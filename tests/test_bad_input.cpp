// The bad-input catalogue (docs/bad-input.md): every kind of malformed input the lpusim
// command line can be given, run through the real binary. Each case must end within 20 s
// with exit code 2, one error message on standard error that names the file (and the line
// where the input has lines), and nothing written into the --out directory.
// The expectation comes from STYLE.md ("bad input ... gives one message with the file, line
// and column ... and exit code 2. Never a crash, a silent default, or a partial output file").
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
};

struct Outcome {
    int exit_code = -1;
    bool timed_out = false;
    std::string err;
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
Outcome run_bounded(const std::string& args, const std::string& scratch, const std::string& prefix) {
    const std::string cmd = prefix + "timeout -k 5 " + std::to_string(kTimeoutSeconds) + " '" +
                            LPUSIM_BINARY + "' " + args + " </dev/null >'" + scratch + "/stdout' 2>'" +
                            scratch + "/stderr'";
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.timed_out = o.exit_code == 124 || o.exit_code == 137;  // timeout's codes for TERM and KILL
    o.err = without_asan_note(slurp(scratch + "/stderr"));
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
    for (const auto& f : c.files) write_text(in + "/" + f.name, f.contents);
    auto subst = [&](const std::string& s) {
        return replace_all(replace_all(replace_all(s, "{in}", in), "{out}", out), "{src}", LPUSIM_SOURCE_DIR);
    };
    const std::string args = subst(c.args);
    const Outcome o = run_bounded(args, scratch, c.shell_prefix);
    // LPUSIM_BAD_INPUT_LOG=FILE appends every case's outcome to FILE (for docs/bad-input.md).
    if (const char* log = std::getenv("LPUSIM_BAD_INPUT_LOG"))
        std::ofstream(log, std::ios::app) << c.what << "\t" << o.exit_code << "\t" << o.err;

    INFO("case: " << c.what);
    INFO("command: lpusim " << args);
    INFO("exit code " << o.exit_code << ", stderr:\n" << o.err);
    CHECK_FALSE(o.timed_out);
    CHECK(o.exit_code == 2);
    CHECK(o.err.rfind("lpusim: error: ", 0) == 0);
    CHECK(count_lines(o.err) == 1);
    for (const auto& e : c.expect) {
        const std::string fragment = subst(e);
        INFO("expected in the message: " << fragment);
        CHECK(o.err.find(fragment) != std::string::npos);
    }
    const auto left = files_below(out);
    INFO("left in --out: " << (left.empty() ? std::string("nothing") : left.front()));
    CHECK(left.empty());
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
