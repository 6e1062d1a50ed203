#include "sim/trace.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "common/atomic_file.hpp"

namespace lpu::sim {
namespace {

class NullTrace final : public TraceSink {
public:
    void span(const TraceSpan&) override {}
    bool wants(int, int, uint64_t) const override { return false; }
};

// Tracks of a chip in the order a reader scans them: the matrix units first, then memory,
// vector, switch, chip-to-chip, DMA and the ICU queues.
int unit_rank(isa::Unit u) {
    switch (u) {
        case isa::Unit::Mxm: return 0;
        case isa::Unit::Mem: return 1;
        case isa::Unit::Vxm: return 2;
        case isa::Unit::Sxm: return 3;
        case isa::Unit::C2c: return 4;
        case isa::Unit::Dma: return 5;
        case isa::Unit::Icu: return 6;
    }
    return 7;
}

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

// Interval [start, end) placed on lanes so that each lane's slices nest properly: a slice
// goes to the first lane where it starts after, or ends inside, the innermost open slice.
class Lanes {
public:
    size_t place(uint64_t start, uint64_t end) {
        for (size_t l = 0;; ++l) {
            if (l == open_.size()) open_.emplace_back();
            auto& stack = open_[l];
            while (!stack.empty() && stack.back() <= start) stack.pop_back();
            if (stack.empty() || end <= stack.back()) {
                stack.push_back(end);
                return l;
            }
        }
    }
    size_t count() const { return open_.size(); }

private:
    std::vector<std::vector<uint64_t>> open_;  // per lane: ends of the open slices, innermost last
};

struct Slice {
    uint64_t start, end;
    size_t lane;
    std::string name, category;
    int layer;
};

std::string gzip(const std::string& text) {
    z_stream zs{};
    // windowBits 15 + 16: a gzip wrapper with a zero timestamp, so the bytes are deterministic.
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("trace: cannot initialise zlib");
    std::string out(deflateBound(&zs, text.size()), '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("trace: gzip failed");
    out.resize(zs.total_out);
    return out;
}

class PerfettoTrace final : public TraceSink {
public:
    PerfettoTrace(std::string path, double clock_hz, TraceLimits limits)
        : path_(std::move(path)), ns_per_cycle_(1e9 / clock_hz), limits_(limits) {}

    void finish() override { write(); }

    void add_counters(std::vector<TraceCounter> c) override {
        for (auto& x : c) counters_.push_back(std::move(x));
    }

    bool wants(int chip, int layer, uint64_t start) const override {
        if (spans_.size() >= limits_.max_events || chip >= limits_.max_chips) return false;
        if (limits_.first_layer >= 0 && (layer < limits_.first_layer || layer > limits_.last_layer)) return false;
        return start >= limits_.window_start_cycle && start < limits_.window_end_cycle;
    }

    void span(const TraceSpan& s) override {
        if (!wants(s.chip, s.layer, s.start_cycle)) return;
        const auto key = std::make_pair(s.chip, s.track);
        auto it = track_ids_.find(key);
        if (it == track_ids_.end()) {
            it = track_ids_.emplace(key, static_cast<uint32_t>(tracks_.size())).first;
            tracks_.push_back({s.chip, s.track, s.unit, s.instance});
        }
        spans_.push_back({s.start_cycle, s.start_cycle + s.duration_cycles, it->second, intern(s.name),
                          intern(s.category), s.layer, s.peer, s.line, s.n});
    }

private:
    struct Track {
        int chip;
        std::string name;
        isa::Unit unit;
        int instance;
    };
    struct Span {
        uint64_t start, end;
        uint32_t track;
        uint32_t name, category;
        int layer;
        int peer;
        uint32_t line;
        uint64_t n;
    };

    uint32_t intern(const std::string& s) {
        const auto [it, fresh] = string_ids_.try_emplace(s, static_cast<uint32_t>(strings_.size()));
        if (fresh) strings_.push_back(json_string(s));
        return it->second;
    }

    // Cycles to the trace's microseconds, rounded to whole nanoseconds: rounding is
    // monotone, so slices that nest in cycles still nest in the file.
    int64_t ns(uint64_t cycle) const { return std::llround(static_cast<double>(cycle) * ns_per_cycle_); }
    static std::string us(int64_t ns) { return fmt::format("{}.{:03}", ns / 1000, ns % 1000); }

    std::string slice_event(int pid, int tid, uint64_t start, uint64_t end, const std::string& name_json,
                            const std::string& cat_json, const std::string& args) const {
        const int64_t a = ns(start), b = ns(end);
        return fmt::format(",\n{{\"ph\":\"X\",\"pid\":{},\"tid\":{},\"name\":{},\"cat\":{},\"ts\":{},\"dur\":{},\"args\":{{{}}}}}",
                           pid, tid, name_json, cat_json, us(a), us(b - a), args);
    }
    static std::string thread_meta(int pid, int tid, const std::string& name, int sort_index) {
        return fmt::format(
            ",\n{{\"ph\":\"M\",\"pid\":{},\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}"
            ",\n{{\"ph\":\"M\",\"pid\":{},\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}}}}}",
            pid, tid, json_string(name), pid, tid, sort_index);
    }

    // The layer and operation (category x layer) slices of one chip, from its spans other
    // than the ICU's (whose waits would stretch them); tids from 1.
    std::string coarse_events(int chip, const std::vector<uint32_t>& idx, int& next_tid) const {
        std::map<int, std::pair<uint64_t, uint64_t>> layers;
        std::map<std::pair<uint32_t, int>, std::pair<uint64_t, uint64_t>> ops;
        auto widen = [](auto& m, const auto& key, uint64_t a, uint64_t b) {
            const auto [it, fresh] = m.try_emplace(key, a, b);
            if (!fresh) it->second = {std::min(it->second.first, a), std::max(it->second.second, b)};
        };
        for (uint32_t i : idx) {
            const Span& s = spans_[i];
            if (tracks_[s.track].unit == isa::Unit::Icu) continue;
            if (s.layer >= 0) widen(layers, s.layer, s.start, s.end);
            widen(ops, std::make_pair(s.category, s.layer), s.start, s.end);
        }
        std::string out;
        auto emit = [&](const char* track, std::vector<Slice> slices) {
            std::sort(slices.begin(), slices.end(), [](const Slice& a, const Slice& b) {
                return a.start != b.start ? a.start < b.start : a.end > b.end;
            });
            Lanes lanes;
            for (Slice& s : slices) s.lane = lanes.place(s.start, s.end);
            const int first = next_tid;
            for (size_t l = 0; l < lanes.count(); ++l)
                out += thread_meta(chip, first + static_cast<int>(l),
                                   l == 0 ? std::string(track) : fmt::format("{} {}", track, l + 1), first + static_cast<int>(l));
            for (const Slice& s : slices)
                out += slice_event(chip, first + static_cast<int>(s.lane), s.start, s.end, s.name, s.category,
                                   fmt::format("\"start_cycle\":{},\"cycles\":{},\"layer\":{}", s.start, s.end - s.start, s.layer));
            next_tid += static_cast<int>(lanes.count());
        };
        std::vector<Slice> layer_slices, op_slices;
        for (const auto& [layer, w] : layers)
            layer_slices.push_back({w.first, w.second, 0, json_string(fmt::format("layer {}", layer)), "\"layer\"", layer});
        for (const auto& [key, w] : ops) {
            const std::string& cat = strings_[key.first];  // already JSON
            const std::string plain = nlohmann::json::parse(cat).get<std::string>();
            op_slices.push_back({w.first, w.second, 0,
                                 json_string(key.second >= 0 ? fmt::format("{} L{}", plain, key.second) : plain), cat,
                                 key.second});
        }
        emit("layers", std::move(layer_slices));
        emit("operations", std::move(op_slices));
        return out;
    }

    void write() {
        std::map<int, std::vector<uint32_t>> by_chip;
        for (uint32_t i = 0; i < spans_.size(); ++i) by_chip[tracks_[spans_[i].track].chip].push_back(i);
        for (const auto& c : counters_) by_chip[c.chip];

        // Every event below starts with ",\n"; the first one's is dropped at the end.
        const std::string head = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
        std::string base;
        std::map<int, int> first_unit_tid;  // chip -> first tid after its coarse tracks
        for (const auto& [chip, idx] : by_chip) {
            int tid = 1;
            base += coarse_events(chip, idx, tid);
            first_unit_tid[chip] = tid;
        }
        for (const auto& c : counters_)
            for (size_t p = 0; p < c.cycles.size(); ++p) {
                std::string args;
                for (size_t k = 0; k < c.series.size(); ++k)
                    args += fmt::format("{}{}:{:.6g}", k ? "," : "", json_string(c.series[k]), c.values[p][k]);
                base += fmt::format(",\n{{\"ph\":\"C\",\"pid\":{},\"name\":{},\"ts\":{},\"args\":{{{}}}}}", c.chip,
                                    json_string(c.name), us(ns(c.cycles[p])), args);
            }

        // Lanes of every unit track (instructions of one queue may overlap: a unit starts
        // its next instruction while the previous one still holds a resource).
        std::vector<uint16_t> lane(spans_.size(), 0);
        std::vector<size_t> lanes_of(tracks_.size(), 0);
        {
            std::vector<std::vector<uint32_t>> on_track(tracks_.size());
            for (uint32_t i = 0; i < spans_.size(); ++i) on_track[spans_[i].track].push_back(i);
            for (size_t t = 0; t < tracks_.size(); ++t) {
                auto& v = on_track[t];
                std::stable_sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
                    return spans_[a].start != spans_[b].start ? spans_[a].start < spans_[b].start
                                                              : spans_[a].end > spans_[b].end;
                });
                Lanes lanes;
                for (uint32_t i : v) lane[i] = static_cast<uint16_t>(lanes.place(spans_[i].start, spans_[i].end));
                lanes_of[t] = lanes.count();
            }
        }
        // tid of (track, lane): unit tracks sorted by unit kind, instance, then lane.
        std::vector<uint32_t> order(tracks_.size());
        for (uint32_t t = 0; t < order.size(); ++t) order[t] = t;
        std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
            const Track &x = tracks_[a], &y = tracks_[b];
            if (x.chip != y.chip) return x.chip < y.chip;
            if (unit_rank(x.unit) != unit_rank(y.unit)) return unit_rank(x.unit) < unit_rank(y.unit);
            if (x.instance != y.instance) return x.instance < y.instance;
            return x.name < y.name;
        });
        std::vector<int> first_tid(tracks_.size(), 0);
        std::map<int, int> next;
        for (uint32_t t : order) {
            int& n = next.try_emplace(tracks_[t].chip, first_unit_tid[tracks_[t].chip]).first->second;
            first_tid[t] = n;
            n += static_cast<int>(lanes_of[t]);
        }

        // c2c flows: the k-th send from chip a to chip b is received by b's k-th receive from a.
        std::map<std::pair<int, int>, std::vector<uint32_t>> sends, recvs;
        for (uint32_t i = 0; i < spans_.size(); ++i) {
            const Span& s = spans_[i];
            if (s.peer < 0 || tracks_[s.track].unit != isa::Unit::C2c) continue;
            const int chip = tracks_[s.track].chip;
            const std::string& name = strings_[s.name];
            if (name == "\"c2c.send\"") sends[{chip, s.peer}].push_back(i);
            if (name == "\"c2c.recv\"") recvs[{s.peer, chip}].push_back(i);
        }

        // Instruction detail, chip by chip while it fits the bound.
        std::string detail;
        std::vector<int> detailed, coarse_only;
        uint64_t flow_id = 0;
        const std::string tail = "\n]}\n";
        for (const auto& [chip, idx] : by_chip) {
            if (!coarse_only.empty()) {
                coarse_only.push_back(chip);
                continue;
            }
            std::string chunk;
            for (uint32_t t : order) {
                if (tracks_[t].chip != chip) continue;
                for (size_t l = 0; l < lanes_of[t]; ++l)
                    chunk += thread_meta(chip, first_tid[t] + static_cast<int>(l),
                                         l == 0 ? tracks_[t].name : fmt::format("{} (overlap {})", tracks_[t].name, l + 1),
                                         first_tid[t] + static_cast<int>(l));
            }
            for (uint32_t i : idx) {
                const Span& s = spans_[i];
                chunk += slice_event(chip, first_tid[s.track] + lane[i], s.start, s.end, strings_[s.name], strings_[s.category],
                                     fmt::format("\"start_cycle\":{},\"cycles\":{},\"layer\":{},\"line\":{},\"n\":{}", s.start,
                                                 s.end - s.start, s.layer, s.line, s.n));
            }
            auto flows = [&](int a, int b) {
                const auto si = sends.find({a, b}), ri = recvs.find({a, b});
                if (si == sends.end() || ri == recvs.end()) return;
                for (size_t k = 0; k < std::min(si->second.size(), ri->second.size()); ++k) {
                    const Span &s = spans_[si->second[k]], &r = spans_[ri->second[k]];
                    ++flow_id;
                    chunk += fmt::format(
                        ",\n{{\"ph\":\"s\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"name\":\"c2c\",\"cat\":\"c2c\"}}"
                        ",\n{{\"ph\":\"f\",\"bp\":\"e\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"name\":\"c2c\",\"cat\":\"c2c\"}}",
                        flow_id, a, first_tid[s.track] + lane[si->second[k]], us(ns(s.start)), flow_id, b,
                        first_tid[r.track] + lane[ri->second[k]], us(ns(r.start)));
                }
            };
            for (int other : detailed) {
                flows(other, chip);
                flows(chip, other);
            }
            const bool fits = head.size() + base.size() + detail.size() + chunk.size() + tail.size() +
                                  300 * (by_chip.size() + 1) <= limits_.max_bytes;
            if (fits) {
                detail += chunk;
                detailed.push_back(chip);
            } else {
                coarse_only.push_back(chip);
            }
        }
        std::string out = std::move(base);
        out += detail;
        for (const auto& [chip, idx] : by_chip) {
            const bool full = std::find(detailed.begin(), detailed.end(), chip) != detailed.end();
            const std::string name = full ? fmt::format("chip {}", chip)
                                          : fmt::format("chip {} (layers and operations only: its instructions exceed the "
                                                        "trace's {} MB bound)",
                                                        chip, limits_.max_bytes >> 20);
            out += fmt::format(
                ",\n{{\"ph\":\"M\",\"pid\":{},\"name\":\"process_name\",\"args\":{{\"name\":{}}}}}"
                ",\n{{\"ph\":\"M\",\"pid\":{},\"name\":\"process_sort_index\",\"args\":{{\"sort_index\":{}}}}}",
                chip, json_string(name), chip, chip);
        }
        out = head + (out.size() >= 2 ? out.substr(2) : out) + tail;
        write_file_atomic(path_, limits_.gzip ? gzip(out) : out);
    }

    std::string path_;
    double ns_per_cycle_;
    TraceLimits limits_;
    std::map<std::pair<int, std::string>, uint32_t> track_ids_;
    std::vector<Track> tracks_;
    std::map<std::string, uint32_t> string_ids_;
    std::vector<std::string> strings_;  // interned, as JSON strings
    std::vector<Span> spans_;
    std::vector<TraceCounter> counters_;
};

}  // namespace

std::unique_ptr<TraceSink> make_perfetto_trace(const std::string& path, double clock_hz, TraceLimits limits) {
    return std::make_unique<PerfettoTrace>(path, clock_hz, limits);
}

std::unique_ptr<TraceSink> make_null_trace() { return std::make_unique<NullTrace>(); }

}  // namespace lpu::sim
