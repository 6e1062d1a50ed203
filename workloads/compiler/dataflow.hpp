// Vector-unit operations on activation tensors with their real data flow (docs/compiler.md,
// "Real data flow"): each operation reads the regions its producer wrote and writes a new
// tensor or updates one in place, so a functional simulation carries the model's values.
// The arithmetic of every operation (which fp32 roundings, in which order) is the contract
// that the reference in tests/reference/llama_reference.hpp follows.
#pragma once

#include <cstdint>
#include <string>

#include "workloads/compiler/emitter.hpp"

namespace lpu::wl {

class DataflowOps {
public:
    DataflowOps(ChipEmitter& e, int64_t tokens, int layer) : e_(e), m_(tokens), layer_(layer) {}

    // A tensor of `elems` elements per token in the given hemisphere (scratch unless stated).
    Tensor alloc(int64_t elems, isa::DType type, bool west, const std::string& what, bool scratch = true);

    // r = rsqrt(fp32(sum(x^2) * fp32(1/H)) + eps) per token, broadcast over the lanes (fp32);
    // sum(x^2): each chunk's lanes summed in lane order (vxm.rsum), chunks added in order.
    Region rms_inverse(const Tensor& x, double eps);
    // y_c = x_c * r (then * gamma_c, gamma stored as M identical rows per chunk), fp32.
    Tensor scale_rows(const Tensor& x, const Region& r, const Tensor* gamma);
    // To the matmul input type. fp16: round. int8, per token: a = max |y| over all chunks,
    // q = sat_round(y * fp32(fp32(1/a) * 127)); *token_scale gets fp32(a * fp32(1/127)).
    Tensor quantize(const Tensor& y, isa::DType to, Region* token_scale);
    // x_c = x_c * r for every chunk (r: one broadcast row per token).
    void scale_in_place(Tensor& x, const Region& r);
    // h = fp32(g * fp32(1 / fp32(1 + exp(-g)))) * u  (SwiGLU: silu(g) * u)
    Tensor swiglu(const Tensor& g, const Tensor& u);
    // x_c = x_c + y_c
    void add_in_place(Tensor& x, const Tensor& y);
    // Sum of x over the tensor-parallel group, in place on every rank [TSP22 sec. 5]: chunk c
    // belongs to rank c / ceil(chunks / t) (padded with dummy chunks so that every pair of
    // ranks exchanges equal messages); reduce-scatter (the owner's value + peer (rank+1)'s +
    // peer (rank+2)'s ..., fp32 adds in that order), then all-gather.
    void all_reduce(Tensor& x, int tensor, int rank, int group_first_chip, int links);

private:
    bool west(const Region& r) const { return r.slice < e_.slices_per_hemisphere(); }
    // Registers: operands flow toward the centre on 26 and 30; results inside the VXM and
    // back to SRAM on 27, 28, 29, 31 in the direction of the output's hemisphere.
    isa::StreamRef in(const Region& r, int reg) const;
    isa::StreamRef to(const Region& out, int reg) const;
    void unary(int alu, isa::Opcode op, isa::StreamRef a, isa::StreamRef out);
    void binary(int alu, isa::Opcode op, isa::StreamRef a, isa::StreamRef b, isa::StreamRef out);
    void with_imm(int alu, isa::Opcode op, isa::StreamRef a, float imm, isa::StreamRef out);
    void cvt(int alu, isa::StreamRef a, isa::StreamRef out, isa::DType from, isa::DType to);
    // One value per token over all chunks, broadcast (fp32): square ? sum of x^2 (x*x, rsum,
    // chunks added in order) : max |x| (max(x, -x), rmax, chunks folded with max).
    Region reduce_chunks(const Tensor& x, bool square, const std::string& what);
    uint64_t row_vectors(isa::DType t) const;

    ChipEmitter& e_;
    int64_t m_;
    int layer_;
};

}  // namespace lpu::wl
