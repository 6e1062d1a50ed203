// The lpusim subcommands. Each takes the arguments after its name and returns an exit code;
// errors are thrown (InputError -> 2, SimulationError -> 1) and reported by main().
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace lpu::cli {

using Args = std::vector<std::string>;

int cmd_describe(const Args& args);
int cmd_check_config(const Args& args);
int cmd_asm(const Args& args);
int cmd_disasm(const Args& args);
int cmd_run(const Args& args);
int cmd_compile(const Args& args);
int cmd_sweep(const Args& args);
int cmd_report(const Args& args);
int cmd_serve(const Args& args);

struct Command {
    const char* name;
    const char* summary;
    int (*run)(const Args&);
};
const std::vector<Command>& commands();

// Parse `args` against `opts` (positional names optional); prints help and returns false
// when --help was given. Bad flags throw InputError naming the flag.
bool parse_args(const char* command, const Args& args, boost::program_options::options_description& opts,
                const boost::program_options::positional_options_description& positional,
                boost::program_options::variables_map& vm);

}  // namespace lpu::cli
