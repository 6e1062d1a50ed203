// sweep: run `lpusim run` over the cartesian product of --sweep axes (or the points of a
// CSV file), one process per point, and gather the results (docs/sweeps.md).
#include <fmt/format.h>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "tools/lpusim/commands.hpp"
#include "tools/sweep/cluster.hpp"
#include "tools/sweep/runner.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

int cmd_sweep(const Args& args) {
    const std::string caption = fmt::format(
        "Runs `lpusim run` once per point, in separate processes, and writes DIR/results.csv,\n"
        "results.jsonl, best.json, heatmap.svg, pareto.svg and sweep.html. Rerunning the same\n"
        "command resumes: finished points are skipped.\n\n"
        "Keys: <section>.<field> of the hardware config (passed as --set), workload.<field>\n"
        "(passed as --wset <field>), or the workload aliases tile_m tile_n tile_k planes\n"
        "weight_double_buffering batch format tensor pipeline seq_len context_len.\n"
        "Values: v1,v2,...  or  start:stop:step (stop included when on the grid), or a mix.\n\n"
        "MPI: {}\n\nsweep options",
        sweep::Cluster::built_with_mpi()
            ? "built with MPI; under mpirun -np N, rank r runs the points with index % N == r"
            : "not built (configure with -DLPUSIM_MPI=ON)");
    po::options_description opts(caption);
    sweep::SweepRequest req;
    std::vector<std::string> sweeps;
    std::string points_file;
    opts.add_options()("hw", po::value(&req.base.hw)->required(), "hardware config YAML")(
        "program", po::value(&req.base.program), "program to run at every point (text assembly or binary)")(
        "workload", po::value(&req.base.workload), "workload YAML to run at every point")(
        "set", po::value(&req.base.sets)->composing(),
        "fixed hardware override for every point: dotted.path=value (repeatable)")(
        "wset", po::value(&req.base.wsets)->composing(),
        "fixed workload override for every point: dotted.path=value (repeatable)")(
        "sweep", po::value(&sweeps)->composing(),
        "an axis: key=v1,v2,... or key=start:stop:step (repeatable; first is outermost)")(
        "points", po::value(&points_file), "CSV file of points: a header row of keys, one row per point")(
        "out", po::value(&req.out_dir)->required(), "output directory (created; reused to resume)")(
        "jobs,j", po::value(&req.jobs),
        "points run at once on this machine (default: CPUs, shared by MPI ranks)")(
        "functional", "run every point in functional mode")(
        "serve", po::value(&req.base.serve)->composing(),
        "the points are served loads (lpusim serve): a fixed serve flag=value, e.g. concurrency=5 (repeatable); "
        "sweep serve.<flag> keys such as serve.concurrency=1,5,10")(
        "metric", po::value(&req.metric),
        "heatmap and Pareto metric (default tokens_per_s, or seconds for programs)")(
        "pareto-x", po::value(&req.pareto_x),
        "Pareto x axis (default chips when it varies, else average_power_W_per_chip)");
    po::variables_map vm;
    if (!parse_args("sweep", args, opts, {}, vm)) return kExitOk;
    req.base.functional = vm.count("functional") > 0;
    if (vm.count("jobs") && req.jobs < 1)
        throw InputError({"command line", 0, 0}, "--jobs", std::to_string(req.jobs), "at least 1");
    if (!points_file.empty())
        req.axes.push_back(sweep::parse_points_csv(read_input_file(points_file, size_t{16} << 20), points_file));
    for (const auto& s : sweeps) req.axes.push_back(sweep::parse_sweep_arg(s));
    req.command_line = args;

    const sweep::Cluster cluster;  // MPI_Init under mpirun (when built with MPI)
    return sweep::run_sweep(req, cluster).exit_code;
}

}  // namespace lpu::cli
