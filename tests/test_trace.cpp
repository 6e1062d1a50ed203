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
};

// Checks every rule of the format and returns what the trace covers.
Checked check_trace(const std::string& text) {
    const json j = json::parse(text);
    REQUIRE(j["traceEvents"].is_array());
    std::map<TrackKey, std::vector<Slice>> slices;
    std::map<TrackKey, std::string> thread_name;
    std::map<TrackKey, int> sort_index;
    std::map<uint64_t, json> flow_start, flow_end;
    Checked c;
    for (const json& e : j["traceEvents"]) {
        const std::string ph = e["ph"];
        const int pid = e["pid"];
        if (ph == "X") {
            const int64_t a = ns_of(e["ts"]), d = ns_of(e["dur"]);
            REQUIRE(d >= 0);
            slices[{pid, e["tid"].get<int>()}].push_back({a, a + d, e["name"]});
        } else if (ph == "M" && e["name"] == "thread_name") {
            thread_name[{pid, e["tid"].get<int>()}] = e["args"]["name"];
        } else if (ph == "M" && e["name"] == "thread_sort_index") {
            sort_index[{pid, e["tid"].get<int>()}] = e["args"]["sort_index"];
        } else if (ph == "M" && e["name"] == "process_name") {
            c.chips.insert(pid);
        } else if (ph == "C") {
            REQUIRE(e["args"].is_object());
            REQUIRE_FALSE(e["args"].empty());
            for (const auto& [k, v] : e["args"].items()) REQUIRE(v.is_number());
            c.counters[pid].insert(e["name"].get<std::string>());
        } else if (ph == "s") {
            flow_start[e["id"].get<uint64_t>()] = e;
        } else if (ph == "f") {
            CHECK(e["bp"] == "e");
            flow_end[e["id"].get<uint64_t>()] = e;
        }
    }
    // Nesting: on each track, sorted by start (longer first), a slice either starts after
    // the innermost open slice ends or ends inside it.
    for (auto& [key, v] : slices) {
        INFO("pid " << key.first << " tid " << key.second);
        REQUIRE(thread_name.count(key));
        REQUIRE(sort_index.count(key));
        std::sort(v.begin(), v.end(), [](const Slice& a, const Slice& b) {
            return a.start != b.start ? a.start < b.start : a.end > b.end;
        });
        std::vector<int64_t> open;
        for (const Slice& s : v) {
            while (!open.empty() && open.back() <= s.start) open.pop_back();
            if (!open.empty()) REQUIRE(s.end <= open.back());
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
            INFO(v[i - 1].second << " before " << v[i].second);
            CHECK(v[i - 1].first < v[i].first);
            CHECK(rank_of(v[i - 1].second) <= rank_of(v[i].second));
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
    CHECK(flow_start.size() == flow_end.size());
    for (const auto& [id, s] : flow_start) {
        INFO("flow " << id);
        REQUIRE(flow_end.count(id));
        const json& f = flow_end[id];
        CHECK(s["pid"] != f["pid"]);
        CHECK(ns_of(f["ts"]) >= ns_of(s["ts"]));
        const Slice *send = enclosing(s), *recv = enclosing(f);
        REQUIRE(send != nullptr);
        REQUIRE(recv != nullptr);
        CHECK(send->name == "c2c.send");
        CHECK(recv->name == "c2c.recv");
    }
    c.flows = flow_start.size();
    return c;
}


}  // namespace

TEST_CASE("the trace nests its slices, sorts its tracks and carries counters and c2c flows", "[trace][cli]") {
    const std::string dir = scratch_dir("trace-format");
    const auto r = run_cli(tiny_pipeline_run(dir));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string text = gunzip(dir + "/trace.json.gz");
    const Checked c = check_trace(text);
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
    CHECK(c.chips.size() == 2);
    CHECK(c.coarse_chips == c.chips);                // every chip keeps layers and operations
    CHECK(c.detailed_chips.size() < c.chips.size());  // and some lose instruction detail
    CHECK(text.find("layers and operations only") != std::string::npos);
}
