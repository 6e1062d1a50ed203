// A sweep's output directory: the lock that keeps two sweeps apart, sweep.json (the
// arguments, checked on restart), each point's done.json, and the live results files.
//
//   DIR/.lock                 flock()ed by the running sweep (rank 0)
//   DIR/sweep.json            base arguments + axes; a restart must have the same base
//   DIR/points/<id>/          one `lpusim run --out`: summary.json, log.txt, done.json last
//   DIR/results.jsonl         one row per line: appended as points finish, rewritten sorted at the end
//   DIR/results.csv           regenerated (atomically) in point order as points finish
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/sweep/results.hpp"
#include "tools/sweep/space.hpp"

namespace lpu::sweep {

// DIR and DIR/points, created if needed; InputError when that is impossible.
void make_sweep_dirs(const std::string& dir);
// Removes what killed runs left under `dir` (staging directories, *.tmp.PID files); call
// only while holding the DirLock.
void remove_stale_temporaries(const std::string& dir);

// An exclusive flock() on DIR/.lock for the lifetime of the object (released by the
// kernel even when the process is killed). Held already -> InputError.
class DirLock {
public:
    DirLock() = default;
    explicit DirLock(const std::string& dir);
    ~DirLock();
    DirLock(DirLock&& o) noexcept;
    DirLock& operator=(DirLock&& o) noexcept;
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;

private:
    int fd_ = -1;
};

// Refuses (InputError) a DIR/sweep.json whose "base" differs from `base`, naming the
// fields that differ; then writes sweep.json for this invocation.
void check_and_write_sweep_record(const std::string& dir, const std::vector<std::string>& command_line,
                                  const Space& space, const nlohmann::ordered_json& base);

// A finished point's result from DIR/points/<id>/done.json; nullopt when absent or not
// this point's (a done.json is written atomically, so it is never partial).
std::optional<nlohmann::ordered_json> load_done(const std::string& point_dir, const std::string& id);
// Marks a point done (written last, atomically): {"id", "run", "result", "wall_s"}.
void write_done(const std::string& point_dir, const std::string& id, const std::vector<std::string>& run_args,
                const nlohmann::ordered_json& result, double wall_s);

// Rank 0's results.jsonl and results.csv while the sweep runs.
class LiveResults {
public:
    LiveResults(std::string dir, std::vector<RoutedKey> keys);
    ~LiveResults();
    LiveResults(const LiveResults&) = delete;
    LiveResults& operator=(const LiveResults&) = delete;

    std::map<size_t, Row>& rows() { return rows_; }
    std::vector<const Row*> sorted_rows() const;

    // Rewrites both files from the rows known now (the points done earlier), then opens
    // results.jsonl for appending.
    void start();
    // One finished point: one write() of its whole line on the O_APPEND descriptor (a
    // reader never sees half a row), then results.csv regenerated: after every point up
    // to 2000 rows, at most once a second beyond (regenerating is O(rows)).
    void add(Row row);
    // Both files rewritten in point order (the end of the sweep, or an interruption).
    void write_all();

private:
    void write_csv();

    std::string dir_;
    std::vector<RoutedKey> keys_;
    std::map<size_t, Row> rows_;
    int fd_ = -1;
    std::chrono::steady_clock::time_point last_csv_ = std::chrono::steady_clock::now();
};

}  // namespace lpu::sweep
