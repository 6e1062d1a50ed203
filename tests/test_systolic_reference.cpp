// The tile-level MXM formulas (sim/mxm_timing.hpp) against a PE-by-PE systolic array
// (tests/reference/systolic_pe.hpp): same values, same cycle counts, same start and end of
// every instruction, on many GEMM shapes and plane geometries, including shapes that do not
// divide the array. Derivations: docs/timing-mxm.md.
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sim/mxm_timing.hpp"
#include "tests/reference/systolic_pe.hpp"

namespace {

using lpu::reference::MatrixI32;
using lpu::reference::MatrixI8;
using lpu::reference::PeFaults;
using lpu::reference::PeInstr;
using lpu::reference::run_gemm_pe;
using lpu::reference::SystolicArrayPe;
using lpu::timing::MxmGeometry;
using lpu::timing::MxmOp;
using lpu::timing::MxmParams;

MatrixI8 random_matrix(int rows, int cols, std::mt19937& rng) {
    std::uniform_int_distribution<int> dist(-128, 127);
    MatrixI8 m(rows, cols);
    for (auto& x : m.v) x = static_cast<int8_t>(dist(rng));
    return m;
}

MatrixI32 plain_matmul(const MatrixI8& A, const MatrixI8& B) {
    MatrixI32 C(A.rows, B.cols);
    for (int i = 0; i < A.rows; ++i)
        for (int j = 0; j < B.cols; ++j) {
            int32_t s = 0;
            for (int k = 0; k < A.cols; ++k) s += int32_t{A.at(i, k)} * int32_t{B.at(k, j)};
            C.at(i, j) = s;
        }
    return C;
}

MxmParams make_params(int rows_per_cycle, int rate, bool double_buffered, int iw, int banks, int drain) {
    MxmParams p;
    p.rows_per_cycle = rows_per_cycle;
    p.cycles_per_vector = rate;
    p.weight_double_buffering = double_buffered;
    p.iw_cycles = iw;
    p.accumulator_banks = banks;
    p.drain_vectors_per_cycle = drain;
    return p;
}

std::string describe(const MxmGeometry& g, int M, int K, int N, const MxmParams& p) {
    std::ostringstream os;
    os << "array " << g.rows << "x" << g.cols << ", GEMM [" << M << "x" << K << "]x[" << K << "x" << N
       << "], rows_per_cycle=" << p.rows_per_cycle << " rate=" << p.cycles_per_vector
       << " double_buffering=" << p.weight_double_buffering << " iw=" << p.iw_cycles
       << " banks=" << p.accumulator_banks << " drain=" << p.drain_vectors_per_cycle;
    return os.str();
}

// Both buffering modes, several load rates and install costs, plus a few mixes of fp16 rate,
// two accumulator banks and wider drains.
std::vector<MxmParams> param_sets() {
    std::vector<MxmParams> sets;
    for (bool db : {false, true}) {
        for (int rpc : {1, 3, 8})
            for (int iw : {0, 1}) sets.push_back(make_params(rpc, 1, db, iw, 1, 1));
        sets.push_back(make_params(2, 4, db, 1, 1, 1));   // fp16-like rate
        sets.push_back(make_params(8, 1, db, 3, 2, 1));   // slow install, two banks
        sets.push_back(make_params(5, 2, db, 0, 2, 2));   // two banks, drain 2 vectors/cycle
        sets.push_back(make_params(64, 1, db, 1, 1, 3));  // whole array per cycle
    }
    return sets;
}

struct Shape {
    MxmGeometry g;
    int M, K, N;
};

std::vector<Shape> shapes() {
    return {
        {{8, 8}, 1, 1, 1},      {{8, 8}, 3, 5, 7},     {{8, 8}, 13, 9, 17},  {{8, 8}, 33, 40, 21},
        {{8, 8}, 8, 8, 8},      {{8, 8}, 16, 16, 16},  {{8, 8}, 2, 64, 3},   {{8, 8}, 9, 7, 30},
        {{4, 4}, 1, 1, 1},      {{4, 4}, 3, 5, 7},     {{4, 4}, 5, 9, 6},    {{5, 7}, 1, 1, 1},
        {{5, 7}, 3, 5, 7},      {{5, 7}, 13, 9, 17},   {{5, 7}, 11, 12, 15}, {{16, 16}, 20, 33, 17},
        {{32, 32}, 33, 40, 21}, {{32, 32}, 4, 70, 65}, {{1, 1}, 3, 2, 2},    {{1, 6}, 2, 3, 13},
        {{7, 3}, 4, 15, 4},
    };
}

struct SweepPoint {
    Shape s;
    MxmParams p;
    MatrixI32 expected;
    lpu::reference::PeGemmResult pe;
};

// Every shape with every parameter set through the PE model, once per process.
const std::vector<SweepPoint>& sweep() {
    static const std::vector<SweepPoint> points = [] {
        std::vector<SweepPoint> out;
        std::mt19937 rng(20240611);
        for (const Shape& s : shapes()) {
            const MatrixI8 A = random_matrix(s.M, s.K, rng);
            const MatrixI8 B = random_matrix(s.K, s.N, rng);
            const MatrixI32 expected = plain_matmul(A, B);
            for (const MxmParams& p : param_sets())
                out.push_back({s, p, expected, run_gemm_pe(s.g, p, A, B)});
        }
        return out;
    }();
    return points;
}

// A one-tile program: LW of all R rows, IW, one ABC of m vectors, ACC.
std::vector<PeInstr> single_tile_program(const MxmGeometry& g, int m) {
    std::vector<PeInstr> prog;
    prog.push_back({MxmOp::Lw, g.rows, false, std::vector<int8_t>(static_cast<size_t>(g.rows) * g.cols, 1)});
    prog.push_back({MxmOp::Iw, 0, false, {}});
    prog.push_back({MxmOp::Abc, m, false, std::vector<int8_t>(static_cast<size_t>(m) * g.rows, 2)});
    prog.push_back({MxmOp::Acc, m, false, {}});
    return prog;
}

}  // namespace

TEST_CASE("The PE model computes exact int8 GEMM results, also for shapes that do not divide the array",
          "[mxm][reference]") {
    for (const SweepPoint& pt : sweep()) {
        INFO(describe(pt.s.g, pt.s.M, pt.s.K, pt.s.N, pt.p));
        REQUIRE(pt.pe.c == pt.expected);
    }
}

TEST_CASE("The PE model's total cycles and every instruction's start and end equal the tile-level schedule",
          "[mxm][reference]") {
    for (const SweepPoint& pt : sweep()) {
        INFO(describe(pt.s.g, pt.s.M, pt.s.K, pt.s.N, pt.p));
        const auto schedule = lpu::timing::gemm_schedule(pt.s.g, pt.s.M, pt.s.K, pt.s.N, pt.p);
        REQUIRE(schedule.size() == pt.pe.run.times.size());
        for (size_t i = 0; i < schedule.size(); ++i) {
            INFO("instruction " << i << ": " << op_name(schedule[i].op) << " n_tile " << schedule[i].n_tile
                                << " k_tile " << schedule[i].k_tile);
            CHECK(pt.pe.run.times[i].start == schedule[i].time.start);
            CHECK(pt.pe.run.times[i].port_free == schedule[i].time.port_free);
            CHECK(pt.pe.run.times[i].end == schedule[i].time.end);
        }
        REQUIRE(pt.pe.run.total_cycles == lpu::timing::gemm_cycles(pt.s.g, pt.s.M, pt.s.K, pt.s.N, pt.p));
    }
}

TEST_CASE("abc_cycles equals the PE model's measurement of a single tile", "[mxm][reference]") {
    const std::vector<MxmGeometry> geometries = {{1, 1}, {1, 9}, {9, 1},   {4, 4},
                                                 {5, 7}, {8, 8}, {16, 16}, {32, 32}};
    for (const MxmGeometry& g : geometries)
        for (int m : {1, 2, 7, 33})
            for (int rate : {1, 4})
                for (bool db : {false, true}) {
                    const MxmParams p = make_params(3, rate, db, 1, 1, 1);
                    INFO(describe(g, m, g.rows, g.cols, p));
                    SystolicArrayPe array(g, p);
                    const auto run = array.run(single_tile_program(g, m));
                    const auto& abc = run.times[2];
                    CHECK(abc.end - abc.start == lpu::timing::abc_cycles(g, m, rate));
                    CHECK(abc.port_free - abc.start == lpu::timing::abc_port_cycles(m, rate));
                }
}

TEST_CASE(
    "Each activation meets PE(k,c) at t0 + rate*i + k + c and each partial sum reaches the "
    "accumulator at t0 + rate*i + R + c",
    "[mxm][reference]") {
    for (int rate : {1, 3}) {
        const MxmGeometry g{5, 7};
        const int m = 4;
        const MxmParams p = make_params(2, rate, true, 1, 1, 1);
        SystolicArrayPe array(g, p);
        int64_t t0 = -1;
        int64_t macs = 0, arrivals = 0;
        bool macs_on_time = true, arrivals_on_time = true;
        // t0 is known only after the run; record and check afterwards.
        std::vector<std::array<int64_t, 4>> mac_log, acc_log;
        array.on_mac = [&](int64_t t, int k, int c, int, int vec) { mac_log.push_back({t, k, c, vec}); };
        array.on_acc = [&](int64_t t, int c, int, int vec) { acc_log.push_back({t, c, vec, 0}); };
        const auto run = array.run(single_tile_program(g, m));
        t0 = run.times[2].start;
        for (const auto& e : mac_log) {
            ++macs;
            macs_on_time = macs_on_time && e[0] == t0 + rate * e[3] + e[1] + e[2];
        }
        for (const auto& e : acc_log) {
            ++arrivals;
            arrivals_on_time = arrivals_on_time && e[0] == t0 + rate * e[2] + g.rows + e[1];
        }
        INFO("rate " << rate);
        CHECK(macs == int64_t{m} * g.rows * g.cols);
        CHECK(arrivals == int64_t{m} * g.cols);
        CHECK(macs_on_time);
        CHECK(arrivals_on_time);
    }
}

TEST_CASE("MXM timings match hand calculations", "[mxm][timing]") {
    using namespace lpu::timing;
    const MxmGeometry plane{320, 320};  // [TSP20] sec. 3.5

    // ABC of 8 int8 vectors on 320x320: the last vector (i=7) enters row 0 at t0+7, its
    // partial sum for column 319 leaves PE(319,319) at t0+7+319+319 = t0+645 and enters the
    // accumulator at t0+646; counting t0 itself: 647 = 8 + 320 + 320 - 1.
    CHECK(abc_cycles(plane, 8) == 647);
    // fp16 at 1/4 rate: vector 7 enters at t0 + 4*7 = t0+28, so 28 + 640 = 668.
    CHECK(abc_cycles(plane, 8, 4) == 668);
    CHECK(abc_port_cycles(8) == 8);
    CHECK(abc_port_cycles(8, 4) == 32);
    // 10,240 B/cycle for 4 planes of 320-byte rows = 8 rows/cycle; 320 rows -> 40 cycles
    // ([TSP20] sec. 3.5: "< 40 cycles"); 300 rows -> ceil(37.5) = 38.
    CHECK(rows_per_cycle_from_install_bandwidth(10240, 4, 320) == 8);
    CHECK(load_cycles(320, 8) == 40);
    CHECK(load_cycles(300, 8) == 38);
    CHECK(load_cycles(1, 8) == 1);
    CHECK(acc_cycles(8) == 8);
    CHECK(acc_cycles(9, 2) == 5);

    // [8x320]x[320x320] on one plane, defaults (8 rows/cycle, iw 1): LW [0,40), IW [40,41),
    // ABC starts 41 and completes 41+647 = 688, ACC [688,696).
    MxmParams tsp;  // defaults = tsp-v1
    CHECK(gemm_cycles(plane, 8, 320, 320, tsp) == 696);
    tsp.weight_double_buffering = false;  // one tile: no difference
    CHECK(gemm_cycles(plane, 8, 320, 320, tsp) == 696);

    // 8x8 array, [4x16]x[16x8], 2 rows/cycle, iw 1: two K tiles of 8 rows (L = 4), P = 4,
    // A = abc_cycles = 3 + 16 = 19, D = 4.
    //  double: LW0 [0,4) IW0 [4,5) ABC0 [5,24) | LW1 starts with IW0 at 4: [4,8);
    //          IW1 at max(8, port free 5+4=9) = 9: [9,10); ABC1 [10,29); ACC [29,33) -> 33
    //  single: LW0 [0,4) IW0 [4,5) ABC0 [5,24) | LW1 waits for ABC0: [24,28) IW1 [28,29)
    //          ABC1 [29,48); ACC [48,52) -> 52
    const MxmGeometry small{8, 8};
    MxmParams p = make_params(2, 1, true, 1, 1, 1);
    CHECK(gemm_cycles(small, 4, 16, 8, p) == 33);
    p.weight_double_buffering = false;
    CHECK(gemm_cycles(small, 4, 16, 8, p) == 52);

    // 8x8 array, [4x8]x[8x16], 8 rows/cycle, iw 1: two N tiles (L = 1, P = 4, A = 19, D = 4).
    //  double, 1 bank: LW0 [0,1) IW0 [1,2) ABC0 [2,21) ACC0 [21,25) | LW1 [1,2)
    //     IW1 at port free 6: [6,7); ABC1 waits for ACC0 to drain the bank: [25,44); ACC1 [44,48) -> 48
    //  double, 2 banks: ABC1 [7,26); ACC1 at max(26, drain free 25) = 26: [26,30) -> 30
    //  single, 1 bank: LW1 waits for ABC0: [21,22) IW1 [22,23) ABC1 waits for the drain: [25,44)
    //     ACC1 [44,48) -> 48 (drain-bound: double buffering gains nothing here)
    //  single, 2 banks: ABC1 [23,42) ACC1 [42,46) -> 46
    p = make_params(8, 1, true, 1, 1, 1);
    CHECK(gemm_cycles(small, 4, 8, 16, p) == 48);
    p.accumulator_banks = 2;
    CHECK(gemm_cycles(small, 4, 8, 16, p) == 30);
    p.weight_double_buffering = false;
    CHECK(gemm_cycles(small, 4, 8, 16, p) == 46);
    p.accumulator_banks = 1;
    CHECK(gemm_cycles(small, 4, 8, 16, p) == 48);
}

TEST_CASE("gemm_cycles equals the closed forms of docs/timing-mxm.md", "[mxm][timing]") {
    using namespace lpu::timing;
    std::vector<Shape> all = shapes();
    for (int M : {1, 8, 40, 700})
        for (int K : {1, 100, 320, 700, 4096})
            for (int N : {1, 320, 321, 1000}) all.push_back({{320, 320}, M, K, N});
    for (const Shape& s : all)
        for (MxmParams p : param_sets()) {
            // The closed forms assume a vector's port time is shorter than its trip through the
            // array (rate < R + C), true of any real plane; the 1x1 fp16 case is port-bound.
            if (p.cycles_per_vector >= s.g.rows + s.g.cols) continue;
            INFO(describe(s.g, s.M, s.K, s.N, p));
            const int64_t R = s.g.rows, k_tiles = ceil_div(s.K, R), n_tiles = ceil_div(s.N, s.g.cols);
            const int64_t I = p.iw_cycles, P = abc_port_cycles(s.M, p.cycles_per_vector);
            const int64_t A = abc_cycles(s.g, s.M, p.cycles_per_vector);
            const int64_t D = acc_cycles(s.M, p.drain_vectors_per_cycle);
            auto L = [&](int64_t k) { return load_cycles(std::min(R, s.K - k * R), p.rows_per_cycle); };

            // Single buffering: every tile costs L_k + I + A in series; an output-tile boundary
            // with one bank costs max(L_0 + I, D) instead of L_0 + I; the last drain adds D.
            int64_t per_output_tile = 0;
            for (int64_t k = 0; k < k_tiles; ++k) per_output_tile += L(k) + I + A;
            const int64_t boundary_wait = p.accumulator_banks == 1 ? std::max<int64_t>(0, D - L(0) - I) : 0;
            p.weight_double_buffering = false;
            CHECK(gemm_cycles(s.g, s.M, s.K, s.N, p) ==
                  n_tiles * per_output_tile + (n_tiles - 1) * boundary_wait + D);

            // Double buffering, one output tile: installs follow each other every
            // max(L_k, I + P) cycles; then the last ABC's latency and the drain.
            if (n_tiles == 1) {
                int64_t t = L(0) + I;
                for (int64_t k = 1; k < k_tiles; ++k) t += std::max(L(k), I + P);
                p.weight_double_buffering = true;
                CHECK(gemm_cycles(s.g, s.M, s.K, s.N, p) == t + A + D);
            }
        }
}

TEST_CASE("The PE model reproduces the hand-calculated small schedules", "[mxm][reference]") {
    std::mt19937 rng(7);
    const MxmGeometry small{8, 8};
    struct Hand {
        int M, K, N;
        MxmParams p;
        int64_t cycles;
    };
    const std::vector<Hand> cases = {
        {4, 16, 8, make_params(2, 1, true, 1, 1, 1), 33},  {4, 16, 8, make_params(2, 1, false, 1, 1, 1), 52},
        {4, 8, 16, make_params(8, 1, true, 1, 1, 1), 48},  {4, 8, 16, make_params(8, 1, true, 1, 2, 1), 30},
        {4, 8, 16, make_params(8, 1, false, 1, 2, 1), 46}, {4, 8, 16, make_params(8, 1, false, 1, 1, 1), 48},
    };
    for (const Hand& h : cases) {
        INFO(describe(small, h.M, h.K, h.N, h.p));
        const MatrixI8 A = random_matrix(h.M, h.K, rng), B = random_matrix(h.K, h.N, rng);
        const auto res = run_gemm_pe(small, h.p, A, B);
        CHECK(res.run.total_cycles == h.cycles);
        CHECK(res.c == plain_matmul(A, B));
    }
}

TEST_CASE("The PE model on a full 320x320 plane agrees with the hand calculation", "[mxm][reference]") {
    // [8x300]x[300x300]: neither K nor N fills the plane. LW of 300 rows at 8/cycle = 38
    // cycles [0,38), IW [38,39), ABC [39, 39+647 = 686), ACC [686,694).
    std::mt19937 rng(320);
    const MxmGeometry plane{320, 320};
    const MxmParams p;  // tsp-v1 defaults
    const MatrixI8 A = random_matrix(8, 300, rng), B = random_matrix(300, 300, rng);
    const auto res = run_gemm_pe(plane, p, A, B);
    CHECK(res.run.total_cycles == 694);
    CHECK(lpu::timing::gemm_cycles(plane, 8, 300, 300, p) == 694);
    CHECK(res.c == plain_matmul(A, B));
}

TEST_CASE(
    "Double buffering is never slower than single buffering, and strictly faster with more than "
    "one tile unless every tile boundary waits for the accumulator drain",
    "[mxm][timing]") {
    using lpu::timing::ceil_div;
    using lpu::timing::gemm_cycles;
    std::vector<Shape> all = shapes();
    for (int M : {1, 4, 8, 40})
        for (int K : {1, 100, 320, 700, 4096})
            for (int N : {1, 320, 321, 1000}) all.push_back({{320, 320}, M, K, N});
    int strict = 0, equal = 0;
    for (const Shape& s : all)
        for (MxmParams p : param_sets()) {
            p.weight_double_buffering = false;
            const int64_t single = gemm_cycles(s.g, s.M, s.K, s.N, p);
            p.weight_double_buffering = true;
            const int64_t dbl = gemm_cycles(s.g, s.M, s.K, s.N, p);
            INFO(describe(s.g, s.M, s.K, s.N, p) << ": single " << single << ", double " << dbl);
            REQUIRE(dbl <= single);
            const int64_t k_tiles = ceil_div(s.K, s.g.rows), n_tiles = ceil_div(s.N, s.g.cols);
            const int64_t load = lpu::timing::load_cycles(std::min<int64_t>(s.K, s.g.rows), p.rows_per_cycle);
            const int64_t drain = lpu::timing::acc_cycles(s.M, p.drain_vectors_per_cycle);
            // With one K tile per output tile, the only overlap double buffering offers is at
            // output-tile boundaries; with one accumulator bank the next tile also waits for
            // the drain, which hides the load (and install) when drain >= load + iw.
            const bool drain_bound = k_tiles == 1 && p.accumulator_banks == 1 && drain >= load + p.iw_cycles;
            // A degenerate "plane" whose vectors take longer on the input port than through the
            // array (1x1 with fp16 rate) gains nothing either: the port, not the load, binds.
            const bool port_bound = p.cycles_per_vector >= s.g.rows + s.g.cols;
            if (port_bound) continue;
            if (k_tiles * n_tiles > 1 && !drain_bound) {
                REQUIRE(dbl < single);
                ++strict;
            } else {
                REQUIRE(dbl == single);
                ++equal;
            }
        }
    CHECK(strict > 0);
    CHECK(equal > 0);
}

TEST_CASE("The PE model's hazard checks catch broken buffering rules", "[mxm][reference]") {
    std::mt19937 rng(3);
    const MxmGeometry g{8, 8};
    PeFaults early_load;
    early_load.lw_ignores_buffer_rule = true;
    PeFaults no_bank_wait;
    no_bank_wait.abc_ignores_bank_rule = true;

    // Single buffering: the second LW would overwrite the weights the first ABC still needs.
    const MatrixI8 A = random_matrix(8, 24, rng), B = random_matrix(24, 16, rng);
    CHECK_THROWS_AS(run_gemm_pe(g, make_params(8, 1, false, 1, 1, 1), A, B, early_load), std::logic_error);
    // Double buffering: the third LW would refill the shadow before the second IW installed it.
    CHECK_THROWS_AS(run_gemm_pe(g, make_params(8, 1, true, 1, 1, 1), A, B, early_load), std::logic_error);
    // One bank: the next output tile would overwrite results that have not been drained.
    CHECK_THROWS_AS(run_gemm_pe(g, make_params(8, 1, true, 1, 1, 1), A, B, no_bank_wait), std::logic_error);
    // The same programs with the rules in force are fine.
    CHECK(run_gemm_pe(g, make_params(8, 1, true, 1, 1, 1), A, B).c == plain_matmul(A, B));
}

TEST_CASE("The MXM timing helpers reject nonsense parameters", "[mxm][timing]") {
    using lpu::timing::gemm_cycles;
    const MxmParams ok;
    CHECK_THROWS_AS(gemm_cycles({0, 8}, 1, 1, 1, ok), std::invalid_argument);
    CHECK_THROWS_AS(gemm_cycles({8, 8}, 0, 1, 1, ok), std::invalid_argument);
    MxmParams bad = ok;
    bad.rows_per_cycle = 0;
    CHECK_THROWS_AS(gemm_cycles({8, 8}, 1, 1, 1, bad), std::invalid_argument);
    bad = ok;
    bad.accumulator_banks = 3;
    CHECK_THROWS_AS(gemm_cycles({8, 8}, 1, 1, 1, bad), std::invalid_argument);
    lpu::timing::MxmTimeline tl({8, 8}, ok);
    CHECK_THROWS_AS(tl.abc(4, true), std::logic_error);
}
