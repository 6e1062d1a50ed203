// The requests of a served load: fixed or normally distributed prompt and output lengths,
// Poisson arrivals (open loop) or none (closed loop: arrivals follow finishes), or a trace
// file. Deterministic: the same seed gives the same requests on every machine (own uniform
// and normal draws from a 64-bit Mersenne Twister, not the library's distributions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/serve/scheduler.hpp"

namespace lpu::serve {

struct Lengths {
    double mean = 1;
    double stddev = 0;  // 0: every request has `mean` tokens
};

// "550" or "550:150" (mean:stddev); throws std::invalid_argument saying what is expected.
Lengths parse_lengths(const std::string& text);

// n requests; rate_per_s > 0: Poisson arrivals from 0 (the first at its first gap), else all
// arrival_s = 0 (closed loop sets them). Lengths rounded to the nearest integer, at least 1
// and at most max_tokens.
std::vector<Request> generate_requests(int64_t n, const Lengths& prompt, const Lengths& output, double rate_per_s,
                                       uint64_t seed, int64_t max_tokens);

// CSV with the header arrival_s,prompt_tokens,output_tokens (one request a row, in any
// order); throws std::invalid_argument naming the line and what is wrong.
std::vector<Request> parse_trace_csv(const std::string& text);

}  // namespace lpu::serve
