#include "sim/trace.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/atomic_file.hpp"

namespace lpu::sim {
namespace {

class NullTrace final : public TraceSink {
public:
    void span(const TraceSpan&) override {}
    bool wants(int, int, uint64_t) const override { return false; }
};

class PerfettoTrace final : public TraceSink {
public:
    PerfettoTrace(std::string path, double clock_hz, TraceLimits limits)
        : path_(std::move(path)), us_per_cycle_(1e6 / clock_hz), limits_(limits) {}

    void finish() override { write(); }

    bool wants(int chip, int layer, uint64_t start) const override {
        if (events_.size() >= limits_.max_events || chip >= limits_.max_chips) return false;
        if (limits_.first_layer >= 0 && (layer < limits_.first_layer || layer > limits_.last_layer)) return false;
        return start >= limits_.window_start_cycle && start < limits_.window_end_cycle;
    }

    void span(const TraceSpan& s) override {
        if (!wants(s.chip, s.layer, s.start_cycle)) return;
        auto key = std::make_pair(s.chip, s.track);
        auto it = tids_.find(key);
        if (it == tids_.end()) it = tids_.emplace(key, static_cast<int>(tids_.size()) + 1).first;
        events_.push_back({s, it->second});
    }

private:
    struct Event {
        TraceSpan span;
        int tid;
    };

    void write() {
        std::string out = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
        bool first = true;
        auto emit = [&](const nlohmann::ordered_json& j) {
            if (!first) out += ",\n";
            first = false;
            out += j.dump();
        };
        std::map<int, bool> chips;
        for (const auto& [key, tid] : tids_) {
            if (!chips[key.first])
                emit({{"ph", "M"}, {"pid", key.first}, {"name", "process_name"},
                      {"args", {{"name", fmt::format("chip {}", key.first)}}}});
            chips[key.first] = true;
            emit({{"ph", "M"}, {"pid", key.first}, {"tid", tid}, {"name", "thread_name"}, {"args", {{"name", key.second}}}});
        }
        for (const auto& e : events_) {
            const auto& s = e.span;
            nlohmann::ordered_json j = {{"ph", "X"},
                                        {"pid", s.chip},
                                        {"tid", e.tid},
                                        {"name", s.name},
                                        {"cat", s.category},
                                        {"ts", static_cast<double>(s.start_cycle) * us_per_cycle_},
                                        {"dur", static_cast<double>(s.duration_cycles) * us_per_cycle_}};
            j["args"] = {{"start_cycle", s.start_cycle}, {"cycles", s.duration_cycles}, {"n", s.n},
                         {"line", s.line}, {"layer", s.layer}};
            emit(j);
        }
        out += "\n]}\n";
        write_file_atomic(path_, out);
    }

    std::string path_;
    double us_per_cycle_;
    TraceLimits limits_;
    std::map<std::pair<int, std::string>, int> tids_;
    std::vector<Event> events_;
};

}  // namespace

std::unique_ptr<TraceSink> make_perfetto_trace(const std::string& path, double clock_hz, TraceLimits limits) {
    return std::make_unique<PerfettoTrace>(path, clock_hz, limits);
}

std::unique_ptr<TraceSink> make_null_trace() { return std::make_unique<NullTrace>(); }

}  // namespace lpu::sim
