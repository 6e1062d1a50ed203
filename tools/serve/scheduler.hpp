// A served load on the pipelined system (docs/serving.md): requests arrive (closed loop: C
// users, each sending its next request when the last one finished; open loop: Poisson
// arrivals), wait, are prefilled and then decoded token by token in micro-batches. The
// pipeline holds `lanes` micro-batches at once (one per pipeline stage, as tokens_per_s of a
// step assumes); each lane repeats iterations whose cost comes from simulated steps through
// StepCosts. A discrete-event loop over lane completions and arrivals, in time order, ties
// broken by lane then request id: the same inputs give the same rows.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lpu::serve {

struct Request {
    int64_t id = 0;
    double arrival_s = 0;  // open loop and trace files: given; closed loop: set when sent
    int64_t prompt_tokens = 1;
    int64_t output_tokens = 1;
    int user = -1;  // closed loop: who sends it
};

// What an iteration of one lane costs, from simulated steps of the compiled model.
struct StepCost {
    double seconds = 0;
    double dynamic_J = 0;  // energy beyond the system's static power
};
class StepCosts {
public:
    virtual ~StepCosts() = default;
    // Prefill of prompt tokens [done, done + tokens) of one sequence.
    virtual StepCost prefill(int64_t done, int64_t tokens) = 0;
    // One decode step of `batch` sequences whose longest context is `context` tokens.
    virtual StepCost decode(int64_t batch, int64_t context) = 0;
};

enum class Policy {
    PrefillFirst,    // a lane with room prefills the oldest waiting prompt before decoding (FCFS)
    DecodeFirst,     // a lane decodes while it has sequences; admits prompts only when empty
    ChunkedPrefill,  // each iteration: a decode step of the lane's batch plus one prompt chunk
};
Policy parse_policy(const std::string& s);  // throws std::invalid_argument
const char* policy_name(Policy p);

struct ServeConfig {
    int lanes = 1;             // micro-batches in flight (pipeline stages)
    int64_t max_batch = 1;     // sequences per micro-batch
    Policy policy = Policy::PrefillFirst;
    int64_t chunk_tokens = 512;  // ChunkedPrefill: prompt tokens per iteration
};

struct Load {
    // Closed loop: `concurrency` users; requests[i].arrival_s is ignored and set when the
    // user sends it (user i sends requests i, i + C, i + 2C, ...). Open loop: as given.
    bool closed = false;
    int concurrency = 0;
    std::vector<Request> requests;
};

struct RequestResult {
    Request request;
    double first_token_s = 0;  // end of its prefill: its first output token exists
    double finish_s = 0;       // its last output token exists
    double ttft_s() const { return first_token_s - request.arrival_s; }
    double e2e_s() const { return finish_s - request.arrival_s; }
    // time per output token after the first (0 for one-token outputs)
    double tpot_s() const {
        return request.output_tokens > 1 ? (finish_s - first_token_s) / static_cast<double>(request.output_tokens - 1) : 0;
    }
};

struct ServeResult {
    std::vector<RequestResult> requests;  // by id
    double dynamic_J = 0;                 // summed over all iterations
    int64_t iterations = 0, prefill_iterations = 0, decode_iterations = 0;
    double busy_lane_s = 0;  // lane-seconds spent in iterations
    double makespan_s = 0;   // first arrival to last finish
};

// Throws std::invalid_argument on an inconsistent config or load (bad input of the CLI).
ServeResult simulate_serving(const ServeConfig& cfg, Load load, StepCosts& costs);

// Linear-interpolated percentile (p in [0, 100]) of unsorted values; 0 for none.
double percentile(std::vector<double> v, double p);

}  // namespace lpu::serve
