#include "tools/serve/load.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>

namespace lpu::serve {

namespace {

// A finite number spelled out completely, or nothing.
bool parse_number(const std::string& s, double& out) {
    if (s.empty() || s.size() > 32) return false;
    size_t used = 0;
    try {
        out = std::stod(s, &used);
    } catch (const std::logic_error&) {
        return false;
    }
    return used == s.size() && std::isfinite(out);
}

class Draws {
public:
    explicit Draws(uint64_t seed) : rng_(seed) {}
    double uniform() {  // in (0, 1)
        return (static_cast<double>(rng_() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }
    double normal() {  // Box-Muller
        const double u1 = uniform(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

private:
    std::mt19937_64 rng_;
};

int64_t draw_length(Draws& d, const Lengths& l, int64_t max_tokens) {
    const double v = l.stddev > 0 ? l.mean + l.stddev * d.normal() : l.mean;
    return std::clamp<int64_t>(std::llround(v), 1, max_tokens);
}

}  // namespace

Lengths parse_lengths(const std::string& text) {
    const auto colon = text.find(':');
    Lengths l;
    const bool ok = parse_number(text.substr(0, colon), l.mean) &&
                    (colon == std::string::npos || parse_number(text.substr(colon + 1), l.stddev));
    if (!ok || l.mean < 1 || l.mean > 1e7 || l.stddev < 0 || l.stddev > 1e7)
        throw std::invalid_argument("a token count N >= 1, or MEAN:STDDEV with MEAN >= 1 and STDDEV >= 0");
    return l;
}

std::vector<Request> generate_requests(int64_t n, const Lengths& prompt, const Lengths& output, double rate_per_s,
                                       uint64_t seed, int64_t max_tokens) {
    Draws d(seed);
    std::vector<Request> out;
    double t = 0;
    for (int64_t i = 0; i < n; ++i) {
        Request r;
        r.id = i;
        if (rate_per_s > 0) t += -std::log(d.uniform()) / rate_per_s;
        r.arrival_s = t;
        r.prompt_tokens = draw_length(d, prompt, max_tokens);
        r.output_tokens = draw_length(d, output, max_tokens);
        out.push_back(r);
    }
    return out;
}

std::vector<Request> parse_trace_csv(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int line_no = 0;
    std::vector<Request> out;
    auto fail = [&](const std::string& what) {
        throw std::invalid_argument("line " + std::to_string(line_no) + ": " + what);
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no == 1) {
            if (line != "arrival_s,prompt_tokens,output_tokens") fail("the header arrival_s,prompt_tokens,output_tokens");
            continue;
        }
        if (line.empty()) continue;
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
        double a = 0, p = 0, o = 0;
        if (f.size() != 3 || !parse_number(f[0], a) || !parse_number(f[1], p) || !parse_number(f[2], o))
            fail("three numbers: arrival_s,prompt_tokens,output_tokens");
        if (a < 0 || a > 1e9 || p < 1 || o < 1 || p > 1e7 || o > 1e7 || p != std::floor(p) || o != std::floor(o))
            fail("arrival_s >= 0 and whole token counts >= 1");
        Request r;
        r.id = static_cast<int64_t>(out.size());
        r.arrival_s = a;
        r.prompt_tokens = static_cast<int64_t>(p);
        r.output_tokens = static_cast<int64_t>(o);
        out.push_back(r);
        if (out.size() > 1'000'000) fail("at most 1,000,000 requests");
    }
    if (line_no == 0) fail("the header arrival_s,prompt_tokens,output_tokens");
    if (out.empty()) fail("at least one request");
    return out;
}

}  // namespace lpu::serve
