// A straightforward reference for the feed-forward half of a LLaMA decoder layer with
// quantized weights, written from the arithmetic contract of docs/compiler.md ("Real data
// flow") and docs/isa.md, not from the compiler's code: one token at a time, plain loops.
//   x' = x + sum over ranks r of down_r(q(silu(g_r) * u_r)),  g_r, u_r = gate_r, up_r(q(norm(x)))
// Each step rounds to fp32 where the hardware op does; integer dot products are exact
// (int32 wrap-around); fp16 products accumulate in fp32 per k-tile.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "sim/values.hpp"
#include "workloads/compiler/weight_format.hpp"

namespace lpu::ref {

inline float f32(double v) { return static_cast<float>(v); }

struct FfnShape {
    int64_t hidden = 0, intermediate = 0;
    int tensor = 1;
    double eps = 1e-5;
    bool act_fp16 = false;
    int64_t lanes = 320;   // elements per chunk (vector lanes)
    int64_t tile_k = 320;  // mapping.tile_k (cut to a divisor of the group for grouped formats)
};

// Quantized activations of one token: int8 values with their per-token scale, or fp16 values.
struct QuantActs {
    std::vector<float> v;  // int8 integers, or fp16-rounded floats
    float scale = 1.0f;    // max|y| / 127 (int8)
};

inline QuantActs quantize_acts(const std::vector<float>& y, const FfnShape& s) {
    QuantActs q;
    q.v.resize(y.size());
    if (s.act_fp16) {
        for (size_t i = 0; i < y.size(); ++i) q.v[i] = sim::half_to_float(sim::float_to_half(y[i]));
        return q;
    }
    float amax = 0;
    for (float v : y) amax = std::max(amax, std::abs(v));
    const float inv = f32(static_cast<double>(f32(1.0 / amax)) * 127.0);
    for (size_t i = 0; i < y.size(); ++i) {
        const double r = std::round(static_cast<double>(f32(static_cast<double>(y[i]) * inv)));  // half away from zero
        q.v[i] = static_cast<float>(std::clamp(r, -128.0, 127.0));
    }
    q.scale = f32(static_cast<double>(amax) * static_cast<double>(1.0f / 127.0f));
    return q;
}

// k-tiles: multiples of tile_k, also cut at chunk boundaries (the activations' lanes).
inline std::vector<std::pair<int64_t, int64_t>> ref_k_tiles(int64_t k, int64_t tile_k, int64_t lanes) {
    std::vector<std::pair<int64_t, int64_t>> out;
    int64_t k0 = 0;
    while (k0 < k) {
        const int64_t end = std::min({k, (k0 / tile_k + 1) * tile_k, (k0 / lanes + 1) * lanes});
        out.emplace_back(k0, end - k0);
        k0 = end;
    }
    return out;
}

// One token through a quantized weight matrix, dequantized by the weight scales (and, for
// int8 activations, then by the token's scale).
inline std::vector<float> matvec(const QuantActs& a, const wl::QuantizedMatrix& w, const FfnShape& s) {
    const bool fp16 = w.spec.format == wl::WeightFormat::Fp16;
    const bool grouped = wl::is_packed(w.spec.format) && w.spec.group_size > 0 && w.spec.group_size < w.k;
    int64_t tile_k = std::min<int64_t>(s.tile_k, 320);
    if (grouped) {
        tile_k = std::min<int64_t>(tile_k, w.spec.group_size);
        while (w.spec.group_size % tile_k != 0) --tile_k;
    }
    const auto tiles = ref_k_tiles(w.k, tile_k, s.lanes);
    std::vector<float> out(static_cast<size_t>(w.n));
    for (int64_t n = 0; n < w.n; ++n) {
        if (fp16) {
            float acc = 0;
            for (const auto& [k0, rows] : tiles) {
                float part = 0;
                for (int64_t k = k0; k < k0 + rows; ++k) part += a.v[static_cast<size_t>(k)] * w.values[static_cast<size_t>(k * w.n + n)];
                acc += part;
            }
            out[static_cast<size_t>(n)] = acc;
            continue;
        }
        // per-channel: one dequant over all of K; grouped: one per k-tile, summed in k order
        std::vector<std::pair<int64_t, int64_t>> spans = grouped ? tiles : std::vector<std::pair<int64_t, int64_t>>{{0, w.k}};
        float sum = 0;
        for (size_t i = 0; i < spans.size(); ++i) {
            const auto [k0, rows] = spans[i];
            uint32_t acc = 0;
            int64_t asum = 0;
            for (int64_t k = k0; k < k0 + rows; ++k) {
                const auto x = static_cast<int32_t>(a.v[static_cast<size_t>(k)]);
                acc += static_cast<uint32_t>(x * static_cast<int32_t>(w.q[static_cast<size_t>(k * w.n + n)]));
                asum += x;
            }
            const int64_t g = grouped ? k0 / w.spec.group_size : 0;
            const float sc = w.scales[static_cast<size_t>(g * w.n + n)];
            const double accd = static_cast<double>(static_cast<int32_t>(acc));
            float d;
            if (w.zeros.empty()) {
                d = f32(static_cast<double>(f32(accd) * sc));
            } else {
                const float t = f32(static_cast<double>(asum) * static_cast<double>(w.zeros[static_cast<size_t>(g * w.n + n)]));
                d = f32(static_cast<double>(f32(accd - static_cast<double>(t)) * sc));
            }
            sum = i == 0 ? d : f32(static_cast<double>(sum) + d);
        }
        out[static_cast<size_t>(n)] = s.act_fp16 ? sum : f32(static_cast<double>(sum) * a.scale);
    }
    return out;
}

// The residual stream after the feed-forward half, for one token x (hidden values).
inline std::vector<float> ffn_block(const std::vector<float>& x, const std::vector<float>& gamma,
                                    const std::vector<wl::QuantizedMatrix>& gate, const std::vector<wl::QuantizedMatrix>& up,
                                    const std::vector<wl::QuantizedMatrix>& down, const FfnShape& s) {
    const int64_t H = s.hidden, chunks = (H + s.lanes - 1) / s.lanes;
    // RMSNorm: squares summed lane by lane within a chunk, chunk sums added in order
    float total = 0;
    for (int64_t c = 0; c < chunks; ++c) {
        float part = 0;
        for (int64_t l = 0; l < s.lanes; ++l) {
            const int64_t i = c * s.lanes + l;
            const float v = i < H ? x[static_cast<size_t>(i)] : 0.0f;
            part = f32(static_cast<double>(part) + f32(static_cast<double>(v) * v));
        }
        total = c == 0 ? part : f32(static_cast<double>(part) + total);
    }
    const float mean = f32(static_cast<double>(total) * static_cast<double>(f32(1.0 / static_cast<double>(H))));
    const float r = f32(1.0 / std::sqrt(f32(static_cast<double>(mean) + static_cast<double>(f32(s.eps)))));
    std::vector<float> y(static_cast<size_t>(H));
    for (int64_t i = 0; i < H; ++i) {
        y[static_cast<size_t>(i)] = f32(static_cast<double>(x[static_cast<size_t>(i)]) * r);
        if (!gamma.empty()) y[static_cast<size_t>(i)] = f32(static_cast<double>(y[static_cast<size_t>(i)]) * gamma[static_cast<size_t>(i)]);
    }
    const QuantActs xq = quantize_acts(y, s);
    // per rank: its shard of the FFN and its partial sum of the output
    std::vector<std::vector<float>> partial;
    for (int r = 0; r < s.tensor; ++r) {
        const std::vector<float> g = matvec(xq, gate[static_cast<size_t>(r)], s), u = matvec(xq, up[static_cast<size_t>(r)], s);
        std::vector<float> h(g.size());
        for (size_t i = 0; i < g.size(); ++i) {
            const float e = f32(std::exp(static_cast<float>(-g[i])));
            const float sig = f32(1.0 / static_cast<double>(f32(static_cast<double>(e) + 1.0)));
            h[i] = f32(static_cast<double>(f32(static_cast<double>(g[i]) * sig)) * u[i]);
        }
        partial.push_back(matvec(quantize_acts(h, s), down[static_cast<size_t>(r)], s));
    }
    // all-reduce: chunk c's owner adds the peers' partials in order owner+1, owner+2, ...
    const int64_t per = (chunks + s.tensor - 1) / s.tensor;
    std::vector<float> out(static_cast<size_t>(H));
    for (int64_t i = 0; i < H; ++i) {
        const int owner = static_cast<int>((i / s.lanes) / per);
        float v = partial[static_cast<size_t>(owner)][static_cast<size_t>(i)];
        for (int d = 1; d < s.tensor; ++d)
            v = f32(static_cast<double>(partial[static_cast<size_t>((owner + d) % s.tensor)][static_cast<size_t>(i)]) + v);
        out[static_cast<size_t>(i)] = f32(static_cast<double>(x[static_cast<size_t>(i)]) + v);
    }
    return out;
}

}  // namespace lpu::ref
