#include "workloads/compiler/weight_format.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <stdexcept>

namespace lpu::wl {
namespace {

constexpr std::array<std::string_view, kWeightFormatCount> kNames = {"fp16", "int8", "int4", "int3p5",
                                                                     "int3p5b"};

int64_t mul(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) throw std::overflow_error("weight storage exceeds 64 bits");
    return r;
}
int64_t add(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) throw std::overflow_error("weight storage exceeds 64 bits");
    return r;
}
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

void check_sizes(const char* what, int64_t k, int64_t n) {
    if (k < 1 || n < 1)
        throw std::invalid_argument(fmt::format("{}: matrix sizes K={} N={} must be >= 1", what, k, n));
}

void check_spec(const char* what, const WeightSpec& s) {
    if (auto problem = spec_problem(s))
        throw std::invalid_argument(fmt::format("{}: {} with group_size {}: expected {}", what,
                                                format_name(s.format), s.group_size, *problem));
}

// Round half away from zero (std::round's rule), e.g. 2.5 -> 3, -2.5 -> -3.
int64_t round_half_away(double x) { return static_cast<int64_t>(std::round(x)); }

int sign_extend(unsigned bits, int width) {
    const unsigned sign = 1u << (width - 1);
    return static_cast<int>((bits ^ sign)) - static_cast<int>(sign);
}

// The 7-bit pair field shared by int3p5 and int3p5b: bits 6..3 hold the first (4-bit) value,
// bits 2..0 the second (3-bit) value, both two's complement.
unsigned pair_field(int first, int second) {
    return ((static_cast<unsigned>(first) & 0xFu) << 3) | (static_cast<unsigned>(second) & 0x7u);
}

}  // namespace

std::string_view format_name(WeightFormat f) { return kNames[static_cast<size_t>(f)]; }

std::optional<WeightFormat> find_format(std::string_view name) {
    for (size_t i = 0; i < kNames.size(); ++i)
        if (kNames[i] == name) return static_cast<WeightFormat>(i);
    return std::nullopt;
}

const std::vector<std::string>& weight_format_names() {
    static const std::vector<std::string> names(kNames.begin(), kNames.end());
    return names;
}

isa::DType format_dtype(WeightFormat f) {
    // The ISA names its types the same way; a mismatch here is a programming error.
    auto t = isa::find_dtype(format_name(f));
    if (!t) throw std::logic_error("format_dtype: no ISA type named " + std::string(format_name(f)));
    return *t;
}

bool is_packed(WeightFormat f) {
    return f == WeightFormat::Int4 || f == WeightFormat::Int3p5 || f == WeightFormat::Int3p5b;
}
bool has_zero_point(WeightFormat f) { return is_packed(f); }

std::string to_string(const WeightSpec& s) {
    if (s.format == WeightFormat::Fp16) return "fp16";
    if (s.group_size == 0) return fmt::format("{}/channel", format_name(s.format));
    return fmt::format("{}/g{}", format_name(s.format), s.group_size);
}

const std::vector<int>& allowed_group_sizes(WeightFormat f) {
    static const std::vector<int> per_channel_only = {0};
    static const std::vector<int> grouped = {0, 32, 64, 128};
    return is_packed(f) ? grouped : per_channel_only;
}

int default_group_size(WeightFormat f) { return is_packed(f) ? 128 : 0; }

std::optional<std::string> spec_problem(const WeightSpec& s) {
    const auto& allowed = allowed_group_sizes(s.format);
    if (std::find(allowed.begin(), allowed.end(), s.group_size) != allowed.end()) return std::nullopt;
    if (s.format == WeightFormat::Fp16) return "group_size 0 (fp16 weights have no scales)";
    if (s.format == WeightFormat::Int8) return "group_size 0 (int8 has one scale per output channel)";
    return fmt::format("group_size 0 (one group per output channel), 32, 64 or 128 for {}",
                       format_name(s.format));
}

PackingUnit packing_unit(WeightFormat f) {
    switch (f) {
        case WeightFormat::Fp16:
            return {1, 2};
        case WeightFormat::Int8:
            return {1, 1};
        case WeightFormat::Int4:
            return {2, 1};
        case WeightFormat::Int3p5:
            return {16, 7};
        case WeightFormat::Int3p5b:
            return {2, 1};
    }
    throw std::logic_error("packing_unit: unknown format");
}

int64_t packed_column_bytes(WeightFormat f, int64_t k) {
    if (k < 1) throw std::invalid_argument("packed_column_bytes: K must be >= 1");
    const PackingUnit u = packing_unit(f);
    return mul(ceil_div(k, u.weights), u.bytes);
}

int64_t payload_bytes(WeightFormat f, int64_t k, int64_t n) {
    check_sizes("payload_bytes", k, n);
    return mul(n, packed_column_bytes(f, k));
}

int64_t groups_per_column(const WeightSpec& s, int64_t k) {
    if (k < 1) throw std::invalid_argument("groups_per_column: K must be >= 1");
    return s.group_size == 0 ? 1 : ceil_div(k, s.group_size);
}

int64_t scale_bytes(const WeightSpec& s, int64_t k, int64_t n) {
    check_sizes("scale_bytes", k, n);
    check_spec("scale_bytes", s);
    if (s.format == WeightFormat::Fp16) return 0;
    const int64_t per_group = has_zero_point(s.format) ? 4 : 2;  // fp16 scale (+ fp16 zero point)
    return mul(mul(groups_per_column(s, k), n), per_group);
}

int64_t storage_bytes(const WeightSpec& s, int64_t k, int64_t n) {
    return add(payload_bytes(s.format, k, n), scale_bytes(s, k, n));
}

int64_t storage_bytes(WeightFormat f, int group_size, int64_t k, int64_t n) {
    return storage_bytes(WeightSpec{f, group_size}, k, n);
}

double payload_bits_per_weight(WeightFormat f) {
    const PackingUnit u = packing_unit(f);
    return 8.0 * u.bytes / u.weights;
}

ValueRange value_range(WeightFormat f, int64_t k_index) {
    switch (f) {
        case WeightFormat::Int8:
            return {-128, 127};
        case WeightFormat::Int4:
            return {-8, 7};
        case WeightFormat::Int3p5:
        case WeightFormat::Int3p5b:
            return k_index % 2 == 0 ? ValueRange{-8, 7} : ValueRange{-4, 3};
        case WeightFormat::Fp16:
            break;
    }
    throw std::invalid_argument("value_range: fp16 weights are not integers");
}

std::vector<uint8_t> pack(WeightFormat f, const std::vector<int8_t>& q, int64_t k, int64_t n) {
    check_sizes("pack", k, n);
    if (f == WeightFormat::Fp16)
        throw std::invalid_argument("pack: fp16 weights are not integers; use pack_fp16");
    if (static_cast<int64_t>(q.size()) != mul(k, n))
        throw std::invalid_argument(fmt::format("pack: {} values for a {}x{} matrix", q.size(), k, n));
    const int64_t col_bytes = packed_column_bytes(f, k);
    std::vector<uint8_t> out(static_cast<size_t>(mul(n, col_bytes)), 0);
    // Value of row r of the current column, checked; rows past K are padding (zero).
    auto value = [&](int64_t r, int64_t col) -> int {
        if (r >= k) return 0;
        const int v = q[static_cast<size_t>(r * n + col)];
        const ValueRange range = value_range(f, r);
        if (v < range.min || v > range.max)
            throw std::invalid_argument(fmt::format("pack: {} value {} at row {} column {} outside [{}, {}]",
                                                    format_name(f), v, r, col, range.min, range.max));
        return v;
    };
    for (int64_t col = 0; col < n; ++col) {
        uint8_t* dst = out.data() + col * col_bytes;
        switch (f) {
            case WeightFormat::Int8:
                for (int64_t r = 0; r < k; ++r) dst[r] = static_cast<uint8_t>(value(r, col));
                break;
            case WeightFormat::Int4:  // row 2i in the low nibble, row 2i+1 in the high nibble
                for (int64_t i = 0; i < col_bytes; ++i)
                    dst[i] =
                        static_cast<uint8_t>((static_cast<unsigned>(value(2 * i, col)) & 0xFu) |
                                             ((static_cast<unsigned>(value(2 * i + 1, col)) & 0xFu) << 4));
                break;
            case WeightFormat::Int3p5b:  // one pair field per byte, bit 7 zero
                for (int64_t i = 0; i < col_bytes; ++i)
                    dst[i] = static_cast<uint8_t>(pair_field(value(2 * i, col), value(2 * i + 1, col)));
                break;
            case WeightFormat::Int3p5:  // 8 pair fields in a 56-bit little-endian word per unit
                for (int64_t u = 0; u < col_bytes / 7; ++u) {
                    uint64_t word = 0;
                    for (int p = 0; p < 8; ++p) {
                        const int64_t row = 16 * u + 2 * p;
                        word |= static_cast<uint64_t>(pair_field(value(row, col), value(row + 1, col)))
                                << (7 * p);
                    }
                    for (int b = 0; b < 7; ++b) dst[7 * u + b] = static_cast<uint8_t>(word >> (8 * b));
                }
                break;
            case WeightFormat::Fp16:
                break;
        }
    }
    return out;
}

std::vector<int8_t> unpack(WeightFormat f, const std::vector<uint8_t>& bytes, int64_t k, int64_t n) {
    check_sizes("unpack", k, n);
    if (f == WeightFormat::Fp16)
        throw std::invalid_argument("unpack: fp16 weights are not integers; use unpack_fp16");
    const int64_t col_bytes = packed_column_bytes(f, k);
    if (static_cast<int64_t>(bytes.size()) != mul(n, col_bytes))
        throw std::invalid_argument(fmt::format("unpack: {} bytes for a {}x{} {} matrix, expected {}",
                                                bytes.size(), k, n, format_name(f), n * col_bytes));
    std::vector<int8_t> q(static_cast<size_t>(mul(k, n)));
    auto put = [&](int64_t r, int64_t col, int v) {
        if (r < k) q[static_cast<size_t>(r * n + col)] = static_cast<int8_t>(v);
    };
    for (int64_t col = 0; col < n; ++col) {
        const uint8_t* src = bytes.data() + col * col_bytes;
        switch (f) {
            case WeightFormat::Int8:
                for (int64_t r = 0; r < k; ++r) put(r, col, static_cast<int8_t>(src[r]));
                break;
            case WeightFormat::Int4:
                for (int64_t i = 0; i < col_bytes; ++i) {
                    put(2 * i, col, sign_extend(src[i] & 0xFu, 4));
                    put(2 * i + 1, col, sign_extend(src[i] >> 4, 4));
                }
                break;
            case WeightFormat::Int3p5b:
                for (int64_t i = 0; i < col_bytes; ++i) {
                    put(2 * i, col, sign_extend((src[i] >> 3) & 0xFu, 4));
                    put(2 * i + 1, col, sign_extend(src[i] & 0x7u, 3));
                }
                break;
            case WeightFormat::Int3p5:
                for (int64_t u = 0; u < col_bytes / 7; ++u) {
                    uint64_t word = 0;
                    for (int b = 0; b < 7; ++b) word |= static_cast<uint64_t>(src[7 * u + b]) << (8 * b);
                    for (int p = 0; p < 8; ++p) {
                        const unsigned field = static_cast<unsigned>(word >> (7 * p)) & 0x7Fu;
                        put(16 * u + 2 * p, col, sign_extend((field >> 3) & 0xFu, 4));
                        put(16 * u + 2 * p + 1, col, sign_extend(field & 0x7u, 3));
                    }
                }
                break;
            case WeightFormat::Fp16:
                break;
        }
    }
    return q;
}

uint16_t fp16_bits(float value) {
    const uint32_t x = std::bit_cast<uint32_t>(value);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const int32_t exp = static_cast<int32_t>((x >> 23) & 0xFFu);
    const uint32_t mant = x & 0x7FFFFFu;
    if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant != 0 ? 0x200u : 0));  // inf, NaN
    const int32_t e = exp - 127 + 15;  // biased half exponent
    if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
    uint32_t half = 0;
    uint32_t rest = 0;  // dropped bits, left-aligned so that 0x80000000 is exactly one half ulp
    if (e >= 1) {
        half = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
        rest = mant << 19;
    } else {
        // Subnormal half (or zero): value = m24 x 2^(exp - 150), in units of 2^-24.
        const int shift = 14 - e;  // 14 .. ; beyond 24 everything rounds to zero
        if (shift > 24) return static_cast<uint16_t>(sign);
        const uint32_t m24 = mant | (exp != 0 ? 0x800000u : 0);
        half = m24 >> shift;
        rest = m24 << (32 - shift);
    }
    // Round to nearest, ties to even; a carry may ripple into the exponent (correctly).
    if (rest > 0x80000000u || (rest == 0x80000000u && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
}

float fp16_value(uint16_t bits) {
    const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
    const uint32_t exp = (bits >> 10) & 0x1Fu;
    const uint32_t mant = bits & 0x3FFu;
    if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));
    if (exp != 0) return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
    const float magnitude = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero
    return sign ? -magnitude : magnitude;
}

float round_to_fp16(float value) { return fp16_value(fp16_bits(value)); }

std::vector<uint8_t> pack_fp16(const std::vector<float>& w, int64_t k, int64_t n) {
    check_sizes("pack_fp16", k, n);
    if (static_cast<int64_t>(w.size()) != mul(k, n))
        throw std::invalid_argument(fmt::format("pack_fp16: {} values for a {}x{} matrix", w.size(), k, n));
    std::vector<uint8_t> out(static_cast<size_t>(mul(mul(k, n), 2)));
    for (int64_t col = 0; col < n; ++col)
        for (int64_t r = 0; r < k; ++r) {
            const uint16_t h = fp16_bits(w[static_cast<size_t>(r * n + col)]);
            const size_t at = static_cast<size_t>(2 * (col * k + r));
            out[at] = static_cast<uint8_t>(h & 0xFFu);
            out[at + 1] = static_cast<uint8_t>(h >> 8);
        }
    return out;
}

std::vector<float> unpack_fp16(const std::vector<uint8_t>& bytes, int64_t k, int64_t n) {
    check_sizes("unpack_fp16", k, n);
    if (static_cast<int64_t>(bytes.size()) != mul(mul(k, n), 2))
        throw std::invalid_argument(
            fmt::format("unpack_fp16: {} bytes for a {}x{} matrix", bytes.size(), k, n));
    std::vector<float> w(static_cast<size_t>(k * n));
    for (int64_t col = 0; col < n; ++col)
        for (int64_t r = 0; r < k; ++r) {
            const size_t at = static_cast<size_t>(2 * (col * k + r));
            w[static_cast<size_t>(r * n + col)] =
                fp16_value(static_cast<uint16_t>(bytes[at] | (bytes[at + 1] << 8)));
        }
    return w;
}

QuantizedMatrix quantize(const WeightSpec& s, const std::vector<float>& w, int64_t k, int64_t n) {
    check_sizes("quantize", k, n);
    check_spec("quantize", s);
    if (static_cast<int64_t>(w.size()) != mul(k, n))
        throw std::invalid_argument(fmt::format("quantize: {} values for a {}x{} matrix", w.size(), k, n));
    for (float v : w)
        if (!std::isfinite(v)) throw std::invalid_argument("quantize: weights must be finite");

    QuantizedMatrix m;
    m.spec = s;
    m.k = k;
    m.n = n;
    if (s.format == WeightFormat::Fp16) {
        m.values.resize(w.size());
        std::transform(w.begin(), w.end(), m.values.begin(), round_to_fp16);
        return m;
    }
    const int64_t groups = groups_per_column(s, k);
    const int64_t rows_per_group = s.group_size == 0 ? k : s.group_size;
    m.q.assign(w.size(), 0);
    m.scales.assign(static_cast<size_t>(groups * n), 0.0f);
    if (has_zero_point(s.format)) m.zeros.assign(static_cast<size_t>(groups * n), 0.0f);

    auto fp16_checked = [](double v) {
        const float r = round_to_fp16(static_cast<float>(v));
        if (!std::isfinite(r)) throw std::invalid_argument("quantize: a scale or zero point overflows fp16");
        return r;
    };
    for (int64_t col = 0; col < n; ++col)
        for (int64_t g = 0; g < groups; ++g) {
            const int64_t r0 = g * rows_per_group;
            const int64_t r1 = std::min(k, r0 + rows_per_group);
            auto at = [&](int64_t r) { return static_cast<size_t>(r * n + col); };
            double lo = 0, hi = 0;  // the range always includes 0
            for (int64_t r = r0; r < r1; ++r) {
                lo = std::min(lo, static_cast<double>(w[at(r)]));
                hi = std::max(hi, static_cast<double>(w[at(r)]));
            }
            double scale = 0, zero = 0;
            switch (s.format) {
                case WeightFormat::Int8:
                    scale = fp16_checked(std::max(-lo, hi) / 127.0);
                    break;
                case WeightFormat::Int4:
                    scale = fp16_checked((hi - lo) / 15.0);
                    if (scale > 0)
                        zero =
                            static_cast<double>(std::clamp<int64_t>(round_half_away(-lo / scale), 0, 15) - 8);
                    break;
                case WeightFormat::Int3p5:
                case WeightFormat::Int3p5b:
                    scale = fp16_checked((hi - lo) / 14.0);
                    if (scale > 0) zero = fp16_checked(-(hi + lo) / 2.0 / scale);
                    break;
                case WeightFormat::Fp16:
                    break;
            }
            const size_t gi = static_cast<size_t>(g * n + col);
            m.scales[gi] = static_cast<float>(scale);
            if (!m.zeros.empty()) m.zeros[gi] = static_cast<float>(zero);
            if (scale == 0) continue;  // every weight of the group is zero: q stays 0
            for (int64_t r = r0; r < r1; ++r) {
                const ValueRange range = value_range(s.format, r);
                const int64_t v = round_half_away(static_cast<double>(w[at(r)]) / scale + zero);
                m.q[at(r)] = static_cast<int8_t>(std::clamp<int64_t>(v, range.min, range.max));
            }
        }
    return m;
}

std::vector<float> dequantize(const QuantizedMatrix& m) {
    if (m.spec.format == WeightFormat::Fp16) return m.values;
    const int64_t rows_per_group = m.spec.group_size == 0 ? m.k : m.spec.group_size;
    std::vector<float> w(m.q.size());
    for (int64_t r = 0; r < m.k; ++r)
        for (int64_t col = 0; col < m.n; ++col) {
            const size_t gi = static_cast<size_t>((r / rows_per_group) * m.n + col);
            const double zero = m.zeros.empty() ? 0.0 : m.zeros[gi];
            const size_t at = static_cast<size_t>(r * m.n + col);
            w[at] = static_cast<float>((m.q[at] - zero) * static_cast<double>(m.scales[gi]));
        }
    return w;
}

QuantizedMatrix slice(const QuantizedMatrix& m, int64_t k0, int64_t k1, int64_t n0, int64_t n1) {
    const int64_t g = m.spec.group_size > 0 && m.spec.group_size < m.k ? m.spec.group_size : 0;
    if (k0 < 0 || k1 > m.k || k0 >= k1 || n0 < 0 || n1 > m.n || n0 >= n1 || (g > 0 && k0 % g != 0) || (g == 0 && m.spec.group_size > 0 && k0 != 0))
        throw std::invalid_argument("slice: rows/columns out of range or not on a group boundary");
    QuantizedMatrix out;
    out.spec = m.spec;
    out.k = k1 - k0;
    out.n = n1 - n0;
    auto take = [&](const auto& src, int64_t r0, int64_t r1, auto& dst) {
        if (src.empty()) return;
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t c = n0; c < n1; ++c) dst.push_back(src[static_cast<size_t>(r * m.n + c)]);
    };
    take(m.q, k0, k1, out.q);
    take(m.values, k0, k1, out.values);
    const int64_t g0 = g > 0 ? k0 / g : 0, g1 = g > 0 ? (k1 + g - 1) / g : 1;
    take(m.scales, g0, g1, out.scales);
    take(m.zeros, g0, g1, out.zeros);
    return out;
}

QuantizedMatrix concat_columns(const QuantizedMatrix& a, const QuantizedMatrix& b) {
    if (a.k != b.k || !(a.spec == b.spec)) throw std::invalid_argument("concat_columns: different K or format");
    QuantizedMatrix out;
    out.spec = a.spec;
    out.k = a.k;
    out.n = a.n + b.n;
    auto join = [&](const auto& x, const auto& y, auto& dst) {
        if (x.empty()) return;
        const int64_t rows = static_cast<int64_t>(x.size()) / a.n;
        for (int64_t r = 0; r < rows; ++r) {
            dst.insert(dst.end(), x.begin() + r * a.n, x.begin() + (r + 1) * a.n);
            dst.insert(dst.end(), y.begin() + r * b.n, y.begin() + (r + 1) * b.n);
        }
    };
    join(a.q, b.q, out.q);
    join(a.values, b.values, out.values);
    join(a.scales, b.scales, out.scales);
    join(a.zeros, b.zeros, out.zeros);
    return out;
}

std::vector<uint8_t> pack_scales(const QuantizedMatrix& m) {
    std::vector<uint8_t> out;
    if (m.spec.format == WeightFormat::Fp16) return out;
    const int64_t groups = groups_per_column(m.spec, m.k);
    out.reserve(static_cast<size_t>(scale_bytes(m.spec, m.k, m.n)));
    auto put = [&](float v) {
        const uint16_t h = fp16_bits(v);
        out.push_back(static_cast<uint8_t>(h & 0xFFu));
        out.push_back(static_cast<uint8_t>(h >> 8));
    };
    for (int64_t col = 0; col < m.n; ++col)
        for (int64_t g = 0; g < groups; ++g) {
            const size_t gi = static_cast<size_t>(g * m.n + col);
            put(m.scales[gi]);
            if (!m.zeros.empty()) put(m.zeros[gi]);
        }
    return out;
}

std::vector<uint8_t> pack_matrix(const QuantizedMatrix& m) {
    std::vector<uint8_t> out = m.spec.format == WeightFormat::Fp16 ? pack_fp16(m.values, m.k, m.n)
                                                                   : pack(m.spec.format, m.q, m.k, m.n);
    const std::vector<uint8_t> scales = pack_scales(m);
    out.insert(out.end(), scales.begin(), scales.end());
    return out;
}

int reference_unpack_alu_ops_per_vector(WeightFormat f) {
    switch (f) {
        case WeightFormat::Fp16:
        case WeightFormat::Int8:
            return 0;
        case WeightFormat::Int4:
            return 2;  // shift left, arithmetic shift right
        case WeightFormat::Int3p5:
            return 4;  // merge two bytes (shift, or), shift left, arithmetic shift right
        case WeightFormat::Int3p5b:
            return 3;  // mask bit 7, shift left, arithmetic shift right
    }
    throw std::logic_error("reference_unpack_alu_ops_per_vector: unknown format");
}

}  // namespace lpu::wl
