#include "tools/serve/scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <stdexcept>

namespace lpu::serve {

Policy parse_policy(const std::string& s) {
    if (s == "fcfs") return Policy::PrefillFirst;
    if (s == "decode-first") return Policy::DecodeFirst;
    if (s == "chunked-prefill") return Policy::ChunkedPrefill;
    throw std::invalid_argument("fcfs, decode-first or chunked-prefill");
}

const char* policy_name(Policy p) {
    switch (p) {
        case Policy::PrefillFirst: return "fcfs";
        case Policy::DecodeFirst: return "decode-first";
        case Policy::ChunkedPrefill: return "chunked-prefill";
    }
    return "?";
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

struct Seq {
    size_t r = 0;           // index into the results
    int64_t generated = 0;  // output tokens that exist
};

struct Lane {
    double free_at = 0;
    bool busy = false;
    std::vector<Seq> running;  // sequences being decoded
    // the iteration in flight
    std::vector<size_t> decoding;  // results whose sequences take one decode step
    long prefill = -1;             // result whose prompt is (partly) prefilled, or -1
    int64_t prefill_done = 0;      // its prompt tokens prefilled before the iteration
    int64_t prefill_tokens = 0;    // and in the iteration
    bool started_static_batch = false;  // DecodeFirst: admitting until the first decode
};

class Loop {
public:
    Loop(const ServeConfig& cfg, Load load, StepCosts& costs) : cfg_(cfg), costs_(costs), load_(std::move(load)) {
        if (cfg_.lanes < 1) throw std::invalid_argument("lanes must be >= 1");
        if (cfg_.max_batch < 1) throw std::invalid_argument("max_batch must be >= 1");
        if (cfg_.chunk_tokens < 1) throw std::invalid_argument("chunk_tokens must be >= 1");
        if (load_.closed && load_.concurrency < 1) throw std::invalid_argument("concurrency must be >= 1");
        lanes_.resize(static_cast<size_t>(cfg_.lanes));
        res_.requests.resize(load_.requests.size());
        for (size_t i = 0; i < load_.requests.size(); ++i) {
            const Request& q = load_.requests[i];
            if (q.prompt_tokens < 1 || q.output_tokens < 1) throw std::invalid_argument("prompt and output tokens must be >= 1");
            res_.requests[i].request = q;
        }
        if (load_.closed) {  // user u sends requests u, u + C, ...
            for (size_t i = 0; i < res_.requests.size(); ++i) res_.requests[i].request.user = static_cast<int>(i % static_cast<size_t>(load_.concurrency));
            for (size_t i = 0; i < std::min(res_.requests.size(), static_cast<size_t>(load_.concurrency)); ++i) send(i, 0.0);
        } else {
            order_.resize(res_.requests.size());
            for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
            std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
                return res_.requests[a].request.arrival_s < res_.requests[b].request.arrival_s;
            });
        }
    }

    ServeResult run() {
        size_t done = 0;
        double now = 0;
        while (done < res_.requests.size()) {
            for (Lane& l : lanes_)  // idle lanes take what waits
                if (!l.busy) start_iteration(l, now);
            // the next event: a lane's iteration ending, or (open loop) an arrival
            size_t lane = lanes_.size();
            double t = kNever;
            for (size_t l = 0; l < lanes_.size(); ++l)
                if (lanes_[l].busy && lanes_[l].free_at < t) {
                    t = lanes_[l].free_at;
                    lane = l;
                }
            const double arrival = next_open_ < order_.size() ? res_.requests[order_[next_open_]].request.arrival_s : kNever;
            if (arrival < t) {
                t = arrival;
                waiting_.push_back(order_[next_open_++]);
            } else if (lane < lanes_.size()) {
                done += finish_iteration(lanes_[lane], t);
            } else {
                throw std::logic_error("serving: requests left but nothing can run");
            }
            now = t;
        }
        double first = kNever, last = 0;
        for (const RequestResult& r : res_.requests) {
            first = std::min(first, r.request.arrival_s);
            last = std::max(last, r.finish_s);
        }
        res_.makespan_s = res_.requests.empty() ? 0 : last - first;
        return std::move(res_);
    }

private:
    void send(size_t i, double t) {
        res_.requests[i].request.arrival_s = t;
        waiting_.push_back(i);
    }

    // Applies the iteration's effects; returns how many requests finished.
    size_t finish_iteration(Lane& l, double t) {
        l.busy = false;
        size_t finished = 0;
        for (Seq& s : l.running) {
            if (std::find(l.decoding.begin(), l.decoding.end(), s.r) == l.decoding.end()) continue;
            if (++s.generated == res_.requests[s.r].request.output_tokens) {
                res_.requests[s.r].finish_s = t;
                ++finished;
                on_finish(s.r, t);
            }
        }
        l.running.erase(std::remove_if(l.running.begin(), l.running.end(),
                                       [&](const Seq& s) { return s.generated == res_.requests[s.r].request.output_tokens; }),
                        l.running.end());
        if (l.prefill >= 0) {
            const auto r = static_cast<size_t>(l.prefill);
            l.prefill_done += l.prefill_tokens;
            if (l.prefill_done == res_.requests[r].request.prompt_tokens) {  // the first token exists
                res_.requests[r].first_token_s = t;
                l.prefill = -1;
                if (res_.requests[r].request.output_tokens == 1) {
                    res_.requests[r].finish_s = t;
                    ++finished;
                    on_finish(r, t);
                } else {
                    l.running.push_back({r, 1});
                }
            }
        }
        l.decoding.clear();
        l.prefill_tokens = 0;
        return finished;
    }

    void on_finish(size_t r, double t) {
        if (!load_.closed) return;
        const size_t next = r + static_cast<size_t>(load_.concurrency);  // the same user's next request
        if (next < res_.requests.size()) send(next, t);
    }

    int64_t context_of(const Seq& s) const {  // tokens in its KV cache for its next decode step
        return res_.requests[s.r].request.prompt_tokens + s.generated - 1;
    }

    void start_iteration(Lane& l, double t) {
        const auto occupied = static_cast<int64_t>(l.running.size()) + (l.prefill >= 0 ? 1 : 0);
        const bool room = occupied < cfg_.max_batch;
        bool admit = false, decode = !l.running.empty();
        switch (cfg_.policy) {
            case Policy::PrefillFirst:
                admit = l.prefill < 0 && room && !waiting_.empty();
                if (admit) decode = false;
                break;
            case Policy::DecodeFirst:  // static batches: fill while nothing decodes, then decode
                if (l.running.empty()) l.started_static_batch = false;
                admit = !l.started_static_batch && l.prefill < 0 && room && !waiting_.empty();
                if (admit) decode = false;
                if (decode) l.started_static_batch = true;
                break;
            case Policy::ChunkedPrefill:
                admit = l.prefill < 0 && room && !waiting_.empty();
                break;
        }
        StepCost cost;
        if (admit) {
            l.prefill = static_cast<long>(waiting_.front());
            l.prefill_done = 0;
            waiting_.pop_front();
        }
        if (l.prefill >= 0 && (admit || cfg_.policy == Policy::ChunkedPrefill)) {
            const int64_t left = res_.requests[static_cast<size_t>(l.prefill)].request.prompt_tokens - l.prefill_done;
            l.prefill_tokens = cfg_.policy == Policy::ChunkedPrefill ? std::min(left, cfg_.chunk_tokens) : left;
            const StepCost p = costs_.prefill(l.prefill_done, l.prefill_tokens);
            cost.seconds += p.seconds;
            cost.dynamic_J += p.dynamic_J;
            ++res_.prefill_iterations;
        }
        if (decode) {
            int64_t context = 0;
            for (const Seq& s : l.running) {
                l.decoding.push_back(s.r);
                context = std::max(context, context_of(s));
            }
            const StepCost d = costs_.decode(static_cast<int64_t>(l.running.size()), context);
            cost.seconds += d.seconds;
            cost.dynamic_J += d.dynamic_J;
            ++res_.decode_iterations;
        }
        if (l.decoding.empty() && l.prefill_tokens == 0) return;  // nothing to do: stays idle
        if (!(cost.seconds > 0)) throw std::invalid_argument("step costs must be > 0 seconds");
        l.busy = true;
        l.free_at = t + cost.seconds;
        res_.dynamic_J += cost.dynamic_J;
        res_.busy_lane_s += cost.seconds;
        ++res_.iterations;
    }

    const ServeConfig& cfg_;
    StepCosts& costs_;
    Load load_;
    std::vector<Lane> lanes_;
    std::deque<size_t> waiting_;
    std::vector<size_t> order_;  // open loop: requests by arrival
    size_t next_open_ = 0;
    ServeResult res_;
};

}  // namespace

ServeResult simulate_serving(const ServeConfig& cfg, Load load, StepCosts& costs) {
    return Loop(cfg, std::move(load), costs).run();
}

}  // namespace lpu::serve
