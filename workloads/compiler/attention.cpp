#include "workloads/compiler/attention.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "workloads/compiler/dataflow.hpp"

namespace lpu::wl {

namespace {

using isa::DType;
using isa::Opcode;
using isa::Unit;




}  // namespace

// Caches alternate between the hemispheres (by layer and KV head) so that neither fills up
// first; each is served by the first plane on its side (on a one-plane chip, by that plane).
bool DecodeAttention::cache_west(int64_t j) const { return (layer_ + j) % 2 == 0; }
int DecodeAttention::plane_for(int64_t j) const { return cache_west(j) ? 0 : (e_.cfg().mxm.planes + 1) / 2 % e_.cfg().mxm.planes; }

int64_t DecodeAttention::blocks() const { return s_.position / lanes_ + 1; }

void DecodeAttention::put(const Region& r, uint64_t offset, std::vector<uint8_t> bytes) {
    if (init_ != nullptr) init_->push_back({e_.chip(), r.slice, r.addr + offset, std::move(bytes)});
}

DecodeAttention::DecodeAttention(ChipEmitter& e, const AttentionShape& shape, int layer, std::vector<SramInit>* init,
                                 const std::vector<KvState>* state)
    : e_(e), s_(shape), layer_(layer), init_(init), lanes_(e.cfg().vector_bytes()) {
    const int64_t hd = s_.head_dim, L = lanes_, nb = blocks(), g = s_.q_heads / s_.kv_heads;
    const std::string what = fmt::format("layer {} KV cache", layer_);
    for (int64_t c = 0; c < s_.sequences * s_.kv_heads; ++c) {
        Cache cache;
        const bool w = cache_west(c % s_.kv_heads);
        for (int64_t b = 0; b < nb; ++b) {
            cache.kt.push_back(e_.alloc_in_hemisphere(w, static_cast<uint64_t>(hd), what, false));
            cache.v.emplace_back();
            for (int i = 0; i < 8; ++i)
                cache.v.back().push_back(e_.alloc_in_hemisphere(w, static_cast<uint64_t>(cdiv(L - i, 8)), what, false));
            cache.k_scale.push_back(e_.alloc_in_hemisphere(w, 8, what, false));
            cache.v_scale.push_back(e_.alloc_in_hemisphere(w, 8, what, false));
        }
        if (init_ != nullptr && state != nullptr) {
            const KvState& st = (*state)[static_cast<size_t>(c)];
            for (int64_t b = 0; b < nb; ++b) {
                std::vector<uint8_t> kt(static_cast<size_t>(hd * L), 0), ks(static_cast<size_t>(8 * L), 0), vs(ks);
                std::vector<std::vector<uint8_t>> v(8);
                for (int i = 0; i < 8; ++i) v[static_cast<size_t>(i)].assign(static_cast<size_t>(cdiv(L - i, 8) * L), 0);
                for (int64_t q = 0; q < L && b * L + q < s_.position; ++q) {
                    const int64_t pos = b * L + q;
                    for (int64_t d = 0; d < hd; ++d) {
                        kt[static_cast<size_t>(d * L + q)] = static_cast<uint8_t>(st.k[static_cast<size_t>(pos * hd + d)]);
                        v[static_cast<size_t>(q % 8)][static_cast<size_t>((q / 8) * L + d)] = static_cast<uint8_t>(st.v[static_cast<size_t>(pos * hd + d)]);
                    }
                    put_f32(ks, static_cast<size_t>(4 * q), st.k_scale[static_cast<size_t>(pos)]);
                    put_f32(vs, static_cast<size_t>(4 * q), st.v_scale[static_cast<size_t>(pos)]);
                }
                put(cache.kt[static_cast<size_t>(b)], 0, std::move(kt));
                put(cache.k_scale[static_cast<size_t>(b)], 0, std::move(ks));
                put(cache.v_scale[static_cast<size_t>(b)], 0, std::move(vs));
                for (int i = 0; i < 8; ++i) put(cache.v[static_cast<size_t>(b)][static_cast<size_t>(i)], 0, std::move(v[static_cast<size_t>(i)]));
            }
        }
        caches_.push_back(std::move(cache));
    }
    // Constants of this step's position.
    const std::string cw = fmt::format("layer {} attention constants", layer_);
    const int64_t l = s_.position % L;
    onehot8_ = e_.alloc_in_hemisphere(true, 16, cw, false);
    onehot32_ = e_.alloc_in_hemisphere(true, 4, cw, false);
    mask_ = e_.alloc_in_hemisphere(true, static_cast<uint64_t>(4 * g), cw, false);
    ones_ = e_.alloc_in_hemisphere(true, 8, cw, false);
    group_ = e_.alloc_in_hemisphere(true, 16, cw, false);
    std::vector<uint8_t> oh8(static_cast<size_t>(16 * L), 0), oh32(static_cast<size_t>(4 * L), 0), mask(static_cast<size_t>(4 * g * L), 0),
        ones(static_cast<size_t>(8 * L), 0);
    for (int64_t r = 0; r < 16; ++r) oh8[static_cast<size_t>(r * L + l)] = 1;
    put_f32(oh32, static_cast<size_t>(4 * l), 1.0f);
    for (int64_t r = 0; r < g; ++r)
        for (int64_t q = l + 1; q < L; ++q) put_f32(mask, static_cast<size_t>(r * 4 * L + 4 * q), -1e30f);
    for (int64_t q = 0; q < L; ++q) put_f32(ones, static_cast<size_t>(4 * q), 1.0f);
    put(onehot8_, 0, std::move(oh8));
    put(onehot32_, 0, std::move(oh32));
    put(mask_, 0, std::move(mask));
    put(ones_, 0, std::move(ones));
    put(group_, 0, std::vector<uint8_t>(static_cast<size_t>(16 * L), 0));
}

void DecodeAttention::extract(const Tensor& src, int64_t row, int64_t e0, int64_t len, const Region& dst, uint64_t dst_row) {
    const int64_t L = lanes_, c = e0 / L, o = e0 % L, a_len = std::min(len, L - o), b_len = len - a_len;
    // One piece: cut lanes [lane0, lane0 + n) of a chunk row out to lanes [to, to + n).
    auto cut = [&](const Region& chunk, int64_t lane0, int64_t n, int64_t to, int in_reg, int mid_reg, int out_reg) {
        e_.read(chunk, static_cast<uint64_t>(row), 1, stream(in_reg, false), true);
        isa::StreamRef cur = stream(in_reg, false);
        const int64_t up = L - (lane0 + n);  // to the top lanes, dropping what is above
        if (up > 0) {
            e_.emit(Unit::Sxm, 0, Opcode::Shift, {1, s(cur), s(stream(mid_reg, true)), up});
            cur = stream(mid_reg, true);
        }
        // down to `to` with zero fill above
        e_.emit(Unit::Sxm, 0, Opcode::Shift, {1, s(cur), s(stream(out_reg, true)), -(L - n - to)});
        return stream(out_reg, true);
    };
    const isa::StreamRef a = cut(src.chunks[static_cast<size_t>(c)], o, a_len, 0, 31, 27, 28);
    if (b_len == 0) {
        e_.write(dst, dst_row, 1, a);
        return;
    }
    const isa::StreamRef b = cut(src.chunks[static_cast<size_t>(c + 1)], 0, b_len, a_len, 26, 29, 31);
    const bool dst_west = e_.west(dst);
    e_.emit(Unit::Vxm, e_.next_alu(), Opcode::Add, {1, s(a), s(b), s(stream(30, !dst_west)), static_cast<int64_t>(DType::Int8)});
    e_.write(dst, dst_row, 1, stream(30, !dst_west));
}

void DecodeAttention::update_scale(const Region& blk, const Region& ts, int64_t seq) {
    // scale[p] = token scale: a one-hot multiply of the broadcast row, added to the block's row
    const int alu = e_.next_alu();
    e_.read(ts, static_cast<uint64_t>(4 * seq), 4, in(ts, 26), true);
    e_.read(onehot32_, 0, 4, in(onehot32_, 30), false);
    e_.emit(Unit::Vxm, alu, Opcode::Mul, {1, s(in(ts, 26)), s(in(onehot32_, 30)), s(to(blk, 27)), static_cast<int64_t>(DType::Fp32)});
    e_.read(blk, 0, 4, in(blk, 26), true);
    e_.emit(Unit::Vxm, alu, Opcode::Add, {1, s(to(blk, 27)), s(in(blk, 26)), s(to(blk, 28)), static_cast<int64_t>(DType::Fp32)});
    e_.write(blk, 0, 4, to(blk, 28));
}

void DecodeAttention::append(Cache& c, int64_t seq, const HeadSource& k, const HeadSource& v, int64_t j) {
    const int64_t hd = s_.head_dim, L = lanes_, bl = s_.position / L, l = s_.position % L;
    const Region& kt = c.kt[static_cast<size_t>(bl)];
    // key -> vector 0 of the transpose group -> sxm.transpose -> per superlane: shift, mask, merge
    extract(*k.tensor, seq, k.offset + j * hd, hd, group_, 0);
    e_.fence();
    const Region t = e_.alloc_in_hemisphere(true, 16, "key transposed", true);
    e_.read(group_, 0, 16, stream(31, false), true);
    e_.emit(Unit::Sxm, 0, Opcode::Transpose, {16, s(stream(31, false)), s(stream(27, true))});
    e_.write(t, 0, 16, stream(27, true));
    e_.fence();
    const int alu = e_.next_alu();
    for (int64_t sl = 0; sl < hd / 16; ++sl) {
        e_.read(t, 0, 16, stream(31, false), true);
        e_.emit(Unit::Sxm, 0, Opcode::Shift, {16, s(stream(31, false)), s(stream(27, true)), l - 16 * sl});
        e_.read(onehot8_, 0, 16, in(onehot8_, 26), false);
        e_.emit(Unit::Vxm, alu, Opcode::Mul, {16, s(stream(27, true)), s(in(onehot8_, 26)), s(to(kt, 28)), static_cast<int64_t>(DType::Int8)});
        e_.read(kt, static_cast<uint64_t>(16 * sl), 16, in(kt, 30), true);
        e_.emit(Unit::Vxm, alu, Opcode::Add, {16, s(to(kt, 28)), s(in(kt, 30)), s(to(kt, 29)), static_cast<int64_t>(DType::Int8)});
        e_.write(kt, static_cast<uint64_t>(16 * sl), 16, to(kt, 29));
    }
    update_scale(c.k_scale[static_cast<size_t>(bl)], k.token_scale, seq);
    // value: one row of the block, in region p mod 8
    extract(*v.tensor, seq, v.offset + j * hd, hd, c.v[static_cast<size_t>(bl)][static_cast<size_t>(l % 8)],
            static_cast<uint64_t>(l / 8));
    update_scale(c.v_scale[static_cast<size_t>(bl)], v.token_scale, seq);
    e_.fence();
}

Tensor DecodeAttention::run(const HeadSource& q, const HeadSource& k, const HeadSource& v, Region* out_scale) {
    const int64_t hd = s_.head_dim, L = lanes_, nb = blocks(), g = s_.q_heads / s_.kv_heads, bl = nb - 1;
    const int64_t l = s_.position % L;
    e_.tag("kv_append", layer_);
    for (int64_t m = 0; m < s_.sequences; ++m)
        for (int64_t j = 0; j < s_.kv_heads; ++j) append(caches_[static_cast<size_t>(m * s_.kv_heads + j)], m, k, v, j);

    DataflowOps ops(e_, g);
    std::vector<Tensor> outs;  // [m * kv_heads + j]: g rows x head_dim lanes, fp32
    for (int64_t m = 0; m < s_.sequences; ++m)
        for (int64_t j = 0; j < s_.kv_heads; ++j) {
            Cache& c = caches_[static_cast<size_t>(m * s_.kv_heads + j)];
            const int plane = plane_for(j);
            const PlaneStreams ps = plane_streams(e_, plane);
            const bool cw = cache_west(j);
            e_.tag("attention", layer_);
            // the group's query heads, one row each (lanes past head_dim are not used by the array)
            const Region aq = e_.alloc_in_hemisphere(cw, static_cast<uint64_t>(g), "query heads", true);
            for (int64_t r = 0; r < g; ++r) extract(*q.tensor, m, q.offset + (j * g + r) * hd, hd, aq, static_cast<uint64_t>(r));
            // score scale per block: K scale of each position x the query's token scale / sqrt(head_dim)
            std::vector<Region> sscale;
            const int alu = e_.next_alu();
            for (int64_t b = 0; b < nb; ++b) {
                const Region& ks = c.k_scale[static_cast<size_t>(b)];
                sscale.push_back(e_.alloc_in_hemisphere(cw, 4, "score scale", true));
                const Region& out = sscale.back();
                e_.read(ks, 0, 4, in(ks, 26), true);
                e_.read(q.token_scale, static_cast<uint64_t>(4 * m), 4, in(q.token_scale, 30), true);
                e_.emit(Unit::Vxm, alu, Opcode::Mul, {1, s(in(ks, 26)), s(in(q.token_scale, 30)), s(to(out, 27)),
                                                       static_cast<int64_t>(DType::Fp32)});
                e_.emit(Unit::Vxm, alu, Opcode::MulImm, {1, s(to(out, 27)), imm_bits(static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)))),
                                                          s(to(out, 28)), static_cast<int64_t>(DType::Fp32)});
                e_.write(out, 0, 4, to(out, 28));
            }
            e_.fence();
            // scores = q . K^T, one block of positions per install
            Tensor scores = ops.alloc(nb * L, DType::Fp32, false, "scores");
            for (int64_t b = 0; b < nb; ++b) {
                const Region& kt = c.kt[static_cast<size_t>(b)];
                e_.read(kt, 0, kt.vectors, stream(ps.weights, ps.weights_east), true);
                e_.emit(Unit::Mxm, plane, Opcode::Lw, {hd, s(stream(ps.weights, ps.weights_east)), static_cast<int64_t>(DType::Int8)});
                e_.emit(Unit::Mxm, plane, Opcode::Iw, {b == bl ? l + 1 : L});
                e_.read(aq, 0, static_cast<uint64_t>(g), stream(ps.activations, ps.weights_east), true);
                e_.emit(Unit::Mxm, plane, Opcode::Abc, {g, s(stream(ps.activations, ps.weights_east)), static_cast<int64_t>(DType::Int8), 0});
                e_.emit(Unit::Mxm, plane, Opcode::Acc, {g, s(stream(ps.acc, ps.acc_east, 4))});
                const Region &ss = sscale[static_cast<size_t>(b)], &ks = c.k_scale[static_cast<size_t>(b)];
                e_.read(ss, 0, 4, in(ss, 30), true);
                e_.read(ks, 4, 4, in(ks, 26), true);  // zero row
                const Region& sb = scores.chunks[static_cast<size_t>(b)];
                e_.emit(Unit::Vxm, alu, Opcode::Dequant, {g, s(stream(ps.acc, ps.acc_east, 4)), s(in(ss, 30)), s(in(ks, 26)), s(to(sb, 27))});
                e_.write(sb, 0, sb.vectors, to(sb, 27));
            }
            e_.fence();
            if (l + 1 < L) {  // positions past this one: -1e30, so exp() gives 0
                const Region& sb = scores.chunks[static_cast<size_t>(bl)];
                const bool sw = e_.west(sb);
                e_.read(sb, 0, sb.vectors, stream(26, sw), true);
                e_.read(mask_, 0, mask_.vectors, in(mask_, 30), false);
                e_.emit(Unit::Vxm, alu, Opcode::Add, {g, s(stream(26, sw)), s(in(mask_, 30)), s(stream(27, !sw)),
                                                       static_cast<int64_t>(DType::Fp32)});
                e_.write(sb, 0, sb.vectors, stream(27, !sw));
                e_.fence();
            }
            // softmax over the positions (lanes of every block)
            e_.tag("softmax", layer_);
            const Region mx = ops.reduce(scores, Reduce::Max, "score max");
            Tensor p = ops.with_row(scores, Opcode::Sub, mx, "probabilities");
            ops.unary_in_place(p, Opcode::Exp);
            const Region sum = ops.reduce(p, Reduce::Sum, "probability sum");
            const Region inv = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * g), "probability scale", true);
            e_.read(sum, 0, sum.vectors, stream(26, false), true);
            e_.emit(Unit::Vxm, alu, Opcode::Recip, {g, s(stream(26, false)), s(stream(27, true)), static_cast<int64_t>(DType::Fp32)});
            e_.write(inv, 0, inv.vectors, stream(27, true));
            e_.fence();
            ops.scale_in_place(p, inv);
            // fold the V scale of each position into the probabilities (one row, read g times)
            for (int64_t b = 0; b < nb; ++b) {
                const Region& pb = p.chunks[static_cast<size_t>(b)];
                const bool pw = e_.west(pb);
                e_.read(pb, 0, pb.vectors, stream(26, pw), true);
                const Region& vs = c.v_scale[static_cast<size_t>(b)];
                for (int64_t r = 0; r < g; ++r) e_.read(vs, 0, 4, in(vs, 30), true);
                e_.emit(Unit::Vxm, alu, Opcode::Mul, {g, s(stream(26, pw)), s(in(vs, 30)), s(stream(27, !pw)),
                                                       static_cast<int64_t>(DType::Fp32)});
                e_.write(pb, 0, pb.vectors, stream(27, !pw));
            }
            e_.fence();
            Region p_scale;
            const Tensor p8 = ops.quantize(p, DType::Int8, &p_scale);
            // out = P . V, accumulated over the blocks
            e_.tag("attention", layer_);
            for (int64_t b = 0; b < nb; ++b) {
                const int64_t rows = b == bl ? l + 1 : L;
                const int width = static_cast<int>(std::min<int64_t>(8, rows));
                for (int i = 0; i < width; ++i)
                    e_.read(c.v[static_cast<size_t>(b)][static_cast<size_t>(i)], 0, static_cast<uint64_t>(cdiv(rows - i, 8)),
                            stream(ps.weights + i, ps.weights_east), true);
                e_.emit(Unit::Mxm, plane, Opcode::Lw, {rows, s(stream(ps.weights, ps.weights_east, width)), static_cast<int64_t>(DType::Int8)});
                e_.emit(Unit::Mxm, plane, Opcode::Iw, {hd});
                const Region& pb = p8.chunks[static_cast<size_t>(b)];
                e_.read(pb, 0, pb.vectors, stream(ps.activations, ps.weights_east), true);
                e_.emit(Unit::Mxm, plane, Opcode::Abc, {g, s(stream(ps.activations, ps.weights_east)), static_cast<int64_t>(DType::Int8),
                                                          b > 0 ? 1 : 0});
            }
            e_.emit(Unit::Mxm, plane, Opcode::Acc, {g, s(stream(ps.acc, ps.acc_east, 4))});
            Tensor o = ops.alloc(hd, DType::Fp32, false, "head outputs");
            e_.read(ones_, 0, 8, in(ones_, 30), false);
            e_.emit(Unit::Vxm, alu, Opcode::Dequant, {g, s(stream(ps.acc, ps.acc_east, 4)), s(in(ones_, 30)), s(in(ones_, 30)),
                                                       s(to(o.chunks[0], 27))});
            e_.write(o.chunks[0], 0, o.chunks[0].vectors, to(o.chunks[0], 27));
            e_.fence();
            ops.scale_in_place(o, p_scale);
            outs.push_back(std::move(o));
        }

    // Per sequence: one int8 scale over all its heads, then the heads placed at their
    // element offsets in the output chunks (sxm.shift up, and down for a head that crosses
    // into the next chunk), pieces of one chunk summed on the VXM.
    e_.tag("attention", layer_);
    DataflowOps rows_ops(e_, s_.sequences);
    Tensor out = rows_ops.alloc(s_.q_heads * hd, DType::Int8, false, "attention output");
    *out_scale = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * s_.sequences), "attention output scale", true);
    const int alu = e_.next_alu();
    for (int64_t m = 0; m < s_.sequences; ++m) {
        std::vector<Region> amax;
        for (int64_t j = 0; j < s_.kv_heads; ++j)
            amax.push_back(ops.reduce(outs[static_cast<size_t>(m * s_.kv_heads + j)], Reduce::MaxAbs, "output max"));
        // fold the heads' rows: max(row1, row0), then max(row_i, running max); + kScaleFloor
        const Region am = e_.alloc_in_hemisphere(false, 4, "output max", true);
        for (int64_t i = 0; i < s_.kv_heads * g; ++i) {
            const Region& a = amax[static_cast<size_t>(i / g)];
            e_.read(a, static_cast<uint64_t>(4 * (i % g)), 4, stream(i == 0 ? 26 : 30, false), true);
            if (i == 0 && s_.kv_heads * g == 1)
                e_.emit(Unit::Vxm, alu, Opcode::AddImm, {1, s(stream(26, false)), imm_bits(0.0f), s(stream(29, true)),
                                                          static_cast<int64_t>(DType::Fp32)});
            else if (i > 0)
                e_.emit(Unit::Vxm, alu, Opcode::Max, {1, s(stream(30, false)), s(i == 1 ? stream(26, false) : stream(29, true)),
                                                       s(stream(29, true)), static_cast<int64_t>(DType::Fp32)});
        }
        e_.emit(Unit::Vxm, alu, Opcode::AddImm, {1, s(stream(29, true)), imm_bits(kScaleFloor), s(stream(31, true)),
                                                  static_cast<int64_t>(DType::Fp32)});
        e_.write(am, 0, 4, stream(31, true));
        e_.fence();
        const Region inv = e_.alloc_in_hemisphere(false, 4, "output scale", true);
        e_.read(am, 0, 4, stream(26, false), true);
        e_.emit(Unit::Vxm, alu, Opcode::Recip, {1, s(stream(26, false)), s(stream(27, true)), static_cast<int64_t>(DType::Fp32)});
        e_.emit(Unit::Vxm, alu, Opcode::MulImm, {1, s(stream(27, true)), imm_bits(127.0f), s(stream(28, true)), static_cast<int64_t>(DType::Fp32)});
        e_.write(inv, 0, 4, stream(28, true));
        e_.read(am, 0, 4, stream(30, false), true);
        e_.emit(Unit::Vxm, alu, Opcode::MulImm, {1, s(stream(30, false)), imm_bits(1.0f / 127.0f), s(stream(29, true)),
                                                  static_cast<int64_t>(DType::Fp32)});
        e_.write(*out_scale, static_cast<uint64_t>(4 * m), 4, stream(29, true));
        e_.fence();
        // quantize every head row with the sequence's scale
        std::vector<Region> o8;
        for (int64_t j = 0; j < s_.kv_heads; ++j) {
            const Region& o = outs[static_cast<size_t>(m * s_.kv_heads + j)].chunks[0];
            o8.push_back(e_.alloc_in_hemisphere(true, static_cast<uint64_t>(g), "head outputs int8", true));
            e_.read(o, 0, o.vectors, stream(26, false), true);
            for (int64_t r = 0; r < g; ++r) e_.read(inv, 0, 4, stream(30, false), true);
            e_.emit(Unit::Vxm, alu, Opcode::Mul, {g, s(stream(26, false)), s(stream(30, false)), s(stream(27, false)),
                                                   static_cast<int64_t>(DType::Fp32)});
            e_.emit(Unit::Vxm, alu, Opcode::Cvt, {g, s(stream(27, false)), s(stream(28, false)), static_cast<int64_t>(DType::Fp32),
                                                   static_cast<int64_t>(DType::Int8)});
            e_.write(o8.back(), 0, static_cast<uint64_t>(g), stream(28, false));
        }
        e_.fence();
        // assemble: pieces per output chunk, summed in head order
        for (int64_t c = 0; c < static_cast<int64_t>(out.chunks.size()); ++c) {
            struct Piece {
                const Region* src;
                int64_t row, shift;
            };
            std::vector<Piece> pieces;
            for (int64_t hi = 0; hi < s_.q_heads; ++hi) {
                const int64_t e0 = hi * hd, c0 = e0 / L, o = e0 % L;
                const Region* src = &o8[static_cast<size_t>(hi / g)];
                if (c0 == c) pieces.push_back({src, hi % g, o});
                else if (c0 + 1 == c && o + hd > L) pieces.push_back({src, hi % g, -(L - o)});
            }
            const Region& dst = out.chunks[static_cast<size_t>(c)];
            const bool dw = e_.west(dst);
            for (size_t i = 0; i < pieces.size(); ++i) {
                const Piece& pc = pieces[i];
                e_.read(*pc.src, static_cast<uint64_t>(pc.row), 1, stream(31, false), true);
                const int reg = i == 0 ? 27 : 28;
                e_.emit(Unit::Sxm, 0, Opcode::Shift, {1, s(stream(31, false)), s(stream(reg, true)), pc.shift});
                if (i == 1)
                    e_.emit(Unit::Vxm, alu, Opcode::Add, {1, s(stream(27, true)), s(stream(28, true)), s(stream(29, !dw)),
                                                           static_cast<int64_t>(DType::Int8)});
                else if (i > 1)
                    e_.emit(Unit::Vxm, alu, Opcode::Add, {1, s(stream(28, true)), s(stream(29, !dw)), s(stream(29, !dw)),
                                                           static_cast<int64_t>(DType::Int8)});
            }
            e_.write(dst, static_cast<uint64_t>(m), 1, pieces.size() == 1 ? stream(27, true) : stream(29, !dw));
        }
        e_.fence();
    }
    return out;
}

}  // namespace lpu::wl
