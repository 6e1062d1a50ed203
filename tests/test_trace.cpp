// The run's trace (trace.json.gz) against the Chrome trace-event format as Perfetto reads
// it: slices on one track nest (never overlap partially), every track is named and sorted by
// unit kind, counters and flow events are well formed, and the size bound holds while every
// chip keeps its coarser tracks.
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/cli_helpers.hpp"

using namespace lpu::test;
using nlohmann::json;

namespace {

std::string gunzip(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string out;
    char buf[1 << 16];
    for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    gzclose(f);
    return out;
}

int64_t ns_of(const json& us) { return std::llround(us.get<double>() * 1000); }

struct Slice {
    int64_t start, end;
    std::string name;
};
using TrackKey = std::pair<int, int>;  // pid, tid

// The unit kind order a reader scans a chip in; coarse tracks (layers, operations) first.
int rank_of(const std::string& thread) {
    const std::vector<std::string> order = {"layers", "operations", "mxm", "mem", "vxm", "sxm", "c2c", "dma", "icu"};
    for (size_t i = 0; i < order.size(); ++i)
        if (thread.rfind(order[i], 0) == 0) return static_cast<int>(i);
    return 99;
}

struct Checked {
    std::set<int> chips, coarse_chips, detailed_chips;
    size_t flows = 0;
    std::map<int, std::set<std::string>> counters;  // chip -> counter names
    std::vector<std::string> problems;              // broken rules, empty for a good trace
};

// Checks every rule of the format and returns what the trace covers and what it breaks.
Checked check_trace(const std::string& text) {
    const json j = json::parse(text);
    Checked c;
    auto problem = [&](const std::string& what) { c.problems.push_back(what); };
    if (!j.contains("traceEvents") || !j["traceEvents"].is_array()) {
        problem("no traceEvents array");
        return c;
    }
    std::map<TrackKey, std::vector<Slice>> slices;
    std::map<TrackKey, std::string> thread_name;
    std::map<TrackKey, int> sort_index;
    std::map<uint64_t, json> flow_start, flow_end;
    for (const json& e : j["traceEvents"]) {
        const std::string ph = e["ph"];
        const int pid = e["pid"];
        if (ph == "X") {
            const int64_t a = ns_of(e["ts"]), d = ns_of(e["dur"]);
            if (d < 0) problem("negative duration");
            slices[{pid, e["tid"].get<int>()}].push_back({a, a + d, e["name"]});
        } else if (ph == "M" && e["name"] == "thread_name") {
            thread_name[{pid, e["tid"].get<int>()}] = e["args"]["name"];
        } else if (ph == "M" && e["name"] == "thread_sort_index") {
            sort_index[{pid, e["tid"].get<int>()}] = e["args"]["sort_index"];
        } else if (ph == "M" && e["name"] == "process_name") {
            c.chips.insert(pid);
        } else if (ph == "C") {
            bool numbers = e["args"].is_object() && !e["args"].empty();
            for (const auto& [k, v] : e["args"].items()) numbers = numbers && v.is_number();
            if (!numbers) problem("counter without numeric values");
            c.counters[pid].insert(e["name"].get<std::string>());
        } else if (ph == "s") {
            flow_start[e["id"].get<uint64_t>()] = e;
        } else if (ph == "f") {
            if (e.value("bp", "") != "e") problem("flow end without bp:e");
            flow_end[e["id"].get<uint64_t>()] = e;
        }
    }
    // Nesting: on each track, sorted by start (longer first), a slice either starts after
    // the innermost open slice ends or ends inside it.
    for (auto& [key, v] : slices) {
        const std::string where = fmt::format("pid {} tid {}", key.first, key.second);
        if (!thread_name.count(key)) problem(where + ": track without thread_name");
        if (!sort_index.count(key)) problem(where + ": track without thread_sort_index");
        std::sort(v.begin(), v.end(), [](const Slice& a, const Slice& b) {
            return a.start != b.start ? a.start < b.start : a.end > b.end;
        });
        std::vector<int64_t> open;
        for (const Slice& s : v) {
            while (!open.empty() && open.back() <= s.start) open.pop_back();
            if (!open.empty() && s.end > open.back())
                problem(fmt::format("{}: {} at {} ns partially overlaps a slice ending at {} ns", where, s.name, s.start,
                                    open.back()));
            open.push_back(s.end);
        }
        const std::string& name = thread_name[key];
        if (name.rfind("layers", 0) == 0 || name.rfind("operations", 0) == 0)
            c.coarse_chips.insert(key.first);
        else
            c.detailed_chips.insert(key.first);
    }
    // Sorted metadata: per chip, sort indices are distinct and follow the unit kind order.
    std::map<int, std::vector<std::pair<int, std::string>>> by_chip;
    for (const auto& [key, idx] : sort_index) by_chip[key.first].emplace_back(idx, thread_name[key]);
    for (auto& [chip, v] : by_chip) {
        std::sort(v.begin(), v.end());
        for (size_t i = 1; i < v.size(); ++i) {
            if (v[i - 1].first == v[i].first) problem(fmt::format("chip {}: two tracks share sort index {}", chip, v[i].first));
            if (rank_of(v[i - 1].second) > rank_of(v[i].second))
                problem(fmt::format("chip {}: track {} sorted before {}", chip, v[i - 1].second, v[i].second));
        }
    }
    // Flows: each starts inside a c2c.send and ends inside a c2c.recv of another chip, later.
    auto enclosing = [&](const json& e) -> const Slice* {
        const auto it = slices.find({e["pid"].get<int>(), e["tid"].get<int>()});
        if (it == slices.end()) return nullptr;
        const int64_t t = ns_of(e["ts"]);
        for (const Slice& s : it->second)
            if (s.start <= t && t < std::max(s.end, s.start + 1)) return &s;
        return nullptr;
    };
    for (const auto& [id, s] : flow_start) {
        const auto f = flow_end.find(id);
        if (f == flow_end.end()) {
            problem(fmt::format("flow {} has no end", id));
            continue;
        }
        if (s["pid"] == f->second["pid"]) problem(fmt::format("flow {} stays on one chip", id));
        if (ns_of(f->second["ts"]) < ns_of(s["ts"])) problem(fmt::format("flow {} ends before it starts", id));
        const Slice *send = enclosing(s), *recv = enclosing(f->second);
        if (!send || send->name != "c2c.send") problem(fmt::format("flow {} does not start in a c2c.send", id));
        if (!recv || recv->name != "c2c.recv") problem(fmt::format("flow {} does not end in a c2c.recv", id));
    }
    if (flow_end.size() != flow_start.size()) problem("flow ends without a start");
    c.flows = flow_start.size();
    return c;
}

std::string first_problems(const Checked& c) {
    std::string out;
    for (size_t i = 0; i < c.problems.size() && i < 5; ++i) out += c.problems[i] + "\n";
    return out;
}

}  // namespace

TEST_CASE("the trace nests its slices, sorts its tracks and carries counters and c2c flows", "[trace][cli]") {
    const std::string dir = scratch_dir("trace-format");
    const auto r = run_cli(tiny_pipeline_run(dir));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string text = gunzip(dir + "/trace.json.gz");
    const Checked c = check_trace(text);
    INFO(first_problems(c));
    CHECK(c.problems.empty());
    // Two pipeline stages, both in full detail within the default bound.
    CHECK(c.chips.size() == 2);
    CHECK(c.detailed_chips == c.chips);
    CHECK(c.coarse_chips == c.chips);
    // Stage 0 hands its activations to stage 1 over C2C.
    CHECK(c.flows > 0);
    for (int chip : c.chips) {
        INFO("chip " << chip);
        CHECK(c.counters.at(chip).count("utilization (%)") == 1);
        CHECK(c.counters.at(chip).count("power (W)") == 1);
    }
}

TEST_CASE("a trace over its size bound keeps every chip's coarse tracks and stays within the bound", "[trace][cli]") {
    const std::string full = scratch_dir("trace-full"), bounded = scratch_dir("trace-bounded");
    REQUIRE(run_cli(tiny_pipeline_run(full)).exit_code == 0);
    const size_t full_bytes = gunzip(full + "/trace.json.gz").size();
    // A bound of three quarters of the full detail: it cannot all fit.
    const double bound_mb = 0.75 * static_cast<double>(full_bytes) / (1 << 20);
    const auto r = run_cli(tiny_pipeline_run(bounded, fmt::format("--trace-max-mb {}", bound_mb)));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string text = gunzip(bounded + "/trace.json.gz");
    CHECK(static_cast<double>(text.size()) <= bound_mb * (1 << 20));
    const Checked c = check_trace(text);
    INFO(first_problems(c));
    CHECK(c.problems.empty());
    CHECK(c.chips.size() == 2);
    CHECK(c.coarse_chips == c.chips);                // every chip keeps layers and operations
    CHECK(c.detailed_chips.size() < c.chips.size());  // and some lose instruction detail
    CHECK(text.find("layers and operations only") != std::string::npos);
}

TEST_CASE("the trace checker finds partial overlaps, unnamed or unsorted tracks and broken flows", "[trace]") {
    // Chip 0: mxm0 (tid 1) with two slices that overlap partially, an ICU track sorted before
    // it, and a flow that ends on the same chip, outside any receive.
    const std::string bad = R"({"traceEvents":[
{"ph":"M","pid":0,"name":"process_name","args":{"name":"chip 0"}},
{"ph":"M","pid":0,"tid":1,"name":"thread_name","args":{"name":"mxm0"}},
{"ph":"M","pid":0,"tid":1,"name":"thread_sort_index","args":{"sort_index":2}},
{"ph":"M","pid":0,"tid":2,"name":"thread_name","args":{"name":"icu0"}},
{"ph":"M","pid":0,"tid":2,"name":"thread_sort_index","args":{"sort_index":1}},
{"ph":"X","pid":0,"tid":1,"name":"mxm.abc","ts":1.000,"dur":2.000},
{"ph":"X","pid":0,"tid":1,"name":"mxm.abc","ts":2.000,"dur":2.000},
{"ph":"X","pid":0,"tid":2,"name":"icu.sync","ts":0.000,"dur":1.000},
{"ph":"X","pid":0,"tid":3,"name":"c2c.send","ts":0.000,"dur":1.000},
{"ph":"s","id":1,"pid":0,"tid":3,"ts":0.000,"name":"c2c"},
{"ph":"f","bp":"e","id":1,"pid":0,"tid":2,"ts":0.500,"name":"c2c"}
]})";
    const Checked c = check_trace(bad);
    auto found = [&](const std::string& what) {
        return std::any_of(c.problems.begin(), c.problems.end(),
                           [&](const std::string& p) { return p.find(what) != std::string::npos; });
    };
    INFO(first_problems(c));
    CHECK(found("partially overlaps"));
    CHECK(found("track without thread_name"));
    CHECK(found("sorted before"));
    CHECK(found("stays on one chip"));
    CHECK(found("does not end in a c2c.recv"));
}

TEST_CASE("the 70B int8 decode trace is within 64 MB, well formed and covers every pipeline stage", "[.slow][trace][cli]") {
    const std::string dir = scratch_dir("trace-70b");
    const auto r = run_cli("run --hw " + source_path("configs/tsp-v1-x576.yaml") + " --workload " +
                           source_path("workloads/examples/llama2-70b-decode-int8.yaml") + " --quiet --out " + dir);
    REQUIRE(r.exit_code == 0);
    const std::string text = gunzip(dir + "/trace.json.gz");
    CHECK(text.size() <= size_t{64} << 20);
    const Checked c = check_trace(text);
    INFO(first_problems(c));
    CHECK(c.problems.empty());
    const auto summary = json::parse(slurp(dir + "/summary.json"));
    CHECK(c.chips.size() == summary["simulated_chips"].get<size_t>());
    CHECK(c.coarse_chips == c.chips);
    CHECK(c.flows > 0);
    for (int chip : c.chips) CHECK((c.counters.count(chip) == 1 && c.counters.at(chip).size() == 2));
}
