// lpusim: command-line front end. Dispatches to subcommands and maps errors to exit codes
// (0 ok, 1 simulation or compile error, 2 bad input).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

#include "common/input_error.hpp"
#include "common/version.hpp"
#include "tools/lpusim/commands.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

bool parse_args(const char* command, const Args& args, po::options_description& opts,
                const po::positional_options_description& positional, po::variables_map& vm) {
    opts.add_options()("help,h", "show this help");
    try {
        po::store(po::command_line_parser(args).options(opts).positional(positional).run(), vm);
        if (vm.count("help")) {
            fmt::print("usage: lpusim {} [options]\n\n", command);
            std::ostringstream ss;
            ss << opts;
            fmt::print("{}", ss.str());
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw InputError({"command line", 0, 0}, fmt::format("lpusim {}: {} (see lpusim {} --help)", command, e.what(), command));
    }
    return true;
}

namespace {

void print_usage() {
    fmt::print(
        "lpusim: cycle-approximate simulator of a Groq-style LPU (Tensor Streaming Processor)\n\n"
        "usage: lpusim <command> [options]   (lpusim <command> --help for its options; lpusim --version)\n\ncommands:\n");
    for (const auto& c : commands()) fmt::print("  {:<14} {}\n", c.name, c.summary);
    fmt::print("\nexit codes: 0 ok, 1 simulation or compile error (e.g. model does not fit), 2 bad input\n");
}

}  // namespace
}  // namespace lpu::cli

namespace {

// Error messages go through here: stderr may be a full device or closed, and an exception
// thrown while reporting an exception would abort; what cannot be written is dropped.
void print_error(const std::string& line) noexcept {
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

// The command's results went to standard output; a full disk or a closed pipe there must not
// end with exit 0 (the output is missing or cut).
bool stdout_failed() noexcept { return std::fflush(stdout) != 0 || std::ferror(stdout); }

int report_stdout_failure() noexcept {
    const int saved = errno;
    std::clearerr(stdout);
    try {
        print_error(fmt::format("lpusim: error: cannot write standard output: {}\n", std::strerror(saved ? saved : EIO)));
    } catch (...) {
    }
    return lpu::kExitSimulationError;
}

int run_command(const std::string& name, const lpu::cli::Args& args) {
    using namespace lpu;
    using namespace lpu::cli;
    try {
        for (const auto& c : commands())
            if (name == c.name) return c.run(args);
        std::string line = fmt::format("lpusim: error: unknown command '{}'; expected one of:", quote_value(name));
        for (const auto& c : commands()) line += fmt::format(" {}", c.name);
        print_error(line + "\n");
        return kExitBadInput;
    } catch (const InputError& e) {
        print_error(fmt::format("lpusim: error: {}\n", e.what()));
        return kExitBadInput;
    } catch (const SimulationError& e) {
        print_error(fmt::format("lpusim: {}\n", e.what()));
        return kExitSimulationError;
    } catch (const OutputError& e) {
        print_error(fmt::format("lpusim: {}\n", e.what()));
        return kExitSimulationError;
    } catch (const std::bad_alloc&) {
        print_error("lpusim: error: out of memory\n");
        return kExitSimulationError;
    } catch (const std::exception& e) {
        if (std::ferror(stdout)) return report_stdout_failure();  // fmt::print found stdout broken
        print_error(fmt::format("lpusim: internal error: {}\n", e.what()));
        return kExitSimulationError;
    }
}

}  // namespace

int main(int argc, char** argv) {
    using namespace lpu;
    using namespace lpu::cli;
    int code = kExitOk;
    try {
        if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h" ||
            std::string_view(argv[1]) == "help") {
            print_usage();
            code = argc < 2 ? kExitBadInput : kExitOk;
        } else if (std::string_view(argv[1]) == "--version" || std::string_view(argv[1]) == "version") {
            fmt::print("{}\n", lpusim_version_line());
        } else {
            code = run_command(argv[1], Args(argv + 2, argv + argc));
        }
    } catch (...) {
        // print_usage on a broken stdout, or a message that could not be formatted.
        if (!std::ferror(stdout)) return kExitSimulationError;
    }
    if (stdout_failed()) return report_stdout_failure();
    return code;
}
