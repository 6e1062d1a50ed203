#include "tools/sweep/store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/json_input.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace lpu::sweep {

namespace {

json axes_record(const Space& space) {
    json axes = json::array();
    for (const Axis& a : space.axes()) {
        json keys = json::array(), routes = json::array();
        for (const auto& k : a.keys) {
            keys.push_back(k.key);
            routes.push_back(passed_as(k));
        }
        json values = json::array();
        for (const auto& tuple : a.values)
            values.push_back(tuple.size() == 1 ? json(tuple.front()) : json(tuple));
        axes.push_back({{"from", a.origin}, {"keys", keys}, {"passed_as", routes}, {"values", values}});
    }
    return axes;
}

std::string describe_difference(const json& before, const json& now) {
    std::string diff;
    std::set<std::string> keys;
    for (const auto& [k, v] : before.items()) keys.insert(k);
    for (const auto& [k, v] : now.items()) keys.insert(k);
    for (const auto& k : keys) {
        const std::string a = before.contains(k) ? before[k].dump() : "(absent)";
        const std::string b = now.contains(k) ? now[k].dump() : "(absent)";
        if (a != b) diff += fmt::format("{}{}: {} then, {} now", diff.empty() ? "" : "; ", k, a, b);
    }
    return diff;
}

}  // namespace

void make_sweep_dirs(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir + "/points", ec);
    if (ec || !fs::is_directory(dir + "/points"))
        throw InputError({"--out", 0, 0}, "--out", dir, "a directory that can be created and written");
}

void remove_stale_temporaries(const std::string& dir) {
    // What a killed run leaves: staging directories (common/staging_dir.hpp) beside the points
    // and "NAME.tmp.PID" files of write_file_atomic inside them. Only called under the lock,
    // so no live process of this sweep is writing them.
    const auto is_temporary = [](const fs::path& p) { return p.filename().string().find(".tmp.") != std::string::npos; };
    std::error_code ec;
    std::vector<fs::path> stale;
    for (const fs::path& d : {fs::path(dir), fs::path(dir) / "points"}) {
        for (auto it = fs::directory_iterator(d, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
            if (is_temporary(it->path())) {
                stale.push_back(it->path());
            } else if (d != fs::path(dir) && it->is_directory(ec)) {
                for (auto in = fs::directory_iterator(it->path(), ec); !ec && in != fs::directory_iterator(); in.increment(ec))
                    if (is_temporary(in->path())) stale.push_back(in->path());
                ec.clear();
            }
        }
        ec.clear();
    }
    for (const auto& p : stale) fs::remove_all(p, ec);
}

DirLock::DirLock(const std::string& dir) {
    const std::string path = dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);  // CLOEXEC: points must not hold it
    if (fd_ < 0)
        throw InputError({"--out", 0, 0}, "--out", dir,
                         fmt::format("a writable directory ({})", std::strerror(errno)));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        fd_ = -1;
        throw InputError(
            {"--out", 0, 0},
            fmt::format(
                "another lpusim sweep is writing into {} ({} is locked); wait for it or use another --out",
                dir, path));
    }
}

DirLock::~DirLock() {
    if (fd_ >= 0) ::close(fd_);
}

DirLock::DirLock(DirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }

DirLock& DirLock::operator=(DirLock&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
}

void check_and_write_sweep_record(const std::string& dir, const std::vector<std::string>& command_line,
                                  const Space& space, const json& base) {
    const std::string path = dir + "/sweep.json";
    if (fs::exists(path)) {
        json before;
        try {
            before = parse_json_text(read_file(path, size_t{64} << 20), path);  // nesting bounded
        } catch (const InputError&) {
            before = nullptr;
        }
        if (!before.is_object() || !before.contains("base"))
            throw InputError({path, 0, 0}, "not a sweep record; use another --out or remove it");
        if (before["base"] != base)
            throw InputError(
                {path, 0, 0},
                fmt::format("{} holds a sweep with other base arguments ({}); points of different inputs "
                            "must not be mixed: use another --out, or remove {} to start over",
                            dir, describe_difference(before["base"], base), dir));
    }
    json rec;
    rec["lpusim_sweep"] = 1;
    rec["command"] = command_line;
    rec["base"] = base;
    rec["axes"] = axes_record(space);
    rec["points"] = space.size();
    write_file_atomic(path, rec.dump(2) + "\n");
}

std::optional<json> load_done(const std::string& point_dir, const std::string& id) {
    const std::string path = point_dir + "/done.json";
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::nullopt;
    std::string text;
    try {
        text = read_file(path, size_t{64} << 20);
    } catch (const InputError&) {
        return std::nullopt;
    }
    json j;
    try {
        j = parse_json_text(text, path);
    } catch (const InputError&) {
        return std::nullopt;  // garbled: the point is run again
    }
    // Anything but the object write_done writes (a hand edit, [1,2], null) is not a result.
    if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || j["id"] != id || !j.contains("result") ||
        !j["result"].is_object() || !j["result"].contains("status"))
        return std::nullopt;
    return j["result"];
}

void write_done(const std::string& point_dir, const std::string& id, const std::vector<std::string>& run_args,
                const json& result, double wall_s) {
    json done;
    done["id"] = id;
    done["run"] = run_args;
    done["result"] = result;
    done["wall_s"] = wall_s;
    write_file_atomic(point_dir + "/done.json", done.dump(2) + "\n");
}

LiveResults::LiveResults(std::string dir, std::vector<RoutedKey> keys)
    : dir_(std::move(dir)), keys_(std::move(keys)) {}

LiveResults::~LiveResults() {
    if (fd_ >= 0) ::close(fd_);
}

std::vector<const Row*> LiveResults::sorted_rows() const {
    std::vector<const Row*> p;
    for (const auto& [i, r] : rows_) p.push_back(&r);
    return p;
}

void LiveResults::start() {
    write_all();
    const std::string path = dir_ + "/results.jsonl";
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error(fmt::format("cannot append to {}: {}", path, std::strerror(errno)));
}

void LiveResults::add(Row row) {
    const std::string line = jsonl_line(row);
    rows_[row.point] = std::move(row);
    if (fd_ >= 0 && ::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        throw std::runtime_error(
            fmt::format("cannot append to {}/results.jsonl: {}", dir_, std::strerror(errno)));
    const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_csv_).count();
    if (rows_.size() <= 2000 || since >= 1.0) write_csv();
}

void LiveResults::write_all() {
    write_file_atomic(dir_ + "/results.jsonl", results_jsonl(sorted_rows()));
    write_csv();
}

void LiveResults::write_csv() {
    write_file_atomic(dir_ + "/results.csv", results_csv(keys_, sorted_rows()));
    last_csv_ = std::chrono::steady_clock::now();
}

}  // namespace lpu::sweep
