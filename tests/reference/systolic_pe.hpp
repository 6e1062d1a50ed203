// A cycle-by-cycle, PE-by-PE model of one small weight-stationary systolic array (one MXM
// plane), used only by tests to validate the tile-level formulas of sim/mxm_timing.hpp.
//
// It shares nothing with the formulas but the parameter structs: every cycle it moves each
// activation one PE east, each partial sum one PE south, each weight row token one PE east,
// shifts the input skew buffers and weight delay lines, and counts the partial sums that
// reach the accumulators. Instruction start times come from controller conditions that look
// at the state of the model (ABC complete = all its partial sums arrived; bank free = its
// drain finished); completion times are measured, never computed. Tags on weights,
// activations and accumulator rows turn any hazard the rules fail to prevent into an
// exception (std::logic_error), so a rule that is too aggressive cannot go unnoticed.
//
// Micro-architecture modelled (docs/timing-mxm.md, section "PE reference model"):
//   - PE(k,c) holds an active weight and, with double buffering, a shadow weight.
//   - Activations: the input port presents one vector (R lanes) per slot; lane k passes a
//     k-stage skew buffer, enters PE(k,0), then moves east one PE per cycle.
//   - Partial sums: PE(k,c) adds w*x to the partial sum from PE(k-1,c) (0 in row 0) and
//     passes it south; row R-1's output enters the accumulator of column c next cycle.
//   - Weights: an LW delivers rows_per_cycle rows per cycle; row k waits in a delay line of
//     k - floor(k/rows_per_cycle) stages so that it enters PE(k,0) at s + k, then travels
//     east one PE per cycle; PE(k,c) latches its element when the token passes (s + k + c).
//     Rows beyond the loaded count are zero rows generated at the array edge (no input slot).
//   - IW (double buffering): a swap token enters the skew buffers in the IW's first slot and
//     travels with the activations; PE(k,c) copies shadow -> active when it passes.
//   - Accumulators: `accumulator_banks` banks of M x C int32; ACC reads
//     drain_vectors_per_cycle rows per cycle.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/mxm_timing.hpp"

namespace lpu::reference {

using lpu::timing::MxmGeometry;
using lpu::timing::MxmOp;
using lpu::timing::MxmParams;
using lpu::timing::OpTiming;

// Row-major int8 or int32 matrix.
template <class T>
struct Matrix {
    int rows = 0;
    int cols = 0;
    std::vector<T> v;
    Matrix() = default;
    Matrix(int r, int c) : rows(r), cols(c), v(static_cast<size_t>(r) * c, T{0}) {}
    T& at(int r, int c) { return v[static_cast<size_t>(r) * cols + c]; }
    const T& at(int r, int c) const { return v[static_cast<size_t>(r) * cols + c]; }
    friend bool operator==(const Matrix&, const Matrix&) = default;
};
using MatrixI8 = Matrix<int8_t>;
using MatrixI32 = Matrix<int32_t>;

// One instruction of a plane program, with the data it carries.
struct PeInstr {
    MxmOp op = MxmOp::Lw;
    int count = 0;             // LW: rows loaded; ABC, ACC: vectors
    bool accumulate = false;   // ABC
    std::vector<int8_t> data;  // LW: count x C weights; ABC: count x R activation lanes
};

// Deliberately broken rules, to show that the hazard checks are live.
struct PeFaults {
    bool lw_ignores_buffer_rule = false;  // LW starts as soon as the weight input is free
    bool abc_ignores_bank_rule = false;   // accumulate=0 ABC does not wait for the drain
};

struct PeRun {
    int64_t total_cycles = 0;                   // end of the last instruction
    std::vector<OpTiming> times;                // per instruction, program order
    std::vector<std::vector<int32_t>> drained;  // per ACC: count x C values, row-major
};

// Called for every MAC: (cycle, k, c, abc instruction index, vector index).
using MacProbe = std::function<void(int64_t, int, int, int, int)>;
// Called for every partial sum entering an accumulator: (cycle, c, abc index, vector index).
using AccProbe = std::function<void(int64_t, int, int, int)>;

class SystolicArrayPe {
public:
    SystolicArrayPe(MxmGeometry g, MxmParams p, PeFaults faults = {}) : g_(g), p_(p), faults_(faults) {
        lpu::timing::validate(g, p);
    }

    MacProbe on_mac;
    AccProbe on_acc;

    PeRun run(const std::vector<PeInstr>& program, int64_t max_cycles = 50'000'000) {
        setup(program);
        int64_t t = 0;
        for (; !all_done(t); ++t) {
            if (t >= max_cycles) fail("no progress after max_cycles (deadlock?)", t);
            control(t);
            step(t);
        }
        PeRun out;
        out.times.reserve(instrs_.size());
        for (const auto& s : instrs_) {
            out.times.push_back({s.start, s.port_free, s.end});
            out.total_cycles = std::max(out.total_cycles, s.end);
        }
        out.drained = drained_;
        return out;
    }

private:
    static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

    struct ActSlot {  // one lane of one input slot, moving east
        bool valid = false;
        bool swap = false;  // install token: copy shadow -> active before computing
        int8_t x = 0;
        int abc = -1;  // instruction index of the ABC
        int vec = -1;
        int tile = -1;  // weight tile this activation must meet (index of its LW)
    };
    struct PsumSlot {  // one partial sum, moving south
        bool valid = false;
        int32_t v = 0;
        int abc = -1;
        int vec = -1;
    };
    struct WeightToken {  // one weight row, moving east; PE(k,c) takes element c
        bool valid = false;
        int lw = -1;  // instruction index of the LW (also the weight tile id)
        int row = -1;
    };
    struct Pe {
        int8_t w = 0;
        int w_tile = -1;
        int8_t shadow = 0;
        int shadow_tile = -1;  // -1: empty (installed or never loaded)
    };
    struct Regs {  // pipeline registers at the output of each PE
        ActSlot act;
        PsumSlot psum;
        WeightToken wt;
    };
    struct State {  // controller bookkeeping per instruction
        int64_t start = kNever;
        int64_t port_free = kNever;
        int64_t end = kNever;
        int prev_lw = -1;     // latest earlier LW
        int prev_iw = -1;     // latest earlier IW
        int tile = -1;        // ABC: index of the LW whose weights it needs (latest earlier LW)
        int bank = -1;        // ABC, ACC
        int acc_index = -1;   // ACC: position among ACCs
        int64_t arrived = 0;  // ABC: partial sums absorbed
        std::vector<int> earlier_abcs;
    };

    [[noreturn]] void fail(const std::string& what, int64_t t) const {
        throw std::logic_error("systolic PE model, cycle " + std::to_string(t) + ": " + what);
    }

    void setup(const std::vector<PeInstr>& program) {
        prog_ = &program;
        const int R = g_.rows, C = g_.cols;
        pes_.assign(static_cast<size_t>(R) * C, Pe{});
        cur_.assign(static_cast<size_t>(R) * C, Regs{});
        next_ = cur_;
        skew_.assign(R, {});
        wdelay_.assign(R, {});
        for (int k = 0; k < R; ++k) {
            skew_[k].assign(k, ActSlot{});
            wdelay_[k].assign(k - k / p_.rows_per_cycle, WeightToken{});
        }
        instrs_.assign(program.size(), State{});
        queue_lw_.clear();
        queue_act_.clear();
        queue_acc_.clear();
        drained_.clear();
        int prev_lw = -1, prev_iw = -1, bank = -1, accs = 0, max_m = 0;
        std::vector<int> abcs;
        for (int i = 0; i < static_cast<int>(program.size()); ++i) {
            const PeInstr& in = program[i];
            State& s = instrs_[i];
            s.prev_lw = prev_lw;
            s.prev_iw = prev_iw;
            s.earlier_abcs = abcs;
            switch (in.op) {
                case MxmOp::Lw:
                    if (in.count < 0 || in.count > R || in.data.size() != static_cast<size_t>(in.count) * C)
                        throw std::invalid_argument("LW: bad row count or data size");
                    queue_lw_.push_back(i);
                    prev_lw = i;
                    break;
                case MxmOp::Iw:
                    queue_act_.push_back(i);
                    prev_iw = i;
                    break;
                case MxmOp::Abc:
                    if (in.count < 1 || in.data.size() != static_cast<size_t>(in.count) * R)
                        throw std::invalid_argument("ABC: bad vector count or data size");
                    if (!in.accumulate) bank = (bank + 1) % p_.accumulator_banks;
                    if (bank < 0) throw std::invalid_argument("ABC accumulate=1 before accumulate=0");
                    s.bank = bank;
                    s.tile = prev_lw;
                    queue_act_.push_back(i);
                    abcs.push_back(i);
                    max_m = std::max(max_m, in.count);
                    break;
                case MxmOp::Acc:
                    if (bank < 0) throw std::invalid_argument("ACC before any ABC");
                    s.bank = bank;
                    s.acc_index = accs++;
                    queue_acc_.push_back(i);
                    drained_.emplace_back(static_cast<size_t>(in.count) * C, 0);
                    break;
            }
        }
        lw_pos_ = act_pos_ = acc_pos_ = 0;
        act_port_free_ = weight_port_free_ = drain_port_free_ = 0;
        swap_now_ = false;
        bank_owner_.assign(p_.accumulator_banks, -1);
        bank_free_at_.assign(p_.accumulator_banks, 0);
        acc_rows_ = std::max(max_m, 1);
        accum_.assign(p_.accumulator_banks, std::vector<int32_t>(static_cast<size_t>(acc_rows_) * C, 0));
        dirty_.assign(p_.accumulator_banks, std::vector<char>(static_cast<size_t>(acc_rows_) * C, 0));
        loading_.clear();
        injecting_ = -1;
        draining_ = -1;
    }

    bool all_done(int64_t t) const {
        for (const auto& s : instrs_)
            if (s.end == kNever || s.end > t) return false;
        return true;
    }

    bool ended(int idx, int64_t t) const { return idx < 0 || instrs_[idx].end <= t; }
    bool started(int idx, int64_t t) const { return idx < 0 || instrs_[idx].start <= t; }

    // Start decisions for cycle t, from the state at the beginning of the cycle.
    void control(int64_t t) {
        const std::vector<PeInstr>& prog = *prog_;
        // Activation input: IWs and ABCs in program order; an IW of 0 cycles lets the ABC
        // behind it start in the same cycle.
        swap_now_ = false;
        while (act_pos_ < queue_act_.size() && t >= act_port_free_) {
            const int i = queue_act_[act_pos_];
            State& s = instrs_[i];
            if (prog[i].op == MxmOp::Iw) {
                if (!ended(s.prev_lw, t)) break;
                s.start = t;
                s.port_free = s.end = t + p_.iw_cycles;
                act_port_free_ = s.end;
                if (p_.weight_double_buffering) swap_now_ = true;
            } else {
                if (!prog[i].accumulate && !faults_.abc_ignores_bank_rule) {
                    if (bank_owner_[s.bank] >= 0 || bank_free_at_[s.bank] > t) break;
                }
                if (!prog[i].accumulate) bank_owner_[s.bank] = i;
                s.start = t;
                s.port_free = t + int64_t{p_.cycles_per_vector} * prog[i].count;
                act_port_free_ = s.port_free;
                injecting_ = i;
            }
            ++act_pos_;
        }
        // Weight input: LWs in program order. Decided after the activation input so that an LW
        // may start in the same cycle as the IW it waits for (double buffering).
        if (lw_pos_ < queue_lw_.size() && t >= weight_port_free_) {
            const int i = queue_lw_[lw_pos_];
            State& s = instrs_[i];
            bool ok = true;
            if (!faults_.lw_ignores_buffer_rule) {
                if (p_.weight_double_buffering) {
                    ok = started(s.prev_iw, t);  // the previous install's swap wave has begun
                } else {
                    for (int a : s.earlier_abcs) ok = ok && ended(a, t);  // array empty
                }
            }
            if (ok) {
                s.start = t;
                // The load is complete when its last data row has left the stream input.
                const int64_t slots = (prog[i].count + p_.rows_per_cycle - 1) / p_.rows_per_cycle;
                s.port_free = s.end = t + slots;
                weight_port_free_ = s.end;
                loading_.push_back(i);
                ++lw_pos_;
            }
        }
        // Drain: ACCs in program order, after every earlier ABC has completed.
        if (acc_pos_ < queue_acc_.size() && t >= drain_port_free_) {
            const int i = queue_acc_[acc_pos_];
            State& s = instrs_[i];
            bool ok = true;
            for (int a : s.earlier_abcs) ok = ok && ended(a, t);
            if (ok) {
                s.start = t;
                s.port_free = s.end =
                    t + (prog[i].count + p_.drain_vectors_per_cycle - 1) / p_.drain_vectors_per_cycle;
                drain_port_free_ = s.end;
                draining_ = i;
                ++acc_pos_;
            }
        }
    }

    // The input slot presented to lane k at cycle t.
    ActSlot port_slot(int64_t t, int k) const {
        ActSlot a;
        a.swap = swap_now_;
        if (injecting_ < 0) return a;
        const State& s = instrs_[injecting_];
        const PeInstr& in = (*prog_)[injecting_];
        const int64_t dt = t - s.start;
        if (dt < 0 || t >= s.port_free || dt % p_.cycles_per_vector != 0) return a;
        const int vec = static_cast<int>(dt / p_.cycles_per_vector);
        a.valid = true;
        a.x = in.data[static_cast<size_t>(vec) * g_.rows + k];
        a.abc = injecting_;
        a.vec = vec;
        a.tile = s.tile;
        return a;
    }

    // The weight row token entering the delay line of row k at cycle t (rows_per_cycle rows
    // per cycle from the LW's start; all R rows, those beyond the load count being zero rows).
    WeightToken weight_input(int64_t t, int k) const {
        for (int i : loading_) {
            const int64_t g = t - instrs_[i].start;
            if (g == k / p_.rows_per_cycle) return {true, i, k};
        }
        return {};
    }

    int8_t weight_value(const WeightToken& wt, int c) const {
        const PeInstr& in = (*prog_)[wt.lw];
        if (wt.row >= in.count) return 0;  // zero row generated at the edge
        return in.data[static_cast<size_t>(wt.row) * g_.cols + c];
    }

    void step(int64_t t) {
        const int R = g_.rows, C = g_.cols;
        const std::vector<PeInstr>& prog = *prog_;

        // Drain reads first: the accumulators as they were at the start of the cycle.
        if (draining_ >= 0) {
            const State& s = instrs_[draining_];
            const int64_t q = t - s.start;
            if (q >= 0 && t < s.end) {
                const int count = prog[draining_].count;
                std::vector<int32_t>& out = drained_[s.acc_index];
                for (int r = static_cast<int>(q) * p_.drain_vectors_per_cycle;
                     r < std::min<int64_t>(count, (q + 1) * p_.drain_vectors_per_cycle); ++r) {
                    for (int c = 0; c < C; ++c) {
                        const size_t at = static_cast<size_t>(r) * C + c;
                        out[at] = accum_[s.bank][at];
                        dirty_[s.bank][at] = 0;
                    }
                }
            }
        }

        // Accumulators absorb what left row R-1 at the end of the previous cycle.
        for (int c = 0; c < C; ++c) {
            const PsumSlot& ps = cur_[idx(R - 1, c)].psum;
            if (!ps.valid) continue;
            State& s = instrs_[ps.abc];
            const size_t at = static_cast<size_t>(ps.vec) * C + c;
            if (prog[ps.abc].accumulate) {
                accum_[s.bank][at] += ps.v;
            } else {
                if (dirty_[s.bank][at]) fail("accumulator overwritten before it was drained", t);
                accum_[s.bank][at] = ps.v;
            }
            dirty_[s.bank][at] = 1;
            if (on_acc) on_acc(t, c, ps.abc, ps.vec);
            if (++s.arrived == int64_t{prog[ps.abc].count} * C) s.end = t + 1;
        }

        // The PE array.
        for (int k = 0; k < R; ++k) {
            const ActSlot from_port = port_slot(t, k);
            const ActSlot west0 = k == 0 ? from_port : skew_[k][k - 1];
            const WeightToken w_in = weight_input(t, k);
            const WeightToken wwest0 = wdelay_[k].empty() ? w_in : wdelay_[k].back();
            for (int c = 0; c < C; ++c) {
                const ActSlot& a = c == 0 ? west0 : cur_[idx(k, c - 1)].act;
                const WeightToken& wt = c == 0 ? wwest0 : cur_[idx(k, c - 1)].wt;
                const PsumSlot none{};
                const PsumSlot& north = k == 0 ? none : cur_[idx(k - 1, c)].psum;
                Pe& pe = pes_[idx(k, c)];
                Regs& out = next_[idx(k, c)];

                if (a.swap) {  // install: the shadow becomes active, the shadow is free
                    if (pe.shadow_tile < 0) fail("install of an empty shadow buffer", t);
                    pe.w = pe.shadow;
                    pe.w_tile = pe.shadow_tile;
                    pe.shadow_tile = -1;
                }
                if (a.valid) {
                    if (pe.w_tile != a.tile)
                        fail("PE(" + std::to_string(k) + "," + std::to_string(c) + ") holds weights of LW " +
                                 std::to_string(pe.w_tile) + " but ABC " + std::to_string(a.abc) +
                                 " needs LW " + std::to_string(a.tile),
                             t);
                    if (k > 0 && (!north.valid || north.abc != a.abc || north.vec != a.vec))
                        fail("partial sum and activation out of step", t);
                    out.psum = {true, (k > 0 ? north.v : 0) + int32_t{pe.w} * int32_t{a.x}, a.abc, a.vec};
                    if (on_mac) on_mac(t, k, c, a.abc, a.vec);
                } else {
                    if (north.valid) fail("partial sum without activation", t);
                    out.psum = {};
                }
                if (wt.valid) {  // the weight row passes: latch this column's element
                    const int8_t v = weight_value(wt, c);
                    if (p_.weight_double_buffering) {
                        if (pe.shadow_tile >= 0) fail("LW overwrites a shadow weight not yet installed", t);
                        pe.shadow = v;
                        pe.shadow_tile = wt.lw;
                    } else {
                        pe.w = v;
                        pe.w_tile = wt.lw;
                    }
                }
                out.act = a;
                out.wt = wt;
            }
            // Shift the skew buffer and the weight delay line of this row.
            for (int j = k - 1; j > 0; --j) skew_[k][j] = skew_[k][j - 1];
            if (k > 0) skew_[k][0] = from_port;
            auto& dl = wdelay_[k];
            for (int j = static_cast<int>(dl.size()) - 1; j > 0; --j) dl[j] = dl[j - 1];
            if (!dl.empty()) dl[0] = w_in;
        }
        std::swap(cur_, next_);

        // Bookkeeping at the end of the cycle.
        if (injecting_ >= 0 && t + 1 >= instrs_[injecting_].port_free) injecting_ = -1;
        if (draining_ >= 0 && t + 1 >= instrs_[draining_].end) {
            const int b = instrs_[draining_].bank;
            bank_owner_[b] = -1;
            bank_free_at_[b] = instrs_[draining_].end;
            draining_ = -1;
        }
        std::erase_if(loading_, [&](int i) { return t - instrs_[i].start >= (R - 1) / p_.rows_per_cycle; });
    }

    size_t idx(int k, int c) const { return static_cast<size_t>(k) * g_.cols + c; }

    MxmGeometry g_;
    MxmParams p_;
    PeFaults faults_;
    const std::vector<PeInstr>* prog_ = nullptr;
    std::vector<Pe> pes_;
    std::vector<Regs> cur_, next_;
    std::vector<std::vector<ActSlot>> skew_;        // skew_[k][j]: stage j of lane k's k stages
    std::vector<std::vector<WeightToken>> wdelay_;  // wdelay_[k]: k - k/rows_per_cycle stages
    std::vector<State> instrs_;
    std::vector<int> queue_lw_, queue_act_, queue_acc_;
    size_t lw_pos_ = 0, act_pos_ = 0, acc_pos_ = 0;
    int64_t weight_port_free_ = 0, act_port_free_ = 0, drain_port_free_ = 0;
    bool swap_now_ = false;
    std::vector<int> loading_;     // LWs still emitting row tokens
    int injecting_ = -1;           // ABC whose vectors are entering
    int draining_ = -1;            // ACC in progress
    std::vector<int> bank_owner_;  // accumulate=0 ABC that owns the bank until drained
    std::vector<int64_t> bank_free_at_;
    int acc_rows_ = 1;
    std::vector<std::vector<int32_t>> accum_;
    std::vector<std::vector<char>> dirty_;  // written and not yet drained
    std::vector<std::vector<int32_t>> drained_;
};

// ---- GEMM front end: the same schedule the compiler emits (see lpu::timing::walk_gemm),
// built here from the matrices so that the PE model runs real data. ----

// Lane values fed for activation lanes beyond a K tile's rows. Not zero on purpose: the
// model must get correct results because those rows' weights are zero, as on a 320-lane
// stream that carries unrelated bytes in unused lanes.
inline int8_t junk_lane(int vec, int lane) { return static_cast<int8_t>(37 + 11 * lane + 5 * vec); }

inline std::vector<PeInstr> gemm_program(const MxmGeometry& g, const MatrixI8& A, const MatrixI8& B) {
    if (A.cols != B.rows) throw std::invalid_argument("gemm_program: A.cols != B.rows");
    const int M = A.rows, K = A.cols, N = B.cols, R = g.rows, C = g.cols;
    std::vector<PeInstr> prog;
    for (int n0 = 0; n0 < N; n0 += C) {
        for (int k0 = 0; k0 < K; k0 += R) {
            const int rows = std::min(R, K - k0);
            PeInstr lw{MxmOp::Lw, rows, false, std::vector<int8_t>(static_cast<size_t>(rows) * C, 0)};
            for (int r = 0; r < rows; ++r)
                for (int c = 0; c < C && n0 + c < N; ++c)
                    lw.data[static_cast<size_t>(r) * C + c] = B.at(k0 + r, n0 + c);
            PeInstr abc{MxmOp::Abc, M, k0 > 0, std::vector<int8_t>(static_cast<size_t>(M) * R, 0)};
            for (int i = 0; i < M; ++i)
                for (int k = 0; k < R; ++k)
                    abc.data[static_cast<size_t>(i) * R + k] = k < rows ? A.at(i, k0 + k) : junk_lane(i, k);
            prog.push_back(std::move(lw));
            prog.push_back(PeInstr{MxmOp::Iw, 0, false, {}});
            prog.push_back(std::move(abc));
        }
        prog.push_back(PeInstr{MxmOp::Acc, M, false, {}});
    }
    return prog;
}

struct PeGemmResult {
    MatrixI32 c;
    PeRun run;
};

inline PeGemmResult run_gemm_pe(const MxmGeometry& g, const MxmParams& p, const MatrixI8& A,
                                const MatrixI8& B, PeFaults faults = {}) {
    SystolicArrayPe array(g, p, faults);
    PeGemmResult res{MatrixI32(A.rows, B.cols), array.run(gemm_program(g, A, B))};
    for (size_t t = 0; t < res.run.drained.size(); ++t) {
        const int n0 = static_cast<int>(t) * g.cols;
        for (int i = 0; i < A.rows; ++i)
            for (int c = 0; c < g.cols && n0 + c < B.cols; ++c)
                res.c.at(i, n0 + c) = res.run.drained[t][static_cast<size_t>(i) * g.cols + c];
    }
    return res;
}

}  // namespace lpu::reference
