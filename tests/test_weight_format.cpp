// Weight formats: storage sizes by hand, the documented bit layout byte by byte, pack/unpack
// round trips, fp16 rounding, the reference quantizer on hand-worked examples, and the size
// of a 3.5-bit LLaMA-2-70B against the seeds' claim.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "cli_helpers.hpp"
#include "workloads/compiler/model.hpp"
#include "workloads/compiler/weight_format.hpp"

using namespace lpu::wl;
using lpu::test::source_path;

namespace {

constexpr WeightFormat kIntegerFormats[] = {WeightFormat::Int8, WeightFormat::Int4, WeightFormat::Int3p5,
                                            WeightFormat::Int3p5b};

std::vector<uint8_t> bytes(std::initializer_list<int> v) { return std::vector<uint8_t>(v.begin(), v.end()); }

// Random integers, each within the range of its row.
std::vector<int8_t> random_q(WeightFormat f, int64_t k, int64_t n, std::mt19937& rng) {
    std::vector<int8_t> q(static_cast<size_t>(k * n));
    for (int64_t r = 0; r < k; ++r) {
        const ValueRange range = value_range(f, r);
        std::uniform_int_distribution<int> dist(range.min, range.max);
        for (int64_t c = 0; c < n; ++c) q[static_cast<size_t>(r * n + c)] = static_cast<int8_t>(dist(rng));
    }
    return q;
}

}  // namespace

TEST_CASE("format names match the ISA's type names") {
    for (int i = 0; i < kWeightFormatCount; ++i) {
        const auto f = static_cast<WeightFormat>(i);
        CHECK(find_format(format_name(f)) == f);
        CHECK(lpu::isa::dtype_name(format_dtype(f)) == format_name(f));
    }
    CHECK(weight_format_names() == std::vector<std::string>{"fp16", "int8", "int4", "int3p5", "int3p5b"});
    CHECK_FALSE(find_format("int3").has_value());
    CHECK(payload_bits_per_weight(WeightFormat::Int3p5) == 3.5);
    CHECK(payload_bits_per_weight(WeightFormat::Int3p5b) == 4.0);
}

TEST_CASE("group sizes: per channel only for fp16 and int8, 0/32/64/128 for packed formats") {
    CHECK_FALSE(spec_problem({WeightFormat::Int8, 0}));
    CHECK(spec_problem({WeightFormat::Int8, 128}));
    CHECK(spec_problem({WeightFormat::Fp16, 32}));
    for (WeightFormat f : {WeightFormat::Int4, WeightFormat::Int3p5, WeightFormat::Int3p5b}) {
        for (int g : {0, 32, 64, 128}) CHECK_FALSE(spec_problem({f, g}));
        for (int g : {16, 96, 256, -1}) CHECK(spec_problem({f, g}));
        CHECK(default_group_size(f) == 128);
    }
    CHECK(to_string({WeightFormat::Int4, 128}) == "int4/g128");
    CHECK(to_string({WeightFormat::Int8, 0}) == "int8/channel");
    CHECK_THROWS_AS(storage_bytes(WeightFormat::Int8, 64, 16, 16), std::invalid_argument);
}

TEST_CASE("storage bytes by hand: payload padded per column plus fp16 scales and zero points") {
    // 3.5-bit, groups of 128, 8192 x 8192: 7 bytes per 16 weights, plus an fp16 scale and an
    // fp16 offset for each of the 8192/128 groups of each of the 8192 columns.
    CHECK(storage_bytes(WeightFormat::Int3p5, 128, 8192, 8192) ==
          8192LL * 8192 * 7 / 16 + 2 * 2 * (8192 / 128) * 8192LL);
    CHECK(storage_bytes(WeightFormat::Int3p5, 128, 8192, 8192) == 31457280);  // 3.75 bits per weight
    CHECK(storage_bytes(WeightFormat::Int8, 0, 8192, 1024) == 8192LL * 1024 + 2 * 1024);
    CHECK(storage_bytes(WeightFormat::Int4, 128, 8192, 28672) ==
          8192LL * 28672 / 2 + 4 * (8192 / 128) * 28672LL);
    CHECK(storage_bytes(WeightFormat::Int4, 0, 8192, 28672) == 8192LL * 28672 / 2 + 4 * 28672LL);
    CHECK(storage_bytes(WeightFormat::Int3p5b, 64, 28672, 8192) ==
          28672LL * 8192 / 2 + 4 * (28672 / 64) * 8192LL);
    CHECK(storage_bytes(WeightFormat::Fp16, 0, 640, 1280) == 2 * 640 * 1280);
    // Odd K: each column padded to whole units. K = 17: int3p5 needs 2 units of 16 (14 bytes),
    // int4 and int3p5b 9 bytes; one group of 32 per column covers all 17 rows.
    CHECK(payload_bytes(WeightFormat::Int3p5, 17, 3) == 3 * 14);
    CHECK(storage_bytes(WeightFormat::Int3p5, 32, 17, 3) == 3 * 14 + 3 * 4);
    CHECK(storage_bytes(WeightFormat::Int4, 0, 17, 3) == 3 * 9 + 3 * 4);
    CHECK(storage_bytes(WeightFormat::Int3p5b, 0, 17, 3) == 3 * 9 + 3 * 4);
    // A short last group still has its scale: K = 33 in groups of 32 -> 2 groups per column.
    CHECK(groups_per_column({WeightFormat::Int4, 32}, 33) == 2);
    CHECK(scale_bytes({WeightFormat::Int4, 32}, 33, 5) == 2 * 5 * 4);
    CHECK_THROWS_AS(storage_bytes(WeightFormat::Int4, 128, 0, 5), std::invalid_argument);
    CHECK_THROWS_AS(storage_bytes(WeightFormat::Int4, 128, int64_t{1} << 40, int64_t{1} << 40),
                    std::overflow_error);
}

TEST_CASE("bit layout: int8 and int4 columns, low nibble first") {
    // 2 x 2, row-major [[1, 2], [3, 4]] -> column 0 = {1, 3}, column 1 = {2, 4}.
    CHECK(pack(WeightFormat::Int8, {1, 2, 3, 4}, 2, 2) == bytes({1, 3, 2, 4}));
    CHECK(pack(WeightFormat::Int8, {-1, -128}, 2, 1) == bytes({0xFF, 0x80}));
    // int4: row 0 in bits 3..0, row 1 in bits 7..4, two's complement.
    CHECK(pack(WeightFormat::Int4, {-1, 2}, 2, 1) == bytes({0x2F}));
    CHECK(pack(WeightFormat::Int4, {-8, 7, 5}, 3, 1) == bytes({0x78, 0x05}));  // padding nibble is 0
}

TEST_CASE("bit layout: the 7-bit pair, one per byte (int3p5b) and 8 per 7 bytes (int3p5)") {
    // Pair field: first value (4-bit) in bits 6..3, second (3-bit) in bits 2..0.
    CHECK(pack(WeightFormat::Int3p5b, {-1, -1}, 2, 1) == bytes({0x7F}));
    CHECK(pack(WeightFormat::Int3p5b, {7, -4}, 2, 1) == bytes({0x3C}));  // 0111 100
    CHECK(pack(WeightFormat::Int3p5b, {-8, 3}, 2, 1) == bytes({0x43}));  // 1000 011
    // int3p5: pair p of a 16-weight unit occupies bits 7p .. 7p+6 of a 56-bit little-endian word.
    std::vector<int8_t> q(16, 0);
    q[0] = 7, q[1] = -4, q[2] = -8, q[3] = 3;  // fields 0x3C and 0x43 -> 0x3C | 0x43 << 7 = 0x21BC
    CHECK(pack(WeightFormat::Int3p5, q, 16, 1) == bytes({0xBC, 0x21, 0, 0, 0, 0, 0}));
    q.assign(16, 0);
    q[3] = -1;  // second value of pair 1: bits 7..9 straddle bytes 0 and 1
    CHECK(pack(WeightFormat::Int3p5, q, 16, 1) == bytes({0x80, 0x03, 0, 0, 0, 0, 0}));
    q.assign(16, 0);
    q[14] = -1, q[15] = -1;  // pair 7 = 0x7F in bits 49..55: the top 7 bits of byte 6
    CHECK(pack(WeightFormat::Int3p5, q, 16, 1) == bytes({0, 0, 0, 0, 0, 0, 0xFE}));
    // K = 17: the 17th weight starts a second unit; the rest of that unit is zero padding.
    q.assign(17, 0);
    q[16] = 5;
    CHECK(pack(WeightFormat::Int3p5, q, 17, 1) == bytes({0, 0, 0, 0, 0, 0, 0, 0x28, 0, 0, 0, 0, 0, 0}));
    // Values outside the range of their position are refused, not truncated.
    CHECK_THROWS_AS(pack(WeightFormat::Int3p5, {0, 4}, 2, 1), std::invalid_argument);   // 3-bit: max 3
    CHECK_THROWS_AS(pack(WeightFormat::Int3p5b, {8, 0}, 2, 1), std::invalid_argument);  // 4-bit: max 7
    CHECK_THROWS_AS(pack(WeightFormat::Int4, {-9, 0}, 2, 1), std::invalid_argument);
    CHECK_THROWS_AS(pack(WeightFormat::Int4, {0, 0, 0}, 2, 1), std::invalid_argument);  // wrong size
    CHECK_THROWS_AS(pack(WeightFormat::Fp16, {0, 0}, 2, 1), std::invalid_argument);
}

TEST_CASE("unpack ignores the unused bit of int3p5b and sign-extends both halves") {
    CHECK(unpack(WeightFormat::Int3p5b, bytes({0xFF}), 2, 1) == std::vector<int8_t>{-1, -1});
    CHECK(unpack(WeightFormat::Int3p5b, bytes({0x80 | 0x43}), 2, 1) == std::vector<int8_t>{-8, 3});
    CHECK(unpack(WeightFormat::Int4, bytes({0x8F}), 2, 1) == std::vector<int8_t>{-1, -8});
    CHECK_THROWS_AS(unpack(WeightFormat::Int3p5, bytes({0, 0, 0}), 16, 1), std::invalid_argument);
}

TEST_CASE("pack then unpack returns the same values for every format, including odd K") {
    std::mt19937 rng(20240611);
    for (WeightFormat f : kIntegerFormats)
        for (int64_t k : {1, 2, 7, 15, 16, 17, 33, 128, 131})
            for (int64_t n : {1, 3, 5}) {
                INFO(format_name(f) << " K=" << k << " N=" << n);
                const auto q = random_q(f, k, n, rng);
                const auto packed = pack(f, q, k, n);
                CHECK(static_cast<int64_t>(packed.size()) == payload_bytes(f, k, n));
                CHECK(unpack(f, packed, k, n) == q);
            }
    // And the other way: any bytes (whole units, defined bits only) survive unpack then pack.
    for (WeightFormat f : {WeightFormat::Int8, WeightFormat::Int4, WeightFormat::Int3p5}) {
        const int64_t k = 64, n = 3;
        std::vector<uint8_t> raw(static_cast<size_t>(payload_bytes(f, k, n)));
        for (auto& b : raw) b = static_cast<uint8_t>(rng());
        CHECK(pack(f, unpack(f, raw, k, n), k, n) == raw);
    }
    // fp16: values already representable in fp16 come back exactly.
    std::vector<float> w;
    for (int i = 0; i < 17 * 3; ++i) w.push_back(round_to_fp16(std::ldexp(float(i) - 20.0f, i % 7 - 3)));
    CHECK(unpack_fp16(pack_fp16(w, 17, 3), 17, 3) == w);
}

TEST_CASE("fp16 conversion rounds to nearest even, with subnormals and overflow") {
    CHECK(fp16_bits(1.0f) == 0x3C00);
    CHECK(fp16_bits(-2.0f) == 0xC000);
    CHECK(fp16_bits(0.1f) == 0x2E66);
    CHECK(fp16_bits(65504.0f) == 0x7BFF);                          // largest finite
    CHECK(fp16_bits(65519.0f) == 0x7BFF);                          // below the halfway point to 65536
    CHECK(fp16_bits(65520.0f) == 0x7C00);                          // halfway, ties to even -> infinity
    CHECK(fp16_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie -> even mantissa
    CHECK(fp16_bits(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie -> even mantissa (up)
    CHECK(fp16_bits(std::ldexp(1.0f, -24)) == 0x0001);             // smallest subnormal
    CHECK(fp16_bits(std::ldexp(1.0f, -25)) == 0x0000);             // tie with zero -> zero
    CHECK(fp16_bits(std::ldexp(1.5f, -25)) == 0x0001);
    CHECK(fp16_bits(std::ldexp(1023.0f, -24)) == 0x03FF);  // largest subnormal
    CHECK(fp16_bits(std::ldexp(2047.0f, -25)) == 0x0400);  // rounds up into the normals
    CHECK(fp16_bits(-0.0f) == 0x8000);
    CHECK((fp16_bits(std::nanf("")) & 0x7C00) == 0x7C00);
    CHECK((fp16_bits(std::nanf("")) & 0x03FF) != 0);
    // Every non-NaN half converts to a float and back to itself.
    for (uint32_t h = 0; h < 0x10000; ++h) {
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0) continue;
        REQUIRE(fp16_bits(fp16_value(static_cast<uint16_t>(h))) == h);
    }
}

TEST_CASE("int8 quantization: symmetric per channel, round half away from zero") {
    // scale = 127 / 127 = 1: 2.5 -> 3 and -2.5 -> -3 (away from zero), 0.4 -> 0.
    const auto m = quantize({WeightFormat::Int8, 0}, {127.0f, 2.5f, -2.5f, 0.4f}, 4, 1);
    CHECK(m.scales == std::vector<float>{1.0f});
    CHECK(m.zeros.empty());
    CHECK(m.q == std::vector<int8_t>{127, 3, -3, 0});
    CHECK(dequantize(m) == std::vector<float>{127.0f, 3.0f, -3.0f, 0.0f});
    // An all-zero column has scale 0 and all-zero q.
    const auto z = quantize({WeightFormat::Int8, 0}, {0.0f, 0.0f}, 2, 1);
    CHECK(z.scales[0] == 0.0f);
    CHECK(z.q == std::vector<int8_t>{0, 0});
    CHECK_THROWS_AS(quantize({WeightFormat::Int8, 0}, {1.0f, std::nanf("")}, 2, 1), std::invalid_argument);
}

TEST_CASE("int4 quantization: asymmetric, integer zero point, exact on a hand example") {
    // Range [-1.5, 6] -> scale 7.5 / 15 = 0.5; zero = round(1.5 / 0.5) - 8 = -5;
    // q = w / 0.5 - 5 = {-8, -5, 1, 7}; (q - zero) x scale gives the weights back.
    const auto m = quantize({WeightFormat::Int4, 0}, {-1.5f, 0.0f, 3.0f, 6.0f}, 4, 1);
    CHECK(m.scales == std::vector<float>{0.5f});
    CHECK(m.zeros == std::vector<float>{-5.0f});
    CHECK(m.q == std::vector<int8_t>{-8, -5, 1, 7});
    CHECK(dequantize(m) == std::vector<float>{-1.5f, 0.0f, 3.0f, 6.0f});
}

TEST_CASE("3.5-bit quantization: one scale, 4-bit even rows and 3-bit odd rows") {
    // Range [-1.4, 1.4]: scale = fp16(2.8 / 14) = fp16(0.2) = 0.199951171875, zero 0.
    // w / scale = {-7.0017, 2.5006, 7.0017, -5.0012} -> {-7, 3, 7, -5}; row 3 is 3-bit: -5 -> -4.
    for (WeightFormat f : {WeightFormat::Int3p5, WeightFormat::Int3p5b}) {
        const auto m = quantize({f, 0}, {-1.4f, 0.5f, 1.4f, -1.0f}, 4, 1);
        CHECK(m.scales == std::vector<float>{0.199951171875f});
        CHECK(m.zeros == std::vector<float>{0.0f});
        CHECK(m.q == std::vector<int8_t>{-7, 3, 7, -4});
    }
    // An offset: range [0, 2.8] (0 is always in the range), middle 1.4, zero =
    // fp16(-1.4 / 0.19995) = -7.0; q = round(w / scale - 7) = {-7, -2, 3, 7 -> clamp 3}.
    const auto m = quantize({WeightFormat::Int3p5, 0}, {0.0f, 1.0f, 2.0f, 2.8f}, 4, 1);
    CHECK(m.zeros == std::vector<float>{-7.0f});
    CHECK(m.q == std::vector<int8_t>{-7, -2, 3, 3});
    const auto w = dequantize(m);
    CHECK(w[0] == 0.0f);
    CHECK(w[1] == Approx(5 * 0.199951171875));
    CHECK(w[2] == Approx(10 * 0.199951171875));
}

TEST_CASE("reference quantization error is within half a step wherever no value is clipped") {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    const int64_t k = 256, n = 6;
    std::vector<float> w(static_cast<size_t>(k * n));
    for (auto& v : w) v = normal(rng);
    for (WeightSpec s : {WeightSpec{WeightFormat::Int8, 0}, WeightSpec{WeightFormat::Int4, 128},
                         WeightSpec{WeightFormat::Int4, 32}, WeightSpec{WeightFormat::Int3p5, 64},
                         WeightSpec{WeightFormat::Int3p5b, 128}, WeightSpec{WeightFormat::Int4, 0}}) {
        INFO(to_string(s));
        const auto m = quantize(s, w, k, n);
        CHECK(quantize(s, w, k, n).q == m.q);  // deterministic
        CHECK(static_cast<int64_t>(pack_matrix(m).size()) == storage_bytes(s, k, n));
        const auto back = dequantize(m);
        const int64_t rows = s.group_size == 0 ? k : s.group_size;
        for (int64_t r = 0; r < k; ++r)
            for (int64_t c = 0; c < n; ++c) {
                const size_t at = static_cast<size_t>(r * n + c);
                const size_t gi = static_cast<size_t>((r / rows) * n + c);
                const double scale = m.scales[gi];
                const double zero = m.zeros.empty() ? 0.0 : m.zeros[gi];
                const ValueRange range = value_range(s.format, r);
                const double ideal = w[at] / scale + zero;
                // Only the 3-bit rows of the 3.5-bit formats clip by design. Elsewhere the range
                // covers the group up to rounding of the fp16 scale and the integer zero point
                // (int4's extremes may land 0.5 + 15 x 2^-11 steps out), hence 0.51.
                if (range.max == 3 && (ideal < range.min - 0.5 || ideal > range.max + 0.5)) {
                    CHECK((m.q[at] == range.min || m.q[at] == range.max));
                } else {
                    REQUIRE(std::fabs(back[at] - w[at]) <= 0.51 * scale);
                }
            }
    }
    const auto fp = quantize({WeightFormat::Fp16, 0}, w, k, n);
    CHECK(fp.q.empty());
    CHECK(static_cast<int64_t>(pack_matrix(fp).size()) == storage_bytes(WeightFormat::Fp16, 0, k, n));
    CHECK(dequantize(fp)[5] == round_to_fp16(w[5]));
}

TEST_CASE("scales are stored column by column, group by group, scale then zero point, as fp16") {
    // int8, 2 columns: max |w| 127 -> scale 1.0 (0x3C00), max |w| 254 -> scale 2.0 (0x4000).
    const auto m8 = quantize({WeightFormat::Int8, 0}, {127.0f, -254.0f, 1.0f, 2.0f}, 2, 2);
    CHECK(pack_scales(m8) == bytes({0x00, 0x3C, 0x00, 0x40}));
    // int4, one column of 64 rows in groups of 32: group 0 is the hand example above
    // (scale 0.5 = 0x3800, zero -5 = 0xC500), group 1 is all zero (scale 0, zero 0).
    std::vector<float> w(64, 0.0f);
    w[0] = -1.5f, w[1] = 3.0f, w[2] = 6.0f;
    const auto m4 = quantize({WeightFormat::Int4, 32}, w, 64, 1);
    CHECK(pack_scales(m4) == bytes({0x00, 0x38, 0x00, 0xC5, 0, 0, 0, 0}));
    CHECK(pack_matrix(m4).size() == 32 + 8);
}

TEST_CASE("unpack cost per output vector: the documented reference sequence lengths") {
    CHECK(reference_unpack_alu_ops_per_vector(WeightFormat::Fp16) == 0);
    CHECK(reference_unpack_alu_ops_per_vector(WeightFormat::Int8) == 0);
    CHECK(reference_unpack_alu_ops_per_vector(WeightFormat::Int4) == 2);
    CHECK(reference_unpack_alu_ops_per_vector(WeightFormat::Int3p5) == 4);
    CHECK(reference_unpack_alu_ops_per_vector(WeightFormat::Int3p5b) == 3);
    CHECK_FALSE(is_packed(WeightFormat::Int8));
    CHECK(is_packed(WeightFormat::Int3p5b));
}

TEST_CASE("a 3.5-bit LLaMA-2-70B is about 30 GB, not the seeds' 19 GB, and needs ~140 chips of SRAM") {
    const ModelShape m = load_model("llama-2-70b", source_path("workloads/models"));
    // Payload only, every parameter at 3.5 bits: 68,976,648,192 x 3.5 / 8 bytes.
    const double payload = 68976648192.0 * 3.5 / 8;
    CHECK(payload == Approx(30.18e9).epsilon(0.001));
    // As stored: the seven matrices of every layer and the LM head at int3p5 in groups of 128
    // (7/16 byte per weight + 4 bytes per 128 weights = 3.75 bits), the embedding and the
    // norms at fp16.
    int64_t stored = 0;
    for (int64_t layer = 0; layer < m.num_hidden_layers; ++layer)
        for (Matrix which : kAllMatrices) {
            const MatrixShape s = matrix_shape(m, which);
            stored += storage_bytes(WeightFormat::Int3p5, 128, s.k, s.n);
        }
    CHECK(stored == 68451041280LL * 15 / 32);                         // 3.75 / 8 = 15 / 32 byte per weight
    stored += storage_bytes(WeightFormat::Int3p5, 128, 8192, 32000);  // LM head
    stored += 2 * embedding_params(m);                                // fp16 embedding
    stored += 2 * (2 * 80 + 1) * 8192;                                // fp16 norms
    CHECK(stored == Approx(32.74e9).epsilon(0.001));
    CHECK(stored > 1.5 * 19e9);
    // 19 GB would mean 2.2 bits per weight, below even the 3-bit half of a pair.
    CHECK(19e9 * 8 / static_cast<double>(total_params(m)) == Approx(2.20).epsilon(0.01));
    // tsp-v1 SRAM: 88 slices x 2.5 MiB = 230,686,720 bytes (ISCA 2020 sec. 3.3).
    const int64_t sram = 230686720;
    CHECK((stored + sram - 1) / sram == 142);
}
