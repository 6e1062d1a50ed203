// report: re-render the plots and report.html of a run directory from its summary.json and
// CSV files, without simulating (e.g. after editing a CSV, or where gnuplot was missing).
#include <fmt/format.h>

#include "tools/lpusim/commands.hpp"
#include "tools/report/run_report.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

int cmd_report(const Args& args) {
    po::options_description opts("report options");
    std::string dir, gnuplot = "gnuplot";
    opts.add_options()("dir", po::value(&dir)->required(), "run output directory (lpusim run --out DIR)")(
        "gnuplot", po::value(&gnuplot), "gnuplot program to draw the plots with (name on PATH or path)");
    po::positional_options_description pos;
    pos.add("dir", 1);
    po::variables_map vm;
    if (!parse_args("report", args, opts, pos, vm)) return 0;
    report::RenderOptions options;
    options.gnuplot = gnuplot;
    fmt::print("{}", report::wrote_line(dir, report::regenerate_report(dir, options)));
    return 0;
}

}  // namespace lpu::cli
