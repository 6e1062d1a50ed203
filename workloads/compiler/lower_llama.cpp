#include "workloads/compiler/lower_llama.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>

#include "workloads/compiler/attention.hpp"
#include "workloads/compiler/dataflow.hpp"
#include "workloads/compiler/emitter.hpp"
#include "workloads/compiler/lower_matmul.hpp"

namespace lpu::wl {

namespace {

using isa::DType;
using isa::Opcode;
using isa::Unit;


// A vector-unit operation of a pass: binary ops read a second operand from SRAM.
struct VecOp {
    Opcode op;
    bool binary = false;
    bool sxm = false;  // runs on the SXM instead (lane movement)
};

// Registers for vector passes (east-flowing, west slices -> VXM -> east slices).
constexpr int kPassIn = kVxmStreamBase;           // 26, 27 alternate between ops
constexpr int kPassSecond = kVxmStreamBase + 2;   // 28: second operands

// When the lowering uses the real data flow (docs/compiler.md sec. 3): the feed-forward half
// needs one m-tile of tokens (decode) and output tiles as wide as the lanes, so that matmul
// results are the next operation's input chunks (fp16 activations also whole-chunk k-tiles);
// the attention half int8 activations and KV cache, heads the 16-lane transpose handles and
// KV heads split evenly; the embedding and head an fp16 table in SRAM.
bool dataflow_ok(const hw::HwConfig& cfg, const Workload& w, int64_t M) {
    return M <= w.mapping.tile_m && std::min<int64_t>(w.mapping.tile_n, cfg.mxm.cols) == cfg.vector_bytes() &&
           (w.activations == ElementType::Int8 || std::min<int64_t>(w.mapping.tile_k, cfg.mxm.rows) == cfg.vector_bytes());
}
bool attention_dataflow_ok(const hw::HwConfig& cfg, const Workload& w, int64_t t, int64_t M) {
    const int64_t hd = w.model.head_dim();
    return dataflow_ok(cfg, w, M) && w.kv_cache == ElementType::Int8 && hd % 16 == 0 && hd <= cfg.vector_bytes() && hd <= cfg.mxm.rows &&
           w.model.num_key_value_heads % t == 0;
}
bool ends_dataflow_ok(const hw::HwConfig& cfg, const Workload& w, int64_t M) {
    return dataflow_ok(cfg, w, M) && w.embedding == WeightFormat::Fp16 && w.weight_location == WeightLocation::Sram;
}

// Functional data for one layer on one rank (compile_layer_check): weight shards, norm
// weights (null when folded into the next weights), the residual stream before the layer
// and the KV cache state.
struct LayerWeights {
    const QuantizedMatrix *gate = nullptr, *up = nullptr, *down = nullptr;
    const QuantizedMatrix *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
    const std::vector<float>* gamma = nullptr;       // feed-forward norm
    const std::vector<float>* gamma_attn = nullptr;  // attention norm
    const std::vector<KvState>* kv = nullptr;        // [sequence * local KV heads + head]
};
struct LayerData {
    std::vector<SramInit>* init = nullptr;
    std::vector<LayerWeights> layers;                // by layer number
    const std::vector<float>* x = nullptr;           // tokens x hidden: the residual stream to start from
    // whole-model checks
    const std::vector<int64_t>* tokens = nullptr;    // the step's input token of each sequence
    const std::vector<float>* embedding = nullptr;   // vocab x hidden, fp16-rounded
    const std::vector<float>* gamma_final = nullptr; // final norm (null when folded into the LM head)
    const QuantizedMatrix* lm_head = nullptr;        // this rank's vocabulary columns
    std::vector<ResultLocation>* results = nullptr;  // where the logits land
    std::vector<ResultLocation>* next_tokens = nullptr;  // where the sampled tokens land (one per rank)
};

class LayerLowering {
public:
    LayerLowering(const hw::HwConfig& cfg, const Workload& w, ChipEmitter& e, int tensor, int rank, int stage_first_chip,
                  const LayerData* ffn_data = nullptr)
        : cfg_(cfg), w_(w), m_(w.model), e_(e), t_(tensor), rank_(rank), group_first_(stage_first_chip), fd_(ffn_data) {
        // The residual stream (fp32 hidden state of every token) lives through the whole
        // step; operations' own buffers are scratch, released after each operation.
        const int64_t M = tokens_per_step(w);
        if (dataflow(M)) {
            resid_ = DataflowOps(e_, M).alloc(m_.hidden_size, DType::Fp32, false, "residual stream", false);
            if (fd_ != nullptr && fd_->x != nullptr) put_rows(*resid_, *fd_->x, M);
        } else {
            e_.alloc_spread(false, static_cast<uint64_t>(4 * rows(m_.hidden_size, M)), "residual stream", false);
        }
    }

    // Whether the feed-forward half runs with its real data flow (docs/compiler.md sec. 3):
    // one m-tile of tokens (decode) and output tiles as wide as the lanes, so that matmul
    // results are the next operation's input chunks.
    bool dataflow(int64_t M) const { return dataflow_ok(cfg_, w_, M); }
    const Tensor& residual() const { return *resid_; }

    // fp32 rows of a tokens x elems matrix into a tensor's chunks (functional images).
    void put_rows(const Tensor& t, const std::vector<float>& v, int64_t M) {
        const int64_t lanes = cfg_.vector_bytes();
        for (size_t c = 0; c < t.chunks.size(); ++c) {
            std::vector<uint8_t> img(static_cast<size_t>(M * 4 * lanes), 0);
            for (int64_t m = 0; m < M; ++m)
                for (int64_t l = 0; l < lanes && static_cast<int64_t>(c) * lanes + l < t.elems; ++l) {
                    // one row per token; `v` holds a single row when it has only t.elems values
                    const size_t src = static_cast<size_t>((static_cast<int64_t>(v.size()) == t.elems ? 0 : m) * t.elems +
                                                           static_cast<int64_t>(c) * lanes + l);
                    std::memcpy(img.data() + (m * 4 * lanes + 4 * l), &v[src], 4);
                }
            fd_->init->push_back({e_.chip(), t.chunks[c].slice, t.chunks[c].addr, std::move(img)});
        }
    }

    // fp32 rows of `elements` per token, M tokens: element rows (320 elements each).
    int64_t rows(int64_t elements, int64_t tokens) const { return tokens * cdiv(elements, cfg_.vector_bytes()); }

    // A pass over `elem_rows` rows: read (fp32) -> ops on the VXM -> write, all in SRAM scratch.
    void vector_pass(const std::string& category, int64_t elem_rows, const std::vector<VecOp>& ops, DType out_type = DType::Fp32) {
        // Long passes (prefill) run in pieces of at most a quarter bank of fp32 rows, each with
        // its own buffers, so the live scratch stays small.
        const int64_t piece = std::max<int64_t>(1, cfg_.mem.vectors_per_slice() / cfg_.mem.banks_per_slice / 4 / 4);
        for (int64_t done = 0; done < elem_rows; done += piece) {
            const ChipEmitter::ScratchMark mark = e_.scratch_mark();
            vector_piece(category, std::min(piece, elem_rows - done), ops, out_type);
            e_.scratch_rewind(mark);
        }
        e_.fence();
        e_.release_scratch();  // an operation's buffers live until the next one has read them
    }

    void vector_piece(const std::string& category, int64_t elem_rows, const std::vector<VecOp>& ops, DType out_type) {
        if (elem_rows <= 0) return;
        e_.tag(category, layer_);
        const uint64_t in_vecs = static_cast<uint64_t>(4 * elem_rows);
        const auto src = e_.alloc_spread(true, in_vecs, category + " input", true);
        // The west SXM sits west of the west slices: a pass that starts with a lane movement
        // sends its input west to it, and the SXM sends the result east to the VXM.
        const bool sxm_first = !ops.empty() && ops.front().sxm;
        e_.read(src, stream(kPassIn, !sxm_first), true);
        int cur = kPassIn;
        DType cur_type = DType::Fp32;
        for (size_t i = 0; i < ops.size(); ++i) {
            const VecOp& op = ops[i];
            const bool last = i + 1 == ops.size();
            const DType t = last && op.op == Opcode::Cvt ? out_type : DType::Fp32;
            const int next = cur == kPassIn ? kPassIn + 1 : kPassIn;
            const int64_t vec_per_row = static_cast<int64_t>(4);
            if (op.sxm) {
                if (i != 0) throw std::logic_error("vector_pass: an SXM op must come first");
                e_.emit(Unit::Sxm, 0, op.op, {elem_rows * vec_per_row, s(stream(cur, false)), s(stream(next, true)),
                                              op.op == Opcode::Permute ? 1 : 0});
            } else if (op.binary) {
                const auto second = e_.alloc_spread(true, in_vecs, category + " operand", true);
                e_.read(second, stream(kPassSecond, true), true);
                e_.emit(Unit::Vxm, e_.next_alu(), op.op, {elem_rows, s(stream(cur, true)), s(stream(kPassSecond, true)),
                                                          s(stream(next, true)), static_cast<int64_t>(DType::Fp32)});
            } else if (op.op == Opcode::Cvt) {
                e_.emit(Unit::Vxm, e_.next_alu(), op.op, {elem_rows, s(stream(cur, true)), s(stream(next, true)),
                                                          static_cast<int64_t>(cur_type), static_cast<int64_t>(t)});
            } else if (op.op == Opcode::AddImm || op.op == Opcode::MulImm) {
                e_.emit(Unit::Vxm, e_.next_alu(), op.op, {elem_rows, s(stream(cur, true)), 0x3f800000 /* 1.0f */,
                                                          s(stream(next, true)), static_cast<int64_t>(DType::Fp32)});
            } else {
                e_.emit(Unit::Vxm, e_.next_alu(), op.op, {elem_rows, s(stream(cur, true)), s(stream(next, true)),
                                                          static_cast<int64_t>(DType::Fp32)});
            }
            cur = next;
            cur_type = t;
        }
        const uint64_t out_vecs = static_cast<uint64_t>(elem_rows * (cur_type == DType::Int8 ? 1 : 4));
        const auto dst = e_.alloc_spread(false, out_vecs, category + " output", true);
        e_.write(dst, stream(cur, true));
    }

    // One matmul of this layer, tagged `category`: weights streamed from the memory interface
    // when the workload says so (model weights only, not the KV cache), functional images
    // when `data` is given; ends with a fence.
    MatmulResult emit(MatmulShape sh, const std::string& category, const QuantizedMatrix* data) {
        e_.tag(category, layer_);
        MatmulContext ctx{e_, w_.mapping, data != nullptr ? fd_->init : nullptr, dma_addr_};
        sh.weights_via_dma = w_.weight_location == WeightLocation::MemoryInterface && (category == "matmul" || category == "lm_head");
        const MatmulResult r = emit_matmul(ctx, sh, data != nullptr ? MatmulData{nullptr, data} : MatmulData{});
        dma_addr_ = ctx.dma_next_addr;
        e_.fence();
        return r;
    }

    std::string label(const std::string& what) const { return fmt::format("layer {} {}", layer_, what); }  // for messages

    // A matmul whose buffers are this operation's own (released after it).
    MatmulResult matmul(const std::string& what, int64_t M, int64_t K, int64_t N, const WeightSpec& spec, bool act_fp16,
                        const std::string& category, bool weights_scratch = false) {
        const MatmulResult r = emit({.m = M, .k = K, .n = N, .weight = spec, .act_fp16 = act_fp16, .weights_scratch = weights_scratch,
                                     .what = label(what)},
                                    category, nullptr);
        e_.release_scratch();
        return r;
    }

    // Direct all-reduce over the tensor-parallel group, as in [TSP22] sec. 5 for a fully
    // connected node: reduce-scatter (each rank sends a 1/t chunk to every peer and adds the
    // t-1 chunks it receives) then all-gather (each rank sends its reduced chunk to every peer).
    void all_reduce(int64_t elem_rows) {
        if (t_ <= 1 || elem_rows <= 0) return;
        e_.tag("c2c", layer_);
        const int64_t chunk_rows = cdiv(elem_rows, t_);
        const int64_t chunk_vecs = 4 * chunk_rows;
        // This rank's partial sums, one chunk per rank of the group, and its reduced chunk.
        std::vector<std::vector<Region>> part;
        for (int d = 0; d < t_; ++d) part.push_back(e_.alloc_spread(true, static_cast<uint64_t>(chunk_vecs), "all-reduce input", true));
        const auto mine = e_.alloc_spread(false, static_cast<uint64_t>(chunk_vecs), "all-reduce sum", true);
        const int sum_alu = e_.next_alu();
        for (int phase = 0; phase < 2; ++phase) {
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                const int link = (d - 1) % std::max(cfg_.c2c.links, 1);
                // send this rank's copy of the peer's chunk (phase 0) or the reduced chunk (phase 1)
                const auto& src = phase == 0 ? part[static_cast<size_t>(d)] : mine;
                e_.read(src, e_.to_centre(src.front(), kPassIn), true);
                e_.emit(Unit::C2c, link, Opcode::Send, {peer, chunk_vecs, s(e_.to_centre(src.front(), kPassIn))});
            }
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                const int link = (d - 1) % std::max(cfg_.c2c.links, 1);
                e_.emit(Unit::C2c, link, Opcode::Recv, {peer, chunk_vecs, s(stream(kPassIn + 1, true))});
                if (phase == 0) {
                    // running sum on a stream: own chunk + each received chunk, on one ALU
                    e_.tag("residual", layer_);
                    const isa::StreamRef sum = stream(kPassIn + 3, true), last = stream(kPassIn + 4, true);
                    if (d == 1) e_.read(part[0], e_.to_centre(part[0].front(), kPassSecond), true);
                    e_.emit(Unit::Vxm, sum_alu, Opcode::Add, {chunk_rows, s(stream(kPassIn + 1, true)),
                                                              s(d == 1 ? e_.to_centre(part[0].front(), kPassSecond) : sum),
                                                              s(d == t_ - 1 ? last : sum), static_cast<int64_t>(DType::Fp32)});
                    if (d == t_ - 1) e_.write(mine, last);
                    e_.tag("c2c", layer_);
                } else {
                    const auto got = e_.alloc_spread(false, static_cast<uint64_t>(chunk_vecs), "all-gather chunk", true);
                    e_.write(got, e_.from_centre(got.front(), kPassIn + 1));
                }
            }
            e_.fence();
        }
        e_.release_scratch();
    }

    void attention(int64_t M, int64_t context) {
        const int64_t hd = m_.head_dim();
        const int64_t kv_local = std::max<int64_t>(1, m_.num_key_value_heads / t_);
        const int64_t group = m_.query_heads_per_kv_head();
        const bool fp16 = w_.kv_cache == ElementType::Fp16;
        const WeightSpec kv_spec{fp16 ? WeightFormat::Fp16 : WeightFormat::Int8, 0};
        // The KV cache of this layer's heads: reserved once, for the whole context.
        e_.reserve_written(true, static_cast<uint64_t>(kv_local * context * hd * (fp16 ? 2 : 1) * 2 / cfg_.vector_bytes() + 1),
                           "KV cache");
        // Queries go through in chunks of tile_m rows (scores are never materialised for the
        // whole prompt, as in flash attention); each chunk installs K and V tiles again. Rows
        // are token-major (token x group + head). In prefill a chunk of one sequence attends
        // only to the positions up to its last token (causal: later key tiles are skipped).
        const int64_t q_rows = M * group;
        const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(w_.mapping.tile_m, q_rows));
        const bool causal = w_.phase == Phase::Prefill;
        for (int64_t h = 0; h < kv_local; ++h)
            for (int64_t q0 = 0; q0 < q_rows; q0 += chunk) {
                const int64_t n = std::min(chunk, q_rows - q0);
                const int64_t first = q0 / group, last = (q0 + n - 1) / group;
                const int64_t positions = causal && first / context == last / context ? last % context + 1 : context;
                // scores = q K^T: the K cache (head_dim x context) is installed like weights
                matmul(fmt::format("kv head {} scores", h), n, hd, positions, kv_spec, fp16, "attention", true);
                vector_pass("softmax", rows(positions, n),
                            {{Opcode::RedMax}, {Opcode::Sub, true}, {Opcode::Exp}, {Opcode::RedSum}, {Opcode::Recip},
                             {Opcode::Mul, true}, {Opcode::Cvt}},
                            fp16 ? DType::Fp16 : DType::Int8);
                // out = P V: the V cache (context x head_dim)
                matmul(fmt::format("kv head {} values", h), n, positions, hd, kv_spec, fp16, "attention", true);
            }
    }

    // A layer's halves: attention (norm, Q/K/V, RoPE, attention, O, all-reduce, residual) and
    // feed-forward (norm, gate/up, SwiGLU, down, all-reduce, residual); pipeline stages may
    // cut a layer between them.
    void layer_half(int l, bool attention_part, int64_t M, int64_t context) {
        layer_ = l;
        if (attention_part && attention_dataflow(M)) return attention_half(M, context);
        if (!attention_part && dataflow(M)) return feed_forward(M);
        const int64_t h = m_.hidden_size, i = m_.intermediate_size;
        const bool act16 = w_.activations == ElementType::Fp16;
        const DType act_t = act16 ? DType::Fp16 : DType::Int8;
        auto spec = [&](Matrix mx) { return weight_spec(w_, l, mx); };
        std::vector<VecOp> norm = {{Opcode::Mul, true}, {Opcode::RedSum}, {Opcode::Rsqrt}, {Opcode::Mul, true}};
        if (!w_.mapping.fuse_norm) norm.push_back({Opcode::Mul, true});  // gamma, unless folded into the next weights
        norm.push_back({Opcode::Cvt});
        vector_pass("norm", rows(h, M), norm, act_t);
        if (!attention_part) {
            if (spec(Matrix::Gate) == spec(Matrix::Up)) {
                matmul("gate_up", M, h, 2 * (i / t_), spec(Matrix::Gate), act16, "matmul");
            } else {
                matmul("gate", M, h, i / t_, spec(Matrix::Gate), act16, "matmul");
                matmul("up", M, h, i / t_, spec(Matrix::Up), act16, "matmul");
            }
            // SwiGLU: silu(g) * u = g / (1 + exp(-g)) * u
            vector_pass("activation", rows(i / t_, M),
                        {{Opcode::Neg}, {Opcode::Exp}, {Opcode::AddImm}, {Opcode::Recip}, {Opcode::Mul, true},
                         {Opcode::Mul, true}, {Opcode::Cvt}},
                        act_t);
            matmul("down", M, i / t_, h, spec(Matrix::Down), act16, "matmul");
            all_reduce(rows(h, M));
            vector_pass("residual", rows(h, M), {{Opcode::Add, true}});
            e_.release_scratch();
            return;
        }
        // Q, K and V (and below gate and up) read the same normalised input: when their formats
        // agree they are one matmul over the concatenated columns of this rank's shards, as
        // serving stacks do ("fused QKV"). Besides one weight pass instead of three, it packs
        // the narrow K/V shards into the Q shard's last lane-aligned tile: LLaMA-2-70B at
        // tensor 8 has 1,024 + 128 + 128 = 1,280 columns = exactly 4 tiles instead of 4 + 1 + 1.
        const int64_t kv_cols = std::max<int64_t>(m_.kv_dim() / t_, m_.head_dim());
        if (spec(Matrix::Q) == spec(Matrix::K) && spec(Matrix::K) == spec(Matrix::V)) {
            matmul("qkv", M, h, h / t_ + 2 * kv_cols, spec(Matrix::Q), act16, "matmul");
        } else {
            matmul("q", M, h, h / t_, spec(Matrix::Q), act16, "matmul");
            matmul("k", M, h, kv_cols, spec(Matrix::K), act16, "matmul");
            matmul("v", M, h, kv_cols, spec(Matrix::V), act16, "matmul");
        }
        if (!w_.mapping.fuse_dequant) vector_pass("dequant", rows(h / t_ + 2 * m_.kv_dim() / t_, M), {{Opcode::Cvt}});
        vector_pass("rope", rows(h / t_ + m_.kv_dim() / t_, M),
                    {{Opcode::Permute, false, true}, {Opcode::Mul, true}, {Opcode::Add, true}, {Opcode::Cvt}}, act_t);
        attention(M, context);
        matmul("o", M, h / t_, h, spec(Matrix::O), act16, "matmul");
        all_reduce(rows(h, M));
        vector_pass("residual", rows(h, M), {{Opcode::Add, true}});
        e_.release_scratch();
    }

    // The feed-forward half with its real data flow: the residual stream x (fp32 chunks) ->
    // RMSNorm -> quantize -> gate, up -> SwiGLU -> quantize -> down -> all-reduce -> x + that.
    // Functional data (fd_) makes it carry values; the arithmetic is DataflowOps'.
    void feed_forward(int64_t M) {
        const ChipEmitter::ScratchMark mark = e_.scratch_mark();
        DataflowOps ops(e_, M);
        const bool act16 = w_.activations == ElementType::Fp16;
        const DType act_t = act16 ? DType::Fp16 : DType::Int8;
        const int64_t h = m_.hidden_size, ir = m_.intermediate_size / t_, lanes = cfg_.vector_bytes();
        e_.tag("norm", layer_);
        const Region inv_rms = ops.rms_inverse(*resid_, m_.rms_norm_eps);
        std::optional<Tensor> gamma;
        if (!w_.mapping.fuse_norm) {  // gamma as M identical rows per chunk, so one vxm.mul applies it
            gamma = ops.alloc(h, DType::Fp32, false, fmt::format("layer {} norm weights", layer_), false);
            if (lw() != nullptr) put_rows(*gamma, *lw()->gamma, M);
        }
        Region scale_in, scale_mid;
        const Tensor xq = ops.quantize(ops.scale_rows(*resid_, inv_rms, gamma ? &*gamma : nullptr), act_t, &scale_in);
        const WeightSpec gs = weight_spec(w_, layer_, Matrix::Gate), us = weight_spec(w_, layer_, Matrix::Up);
        Tensor g, u;
        if (gs == us && ir % lanes == 0) {  // fused: gate's chunks, then up's
            std::optional<QuantizedMatrix> both;
            if (lw() != nullptr) both = concat_columns(*lw()->gate, *lw()->up);
            const Tensor gu = project("gate_up", xq, 2 * ir, gs, both ? &*both : nullptr);
            g.chunks.assign(gu.chunks.begin(), gu.chunks.begin() + ir / lanes);
            u.chunks.assign(gu.chunks.begin() + ir / lanes, gu.chunks.end());
            g.elems = u.elems = ir;
        } else {
            g = project("gate", xq, ir, gs, lw() ? lw()->gate : nullptr);
            u = project("up", xq, ir, us, lw() ? lw()->up : nullptr);
        }
        if (!act16) {
            e_.tag("dequant", layer_);
            ops.scale_in_place(g, scale_in);
            ops.scale_in_place(u, scale_in);
        }
        e_.tag("activation", layer_);
        const Tensor hq = ops.quantize(ops.swiglu(g, u), act_t, &scale_mid);
        Tensor d = project("down", hq, h, weight_spec(w_, layer_, Matrix::Down), lw() ? lw()->down : nullptr);
        add_to_residual(ops, d, act16 ? nullptr : &scale_mid);
        e_.scratch_rewind(mark);
    }

    // A half's output (this rank's partial sum): times its input's token scale (int8
    // activations), summed over the tensor group, added to the residual stream.
    void add_to_residual(DataflowOps& ops, Tensor& out, const Region* token_scale) {
        if (token_scale != nullptr) {
            e_.tag("dequant", layer_);
            ops.scale_in_place(out, *token_scale);
        }
        e_.tag("c2c", layer_);
        ops.all_reduce(out, t_, rank_, group_first_, cfg_.c2c.links);
        e_.tag("residual", layer_);
        ops.add_in_place(*resid_, out);
    }

    // A matmul whose activations are the previous operation's tensor; its output tiles are
    // the result's chunks (fp32, dequantized by the weight scales only).
    Tensor project(const std::string& what, const Tensor& act, int64_t N, const WeightSpec& spec, const QuantizedMatrix* data) {
        const MatmulResult r = emit({.m = tokens_per_step(w_), .k = act.elems, .n = N, .weight = spec,
                                     .act_fp16 = act.type == DType::Fp16, .act_in = &act, .what = label(what)},
                                    "matmul", data);
        Tensor out;
        out.elems = N;
        out.chunks = r.out_regions;
        return out;
    }

    // The attention half with its real data flow: an int8 KV cache, heads of a size the
    // 16-lane transpose handles, KV heads split evenly over the tensor group.
    bool attention_dataflow(int64_t M) const { return attention_dataflow_ok(cfg_, w_, t_, M); }

    // RoPE tables for a tensor whose elements [0, rotated) are heads of head_dim (q or k heads)
    // and the rest pass through (cos 1, sin 0): M identical rows per chunk.
    std::pair<Tensor, Tensor> rope_tables(DataflowOps& ops, int64_t elems, int64_t rotated, int64_t position, int64_t M) {
        const int64_t hd = m_.head_dim();
        std::vector<float> c(static_cast<size_t>(elems), 1.0f), sn(static_cast<size_t>(elems), 0.0f);
        for (int64_t e = 0; e < rotated; ++e) {
            const int64_t j = e % hd;
            const double theta = static_cast<double>(position) * std::pow(m_.rope_theta, -2.0 * static_cast<double>(j / 2) / static_cast<double>(hd));
            c[static_cast<size_t>(e)] = static_cast<float>(std::cos(theta));
            sn[static_cast<size_t>(e)] = static_cast<float>(j % 2 == 0 ? -std::sin(theta) : std::sin(theta));
        }
        Tensor tc = ops.alloc(elems, DType::Fp32, true, fmt::format("layer {} rope cos", layer_), false);
        Tensor ts = ops.alloc(elems, DType::Fp32, true, fmt::format("layer {} rope sin", layer_), false);
        if (fd_ != nullptr) {
            put_rows(tc, c, M);
            put_rows(ts, sn, M);
        }
        return {tc, ts};
    }

    // Norm, Q/K/V, RoPE, attention over the KV cache, O projection, all-reduce, residual.
    void attention_half(int64_t M, int64_t context) {
        const ChipEmitter::ScratchMark mark = e_.scratch_mark();
        DataflowOps ops(e_, M);
        const int64_t h = m_.hidden_size, hd = m_.head_dim(), hq = m_.num_attention_heads / t_, kvl = m_.num_key_value_heads / t_;
        const int64_t position = context - 1;
        e_.tag("norm", layer_);
        const Region inv_rms = ops.rms_inverse(*resid_, m_.rms_norm_eps);
        std::optional<Tensor> gamma;
        if (!w_.mapping.fuse_norm) {
            gamma = ops.alloc(h, DType::Fp32, false, fmt::format("layer {} attention norm weights", layer_), false);
            if (lw() != nullptr) put_rows(*gamma, *lw()->gamma_attn, M);
        }
        const bool act16 = w_.activations == ElementType::Fp16;
        Region x_scale;
        const Tensor xq = ops.quantize(ops.scale_rows(*resid_, inv_rms, gamma ? &*gamma : nullptr), act16 ? DType::Fp16 : DType::Int8, &x_scale);
        const WeightSpec sq = weight_spec(w_, layer_, Matrix::Q), sk = weight_spec(w_, layer_, Matrix::K),
                         sv = weight_spec(w_, layer_, Matrix::V);
        // q, k, v as one tensor [q heads | k heads | v heads] when fused, else three
        std::vector<Tensor> parts;
        std::vector<int64_t> rotated;
        if (sq == sk && sk == sv) {
            std::optional<QuantizedMatrix> qkv;
            if (lw() != nullptr) qkv = concat_columns(concat_columns(*lw()->q, *lw()->k), *lw()->v);
            parts.push_back(project("qkv", xq, (hq + 2 * kvl) * hd, sq, qkv ? &*qkv : nullptr));
            rotated.push_back((hq + kvl) * hd);
        } else {
            parts.push_back(project("q", xq, hq * hd, sq, lw() ? lw()->q : nullptr));
            parts.push_back(project("k", xq, kvl * hd, sk, lw() ? lw()->k : nullptr));
            parts.push_back(project("v", xq, kvl * hd, sv, lw() ? lw()->v : nullptr));
            rotated = {hq * hd, kvl * hd, 0};
        }
        std::vector<Tensor> q8(parts.size());
        std::vector<Region> scales(parts.size());
        for (size_t i = 0; i < parts.size(); ++i) {
            e_.tag("dequant", layer_);
            if (!act16) ops.scale_in_place(parts[i], x_scale);
            e_.tag("rope", layer_);
            Tensor rot = parts[i];
            if (rotated[i] > 0) {
                const auto [tc, ts] = rope_tables(ops, parts[i].elems, rotated[i], position, M);
                rot = ops.rope(parts[i], tc, ts);
            }
            q8[i] = ops.quantize(rot, DType::Int8, &scales[i]);
        }
        const bool fused = parts.size() == 1;
        const HeadSource qs{&q8[0], 0, scales[0]};
        const HeadSource ks{&q8[fused ? 0 : 1], fused ? hq * hd : 0, scales[fused ? 0 : 1]};
        const HeadSource vs{&q8[fused ? 0 : 2], fused ? (hq + kvl) * hd : 0, scales[fused ? 0 : 2]};
        const AttentionShape as{.sequences = M, .head_dim = hd, .q_heads = hq, .kv_heads = kvl, .position = position};
        DecodeAttention att(e_, as, layer_, fd_ ? fd_->init : nullptr, lw() ? lw()->kv : nullptr);
        Region out_scale;
        const Tensor a8 = att.run(qs, ks, vs, &out_scale);
        if (act16) {  // fp16 weights: the heads' int8 outputs back to fp16 for the O projection
            e_.tag("dequant", layer_);
            const Tensor a16 = ops.dequantize_rows(a8, out_scale, DType::Fp16);
            Tensor o = project("o", a16, h, weight_spec(w_, layer_, Matrix::O), lw() ? lw()->o : nullptr);
            add_to_residual(ops, o, nullptr);
        } else {
            Tensor o = project("o", a8, h, weight_spec(w_, layer_, Matrix::O), lw() ? lw()->o : nullptr);
            add_to_residual(ops, o, &out_scale);
        }
        e_.scratch_rewind(mark);
    }

    // ---- the ends of the model with real data flow (decode, fp16 table in SRAM) ----------
    bool ends_dataflow(int64_t M) const { return ends_dataflow_ok(cfg_, w_, M); }

    // Rank r holds the table columns of the residual chunks it owns in the all-reduce (fp16,
    // 2 vectors per row and chunk, rows in pieces of half a bank); each sequence's token row
    // is read and converted to fp32 into the residual stream, then the chunks are all-gathered.
    void embedding_dataflow(int64_t M) {
        layer_ = -1;
        e_.tag("embedding", -1);
        DataflowOps ops(e_, M);
        const int64_t lanes = cfg_.vector_bytes(), chunks = static_cast<int64_t>(resid_->chunks.size());
        const int64_t per = cdiv(chunks, t_), vocab = m_.vocab_size;
        const int64_t piece_rows = std::max<int64_t>(1, cfg_.mem.vectors_per_slice() / cfg_.mem.banks_per_slice / 4);
        const int alu = e_.next_alu();
        for (int64_t c = rank_ * per; c < std::min(chunks, (rank_ + 1) * per); ++c) {
            std::vector<Region> pieces;
            for (int64_t r0 = 0; r0 < vocab; r0 += piece_rows) {
                const int64_t rows_here = std::min(piece_rows, vocab - r0);
                pieces.push_back(e_.alloc_in_hemisphere((r0 / piece_rows) % 2 == 0, static_cast<uint64_t>(2 * rows_here),
                                                        "embedding table", false));
                if (fd_ != nullptr && fd_->embedding != nullptr) {
                    std::vector<uint8_t> img(static_cast<size_t>(2 * rows_here * lanes), 0);
                    for (int64_t r = 0; r < rows_here; ++r)
                        for (int64_t l = 0; l < lanes && c * lanes + l < m_.hidden_size; ++l) {
                            const uint16_t hbits = fp16_bits((*fd_->embedding)[static_cast<size_t>((r0 + r) * m_.hidden_size + c * lanes + l)]);
                            img[static_cast<size_t>(r * 2 * lanes + 2 * l)] = static_cast<uint8_t>(hbits & 0xff);
                            img[static_cast<size_t>(r * 2 * lanes + 2 * l + 1)] = static_cast<uint8_t>(hbits >> 8);
                        }
                    fd_->init->push_back({e_.chip(), pieces.back().slice, pieces.back().addr, std::move(img)});
                }
            }
            const Region& xc = resid_->chunks[static_cast<size_t>(c)];
            for (int64_t m = 0; m < M; ++m) {
                // the token is known when the program is built for a check; otherwise any row costs the same
                const int64_t tok = fd_ != nullptr && fd_->tokens != nullptr ? (*fd_->tokens)[static_cast<size_t>(m)] : m % vocab;
                const Region& pc = pieces[static_cast<size_t>(tok / piece_rows)];
                const bool pw = e_.west(pc), xw = e_.west(xc);
                e_.read(pc, static_cast<uint64_t>(2 * (tok % piece_rows)), 2, stream(26, pw), false);
                e_.emit(Unit::Vxm, alu, Opcode::Cvt, {1, s(stream(26, pw)), s(stream(27, !xw)), static_cast<int64_t>(DType::Fp16),
                                                       static_cast<int64_t>(DType::Fp32)});
                e_.write(xc, static_cast<uint64_t>(4 * m), 4, stream(27, !xw));
            }
        }
        e_.fence();
        e_.tag("c2c", -1);
        ops.all_gather(*resid_, t_, rank_, group_first_, cfg_.c2c.links);
    }

    // Final norm, LM head over this rank's vocabulary columns, greedy sampling: the largest
    // logit's index (the highest index among equal maxima) via cand = idx + (l - max) * 1e30,
    // then the ranks' (max, index) pairs exchanged and combined the same way.
    void head_dataflow(int64_t M) {
        layer_ = -1;
        DataflowOps ops(e_, M);
        const bool act16 = w_.activations == ElementType::Fp16;
        const int64_t lanes = cfg_.vector_bytes(), vr = cdiv(m_.vocab_size, t_);
        const int64_t real = std::min(vr, m_.vocab_size - rank_ * vr);  // this rank's columns that are tokens
        e_.tag("norm", -1);
        const Region inv_rms = ops.rms_inverse(*resid_, m_.rms_norm_eps);
        std::optional<Tensor> gamma;
        if (!w_.mapping.fuse_norm) {
            gamma = ops.alloc(m_.hidden_size, DType::Fp32, false, "final norm weights", false);
            if (fd_ != nullptr) put_rows(*gamma, *fd_->gamma_final, M);
        }
        Region xs;
        const Tensor xq = ops.quantize(ops.scale_rows(*resid_, inv_rms, gamma ? &*gamma : nullptr), act16 ? DType::Fp16 : DType::Int8, &xs);
        Tensor logits = project("lm_head", xq, vr, w_.lm_head, fd_ ? fd_->lm_head : nullptr);
        if (!act16) {
            e_.tag("dequant", -1);
            ops.scale_in_place(logits, xs);
        }
        if (fd_ != nullptr && fd_->results != nullptr)
            for (size_t c = 0; c < logits.chunks.size(); ++c)
                fd_->results->push_back({e_.chip(), logits.chunks[c].slice, logits.chunks[c].addr, M, 4,
                                         std::max<int64_t>(0, std::min<int64_t>(lanes, real - static_cast<int64_t>(c) * lanes)),
                                         rank_ * vr + static_cast<int64_t>(c) * lanes, 0, DType::Fp32});
        e_.tag("sampling", -1);
        // Every lane of the logits' chunks that is no token (past this rank's share of the
        // vocabulary, or past the vocabulary itself) gets -1e30, so it never wins the max.
        const int64_t lanes_all = static_cast<int64_t>(logits.chunks.size()) * lanes;
        std::vector<float> idx(static_cast<size_t>(lanes_all)), pad(static_cast<size_t>(lanes_all), 0.0f);
        for (int64_t e = 0; e < lanes_all; ++e) {
            idx[static_cast<size_t>(e)] = static_cast<float>(rank_ * vr + e);
            if (e >= real) pad[static_cast<size_t>(e)] = -1e30f;
        }
        Tensor idx_t = ops.alloc(lanes_all, DType::Fp32, true, "token indices", false),
               pad_t = ops.alloc(lanes_all, DType::Fp32, true, "vocabulary mask", false);
        if (fd_ != nullptr) {
            put_rows(idx_t, idx, M);
            put_rows(pad_t, pad, M);
        }
        ops.add_in_place(logits, pad_t);
        // index of the largest value, the highest among equal maxima: idx + (v - max) * 1e30
        auto argmax = [&](const Tensor& values, const Tensor& indices, Region* max_out) {
            *max_out = ops.reduce(values, Reduce::Max, "logit max");
            Tensor cand = ops.with_row(values, Opcode::Sub, *max_out, "sampling candidates");
            ops.unary_imm_in_place(cand, Opcode::MulImm, 1e30f);
            ops.add_in_place(cand, indices);
            return ops.reduce(cand, Reduce::Max, "sampled token");
        };
        Region mx;
        Region best = argmax(logits, idx_t, &mx);
        if (t_ > 1) {
            // (max, index) of every rank: gathered (rank r owns chunks 2r, 2r+1, as the
            // all-gather's ownership of ceil(chunks / t) = 2 per rank), then combined the same way
            Tensor pairs = ops.alloc(2 * lanes * t_, DType::Fp32, false, "sampling pairs");
            pairs.chunks[static_cast<size_t>(2 * rank_)] = mx;
            pairs.chunks[static_cast<size_t>(2 * rank_ + 1)] = best;
            e_.tag("c2c", -1);
            ops.all_gather(pairs, t_, rank_, group_first_, cfg_.c2c.links);
            e_.tag("sampling", -1);
            Tensor maxes, indices;
            for (int r = 0; r < t_; ++r) {
                maxes.chunks.push_back(pairs.chunks[static_cast<size_t>(2 * r)]);
                indices.chunks.push_back(pairs.chunks[static_cast<size_t>(2 * r + 1)]);
            }
            maxes.elems = indices.elems = lanes * t_;
            Region gmax;
            best = argmax(maxes, indices, &gmax);
        }
        if (fd_ != nullptr && fd_->next_tokens != nullptr)
            fd_->next_tokens->push_back({e_.chip(), best.slice, best.addr, M, 4, 1, 0, 0, DType::Fp32});
    }

    void embedding(int64_t M) {
        layer_ = -1;
        e_.tag("embedding", -1);
        // The table (vocab x hidden/t, fp16 or int8) is split by hidden columns over the group.
        const int64_t elem_bytes = w_.embedding == WeightFormat::Fp16 ? 2 : 1;
        const int64_t row_vecs = cdiv(m_.hidden_size / t_ * elem_bytes, cfg_.vector_bytes());
        // The table is spread over both hemispheres in quarter-bank pieces.
        const uint64_t table_vecs = static_cast<uint64_t>(m_.vocab_size * row_vecs);
        const bool streamed = w_.weight_location == WeightLocation::MemoryInterface;
        std::vector<Region> table;
        if (!streamed) {
            table = e_.alloc_spread(true, table_vecs / 2, "embedding table", false);
            for (const Region& r : e_.alloc_spread(false, table_vecs - table_vecs / 2, "embedding table", false)) table.push_back(r);
        }
        // One row read per token from the slice holding it (the token is not known at compile
        // time; rows are spread over slices, so the cost does not depend on it).
        std::vector<Region> rows_out;
        for (int64_t tkn = 0; tkn < M; ++tkn) {
            if (streamed) {  // rows come from off-chip memory through the DMA engine (centre)
                const Region out = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(row_vecs), "embedding row", true);
                e_.emit(Unit::Dma, 0, Opcode::DmaLoad, {static_cast<int64_t>(dma_addr_), row_vecs, s(e_.from_centre(out, kPassIn + 4))});
                e_.write(out, 0, static_cast<uint64_t>(row_vecs), e_.from_centre(out, kPassIn + 4));
                rows_out.push_back(out);
                continue;
            }
            const Region& tab = table[static_cast<size_t>(tkn) % table.size()];
            // The row crosses the centre into the other hemisphere: one stream, one direction.
            const Region out = e_.alloc_in_hemisphere(!e_.west(tab), static_cast<uint64_t>(row_vecs), "embedding row", true);
            e_.read(tab, 0, static_cast<uint64_t>(row_vecs), e_.to_centre(tab, kPassIn + 4), false);
            e_.write(out, 0, static_cast<uint64_t>(row_vecs), e_.to_centre(tab, kPassIn + 4));
            rows_out.push_back(out);
        }
        e_.fence();
        if (t_ > 1) {
            // all-gather of the hidden shards
            e_.tag("c2c", -1);
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                for (const Region& row : rows_out) {
                    e_.read(row, 0, static_cast<uint64_t>(row_vecs), e_.to_centre(row, kPassIn), true);
                    e_.emit(Unit::C2c, (d - 1) % cfg_.c2c.links, Opcode::Send, {peer, row_vecs, s(e_.to_centre(row, kPassIn))});
                }
            }
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                for (int64_t tkn = 0; tkn < M; ++tkn) {
                    const Region got = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(row_vecs), "embedding shard", true);
                    e_.emit(Unit::C2c, (d - 1) % cfg_.c2c.links, Opcode::Recv, {peer, row_vecs, s(e_.from_centre(got, kPassIn + 1))});
                    e_.write(got, 0, static_cast<uint64_t>(row_vecs), e_.from_centre(got, kPassIn + 1));
                }
            }
            e_.fence();
        }
        e_.release_scratch();
    }

    void head(int64_t users) {
        layer_ = -1;
        const bool act16 = w_.activations == ElementType::Fp16;
        const DType act_t = act16 ? DType::Fp16 : DType::Int8;
        vector_pass("norm", rows(m_.hidden_size, users),
                    {{Opcode::Mul, true}, {Opcode::RedSum}, {Opcode::Rsqrt}, {Opcode::Mul, true}, {Opcode::Cvt}}, act_t);
        matmul("lm_head", users, m_.hidden_size, cdiv(m_.vocab_size, t_), w_.lm_head, act16, "lm_head");
        // greedy sampling: the largest logit of this shard, then exchange (value, index) pairs
        vector_pass("sampling", rows(cdiv(m_.vocab_size, t_), users), {{Opcode::RedMax}});
        if (t_ > 1) {
            e_.tag("c2c", -1);
            const Region best = e_.alloc_in_hemisphere(true, static_cast<uint64_t>(users), "sampling", true);
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                e_.read(best, 0, static_cast<uint64_t>(users), e_.to_centre(best, kPassIn), true);
                e_.emit(Unit::C2c, (d - 1) % cfg_.c2c.links, Opcode::Send, {peer, users, s(e_.to_centre(best, kPassIn))});
            }
            for (int d = 1; d < t_; ++d) {
                const int peer = group_first_ + (rank_ + d) % t_;
                const Region got = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(users), "sampling shard", true);
                e_.emit(Unit::C2c, (d - 1) % cfg_.c2c.links, Opcode::Recv, {peer, users, s(e_.from_centre(got, kPassIn + 1))});
                e_.write(got, 0, static_cast<uint64_t>(users), e_.from_centre(got, kPassIn + 1));
            }
            e_.fence();
        }
        e_.release_scratch();
    }

    // Pipeline hand-off: activations to the next stage's chip of the same rank.
    void send_to(int peer, int64_t M) {
        if (resid_) {  // the residual stream's chunks themselves
            e_.tag("c2c", layer_);
            for (const Region& xc : resid_->chunks) {
                const isa::StreamRef st = e_.to_centre(xc, kPassIn);
                e_.read(xc, 0, xc.vectors, st, true);
                e_.emit(Unit::C2c, cfg_.c2c.links - 1, Opcode::Send, {peer, static_cast<int64_t>(xc.vectors), s(st)});
            }
            return;
        }
        e_.tag("c2c", layer_);
        const int64_t vecs = 4 * rows(m_.hidden_size, M);
        const auto x = e_.alloc_spread(true, static_cast<uint64_t>(vecs), "stage output", true);
        e_.read(x, e_.to_centre(x.front(), kPassIn), true);
        e_.emit(Unit::C2c, cfg_.c2c.links - 1, Opcode::Send, {peer, vecs, s(e_.to_centre(x.front(), kPassIn))});
        e_.release_scratch();
    }
    void receive_from(int peer, int64_t M) {
        if (resid_) {
            e_.tag("c2c", -1);
            for (const Region& xc : resid_->chunks) {
                e_.emit(Unit::C2c, cfg_.c2c.links - 1, Opcode::Recv, {peer, static_cast<int64_t>(xc.vectors), s(e_.from_centre(xc, kPassIn + 1))});
                e_.write(xc, 0, xc.vectors, e_.from_centre(xc, kPassIn + 1));
            }
            e_.fence();
            return;
        }
        e_.tag("c2c", -1);
        const int64_t vecs = 4 * rows(m_.hidden_size, M);
        const auto x = e_.alloc_spread(false, static_cast<uint64_t>(vecs), "stage input", true);
        e_.emit(Unit::C2c, cfg_.c2c.links - 1, Opcode::Recv, {peer, vecs, s(e_.from_centre(x.front(), kPassIn + 1))});
        e_.write(x, e_.from_centre(x.front(), kPassIn + 1));
        e_.fence();
        e_.release_scratch();
    }

private:
    const hw::HwConfig& cfg_;
    const Workload& w_;
    const ModelShape& m_;
    ChipEmitter& e_;
    int t_, rank_, group_first_;
    int layer_ = -1;
    uint64_t dma_addr_ = 0;
    const LayerData* fd_ = nullptr;
    // this layer's functional weights, if any
    const LayerWeights* lw() const {
        return fd_ != nullptr && layer_ >= 0 && static_cast<size_t>(layer_) < fd_->layers.size() ? &fd_->layers[static_cast<size_t>(layer_)] : nullptr;
    }
    std::optional<Tensor> resid_;  // with the real data flow: the residual stream's chunks
};

std::string gb(double bytes) { return fmt::format("{:.2f} GB", bytes / 1e9); }

}  // namespace

namespace {

// Random parameters of layer l (docs/compiler.md sec. 3): weights ~ U(-1, 1) / sqrt(K)
// quantized in the workload's formats (with fuse_norm the norm weights scale the rows of
// the next weights first), norm weights ~ U(0.5, 1.5), and an int8 KV cache of the positions
// before this one with scales ~ U(0.002, 0.02).
LayerParams random_layer(const Workload& w, int64_t l, int t, std::mt19937_64& rng) {
    const ModelShape& m = w.model;
    const int64_t M = tokens_per_step(w), H = m.hidden_size, I = m.intermediate_size, hd = m.head_dim();
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), near_one(0.5f, 1.5f), small_scale(0.002f, 0.02f);
    std::uniform_int_distribution<int> int8(-127, 127);
    LayerParams out;
    const bool fold = w.mapping.fuse_norm;
    auto norm_weights = [&] {
        std::vector<float> g(static_cast<size_t>(H));
        for (auto& v : g) v = near_one(rng);
        return g;
    };
    const std::vector<float> g_ffn = norm_weights(), g_attn = norm_weights();
    if (!fold) {
        out.gamma = g_ffn;
        out.gamma_attn = g_attn;
    }
    auto random_matrix = [&](Matrix mx, int64_t k, int64_t n, const std::vector<float>* rows) {
        std::vector<float> v(static_cast<size_t>(k * n));
        const float a = 1.0f / std::sqrt(static_cast<float>(k));
        for (int64_t r = 0; r < k; ++r)
            for (int64_t c = 0; c < n; ++c)
                v[static_cast<size_t>(r * n + c)] = a * unit(rng) * (rows != nullptr ? (*rows)[static_cast<size_t>(r)] : 1.0f);
        return std::make_pair(v, quantize(weight_spec(w, l, mx), v, k, n));
    };
    // Row shards (o, down): when a shard boundary falls inside a scale group, each rank
    // quantizes its own rows (as it would have to).
    auto row_shards = [&](Matrix mx, const std::pair<std::vector<float>, QuantizedMatrix>& full, int64_t k, int64_t n) {
        const int64_t rows = k / t, g = full.second.spec.group_size;
        std::vector<QuantizedMatrix> out_shards;
        for (int r = 0; r < t; ++r) {
            if (g == 0 || g >= k || rows % g == 0) {
                out_shards.push_back(slice(full.second, r * rows, (r + 1) * rows, 0, n));
                continue;
            }
            const std::vector<float> part(full.first.begin() + r * rows * n, full.first.begin() + (r + 1) * rows * n);
            out_shards.push_back(quantize(weight_spec(w, l, mx), part, rows, n));
        }
        return out_shards;
    };
    const std::vector<float>* fold_ffn = fold ? &g_ffn : nullptr;
    const std::vector<float>* fold_attn = fold ? &g_attn : nullptr;
    const QuantizedMatrix wq = random_matrix(Matrix::Q, H, H, fold_attn).second, wk = random_matrix(Matrix::K, H, m.kv_dim(), fold_attn).second,
                          wv = random_matrix(Matrix::V, H, m.kv_dim(), fold_attn).second;
    out.o = row_shards(Matrix::O, random_matrix(Matrix::O, H, H, nullptr), H, H);
    const QuantizedMatrix gate = random_matrix(Matrix::Gate, H, I, fold_ffn).second, up = random_matrix(Matrix::Up, H, I, fold_ffn).second;
    out.down = row_shards(Matrix::Down, random_matrix(Matrix::Down, I, H, nullptr), I, H);
    const int64_t shard = I / t, qw = H / t, kvw = m.kv_dim() / t, kvl = m.num_key_value_heads / t;
    for (int r = 0; r < t; ++r) {
        out.gate.push_back(slice(gate, 0, H, r * shard, (r + 1) * shard));
        out.up.push_back(slice(up, 0, H, r * shard, (r + 1) * shard));
        out.q.push_back(slice(wq, 0, H, r * qw, (r + 1) * qw));
        out.k.push_back(slice(wk, 0, H, r * kvw, (r + 1) * kvw));
        out.v.push_back(slice(wv, 0, H, r * kvw, (r + 1) * kvw));
        std::vector<KvState> kv(static_cast<size_t>(M * kvl));
        for (auto& st : kv) {
            for (int64_t i = 0; i < w.context_len * hd; ++i) {
                st.k.push_back(static_cast<int8_t>(int8(rng)));
                st.v.push_back(static_cast<int8_t>(int8(rng)));
            }
            for (int64_t p = 0; p < w.context_len; ++p) {
                st.k_scale.push_back(small_scale(rng));
                st.v_scale.push_back(small_scale(rng));
            }
        }
        out.kv.push_back(std::move(kv));
    }
    return out;
}

LayerWeights weights_of(const LayerParams& p, int rank) {
    const auto at = static_cast<size_t>(rank);
    return {&p.gate[at], &p.up[at], &p.down[at], &p.q[at], &p.k[at], &p.v[at], &p.o[at],
            p.gamma.empty() ? nullptr : &p.gamma, p.gamma_attn.empty() ? nullptr : &p.gamma_attn, &p.kv[at]};
}

bool qkv_fused(const Workload& w, int64_t l) {
    return weight_spec(w, l, Matrix::Q) == weight_spec(w, l, Matrix::K) && weight_spec(w, l, Matrix::K) == weight_spec(w, l, Matrix::V);
}

}  // namespace

// The LLaMA lowering; with `data` every chip also gets its functional images and results.
CompiledWorkload compile_llama_with(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& opt, const ModelCheck* data);

LayerCheck compile_layer_check(const hw::HwConfig& cfg, const Workload& w, uint64_t seed, bool attention, bool feed_forward) {
    const ModelShape& m = w.model;
    const int t = static_cast<int>(std::max<int64_t>(1, w.parallelism.tensor));
    const int64_t M = tokens_per_step(w), H = m.hidden_size, I = m.intermediate_size;
    if (w.phase != Phase::Decode || t > cfg.system.chips || I % t != 0 || m.num_key_value_heads % t != 0)
        throw SimulationError("the layer check needs a decode workload whose tensor parallelism fits the system and divides the FFN and the KV heads");
    LayerCheck out;
    out.position = w.context_len;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    out.x.resize(static_cast<size_t>(M * H));
    for (auto& v : out.x) v = unit(rng);
    static_cast<LayerParams&>(out) = random_layer(w, 0, t, rng);
    out.fused_qkv = qkv_fused(w, 0);
    CompiledWorkload& c = out.compiled;
    c.tensor = t;
    c.chips = t;
    c.mirror_peers = false;
    c.tokens_per_step = static_cast<double>(M);
    ProgramBuilder builder(c);
    for (int r = 0; r < t; ++r) {
        ChipEmitter e(cfg, r, builder);
        LayerData data;
        data.init = &c.sram_init;
        data.x = &out.x;
        data.layers.push_back(weights_of(out, r));
        LayerLowering lower(cfg, w, e, t, r, 0, &data);
        if (!lower.dataflow(M) || (attention && !lower.attention_dataflow(M)))
            throw SimulationError(fmt::format("the layer check needs the real data flow: batch <= tile_m, tile_n = {}{}", cfg.vector_bytes(),
                                              attention ? ", an int8 KV cache, head_dim a multiple of 16" : ""));
        if (attention) lower.layer_half(0, true, M, w.context_len + 1);
        if (feed_forward) lower.layer_half(0, false, M, w.context_len + 1);
        c.simulated_chips.push_back(r);
        if (r == 0) {
            const Tensor& x = lower.residual();
            for (size_t i = 0; i < x.chunks.size(); ++i) {
                const int64_t col0 = static_cast<int64_t>(i) * cfg.vector_bytes();
                c.results.push_back({0, x.chunks[i].slice, x.chunks[i].addr, M, 4, std::min<int64_t>(cfg.vector_bytes(), H - col0),
                                     col0, 0, isa::DType::Fp32});
            }
        }
    }
    return out;
}

CompiledWorkload compile_llama(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& opt) {
    if (opt.functional) return compile_model_check(cfg, w, opt.seed).compiled;
    return compile_llama_with(cfg, w, opt, nullptr);
}

ModelCheck compile_model_check(const hw::HwConfig& cfg, const Workload& workload, uint64_t seed) {
    Workload w = workload;
    const int t = static_cast<int>(std::max<int64_t>(1, w.parallelism.tensor));
    w.parallelism.tensor = t;
    const ModelShape& m = w.model;
    const int64_t M = tokens_per_step(w), H = m.hidden_size;
    std::string why;
    if (w.phase != Phase::Decode)
        why = "phase: decode (prefill still moves data through per-operation buffers)";
    else if (!attention_dataflow_ok(cfg, w, t, M) || !ends_dataflow_ok(cfg, w, M))
        why = fmt::format("batch <= mapping.tile_m, tile_n = {}, int8 activations and KV cache, head_dim a multiple of 16, "
                          "KV heads divisible by parallelism.tensor, an fp16 embedding and weights in SRAM", cfg.vector_bytes());
    else if (m.intermediate_size % t != 0 || m.hidden_size % t != 0)
        why = "parallelism.tensor dividing the hidden and FFN sizes";
    else if (static_cast<double>(weight_bytes(w).total()) > 2e9)
        why = fmt::format("a small model: its random weights are made and checked on the host, and {} has {}", m.name,
                          gb(static_cast<double>(weight_bytes(w).total())));
    if (!why.empty()) throw SimulationError("functional mode is not yet supported for this llama workload: it needs " + why);
    ModelCheck out;
    out.position = w.context_len;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f), near_one(0.5f, 1.5f);
    std::uniform_int_distribution<int64_t> token(0, m.vocab_size - 1);
    for (int64_t i = 0; i < M; ++i) out.tokens.push_back(token(rng));
    out.embedding.resize(static_cast<size_t>(m.vocab_size * H));
    for (auto& v : out.embedding) v = round_to_fp16(unit(rng));
    for (int64_t l = 0; l < m.num_hidden_layers; ++l) {
        out.layers.push_back(random_layer(w, l, t, rng));
        out.fused_qkv.push_back(qkv_fused(w, l));
    }
    std::vector<float> g(static_cast<size_t>(H));
    for (auto& v : g) v = near_one(rng);
    if (!w.mapping.fuse_norm) out.gamma_final = g;
    // LM head: hidden x vocab, rows scaled by the final norm's weights when folded; column
    // shards of ceil(vocab / t), the last padded with zero columns.
    const int64_t vr = cdiv(m.vocab_size, t);
    std::vector<float> head(static_cast<size_t>(H * vr * t), 0.0f);
    const float a = 1.0f / std::sqrt(static_cast<float>(H));
    for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < m.vocab_size; ++c)
            head[static_cast<size_t>(r * vr * t + c)] = a * unit(rng) * (w.mapping.fuse_norm ? g[static_cast<size_t>(r)] : 1.0f);
    const QuantizedMatrix hq = quantize(w.lm_head, head, H, vr * t);
    for (int r = 0; r < t; ++r) out.lm_head.push_back(slice(hq, 0, H, r * vr, (r + 1) * vr));
    CompileOptions o;
    o.full_system = true;  // every chip carries its own values
    out.compiled = compile_llama_with(cfg, w, o, &out);
    return out;
}

CompiledWorkload compile_llama_with(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& opt, const ModelCheck* data) {
    const ModelShape& m = w.model;
    if (w.weight_location == WeightLocation::MemoryInterface && !cfg.memory_interface.present())
        throw InputError({w.file, 0, 0}, "weights.location", "memory_interface",
                         "sram: the hardware config has no memory interface (memory_interface.kind: none)");
    const bool prefill = w.phase == Phase::Prefill;
    const int64_t M = tokens_per_step(w);
    const int64_t context = prefill ? w.seq_len : w.context_len + 1;
    const WeightBytes wb = weight_bytes(w);
    const int64_t kv = kv_cache_bytes(w);
    const int64_t sram = int64_t{cfg.mem.slices} * cfg.mem.slice_bytes();
    const bool streamed = w.weight_location == WeightLocation::MemoryInterface;
    const int64_t resident = (streamed ? 0 : wb.total()) + kv;
    // 15% of each chip is kept for activations, scales and tile padding.
    const int64_t min_chips = std::max<int64_t>(1, cdiv(resident, sram * 85 / 100));

    int64_t t = w.parallelism.tensor, p = w.parallelism.pipeline;
    if (t == 0) {
        t = 1;
        const int64_t want = std::min<int64_t>(min_chips, cfg.system.chips_per_node);
        while (t < want && m.num_attention_heads % (t * 2) == 0 && t * 2 <= cfg.system.chips_per_node) t *= 2;
    }
    if (p == 0) p = std::min<int64_t>(2 * m.num_hidden_layers, cdiv(min_chips, t));
    const auto does_not_fit = [&](const std::string& why) {
        return SimulationError(fmt::format(
            "does not fit: {} needs {} in SRAM (weights {}{}, KV cache {}); the configured system has {} on {} chip(s) of {} "
            "bytes; minimum chips: {}. {}",
            m.name, gb(static_cast<double>(resident)), gb(static_cast<double>(wb.total())), streamed ? " streamed, not counted" : "",
            gb(static_cast<double>(kv)), gb(static_cast<double>(sram) * cfg.system.chips), cfg.system.chips, sram, min_chips, why));
    };
    if (t * p > cfg.system.chips)
        throw does_not_fit(fmt::format("tensor {} x pipeline {} = {} chips are more than system.chips = {}.", t, p, t * p,
                                       cfg.system.chips));

    // Try the placement; when it runs out of SRAM (activations, padding), add pipeline stages.
    for (;;) {
        try {
            CompiledWorkload out;
            out.tensor = static_cast<int>(t);
            out.pipeline = static_cast<int>(p);
            out.chips = static_cast<int>(t * p);
            out.prefill = prefill;
            out.mirror_peers = !opt.full_system && t > 1;
            out.weight_bytes = wb.total();
            out.kv_cache_bytes = kv;
            const MacCount macs = prefill ? prefill_macs(m, w.seq_len) : decode_macs_per_token(m, w.context_len);
            out.macs = static_cast<double>(macs.total()) * static_cast<double>(w.batch);
            out.tokens_per_step = static_cast<double>(w.batch);  // one new token per sequence per step
            out.users = static_cast<double>(w.batch);
            ProgramBuilder builder(out);
            // Stages get equal shares of SRAM-resident bytes, in units of half layers (attention,
            // feed-forward: a stage may end inside a layer); the embedding table (stage 0) and the
            // LM head (last stage) count with their bytes. Unit u: layer u / 2, attention if even.
            const int64_t units = 2 * m.num_hidden_layers;
            std::vector<double> unit_bytes(static_cast<size_t>(units), 1.0);
            if (!streamed)
                for (int64_t l = 0; l < m.num_hidden_layers; ++l) {
                    auto bytes = [&](Matrix mx, int64_t k, int64_t n) { return static_cast<double>(storage_bytes(weight_spec(w, l, mx), k, n)); };
                    const int64_t h = m.hidden_size, kvd = m.kv_dim(), in = m.intermediate_size;
                    unit_bytes[static_cast<size_t>(2 * l)] = bytes(Matrix::Q, h, h) + bytes(Matrix::K, h, kvd) + bytes(Matrix::V, h, kvd) + bytes(Matrix::O, h, h);
                    unit_bytes[static_cast<size_t>(2 * l + 1)] = bytes(Matrix::Gate, h, in) + bytes(Matrix::Up, h, in) + bytes(Matrix::Down, in, h);
                }
            const double emb = streamed ? 0 : static_cast<double>(wb.embedding);
            const double head = streamed ? 0 : static_cast<double>(wb.lm_head + wb.norms / (m.num_hidden_layers + 1));
            double total = emb + head;
            for (double b : unit_bytes) total += b;
            // Unit u goes to the stage its middle byte falls in (monotonic in u), so stage s
            // starts at the number of units placed before it.
            std::vector<int64_t> first_unit(static_cast<size_t>(p) + 1, 0);
            double before = emb;
            for (int64_t u = 0; u < units; ++u) {
                const auto st = std::min<int64_t>(p - 1, static_cast<int64_t>((before + unit_bytes[static_cast<size_t>(u)] / 2) * static_cast<double>(p) / total));
                before += unit_bytes[static_cast<size_t>(u)];
                for (int64_t s2 = st + 1; s2 <= p; ++s2) first_unit[static_cast<size_t>(s2)] = u + 1;
            }
            double halves_per_stage = 0;
            for (int64_t stage = 0; stage < p; ++stage) {
                const int first_chip = static_cast<int>(stage * t);
                const int ranks = opt.full_system ? static_cast<int>(t) : 1;
                for (int rank = 0; rank < ranks; ++rank) {
                    ChipEmitter e(cfg, first_chip + rank, builder);
                    LayerData values;  // functional: this rank's parameters and where results go
                    if (data != nullptr) {
                        values.init = &out.sram_init;
                        for (const LayerParams& lp : data->layers) values.layers.push_back(weights_of(lp, rank));
                        values.tokens = &data->tokens;
                        values.embedding = &data->embedding;
                        values.gamma_final = data->gamma_final.empty() ? nullptr : &data->gamma_final;
                        values.lm_head = &data->lm_head[static_cast<size_t>(rank)];
                        values.results = &out.results;
                        values.next_tokens = &out.next_tokens;
                    }
                    LayerLowering lower(cfg, w, e, static_cast<int>(t), rank, first_chip, data != nullptr ? &values : nullptr);
                    if (stage == 0 && lower.ends_dataflow(M))
                        lower.embedding_dataflow(M);
                    else if (stage == 0)
                        lower.embedding(M);
                    else
                        lower.receive_from(static_cast<int>((stage - 1) * t) + rank, M);
                    const int64_t u0 = first_unit[static_cast<size_t>(stage)], u1 = first_unit[static_cast<size_t>(stage + 1)];
                    halves_per_stage = std::max(halves_per_stage, static_cast<double>(u1 - u0));
                    for (int64_t u = u0; u < u1; ++u) lower.layer_half(static_cast<int>(u / 2), u % 2 == 0, M, context);
                    if (stage + 1 < p)
                        lower.send_to(static_cast<int>((stage + 1) * t) + rank, M);
                    else if (lower.ends_dataflow(M))
                        lower.head_dataflow(M);
                    else
                        lower.head(w.batch);  // prefill: logits of the last position of each sequence
                    out.simulated_chips.push_back(first_chip + rank);
                    out.sram_bytes_used = std::max(out.sram_bytes_used, e.used_bytes());
                }
            }
            out.notes.push_back(fmt::format("{} {}: tensor {} x pipeline {} = {} chips (at most {} layers per stage); simulated chips: {}{}",
                                            m.name, phase_name(w.phase), t, p, t * p, halves_per_stage / 2, out.simulated_chips.size(),
                                            out.mirror_peers ? " (one per stage; tensor-parallel peers mirrored)" : ""));
            return out;
        } catch (const SimulationError& e) {
            const std::string what = e.what();
            const bool placement = what.find("does not fit: chip") != std::string::npos;
            if (!placement || w.parallelism.pipeline != 0 || p >= 2 * m.num_hidden_layers || t * (p + 1) > cfg.system.chips) {
                if (placement) throw does_not_fit(what);
                throw;
            }
            ++p;  // more stages, fewer layers per chip
        }
    }
}

}  // namespace lpu::wl
