// Decode attention with its real data flow (docs/compiler.md, "Real data flow"): the int8 KV
// cache of every sequence and local KV head, the append of this step's key and value, the
// scores q . K^T on the MXM, softmax on the VXM, P . V on the MXM, and the heads' outputs
// assembled into the O projection's int8 input.
//
// Cache layout (one sequence, one KV head), in blocks of 320 positions:
//   K^T block b: head_dim vectors, vector d = dimension d of positions 320b .. 320b+319
//                (installed as the weights of the scores matmul: rows = head_dim);
//   V block b:   rows = positions, spread over 8 regions (row q in region q mod 8 at q / 8)
//                so that the install reads 8 streams, as weights do;
//   scales:      per block an 8-vector region: fp32 scale of each position (row 0), zero row.
// Appending key k at position p: a 16-vector group with k in vector 0 goes through
// sxm.transpose (each superlane s then holds k[16 s + r] in vector r, lane 16 s); per
// superlane one sxm.shift moves it to lane p, a one-hot multiply keeps only that lane and an
// add merges it into rows 16 s .. 16 s + 15 of the block (those lanes were zero).
#pragma once

#include <cstdint>
#include <vector>

#include "workloads/compiler/compiler.hpp"
#include "workloads/compiler/emitter.hpp"

namespace lpu::wl {

// The cache of one sequence and one KV head before this step (positions 0 .. p-1), for
// functional images: k, v are positions x head_dim int8 values, one fp32 scale per position.
struct KvState {
    std::vector<int8_t> k, v;
    std::vector<float> k_scale, v_scale;
};

// Where the heads of q, k or v are: an int8 tensor (rows = sequences), the element offset
// of head 0, and the per-row (token) scale the tensor was quantized with.
struct HeadSource {
    const Tensor* tensor = nullptr;
    int64_t offset = 0;
    Region token_scale;
};

struct AttentionShape {
    int64_t sequences = 1;  // decode: one new token per sequence (the batch)
    int64_t head_dim = 0;
    int64_t q_heads = 0;    // on this chip
    int64_t kv_heads = 0;   // on this chip; q_heads / kv_heads query heads share one
    int64_t position = 0;   // of this step's token (= the context length before it)
};

class DecodeAttention {
public:
    // Reserves the layer's cache (persistent) and writes its functional images when `init`
    // is given (state: [sequence * kv_heads + kv head]).
    DecodeAttention(ChipEmitter& e, const AttentionShape& shape, int layer, std::vector<SramInit>* init,
                    const std::vector<KvState>* state);

    // Appends this step's keys and values, attends, and returns the heads' outputs as an int8
    // tensor (rows = sequences, q_heads x head_dim elements) quantized per row with scale
    // *out_scale (max |o| / 127).
    Tensor run(const HeadSource& q, const HeadSource& k, const HeadSource& v, Region* out_scale);

private:
    struct Cache {
        std::vector<Region> kt;                 // per block
        std::vector<std::vector<Region>> v;     // per block, 8 regions
        std::vector<Region> k_scale, v_scale;   // per block
    };
    // Elements [e0, e0 + len) of row `row` of an int8 tensor into lanes 0 .. len-1 of row
    // `dst_row` of dst, other lanes zero (two sxm.shift per piece, an add for two pieces).
    void extract(const Tensor& src, int64_t row, int64_t e0, int64_t len, const Region& dst, uint64_t dst_row);
    void append(Cache& c, int64_t seq, const HeadSource& k, const HeadSource& v, int64_t kv_head);
    void update_scale(const Region& scale_block, const Region& token_scale, int64_t seq);
    int64_t blocks() const;
    isa::StreamRef in(const Region& r, int reg) const { return e_.to_centre(r, reg); }
    isa::StreamRef to(const Region& r, int reg) const { return e_.from_centre(r, reg); }
    bool cache_west(int64_t kv_head) const;
    int plane_for(int64_t kv_head) const;
    void put(const Region& r, uint64_t offset, std::vector<uint8_t> bytes);

    ChipEmitter& e_;
    AttentionShape s_;
    int layer_;
    std::vector<SramInit>* init_;
    int lanes_;
    std::vector<Cache> caches_;  // [sequence * kv_heads + kv head]
    // constants: one-hot int8 (16 rows) and fp32 (1 row) at lane p mod 320, the additive mask
    // of the last block (q_heads / kv_heads rows), a scale block of ones, the transpose group
    Region onehot8_, onehot32_, mask_, ones_, group_;
};

}  // namespace lpu::wl
