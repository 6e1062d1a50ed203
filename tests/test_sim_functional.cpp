// Simulator functional mode: the example programs run on real data give exactly what a
// plain C++ reference computes. Data are laid out in SRAM as each example's header says.
// One simulate() per TEST_CASE: each runs in its own process.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "hw/config.hpp"
#include "isa/assembler.hpp"
#include "sim/simulation.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

constexpr int kLanes = 320;  // tsp-v1 vector bytes; checked against the config below

hw::HwConfig tsp_v1() {
    hw::HwConfig cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    REQUIRE(cfg.vector_bytes() == kLanes);
    return cfg;
}

using Matrix8 = std::vector<std::vector<int8_t>>;  // [rows][cols]

Matrix8 random_int8(std::mt19937& rng, int rows, int cols) {
    std::uniform_int_distribution<int> d(-128, 127);
    Matrix8 m(static_cast<size_t>(rows), std::vector<int8_t>(static_cast<size_t>(cols)));
    for (auto& row : m)
        for (auto& v : row) v = static_cast<int8_t>(d(rng));
    return m;
}

// Weight rows k of W[:, col0 .. col0 + 319] in slices base + k % 8 at address k / 8
// (40 vectors per slice, stored from address 0).
void place_weights(sim::SimOptions& o, const Matrix8& w, int col0, int base) {
    for (int s = 0; s < 8; ++s) {
        sim::SimOptions::SramInit init;
        init.slice = base + s;
        init.addr = 0;
        for (int a = 0; a < 40; ++a)
            for (int c = 0; c < kLanes; ++c)
                init.bytes.push_back(
                    static_cast<uint8_t>(w[static_cast<size_t>(8 * a + s)][static_cast<size_t>(col0 + c)]));
        o.sram_init.push_back(std::move(init));
    }
}

// Activation rows X[i] at address i of `slice`.
void place_rows(sim::SimOptions& o, const Matrix8& x, int slice) {
    sim::SimOptions::SramInit init;
    init.slice = slice;
    for (const auto& row : x)
        for (int8_t v : row) init.bytes.push_back(static_cast<uint8_t>(v));
    o.sram_init.push_back(std::move(init));
}

// Y[i][c] for c in col0 .. col0 + 319, exact int32 (no overflow: |sum| <= 320 x 128 x 128).
std::vector<int32_t> reference_tile(const Matrix8& x, const Matrix8& w, int col0) {
    std::vector<int32_t> y(x.size() * kLanes, 0);
    for (size_t i = 0; i < x.size(); ++i)
        for (int c = 0; c < kLanes; ++c) {
            int32_t sum = 0;
            for (size_t k = 0; k < w.size(); ++k)
                sum += int32_t{x[i][k]} * int32_t{w[k][static_cast<size_t>(col0 + c)]};
            y[i * kLanes + static_cast<size_t>(c)] = sum;
        }
    return y;
}

// 8 int32 rows read back from a slice: row i's 320 int32 at bytes [1280 i, 1280 i + 1280).
std::vector<int32_t> read_int32_rows(const sim::SimResult& r, int slice, int rows) {
    const auto bytes = r.read_sram(0, slice, 0, static_cast<uint64_t>(4 * rows), kLanes);
    std::vector<int32_t> out(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

size_t mismatches(const std::vector<int32_t>& got, const std::vector<int32_t>& want) {
    size_t bad = 0;
    for (size_t i = 0; i < want.size(); ++i) bad += got[i] != want[i];
    return bad + (got.size() != want.size());
}

sim::SimResult run_example(const hw::HwConfig& cfg, const std::string& name, sim::SimOptions o) {
    const std::string path = "workloads/examples/programs/" + name;
    o.functional = true;
    o.program_file = path;
    return sim::simulate(cfg, isa::assemble_file(source_path(path)), o);
}

}  // namespace

TEST_CASE("the int8 GEMM example on random data equals a reference matmul", "[sim]") {
    const hw::HwConfig cfg = tsp_v1();
    std::mt19937 rng(20240531);
    const Matrix8 w = random_int8(rng, 320, 320);  // W[k][n]
    const Matrix8 x = random_int8(rng, 8, 320);    // X[i][k]
    sim::SimOptions o;
    place_weights(o, w, 0, 0);  // slices 0-7
    place_rows(o, x, 10);
    const sim::SimResult r = run_example(cfg, "gemm-8x320x320-int8.lpuasm", o);
    const auto got = read_int32_rows(r, 20, 8);
    const auto want = reference_tile(x, w, 0);
    REQUIRE(got.size() == want.size());
    CHECK(mismatches(got, want) == 0);
    CHECK(got[0] == want[0]);
    CHECK(got.back() == want.back());
}

TEST_CASE("the four-plane int8 GEMM example on random data equals a reference matmul", "[sim]") {
    const hw::HwConfig cfg = tsp_v1();
    std::mt19937 rng(7);
    const Matrix8 w = random_int8(rng, 320, 1280);
    const Matrix8 x = random_int8(rng, 8, 320);
    // plane p: weights from slices base[p]..base[p]+7, activations in act[p], result in out[p]
    const int base[4] = {0, 8, 44, 52}, act[4] = {16, 17, 60, 61}, out[4] = {20, 21, 64, 65};
    sim::SimOptions o;
    for (int p = 0; p < 4; ++p) {
        place_weights(o, w, 320 * p, base[p]);
        place_rows(o, x, act[p]);
    }
    const sim::SimResult r = run_example(cfg, "gemm-4plane-int8.lpuasm", o);
    for (int p = 0; p < 4; ++p) {
        INFO("plane " << p);
        const auto got = read_int32_rows(r, out[p], 8);
        const auto want = reference_tile(x, w, 320 * p);
        REQUIRE(got.size() == want.size());
        CHECK(mismatches(got, want) == 0);
    }
}

TEST_CASE("the VXM chain example computes relu((a + b) * 0.5) in fp32", "[sim]") {
    const hw::HwConfig cfg = tsp_v1();
    std::mt19937 rng(99);
    std::uniform_real_distribution<float> d(-4.0f, 4.0f);
    const int rows = 8;
    std::vector<float> a(rows * kLanes), b(rows * kLanes);
    for (auto& v : a) v = d(rng);
    for (auto& v : b) v = d(rng);
    // Vector 4 i + m of an fp32 operand (elements 80 m .. 80 m + 79 of row i) at address i of
    // slice base + m: a in slices 0-3, b in slices 4-7.
    sim::SimOptions o;
    auto place = [&](const std::vector<float>& src, int base) {
        for (int m = 0; m < 4; ++m) {
            sim::SimOptions::SramInit init;
            init.slice = base + m;
            init.bytes.resize(static_cast<size_t>(rows * kLanes));
            for (int i = 0; i < rows; ++i)
                std::memcpy(init.bytes.data() + i * kLanes, src.data() + i * kLanes + 80 * m, kLanes);
            o.sram_init.push_back(std::move(init));
        }
    };
    place(a, 0);
    place(b, 4);
    const sim::SimResult r = run_example(cfg, "vxm-chain.lpuasm", o);
    size_t bad = 0;
    for (int m = 0; m < 4; ++m) {
        const auto bytes = r.read_sram(0, 44 + m, 0, rows, kLanes);
        for (int i = 0; i < rows; ++i)
            for (int e = 0; e < 80; ++e) {
                float got;
                std::memcpy(&got, bytes.data() + i * kLanes + 4 * e, 4);
                const size_t at = static_cast<size_t>(i * kLanes + 80 * m + e);
                const float sum = a[at] + b[at];
                const float want = std::max(sum * 0.5f, 0.0f);
                bad += got != want;
            }
    }
    CHECK(bad == 0);
}

TEST_CASE("int8 vxm.add wraps and vxm.adds saturates", "[sim]") {
    const hw::HwConfig cfg = tsp_v1();
    // One int8 row each: a = 100 + lane % 28 (100..127), b = 100: a + b = 200..227.
    const std::string text = R"(
.queue mem 0
    mem.read addr=0 n=1 out=s0e
.queue mem 1
    mem.read addr=0 n=1 out=s1e
.queue mem 2
    mem.read addr=0 n=1 out=s2e
.queue mem 3
    mem.read addr=0 n=1 out=s3e
.queue vxm 0
    vxm.add n=1 a=s0e b=s1e out=s4e type=int8
.queue vxm 1
    vxm.adds n=1 a=s2e b=s3e out=s5e type=int8
.queue mem 44
    mem.write addr=0 n=1 in=s4e
.queue mem 45
    mem.write addr=0 n=1 in=s5e
)";
    std::vector<uint8_t> a(kLanes), b(kLanes, 100);
    for (int l = 0; l < kLanes; ++l) a[static_cast<size_t>(l)] = static_cast<uint8_t>(100 + l % 28);
    sim::SimOptions o;
    o.functional = true;
    o.sram_init = {{0, 0, 0, a}, {0, 1, 0, b}, {0, 2, 0, a}, {0, 3, 0, b}};
    const sim::SimResult r = sim::simulate(cfg, isa::assemble(text, "add.lpuasm"), o);
    const auto wrapped = r.read_sram(0, 44, 0, 1, kLanes), saturated = r.read_sram(0, 45, 0, 1, kLanes);
    size_t bad = 0;
    for (int l = 0; l < kLanes; ++l) {
        const int sum = 200 + l % 28;
        bad += static_cast<int8_t>(wrapped[static_cast<size_t>(l)]) != static_cast<int8_t>(sum - 256);
        bad += static_cast<int8_t>(saturated[static_cast<size_t>(l)]) != 127;
    }
    CHECK(bad == 0);
}
