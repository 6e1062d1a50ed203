// lpusim: command-line front end. Dispatches to subcommands and maps errors to exit codes
// (0 ok, 1 simulation or compile error, 2 bad input).
#include <fmt/format.h>

#include <cstdio>
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

int main(int argc, char** argv) {
    using namespace lpu;
    using namespace lpu::cli;
    if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h" ||
        std::string_view(argv[1]) == "help") {
        print_usage();
        return argc < 2 ? kExitBadInput : kExitOk;
    }
    if (std::string_view(argv[1]) == "--version" || std::string_view(argv[1]) == "version") {
        fmt::print("{}\n", lpusim_version_line());
        return kExitOk;
    }
    const std::string name = argv[1];
    const Args args(argv + 2, argv + argc);
    try {
        for (const auto& c : commands())
            if (name == c.name) return c.run(args);
        fmt::print(stderr, "lpusim: error: unknown command '{}'; expected one of:", name);
        for (const auto& c : commands()) fmt::print(stderr, " {}", c.name);
        fmt::print(stderr, "\n");
        return kExitBadInput;
    } catch (const InputError& e) {
        fmt::print(stderr, "lpusim: error: {}\n", e.what());
        return kExitBadInput;
    } catch (const SimulationError& e) {
        fmt::print(stderr, "lpusim: {}\n", e.what());
        return kExitSimulationError;
    } catch (const std::bad_alloc&) {
        fmt::print(stderr, "lpusim: error: out of memory\n");
        return kExitSimulationError;
    } catch (const std::exception& e) {
        fmt::print(stderr, "lpusim: internal error: {}\n", e.what());
        return kExitSimulationError;
    }
}
