#include "tools/lpusim/commands.hpp"

namespace lpu::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> list = {
        {"describe", "print the derived figures of a hardware config (--hw FILE [--json])", cmd_describe},
        {"check-config", "validate a hardware config (FILE [--set k=v])", cmd_check_config},
        {"asm", "assemble a text program (IN.lpuasm -o OUT.bin)", cmd_asm},
        {"disasm", "disassemble a binary program (IN.bin [-o OUT.lpuasm])", cmd_disasm},
        {"run", "simulate a program or a workload (--hw FILE --program|--workload FILE [--out DIR])", cmd_run},
        {"compile", "lower a workload to per-chip assembly (--hw FILE --workload FILE --out DIR)", cmd_compile},
        {"report", "re-render the plots and report.html of a run directory (DIR)", cmd_report},
        {"serve", "serve a load of requests on the compiled system (--hw FILE --workload FILE --concurrency C|--rate R --out DIR)",
         cmd_serve},
        {"sweep", "run many points in parallel processes (--hw FILE --program|--workload FILE --sweep k=v1,v2 --out DIR)",
         cmd_sweep},
    };
    return list;
}

}  // namespace lpu::cli
