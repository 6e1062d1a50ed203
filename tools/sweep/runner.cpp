#include "tools/sweep/runner.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "common/atomic_file.hpp"
#include "common/json_input.hpp"
#include "common/input_error.hpp"
#include "tools/sweep/process.hpp"
#include "tools/sweep/progress.hpp"
#include "tools/sweep/report.hpp"
#include "tools/sweep/results.hpp"
#include "tools/sweep/store.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace lpu::sweep {

namespace {

const SourceLocation kCommandLine{"command line", 0, 0};

std::string absolute_path(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// "k=v" -> "k"; malformed -> InputError naming the flag.
std::string assignment_key(const std::string& flag, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError({"--" + flag + " " + assignment, 0, 0}, "--" + flag, assignment,
                         "dotted.path=value");
    return assignment.substr(0, eq);
}

// --- signals: SIGINT / SIGTERM stop the sweep cleanly (running points are ended) -------

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

class SignalGuard {
public:
    SignalGuard() {
        g_stop_signal = 0;
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: a blocked waitpid() returns EINTR
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(SIGCHLD, &dfl, &old_chld_);  // an inherited SIG_IGN would make waitpid fail
    }
    ~SignalGuard() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
        sigaction(SIGCHLD, &old_chld_, nullptr);
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

private:
    using SigAction = struct sigaction;
    SigAction old_int_{};
    SigAction old_term_{};
    SigAction old_chld_{};
};

struct PointPlan {
    std::vector<Assignment> params;
    std::string id;
    std::string dir;
};

std::string describe_params(const std::vector<Assignment>& params) {
    std::string s;
    for (const auto& a : params) s += fmt::format("{}{}={}", s.empty() ? "" : " ", a.key.key, a.value);
    return s;
}

struct Running {
    size_t index;
    std::vector<std::string> args;
    Clock::time_point start;
};

size_t env_stop_after() {
    const char* v = std::getenv("LPUSIM_SWEEP_STOP_AFTER");
    if (!v || !*v) return 0;
    return static_cast<size_t>(std::strtoull(v, nullptr, 10));
}

// What a finished process leaves: the point's result, and whether it is final (done.json).
json collect_result(const PointPlan& plan, const ExitStatus& st, bool& final_result) {
    final_result = false;
    std::string log;
    try {
        log = read_file(plan.dir + "/log.txt");
    } catch (const InputError&) {
    }
    if (st.exited() && st.exit_code == 0) {
        try {
            // a served load's point writes serving.json (docs/serving.md), a run summary.json
            const bool served = std::filesystem::exists(plan.dir + "/serving.json");
            const nlohmann::json summary = read_json_file(plan.dir + (served ? "/serving.json" : "/summary.json"));
            final_result = true;
            return ok_result(summary);
        } catch (const std::exception& e) {
            return error_result(
                0, fmt::format("lpusim run exited 0 but its summary.json is unreadable: {}", e.what()));
        }
    }
    if (st.exited() && (st.exit_code == 1 || st.exit_code == 2)) {
        // Deterministic failures (bad value, does not fit): recorded and not retried.
        final_result = true;
        return error_result(st.exit_code, first_error_line(log));
    }
    // Killed, crashed or could not start: recorded, and retried by a restart.
    return error_result(st.shell_code(), fmt::format("lpusim run {}", st.describe()));
}

}  // namespace

// The sweep's base inputs are hashed whole: bounded like the largest input a run reads
// (a program, isa::kMaxProgramBytes).
constexpr size_t kMaxBaseInputBytes = size_t{256} << 20;

nlohmann::ordered_json base_record(const BaseRun& base) {
    json j;
    j["hw"] = absolute_path(base.hw);
    j["hw_fnv64"] = fnv1a64_hex(read_input_file(base.hw, kMaxBaseInputBytes));
    const bool program = !base.program.empty();
    const std::string& input = program ? base.program : base.workload;
    j[program ? "program" : "workload"] = absolute_path(input);
    j[program ? "program_fnv64" : "workload_fnv64"] = fnv1a64_hex(read_input_file(input, kMaxBaseInputBytes));
    j["set"] = base.sets;
    j["wset"] = base.wsets;
    j["functional"] = base.functional;
    return j;
}

std::vector<std::string> point_arguments(const BaseRun& base, const std::vector<Assignment>& point,
                                         const std::string& point_dir) {
    bool serve = !base.serve.empty();
    for (const auto& p : point) serve = serve || p.key.route == Route::Serve;
    std::vector<std::string> a = {serve ? "serve" : "run", "--hw", absolute_path(base.hw)};
    if (!base.program.empty()) a.insert(a.end(), {"--program", absolute_path(base.program)});
    if (!base.workload.empty()) a.insert(a.end(), {"--workload", absolute_path(base.workload)});
    for (const auto& s : base.sets) a.insert(a.end(), {"--set", s});
    for (const auto& s : base.wsets) a.insert(a.end(), {"--wset", s});
    for (const auto& s : base.serve) {
        const auto eq = s.find('=');
        a.insert(a.end(), {"--" + s.substr(0, eq), eq == std::string::npos ? "" : s.substr(eq + 1)});
    }
    for (const auto& p : point) {
        if (p.key.route == Route::Serve)
            a.insert(a.end(), {"--" + p.key.target, p.value});
        else
            a.insert(a.end(), {p.key.route == Route::Hardware ? "--set" : "--wset", p.key.target + "=" + p.value});
    }
    if (base.functional) a.push_back("--functional");
    a.insert(a.end(), {"--out", point_dir});
    if (!serve) a.insert(a.end(), {"--trace", "off"});
    return a;
}

int default_jobs(const Cluster& cluster) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
    if (cpus <= 0) cpus = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
    return std::max(1, cpus / std::max(1, cluster.local_size()));
}

Space validate_request(const SweepRequest& req) {
    const BaseRun& b = req.base;
    if (b.hw.empty()) throw InputError(kCommandLine, "--hw", "(missing)", "a hardware config file");
    if (b.program.empty() == b.workload.empty())
        throw InputError(kCommandLine, "--program/--workload", b.program.empty() ? "(neither)" : "(both)",
                         "exactly one of --program FILE or --workload FILE");
    if (req.out_dir.empty())
        throw InputError(kCommandLine, "--out", "(missing)", "an output directory for the sweep");
    if (req.jobs < 0 || req.jobs > 4096)
        throw InputError(kCommandLine, "--jobs", std::to_string(req.jobs), "1 to 4096");
    for (const std::string* m : {&req.metric, &req.pareto_x}) {
        if (m->empty() || find_metric(*m)) continue;
        std::string names;
        for (const auto& c : metric_columns()) names += (names.empty() ? "" : ", ") + c.name;
        throw InputError(kCommandLine, m == &req.metric ? "--metric" : "--pareto-x", *m, "one of " + names);
    }
    std::set<std::string> base_hw, base_wl;
    for (const auto& s : b.sets) base_hw.insert(assignment_key("set", s));
    for (const auto& s : b.wsets) base_wl.insert(assignment_key("wset", s));
    for (const auto& s : b.serve) {
        const auto& flags = serve_flags();
        if (std::find(flags.begin(), flags.end(), s.substr(0, s.find('='))) == flags.end() || s.find('=') == std::string::npos)
            throw InputError(kCommandLine, "--serve", s, fmt::format("flag=value with a flag of lpusim serve: {}", fmt::join(flags, ", ")));
        if (b.workload.empty()) throw InputError(kCommandLine, "--serve", s, "a served load needs --workload (a LLaMA workload)");
    }
    if (!b.wsets.empty() && b.workload.empty())
        throw InputError(kCommandLine, "--wset", b.wsets.front(),
                         "--wset only with --workload (a program has no workload fields)");
    Space space(req.axes);
    for (const RoutedKey& k : space.keys()) {
        if (k.route == Route::Workload && b.workload.empty())
            throw InputError(
                kCommandLine, "sweep key", k.key,
                fmt::format("a hardware key: '{}' is a workload field (--wset {}), which needs --workload",
                            k.key, k.target));
        if (k.route == Route::Serve) {
            if (b.workload.empty())
                throw InputError(kCommandLine, "sweep key", k.key, "a served load needs --workload (a LLaMA workload)");
            for (const auto& s : b.serve)
                if (s.substr(0, s.find('=')) == k.target)
                    throw InputError(kCommandLine, "sweep key", k.key, fmt::format("a key that is not also fixed by --serve {}=...", k.target));
            continue;
        }
        const auto& fixed = k.route == Route::Hardware ? base_hw : base_wl;
        if (fixed.count(k.target))
            throw InputError(kCommandLine, "sweep key", k.key,
                             fmt::format("a key that is not also fixed by --{} {}=...",
                                         k.route == Route::Hardware ? "set" : "wset", k.target));
    }
    // Unreadable, endless (/dev/zero) or a FIFO -> InputError naming the file, before any point.
    read_input_file(b.hw, kMaxBaseInputBytes);
    read_input_file(b.program.empty() ? b.workload : b.program, kMaxBaseInputBytes);
    return space;
}

SweepOutcome run_sweep(const SweepRequest& req, const Cluster& cluster) {
    const auto t0 = Clock::now();
    const Space space = validate_request(req);
    const json base = base_record(req.base);
    const std::string fingerprint = base.dump();
    const std::string dir = absolute_path(req.out_dir);
    const size_t jobs = static_cast<size_t>(req.jobs > 0 ? req.jobs : default_jobs(cluster));
    const bool root = cluster.rank() == 0;

    std::vector<PointPlan> plans(space.size());
    std::unordered_set<std::string> ids;
    for (size_t i = 0; i < plans.size(); ++i) {
        plans[i].params = space.point(i);
        plans[i].id = point_id(fingerprint, plans[i].params);
        plans[i].dir = dir + "/points/" + plans[i].id;
        if (!ids.insert(plans[i].id).second)
            throw std::runtime_error(
                fmt::format("point id collision at point {} ({}); please report", i, plans[i].id));
    }

    // Rank 0 owns the directory: the lock (one sweep at a time), sweep.json, and the rows
    // of the points done by an earlier invocation, read before any rank starts a point.
    DirLock lock;
    LiveResults live(dir, space.keys());
    std::exception_ptr setup_error;
    if (root) {
        try {
            make_sweep_dirs(dir);
            lock = DirLock(dir);
            remove_stale_temporaries(dir);
            check_and_write_sweep_record(dir, req.command_line, space, base);
            for (size_t i = 0; i < plans.size(); ++i)
                if (const auto done = load_done(plans[i].dir, plans[i].id))
                    live.rows()[i] = Row{i, plans[i].id, plans[i].params, *done};
            live.start();
        } catch (...) {
            setup_error = std::current_exception();
        }
    }
    if (!cluster.broadcast(setup_error == nullptr)) {
        if (setup_error) std::rethrow_exception(setup_error);
        SweepOutcome failed;
        failed.exit_code = kExitBadInput;
        return failed;
    }
    if (!root) make_sweep_dirs(dir);  // a node-local --out on a rank of another machine

    // This rank's points: index % ranks == rank; those done earlier are skipped.
    std::vector<size_t> pending;
    size_t mine = 0, mine_done = 0;
    const auto ranks = static_cast<size_t>(cluster.size());
    for (size_t i = static_cast<size_t>(cluster.rank()); i < plans.size(); i += ranks) {
        ++mine;
        const bool done = root ? live.rows().count(i) > 0 : load_done(plans[i].dir, plans[i].id).has_value();
        if (done)
            ++mine_done;
        else
            pending.push_back(i);
    }
    const size_t skipped = live.rows().size();  // meaningful on rank 0

    SignalGuard signals;
    Progress progress(mine, mine_done, cluster.distributed() ? fmt::format("rank {}: ", cluster.rank()) : "");
    const size_t stop_after = env_stop_after();
    std::map<pid_t, Running> running;
    std::string fresh;  // this rank's new rows, {"point", "result"} per line, for the gather
    size_t fresh_count = 0, next = 0;

    auto record = [&](size_t index, json result, bool final_result, const std::vector<std::string>& args,
                      double wall_s) {
        const PointPlan& plan = plans[index];
        if (final_result) write_done(plan.dir, plan.id, args, result, wall_s);  // last: the point is done
        const bool failed = result.value("status", "") != "ok";
        std::string outcome = failed ? "error: " + result.value("error", std::string()) : "ok";
        outcome += fmt::format(" ({:.2f} s)", wall_s);
        fresh += json{{"point", index}, {"result", result}}.dump() + "\n";
        ++fresh_count;
        if (root) live.add(Row{index, plan.id, plan.params, std::move(result)});
        progress.finished(fmt::format("point {} [{}] {}", index, plan.id, describe_params(plan.params)),
                          outcome, failed);
        if (stop_after && fresh_count == stop_after) ::raise(SIGKILL);  // test hook: an abrupt end
    };

    while ((next < pending.size() || !running.empty()) && !g_stop_signal) {
        while (!g_stop_signal && running.size() < jobs && next < pending.size()) {
            const size_t index = pending[next++];
            const PointPlan& plan = plans[index];
            std::error_code ec;
            fs::create_directories(plan.dir, ec);
            for (const char* stale : {"/summary.json", "/serving.json", "/log.txt"}) fs::remove(plan.dir + stale, ec);
            SpawnSpec spec;
            spec.program = req.executable;
            spec.argv0 = "lpusim";
            spec.args = point_arguments(req.base, plan.params, plan.dir);
            spec.log_path = plan.dir + "/log.txt";
            std::string error;
            const pid_t pid = spawn_logged(spec, error);
            if (pid < 0) {
                record(index, error_result(127, error), false, spec.args, 0.0);
                continue;
            }
            running[pid] = Running{index, spec.args, Clock::now()};
        }
        if (running.empty()) continue;
        const std::optional<ExitStatus> st = wait_any();
        if (!st) continue;  // EINTR: the loop condition sees the stop signal
        const auto it = running.find(st->pid);
        if (it == running.end()) continue;
        const Running r = it->second;
        running.erase(it);
        bool final_result = false;
        json result = collect_result(plans[r.index], *st, final_result);
        record(r.index, std::move(result), final_result, r.args, seconds_since(r.start));
    }
    progress.close();

    if (g_stop_signal) {
        const int sig = g_stop_signal;
        for (const auto& [pid, r] : running) ::kill(pid, SIGTERM);
        for (const auto& [pid, r] : running) wait_for(pid);
        if (root) live.write_all();
        fmt::print(
            stderr,
            "{}sweep interrupted by signal {}; finished points are kept, rerun the same command to resume\n",
            cluster.distributed() ? fmt::format("rank {}: ", cluster.rank()) : "", sig);
        if (cluster.distributed()) cluster.abort(128 + sig);
        SweepOutcome o;
        o.exit_code = 128 + sig;
        o.points = space.size();
        return o;
    }

    // Rank 0 gathers every rank's new rows (serialized JSON lines, MPI_Gatherv).
    const std::string all_fresh = cluster.gather(fresh);
    SweepOutcome outcome;
    outcome.points = space.size();
    outcome.skipped = skipped;
    if (!root) return outcome;
    size_t pos = 0;
    while (pos < all_fresh.size()) {
        const size_t eol = all_fresh.find('\n', pos);
        const json line = json::parse(all_fresh.substr(pos, eol - pos));
        pos = eol + 1;
        const size_t index = line["point"].get<size_t>();
        live.rows()[index] = Row{index, plans[index].id, plans[index].params, line["result"]};
        ++outcome.ran;
    }
    live.write_all();
    const std::vector<const Row*> rows = live.sorted_rows();
    for (const Row* r : rows) outcome.failed += r->ok() ? 0 : 1;
    outcome.wall_s = seconds_since(t0);

    ReportInput report;
    report.dir = dir;
    report.keys = space.keys();
    report.rows = rows;
    report.metric = req.metric;
    report.pareto_x = req.pareto_x;
    report.sweep_record = read_json_file(dir + "/sweep.json");
    report.summary = fmt::format(
        "{} points: {} run now, {} done earlier, {} failed; {} with {} job(s){}", outcome.points, outcome.ran,
        outcome.skipped, outcome.failed, Progress::format_duration(outcome.wall_s), jobs,
        cluster.distributed() ? fmt::format(" on each of {} MPI ranks", cluster.size()) : "");
    const ReportOutput out = write_report(report);

    fmt::print("sweep: {}\n", report.summary);
    if (outcome.ran > 0 && outcome.wall_s > 0)
        fmt::print("sweep: {:.0f} points/min\n", static_cast<double>(outcome.ran) * 60.0 / outcome.wall_s);
    for (const auto& line : out.best_lines) fmt::print("best: {}\n", line);
    for (const auto& note : out.notes) fmt::print("note: {}\n", note);
    fmt::print("wrote {}/results.csv, results.jsonl, best.json", dir);
    for (const auto& f : out.plots) fmt::print(", {}", f);
    fmt::print(", sweep.html\n");
    return outcome;
}

}  // namespace lpu::sweep
