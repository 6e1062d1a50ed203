#include "sim/values.hpp"

#include <cmath>
#include <limits>

namespace lpu::sim {

int element_bytes(isa::DType t) {
    switch (t) {
        case isa::DType::Int8:
        case isa::DType::Uint8: return 1;
        case isa::DType::Int16:
        case isa::DType::Fp16: return 2;
        case isa::DType::Int32:
        case isa::DType::Fp32: return 4;
        default: return 1;  // packed types travel as raw bytes
    }
}

bool is_float(isa::DType t) { return t == isa::DType::Fp16 || t == isa::DType::Fp32; }

float half_to_float(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | mant << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | mant << 13;
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, sizeof x);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t exp = (x >> 23) & 0xffu;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));
    int e = static_cast<int>(exp) - 127 + 15;
    if (e >= 31) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow to infinity
    if (e <= 0) {
        if (e < -10) return static_cast<uint16_t>(sign);
        mant |= 0x800000u;
        const int shift = 14 - e;
        uint32_t half_mant = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1);
        const uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half_mant & 1u))) ++half_mant;
        return static_cast<uint16_t>(sign | half_mant);
    }
    uint32_t half = sign | static_cast<uint32_t>(e) << 10 | mant >> 13;
    const uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent: correct
    return static_cast<uint16_t>(half);
}

double load_element(const uint8_t* row, int i, isa::DType t) {
    switch (t) {
        case isa::DType::Int8: return static_cast<int8_t>(row[i]);
        case isa::DType::Uint8: return row[i];
        case isa::DType::Int16: {
            int16_t v;
            std::memcpy(&v, row + 2 * i, 2);
            return v;
        }
        case isa::DType::Int32: {
            int32_t v;
            std::memcpy(&v, row + 4 * i, 4);
            return v;
        }
        case isa::DType::Fp16: {
            uint16_t v;
            std::memcpy(&v, row + 2 * i, 2);
            return half_to_float(v);
        }
        case isa::DType::Fp32: {
            float v;
            std::memcpy(&v, row + 4 * i, 4);
            return v;
        }
        default: return static_cast<int8_t>(row[i]);
    }
}

namespace {
template <typename T>
T to_int(double v, bool saturate) {
    const double r = std::round(v);  // half away from zero
    if (saturate || !std::isfinite(r)) {
        if (!(r > static_cast<double>(std::numeric_limits<T>::min()))) return std::numeric_limits<T>::min();
        if (r > static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
        return static_cast<T>(r);
    }
    // Wrap modulo 2^bits as integer hardware does.
    const double m = std::fmod(r, 4294967296.0);
    const auto u = static_cast<uint32_t>(static_cast<int64_t>(m));
    return static_cast<T>(u);
}
}  // namespace

void store_element(uint8_t* row, int i, isa::DType t, double v, bool saturate) {
    switch (t) {
        case isa::DType::Int8: row[i] = static_cast<uint8_t>(to_int<int8_t>(v, saturate)); return;
        case isa::DType::Uint8: row[i] = to_int<uint8_t>(v, saturate); return;
        case isa::DType::Int16: {
            const int16_t x = to_int<int16_t>(v, saturate);
            std::memcpy(row + 2 * i, &x, 2);
            return;
        }
        case isa::DType::Int32: {
            const int32_t x = to_int<int32_t>(v, saturate);
            std::memcpy(row + 4 * i, &x, 4);
            return;
        }
        case isa::DType::Fp16: {
            const uint16_t x = float_to_half(static_cast<float>(v));
            std::memcpy(row + 2 * i, &x, 2);
            return;
        }
        case isa::DType::Fp32: {
            const float x = static_cast<float>(v);
            std::memcpy(row + 4 * i, &x, 4);
            return;
        }
        default: row[i] = static_cast<uint8_t>(to_int<int8_t>(v, saturate)); return;
    }
}

}  // namespace lpu::sim
