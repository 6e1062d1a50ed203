// Running a sweep: one `lpusim run` process per point (SystemC allows one kernel per
// process and is not thread-safe), at most --jobs at a time, results written as each point
// finishes, resumable from DIR/points/<id>/done.json, optionally spread over MPI ranks.
// The output directory layout and the file formats are described in docs/sweeps.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/sweep/cluster.hpp"
#include "tools/sweep/space.hpp"

namespace lpu::sweep {

// What every point's `lpusim run` shares.
struct BaseRun {
    std::string hw;       // hardware config file
    std::string program;  // exactly one of program / workload
    std::string workload;
    std::vector<std::string> sets;   // --set k=v, before the point's own
    std::vector<std::string> wsets;  // --wset k=v, before the point's own
    bool functional = false;
    // flag=value for `lpusim serve` (--serve): the points run served loads (docs/serving.md)
    std::vector<std::string> serve;
};

struct SweepRequest {
    BaseRun base;
    std::vector<Axis> axes;  // --points first, then the --sweep axes in command-line order
    std::string out_dir;
    int jobs = 0;          // processes at once on this rank; 0 = CPUs / MPI ranks on this machine
    std::string metric;    // heatmap and Pareto y metric; "" = tokens_per_s, or seconds for programs
    std::string pareto_x;  // Pareto x metric; "" = chips when it varies, else average_power_W_per_chip
    std::string executable = "/proc/self/exe";  // the lpusim binary run for each point
    std::vector<std::string> command_line;      // as typed, recorded in sweep.json
};

struct SweepOutcome {
    int exit_code = 0;   // 0 ran (even with failed points); 128+signal when interrupted
    size_t points = 0;   // in the whole sweep
    size_t ran = 0;      // run by this invocation (all ranks)
    size_t skipped = 0;  // already done by an earlier invocation
    size_t failed = 0;   // rows with status "error" in the final results
    double wall_s = 0;
};

// Checks everything that can be checked before a point runs (flags, key routing, files
// readable, metric names); throws InputError. Returns the parameter space.
Space validate_request(const SweepRequest& req);

// {"hw", "hw_fnv64", "program" | "workload", "..._fnv64", "set", "wset", "functional"}:
// absolute paths and content hashes of the named files, so a restart that would mix
// results of different inputs is refused. Its dump() is the fingerprint in point ids.
nlohmann::ordered_json base_record(const BaseRun& base);

// The arguments after the binary name for one point.
std::vector<std::string> point_arguments(const BaseRun& base, const std::vector<Assignment>& point,
                                         const std::string& point_dir);

// Default --jobs: CPUs this process may use, divided among the MPI ranks on this machine.
int default_jobs(const Cluster& cluster);

// Runs (or resumes) the sweep. Test hook: LPUSIM_SWEEP_STOP_AFTER=N kills this process
// with SIGKILL right after its N-th point is recorded (to test resuming).
SweepOutcome run_sweep(const SweepRequest& req, const Cluster& cluster);

}  // namespace lpu::sweep
