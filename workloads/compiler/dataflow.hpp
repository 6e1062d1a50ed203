// Vector-unit operations on activation tensors with their real data flow (docs/compiler.md,
// "Real data flow"): each operation reads the regions its producer wrote and writes a new
// tensor or updates one in place, so a functional simulation carries the model's values.
// The arithmetic of every operation (which fp32 roundings, in which order) is the contract
// that the reference in workloads/reference/llama_reference.hpp follows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/compiler/emitter.hpp"

namespace lpu::wl {

// Added to the max |y| before per-row int8 quantization, so that an all-zero row gets a
// finite scale (docs/compiler.md sec. 3).
inline constexpr float kScaleFloor = 1e-30f;

// Reductions of a tensor to one value per row (broadcast over the lanes): lanes in order
// within a chunk (vxm.rsum / vxm.rmax), then chunks folded in order.
enum class Reduce { SumSquares, Sum, Max, MaxAbs };

class DataflowOps {
public:
    DataflowOps(ChipEmitter& e, int64_t tokens) : e_(e), m_(tokens) {}

    // A tensor of `elems` elements per token in the given hemisphere (scratch unless stated).
    Tensor alloc(int64_t elems, isa::DType type, bool west, const std::string& what, bool scratch = true);

    // r = rsqrt(fp32(sum(x^2) * fp32(1/H)) + eps) per token, broadcast over the lanes (fp32);
    // sum(x^2): each chunk's lanes summed in lane order (vxm.rsum), chunks added in order.
    Region rms_inverse(const Tensor& x, double eps);
    // y_c = x_c * r (then * gamma_c, gamma stored as M identical rows per chunk), fp32.
    Tensor scale_rows(const Tensor& x, const Region& r, const Tensor* gamma);
    // To the matmul input type. fp16: round. int8, per token: a = fp32(max |y| over all
    // chunks + kScaleFloor), q = sat_round(y * fp32(fp32(1/a) * 127)); *token_scale gets
    // fp32(a * fp32(1/127)).
    Tensor quantize(const Tensor& y, isa::DType to, Region* token_scale);
    // An int8 tensor quantized with per-row `scale` as `to` (fp16): cvt, * scale, cvt.
    Tensor dequantize_rows(const Tensor& q, const Region& scale, isa::DType to);
    // x_c = x_c * r for every chunk (r: one broadcast row per token).
    void scale_in_place(Tensor& x, const Region& r);
    // h = fp32(g * fp32(1 / fp32(1 + exp(-g)))) * u  (SwiGLU: silu(g) * u)
    Tensor swiglu(const Tensor& g, const Tensor& u);
    // x_c = x_c + y_c
    void add_in_place(Tensor& x, const Tensor& y);
    // One fp32 value per row over all chunks, broadcast (square: x*x first; abs: max(x, -x)).
    Region reduce(const Tensor& x, Reduce kind, const std::string& what);
    // x_c = op(x_c) for every chunk, in place (unary fp32 op, or with an immediate).
    void unary_in_place(Tensor& x, isa::Opcode op);
    void unary_imm_in_place(Tensor& x, isa::Opcode op, float imm);
    // out_c = op(x_c, b) with b one broadcast row per row of x (binary fp32 op).
    Tensor with_row(const Tensor& x, isa::Opcode op, const Region& b, const std::string& what);
    // RoPE on fp32 chunks: y = fp32(x * cos) + fp32(pairswap(x) * sin), the pair swap (elements
    // 2i <-> 2i+1) a sxm.permute with map 4 on the west SXM; cos and sin are tables in the
    // tensor's layout (sin already signed: -sin for even elements, +sin for odd).
    Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin);
    int64_t rows() const { return m_; }
    // Sum of x over the tensor-parallel group, in place on every rank [TSP22 sec. 5]: chunk c
    // belongs to rank c / ceil(chunks / t) (padded with dummy chunks so that every pair of
    // ranks exchanges equal messages); reduce-scatter (the owner's value + peer (rank+1)'s +
    // peer (rank+2)'s ..., fp32 adds in that order), then all-gather.
    void all_reduce(Tensor& x, int tensor, int rank, int group_first_chip, int links);
    // Its first half: afterwards this rank's own chunks (as in all_reduce) hold the sums; the
    // padded chunk list is returned.
    std::vector<Region> reduce_scatter(Tensor& x, int tensor, int rank, int group_first_chip, int links);
    // Every rank's chunks (owned as in all_reduce) to every rank, in place.
    void all_gather(Tensor& x, int tensor, int rank, int group_first_chip, int links);

private:
    // Registers: operands flow toward the centre on 26 and 30; results inside the VXM and
    // back to SRAM on 27, 28, 29, 31 in the direction of the output's hemisphere.
    isa::StreamRef in(const Region& r, int reg) const { return e_.to_centre(r, reg); }
    isa::StreamRef to(const Region& out, int reg) const { return e_.from_centre(out, reg); }
    void unary(int alu, isa::Opcode op, isa::StreamRef a, isa::StreamRef out);
    void binary(int alu, isa::Opcode op, isa::StreamRef a, isa::StreamRef b, isa::StreamRef out);
    void with_imm(int alu, isa::Opcode op, isa::StreamRef a, float imm, isa::StreamRef out);
    void cvt(int alu, isa::StreamRef a, isa::StreamRef out, isa::DType from, isa::DType to);
    uint64_t row_vectors(isa::DType t) const;
    std::vector<Region> slots(const Tensor& x, int tensor);
    // Sends each peer its own slots (own = false) or this rank's slots (own = true).
    void send_slots(const std::vector<Region>& slot, int tensor, int rank, int first, int links, bool own);
    void gather_slots(const std::vector<Region>& slot, int tensor, int rank, int first, int links);

    ChipEmitter& e_;
    int64_t m_;
};

}  // namespace lpu::wl
