// A straightforward reference for a LLaMA decode step with quantized weights, written from
// the arithmetic contract of docs/compiler.md ("Real data flow") and docs/isa.md, not from
// the compiler's code (it shares only the weight formats): one token at a time, plain loops.
// Used by tests/test_llama_functional.cpp and by `lpusim run --functional`.
//   x' = x + sum over ranks r of down_r(q(silu(g_r) * u_r)),  g_r, u_r = gate_r, up_r(q(norm(x)))
// Each step rounds to fp32 where the hardware op does; integer dot products are exact
// (int32 wrap-around); fp16 products accumulate in fp32 per k-tile.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "workloads/compiler/weight_format.hpp"

namespace lpu::ref {

inline float f32(double v) { return static_cast<float>(v); }

struct FfnShape {
    int64_t hidden = 0, intermediate = 0;
    int tensor = 1;
    double eps = 1e-5;
    bool act_fp16 = false;
    int64_t lanes = 320;   // elements per chunk (vector lanes)
    int64_t tile_k = 320;  // min(mapping.tile_k, mxm.rows) (then cut to a divisor of the group for grouped formats)
};

// Quantized activations of one token: int8 values with their per-token scale, or fp16 values.
struct QuantActs {
    std::vector<float> v;  // int8 integers, or fp16-rounded floats
    float scale = 1.0f;    // max|y| / 127 (int8)
};

inline QuantActs quantize_int8(const std::vector<float>& y);

// For the next matmul: fp16 activations, or int8 with a per-token scale.
inline QuantActs quantize_acts(const std::vector<float>& y, const FfnShape& s) {
    if (!s.act_fp16) return quantize_int8(y);
    QuantActs q;
    q.v.resize(y.size());
    for (size_t i = 0; i < y.size(); ++i) q.v[i] = wl::round_to_fp16(y[i]);
    return q;
}

// int8 with one scale: a = max |y| + 1e-30, q = sat_round(y * fp32(fp32(1/a) * 127)), scale = a / 127.
inline QuantActs quantize_int8(const std::vector<float>& y) {
    QuantActs q;
    q.v.resize(y.size());
    float amax = 0;
    for (float v : y) amax = std::max(amax, std::abs(v));
    amax = f32(static_cast<double>(amax) + static_cast<double>(1e-30f));  // the lowering's kScaleFloor
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
    int64_t tile_k = s.tile_k;
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

// RMSNorm of one token (squares summed lane by lane within a chunk, chunk sums added in
// order), then * gamma when given, then quantized for the next matmul.
inline QuantActs norm_quantized(const std::vector<float>& x, const std::vector<float>& gamma, const FfnShape& s) {
    const int64_t H = s.hidden, chunks = (H + s.lanes - 1) / s.lanes;
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
    return quantize_acts(y, s);
}

// x + the sum over ranks of their partial outputs, summed as the all-reduce does: chunk c's
// owner adds the peers' partials in order owner+1, owner+2, ...
inline std::vector<float> add_all_reduced(const std::vector<float>& x, const std::vector<std::vector<float>>& partial, const FfnShape& s) {
    const int64_t H = s.hidden, chunks = (H + s.lanes - 1) / s.lanes, per = (chunks + s.tensor - 1) / s.tensor;
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

// The residual stream after the feed-forward half, for one token x (hidden values).
inline std::vector<float> ffn_block(const std::vector<float>& x, const std::vector<float>& gamma,
                                    const std::vector<wl::QuantizedMatrix>& gate, const std::vector<wl::QuantizedMatrix>& up,
                                    const std::vector<wl::QuantizedMatrix>& down, const FfnShape& s) {
    const QuantActs xq = norm_quantized(x, gamma, s);
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
    return add_all_reduced(x, partial, s);
}

// The KV cache of one sequence and one KV head: positions x head_dim int8, a scale each.
struct KvCache {
    std::vector<int8_t> k, v;
    std::vector<float> k_scale, v_scale;
};

struct AttentionShape {
    int64_t heads = 0, kv_heads = 0, head_dim = 0;  // per rank
    int64_t position = 0;                          // of the new token
    double rope_theta = 10000;
    bool fused_qkv = true;
};

// RoPE (interleaved pairs, as in Meta's reference LLaMA) of the first `rotated` elements,
// heads of head_dim: y[e] = fp32(x[e] cos) + fp32(x[e^1] sin'), sin' = -sin for even e.
inline std::vector<float> rope(const std::vector<float>& x, int64_t rotated, int64_t head_dim, int64_t position, double theta_base) {
    std::vector<float> y(x);
    for (int64_t e = 0; e < rotated; ++e) {
        const int64_t j = e % head_dim;
        const double theta = static_cast<double>(position) * std::pow(theta_base, -2.0 * static_cast<double>(j / 2) / static_cast<double>(head_dim));
        const float c = f32(std::cos(theta)), sn = f32(j % 2 == 0 ? -std::sin(theta) : std::sin(theta));
        y[static_cast<size_t>(e)] = f32(static_cast<double>(f32(static_cast<double>(x[static_cast<size_t>(e)]) * c)) +
                                        f32(static_cast<double>(x[static_cast<size_t>(e ^ 1)]) * sn));
    }
    return y;
}

// The residual stream after the attention half for one token of sequence `seq`; caches[r]
// are rank r's caches ([seq * kv_heads + head]) before this step; they get the new entry.
inline std::vector<float> attention_block(const std::vector<float>& x, int64_t seq, const std::vector<float>& gamma,
                                          const std::vector<wl::QuantizedMatrix>& wq, const std::vector<wl::QuantizedMatrix>& wk,
                                          const std::vector<wl::QuantizedMatrix>& wv, const std::vector<wl::QuantizedMatrix>& wo,
                                          std::vector<std::vector<KvCache>> caches, const FfnShape& s, const AttentionShape& a) {
    const QuantActs xq = norm_quantized(x, gamma, s);
    const int64_t hd = a.head_dim, g = a.heads / a.kv_heads, L = s.lanes, p = a.position;
    const int64_t positions = (p / L + 1) * L;  // every lane of every block
    std::vector<std::vector<float>> partial;
    for (int r = 0; r < s.tensor; ++r) {
        const auto rs = static_cast<size_t>(r);
        std::vector<float> q = matvec(xq, wq[rs], s), k = matvec(xq, wk[rs], s), v = matvec(xq, wv[rs], s);
        QuantActs q8, k8, v8;
        if (a.fused_qkv) {
            std::vector<float> all(q);
            all.insert(all.end(), k.begin(), k.end());
            all.insert(all.end(), v.begin(), v.end());
            all = rope(all, static_cast<int64_t>(q.size() + k.size()), hd, p, a.rope_theta);
            const QuantActs j = quantize_int8(all);
            q8.scale = k8.scale = v8.scale = j.scale;
            q8.v.assign(j.v.begin(), j.v.begin() + static_cast<long>(q.size()));
            k8.v.assign(j.v.begin() + static_cast<long>(q.size()), j.v.begin() + static_cast<long>(q.size() + k.size()));
            v8.v.assign(j.v.begin() + static_cast<long>(q.size() + k.size()), j.v.end());
        } else {
            q8 = quantize_int8(rope(q, static_cast<int64_t>(q.size()), hd, p, a.rope_theta));
            k8 = quantize_int8(rope(k, static_cast<int64_t>(k.size()), hd, p, a.rope_theta));
            v8 = quantize_int8(v);
        }
        std::vector<std::vector<float>> heads_out;
        for (int64_t j = 0; j < a.kv_heads; ++j) {
            KvCache& c = caches[rs][static_cast<size_t>(seq * a.kv_heads + j)];
            // append, then pad to whole blocks with zeros
            for (int64_t d = 0; d < hd; ++d) {
                c.k.push_back(static_cast<int8_t>(k8.v[static_cast<size_t>(j * hd + d)]));
                c.v.push_back(static_cast<int8_t>(v8.v[static_cast<size_t>(j * hd + d)]));
            }
            c.k_scale.push_back(k8.scale);
            c.v_scale.push_back(v8.scale);
            c.k.resize(static_cast<size_t>(positions * hd), 0);
            c.v.resize(static_cast<size_t>(positions * hd), 0);
            c.k_scale.resize(static_cast<size_t>(positions), 0.0f);
            c.v_scale.resize(static_cast<size_t>(positions), 0.0f);
            for (int64_t i = 0; i < g; ++i) {
                const int64_t head = j * g + i;
                std::vector<float> score(static_cast<size_t>(positions));
                for (int64_t t = 0; t < positions; ++t) {
                    uint32_t acc = 0;
                    for (int64_t d = 0; d < hd; ++d)
                        acc += static_cast<uint32_t>(static_cast<int32_t>(q8.v[static_cast<size_t>(head * hd + d)]) *
                                                     static_cast<int32_t>(c.k[static_cast<size_t>(t * hd + d)]));
                    const float sc = f32(static_cast<double>(f32(static_cast<double>(c.k_scale[static_cast<size_t>(t)]) * q8.scale)) *
                                         static_cast<double>(f32(1.0 / std::sqrt(static_cast<double>(hd)))));
                    float sv = f32(static_cast<double>(f32(static_cast<double>(static_cast<int32_t>(acc)))) * sc);
                    if (t > p) sv = f32(static_cast<double>(sv) + static_cast<double>(-1e30f));
                    score[static_cast<size_t>(t)] = sv;
                }
                // softmax: max, exp(s - max), sum per block in lane order then blocks in order
                float mx = -INFINITY;
                for (float v2 : score) mx = std::max(mx, v2);
                std::vector<float> e(score.size());
                for (size_t t = 0; t < e.size(); ++t) e[t] = f32(std::exp(static_cast<float>(f32(static_cast<double>(score[t]) - mx))));
                float total = 0;
                for (int64_t b = 0; b < positions / L; ++b) {
                    float part = 0;
                    for (int64_t l = 0; l < L; ++l) part = f32(static_cast<double>(part) + e[static_cast<size_t>(b * L + l)]);
                    total = b == 0 ? part : f32(static_cast<double>(part) + total);
                }
                const float inv = f32(1.0 / static_cast<double>(total));
                std::vector<float> pv(e.size());
                for (size_t t = 0; t < e.size(); ++t)
                    pv[t] = f32(static_cast<double>(f32(static_cast<double>(e[t]) * inv)) * c.v_scale[t]);
                const QuantActs p8 = quantize_int8(pv);
                std::vector<float> o(static_cast<size_t>(hd));
                for (int64_t d = 0; d < hd; ++d) {
                    uint32_t acc = 0;
                    for (int64_t t = 0; t < positions; ++t)
                        acc += static_cast<uint32_t>(static_cast<int32_t>(p8.v[static_cast<size_t>(t)]) *
                                                     static_cast<int32_t>(c.v[static_cast<size_t>(t * hd + d)]));
                    const float deq = f32(static_cast<double>(f32(static_cast<double>(static_cast<int32_t>(acc))) * 1.0f));
                    o[static_cast<size_t>(d)] = f32(static_cast<double>(deq) * p8.scale);
                }
                heads_out.push_back(std::move(o));
            }
        }
        std::vector<float> attn;
        for (const auto& o : heads_out) attn.insert(attn.end(), o.begin(), o.end());
        QuantActs a8 = quantize_int8(attn);
        if (s.act_fp16) {  // fp16 weights: back to fp16, fp16(fp32(q * scale))
            for (float& v : a8.v) v = wl::round_to_fp16(f32(static_cast<double>(v) * a8.scale));
            a8.scale = 1.0f;
        }
        partial.push_back(matvec(a8, wo[rs], s));
    }
    return add_all_reduced(x, partial, s);
}

// One decode step of a whole model for sequence `seq`: its token's embedding row, every
// layer (attention half, then feed-forward half), the final norm and the LM head of every
// rank. Returns the logits over the vocabulary. `Params` has the fields of
// wl::ModelCheck (layers, embedding, gamma_final, lm_head, tokens, fused_qkv, position).
template <typename Params>
std::vector<float> model_logits(const Params& c, int64_t seq, int64_t vocab, int64_t kv_heads_total, int64_t heads_total,
                                double rope_theta, const FfnShape& s) {
    const int64_t H = s.hidden, tok = c.tokens[static_cast<size_t>(seq)];
    std::vector<float> x(c.embedding.begin() + tok * H, c.embedding.begin() + (tok + 1) * H);
    for (size_t l = 0; l < c.layers.size(); ++l) {
        const auto& p = c.layers[l];
        AttentionShape a;
        a.heads = heads_total / s.tensor;
        a.kv_heads = kv_heads_total / s.tensor;
        a.head_dim = H / heads_total;
        a.position = c.position;
        a.rope_theta = rope_theta;
        a.fused_qkv = c.fused_qkv[l];
        std::vector<std::vector<KvCache>> caches;
        for (const auto& rank : p.kv) {
            caches.emplace_back();
            for (const auto& st : rank) caches.back().push_back({st.k, st.v, st.k_scale, st.v_scale});
        }
        x = attention_block(x, seq, p.gamma_attn, p.q, p.k, p.v, p.o, caches, s, a);
        x = ffn_block(x, p.gamma, p.gate, p.up, p.down, s);
    }
    const QuantActs xq = norm_quantized(x, c.gamma_final, s);
    std::vector<float> logits;
    for (const auto& shard : c.lm_head) {
        const std::vector<float> part = matvec(xq, shard, s);
        logits.insert(logits.end(), part.begin(), part.end());
    }
    logits.resize(static_cast<size_t>(vocab));
    return logits;
}

// Greedy sampling: the index of the largest logit, the highest index among equal maxima.
inline int64_t greedy(const std::vector<float>& logits) {
    int64_t best = 0;
    for (size_t i = 1; i < logits.size(); ++i)
        if (logits[i] >= logits[static_cast<size_t>(best)]) best = static_cast<int64_t>(i);
    return best;
}

}  // namespace lpu::ref
