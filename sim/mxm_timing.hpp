// Tile-level timing of one MXM plane: a weight-stationary systolic array of R rows (the K,
// reduction, dimension) by C columns (the N, output, dimension) driven by the instructions
// LW (load weights), IW (install weights), ABC (stream activations through the array into
// the accumulators) and ACC (drain the accumulators).
//
// Pure functions and one small bookkeeping class; no SystemC, no PE-by-PE simulation.
// Every formula and rule is derived in docs/timing-mxm.md and checked cycle for cycle
// against the PE-level reference model in tests/reference/systolic_pe.hpp
// (tests/test_systolic_reference.cpp).
//
// Conventions: cycles are integers counted from 0; an operation that starts at cycle s and
// lasts d cycles occupies the cycles s .. s+d-1, and `end` = s+d is the first cycle at which
// something that waits for it may start.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <deque>
#include <vector>

namespace lpu::timing {

// One plane. Defaults: 320 x 320 int8 MACs ([TSP20] Abts et al., ISCA 2020, sec. 3.5).
struct MxmGeometry {
    int rows = 320;  // R: weight rows = reduction (K) elements per activation vector
    int cols = 320;  // C: weight columns = output (N) elements per result vector
};

struct MxmParams {
    // Weight rows written into the plane per cycle. tsp-v1: 10,240 B/cycle install bandwidth
    // for 4 planes of 320-byte rows = 8 rows/cycle per plane ([TSP20] sec. 3.5: all four
    // planes' weights install in < 40 cycles). See rows_per_cycle_from_install_bandwidth().
    int rows_per_cycle = 8;
    // Cycles each activation vector occupies the input port: 1 for int8, 4 for fp16
    // ([TSP20] sec. 3.5: fp16 at one quarter of the int8 rate). The "rate" in the docs.
    int cycles_per_vector = 1;
    // true: LW fills a shadow buffer while the array computes; IW swaps it in as a wavefront.
    // false: LW writes the array itself and must wait until the array is empty.
    bool weight_double_buffering = true;
    // Input-port cycles of an IW: the swap token occupies one activation slot ahead of the
    // next ABC's first vector. [ASSUMED] 1, as in configs/tsp-v1.yaml; 0 = the swap rides on
    // the first activation vector for free.
    int iw_cycles = 1;
    // Accumulator banks. 1: an ABC that overwrites (accumulate=false) waits until the previous
    // output tile is fully drained. 2: output tiles alternate banks, so the next tile computes
    // while the previous one drains. [ASSUMED] 1; the ISCA 2020 paper does not say.
    int accumulator_banks = 1;
    // Accumulator capacity in result rows (0 = use accumulator_banks). An overwriting ABC of
    // m rows waits until m rows are free; a result frees its rows when its ACC has drained.
    // This is how the simulator runs (hw config mxm.accumulator_rows); banks remain for the
    // PE-level comparisons, where one bank = one output tile.
    int64_t accumulator_rows = 0;
    // int32 result vectors an ACC drains per cycle ([ASSUMED] 1, configs/tsp-v1.yaml).
    int drain_vectors_per_cycle = 1;
};

// Throws std::invalid_argument naming the first bad field. Config validation with file and
// line belongs to hw/config; this only guards the formulas against nonsense.
inline void validate(const MxmGeometry& g, const MxmParams& p) {
    auto need = [](bool ok, const char* what) {
        if (!ok) throw std::invalid_argument(std::string("mxm timing: ") + what);
    };
    need(g.rows >= 1, "rows must be >= 1");
    need(g.cols >= 1, "cols must be >= 1");
    need(p.rows_per_cycle >= 1, "rows_per_cycle must be >= 1");
    need(p.cycles_per_vector >= 1, "cycles_per_vector must be >= 1");
    need(p.iw_cycles >= 0, "iw_cycles must be >= 0");
    need(p.accumulator_banks == 1 || p.accumulator_banks == 2, "accumulator_banks must be 1 or 2");
    need(p.accumulator_rows >= 0, "accumulator_rows must be >= 0");
    need(p.drain_vectors_per_cycle >= 1, "drain_vectors_per_cycle must be >= 1");
}

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Integer rows per cycle and plane from a chip-wide install bandwidth, rounded down (never
// faster than the configured bandwidth) and at least 1. tsp-v1: 10240 / (4 x 320) = 8.
constexpr int rows_per_cycle_from_install_bandwidth(int64_t install_bytes_per_cycle, int planes, int cols,
                                                    int bytes_per_weight = 1) {
    const int64_t row_bytes = int64_t{planes} * cols * bytes_per_weight;
    return static_cast<int>(std::max<int64_t>(1, install_bytes_per_cycle / row_bytes));
}

// LW of `rows` weight rows: ceil(rows / rows_per_cycle) cycles on the weight input.
constexpr int64_t load_cycles(int64_t rows, int rows_per_cycle) { return ceil_div(rows, rows_per_cycle); }

// ABC of m vectors: the input port is busy rate*m cycles (vector i enters at t0 + rate*i).
constexpr int64_t abc_port_cycles(int64_t m, int rate = 1) { return int64_t{rate} * m; }

// ABC of m vectors started at t0: element k of vector i is in PE(k,c) at t0 + rate*i + k + c;
// the partial sum of column c leaves the last row and enters the accumulator at
// t0 + rate*i + R + c. The last one (i = m-1, c = C-1) arrives at t0 + rate*(m-1) + R + C - 1,
// so counting t0 inclusively: rate*(m-1) + R + C cycles (= m + R + C - 1 for int8).
constexpr int64_t abc_cycles(const MxmGeometry& g, int64_t m, int rate = 1) {
    return m <= 0 ? 0 : int64_t{rate} * (m - 1) + g.rows + g.cols;
}

// ACC of m result vectors: ceil(m / drain_vectors_per_cycle) cycles on the drain port.
constexpr int64_t acc_cycles(int64_t m, int drain_vectors_per_cycle = 1) {
    return ceil_div(m, drain_vectors_per_cycle);
}

enum class MxmOp { Lw, Iw, Abc, Acc };

inline const char* op_name(MxmOp op) {
    switch (op) {
        case MxmOp::Lw:
            return "LW";
        case MxmOp::Iw:
            return "IW";
        case MxmOp::Abc:
            return "ABC";
        case MxmOp::Acc:
            return "ACC";
    }
    return "?";
}

struct OpTiming {
    int64_t start = 0;
    int64_t port_free = 0;  // the unit's issuing port may take its next instruction from here
    int64_t end = 0;        // the effect is complete: weights loaded/armed, results in the
                            // accumulators (ABC), last vector drained (ACC)
};

// The hazard rules of one plane, applied to instructions in program order. Three ports
// work independently, each in its own program order: the weight input (LW), the
// activation input (IW, ABC) and the drain (ACC). Cross-port rules (docs/timing-mxm.md):
//   LW  single-buffered: start >= end of every earlier ABC (the array is empty).
//       double-buffered: start >= start of the latest earlier IW (its swap wave passes each
//       PE no later than the new weights, which travel the same skewed path).
//   IW  start >= end of the latest earlier LW; occupies the input port iw_cycles.
//   ABC start >= input port free; if accumulate=false also >= end of the last ACC of the
//       accumulator bank it takes (banks are taken round robin by accumulate=false ABCs).
//   ACC start >= end of every earlier ABC; drains the bank of the latest accumulate=false ABC.
// `ready` is the earliest cycle the instruction's operands (streams) are available.
class MxmTimeline {
public:
    MxmTimeline(MxmGeometry g, MxmParams p) : g_(g), p_(p), bank_free_(2, 0) { validate(g, p); }

    // `last_ready` (optional): the cycle the last operand vector arrives; a slower feed
    // stretches the load past its formula time (the simulator passes its stream arrival).
    OpTiming lw(int64_t rows, int64_t ready = 0, int64_t last_ready = 0) {
        int64_t start = std::max(ready, weight_port_free_);
        start = std::max(start, p_.weight_double_buffering ? last_iw_start_ : last_abc_end_);
        const int64_t end = std::max(start + load_cycles(rows, p_.rows_per_cycle), last_ready + 1);
        weight_port_free_ = end;
        last_lw_end_ = end;
        return {start, end, end};
    }

    OpTiming iw(int64_t ready = 0) {
        const int64_t start = std::max({ready, act_port_free_, last_lw_end_});
        const int64_t end = start + p_.iw_cycles;
        act_port_free_ = end;
        last_iw_start_ = start;
        return {start, end, end};
    }

    // `last_ready` (optional): arrival of the last activation; a slower feed stretches the
    // port time, and the results follow the last vector by R + C cycles.
    // `rate` (optional): cycles per vector for this ABC (fp16 planes); 0 = params().
    OpTiming abc(int64_t m, bool accumulate, int64_t ready = 0, int64_t last_ready = 0, int rate = 0) {
        const int r = rate > 0 ? rate : p_.cycles_per_vector;
        int64_t start = std::max(ready, act_port_free_);
        if (!accumulate && p_.accumulator_rows > 0) {
            if (m > p_.accumulator_rows) throw std::invalid_argument("mxm timing: ABC rows exceed the accumulator rows");
            // Results leave in order: wait for the oldest ones to drain until m rows are free.
            for (;;) {
                int64_t held = 0;
                for (const auto& h : held_)
                    if (h.second > start) held += h.first;
                if (held + m <= p_.accumulator_rows) break;
                int64_t next_free = INT64_MAX;
                for (const auto& h : held_)
                    if (h.second > start) next_free = std::min(next_free, h.second);
                if (next_free == INT64_MAX) throw std::logic_error("mxm timing: accumulators full of undrained results");
                start = next_free;
            }
            while (!held_.empty() && held_.front().second <= start) held_.pop_front();
            held_.push_back({m, INT64_MAX});
            current_bank_ = 0;
        } else if (!accumulate) {
            current_bank_ = (current_bank_ + 1) % p_.accumulator_banks;
            start = std::max(start, bank_free_[current_bank_]);
        } else if (current_bank_ < 0) {
            throw std::logic_error("mxm timing: ABC accumulate=1 before any ABC accumulate=0");
        }
        const int64_t port_free = std::max(start + abc_port_cycles(m, r), last_ready + r);
        const int64_t end = port_free - abc_port_cycles(m, r) + abc_cycles(g_, m, r);
        act_port_free_ = port_free;
        last_abc_end_ = std::max(last_abc_end_, end);
        return {start, port_free, end};
    }

    OpTiming acc(int64_t m, int64_t ready = 0) {
        if (current_bank_ < 0) throw std::logic_error("mxm timing: ACC before any ABC");
        const int64_t start = std::max({ready, drain_port_free_, last_abc_end_});
        const int64_t end = start + acc_cycles(m, p_.drain_vectors_per_cycle);
        drain_port_free_ = end;
        bank_free_[current_bank_] = end;
        for (auto& h : held_)
            if (h.second == INT64_MAX) {  // the oldest undrained result leaves
                h.second = end;
                break;
            }
        return {start, end, end};
    }

    const MxmGeometry& geometry() const { return g_; }
    const MxmParams& params() const { return p_; }

private:
    MxmGeometry g_;
    MxmParams p_;
    int64_t weight_port_free_ = 0;
    int64_t act_port_free_ = 0;
    int64_t drain_port_free_ = 0;
    int64_t last_lw_end_ = 0;
    int64_t last_iw_start_ = 0;  // 0 before the first IW: the shadow buffer starts empty
    int64_t last_abc_end_ = 0;
    std::vector<int64_t> bank_free_;
    std::deque<std::pair<int64_t, int64_t>> held_;  // (rows, cycle freed) per result, oldest first
    int current_bank_ = -1;
};

// One instruction of the GEMM schedule with its timing.
struct ScheduledOp {
    MxmOp op = MxmOp::Lw;
    int64_t n_tile = 0;
    int64_t k_tile = 0;       // -1 for ACC
    int64_t count = 0;        // LW: weight rows; ABC, ACC: vectors; IW: 0
    bool accumulate = false;  // ABC only
    OpTiming time;
};

// The schedule the compiler emits for C[MxN] = A[MxK] x B[KxN] on one plane:
//   for n_tile in 0..ceil(N/C)-1:              (C output columns at a time)
//     for k_tile in 0..ceil(K/R)-1:            (R reduction rows at a time)
//       LW(min(R, K - k_tile*R) rows); IW; ABC(M, accumulate = k_tile > 0)
//     ACC(M)
// Calls visit(const ScheduledOp&) for every instruction in program order; returns the cycle
// at which the last result vector has been drained (= total cycles from 0).
template <class Visit>
int64_t walk_gemm(const MxmGeometry& g, int64_t M, int64_t K, int64_t N, const MxmParams& p, Visit&& visit) {
    if (M < 1 || K < 1 || N < 1) throw std::invalid_argument("mxm timing: GEMM dimensions must be >= 1");
    MxmTimeline tl(g, p);
    const int64_t n_tiles = ceil_div(N, g.cols);
    const int64_t k_tiles = ceil_div(K, g.rows);
    int64_t total = 0;
    for (int64_t n = 0; n < n_tiles; ++n) {
        for (int64_t k = 0; k < k_tiles; ++k) {
            const int64_t rows = std::min<int64_t>(g.rows, K - k * g.rows);
            visit(ScheduledOp{MxmOp::Lw, n, k, rows, false, tl.lw(rows)});
            visit(ScheduledOp{MxmOp::Iw, n, k, 0, false, tl.iw()});
            visit(ScheduledOp{MxmOp::Abc, n, k, M, k > 0, tl.abc(M, k > 0)});
        }
        const OpTiming drain = tl.acc(M);
        visit(ScheduledOp{MxmOp::Acc, n, -1, M, false, drain});
        total = drain.end;
    }
    return total;
}

inline std::vector<ScheduledOp> gemm_schedule(const MxmGeometry& g, int64_t M, int64_t K, int64_t N,
                                              const MxmParams& p) {
    std::vector<ScheduledOp> ops;
    walk_gemm(g, M, K, N, p, [&](const ScheduledOp& op) { ops.push_back(op); });
    return ops;
}

// Total cycles of the GEMM schedule above, from the first LW at cycle 0 until the last
// result vector has left the accumulators. O(number of tiles); no PE simulation.
inline int64_t gemm_cycles(const MxmGeometry& g, int64_t M, int64_t K, int64_t N, const MxmParams& p) {
    return walk_gemm(g, M, K, N, p, [](const ScheduledOp&) {});
}

}  // namespace lpu::timing
