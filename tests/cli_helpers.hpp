// Run the lpusim binary from a test and capture its exit code and output.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace lpu::test {

struct CliResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string source_path(const std::string& relative) { return std::string(LPUSIM_SOURCE_DIR) + "/" + relative; }

// A scratch directory unique to this process (tests run in parallel processes).
inline std::string scratch_dir(const std::string& name) {
    std::string dir = "/tmp/lpusim-test-" + std::to_string(::getpid()) + "-" + name;
    std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
    return dir;
}

// `args` is passed to /bin/sh after the binary path; quote as needed.
// With `cwd`, the binary runs in that directory.
inline CliResult run_cli(const std::string& args, const std::string& cwd = "") {
    static int counter = 0;
    const std::string base = "/tmp/lpusim-cli-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const std::string cmd = (cwd.empty() ? "" : "cd '" + cwd + "' && ") + std::string("'") + LPUSIM_BINARY + "' " + args +
                            " >" + base + ".out 2>" + base + ".err";
    const int status = std::system(cmd.c_str());
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(base + ".out");
    r.err = slurp(base + ".err");
    std::remove((base + ".out").c_str());
    std::remove((base + ".err").c_str());
    return r;
}

inline void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// `lpusim run` arguments for tiny LLaMA on two pipeline stages (one layer each), which take
// turns: a small multi-chip run for the report and trace tests.
inline std::string tiny_pipeline_run(const std::string& out_dir, const std::string& extra = "") {
    return "run --hw " + source_path("configs/tsp-v1-x72.yaml") + " --workload " +
           source_path("workloads/examples/tiny-llama-decode.yaml") + " --wset parallelism.pipeline=2 " + extra +
           " --out " + out_dir;
}

}  // namespace lpu::test
