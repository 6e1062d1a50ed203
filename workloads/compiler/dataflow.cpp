#include "workloads/compiler/dataflow.hpp"

#include <cstring>

namespace lpu::wl {

namespace {

using isa::DType;
using isa::Opcode;
using isa::Unit;

constexpr int kOperandA = 26, kOperandB = 30;
constexpr int kChain0 = 27, kChain1 = 28, kChain2 = 29, kChain3 = 31;


}  // namespace

uint64_t DataflowOps::row_vectors(DType t) const {
    switch (t) {
        case DType::Fp32: return 4;
        case DType::Fp16: return 2;
        default: return 1;
    }
}

Tensor DataflowOps::alloc(int64_t elems, DType type, bool west_side, const std::string& what, bool scratch) {
    Tensor t;
    t.elems = elems;
    t.type = type;
    const int64_t lanes = e_.cfg().vector_bytes();
    for (int64_t c = 0; c < (elems + lanes - 1) / lanes; ++c)
        t.chunks.push_back(e_.alloc_in_hemisphere(west_side, static_cast<uint64_t>(m_) * row_vectors(type), what, scratch));
    return t;
}


void DataflowOps::unary(int alu, Opcode op, isa::StreamRef a, isa::StreamRef out) {
    e_.emit(Unit::Vxm, alu, op, {m_, s(a), s(out), static_cast<int64_t>(DType::Fp32)});
}
void DataflowOps::binary(int alu, Opcode op, isa::StreamRef a, isa::StreamRef b, isa::StreamRef out) {
    e_.emit(Unit::Vxm, alu, op, {m_, s(a), s(b), s(out), static_cast<int64_t>(DType::Fp32)});
}
void DataflowOps::with_imm(int alu, Opcode op, isa::StreamRef a, float imm, isa::StreamRef out) {
    e_.emit(Unit::Vxm, alu, op, {m_, s(a), imm_bits(imm), s(out), static_cast<int64_t>(DType::Fp32)});
}
void DataflowOps::cvt(int alu, isa::StreamRef a, isa::StreamRef out, DType from, DType to_type) {
    e_.emit(Unit::Vxm, alu, Opcode::Cvt, {m_, s(a), s(out), static_cast<int64_t>(from), static_cast<int64_t>(to_type)});
}

Region DataflowOps::reduce(const Tensor& x, Reduce kind, const std::string& what) {
    const int alu = e_.next_alu();
    const Region out = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * m_), what, true);
    const isa::StreamRef elem = to(out, kChain0), red = to(out, kChain1), acc = to(out, kChain2), part = to(out, kChain3);
    const bool sum = kind == Reduce::SumSquares || kind == Reduce::Sum;
    for (size_t c = 0; c < x.chunks.size(); ++c) {
        const Region& xc = x.chunks[c];
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        isa::StreamRef value = in(xc, kOperandA);
        if (kind == Reduce::SumSquares || kind == Reduce::MaxAbs) {
            e_.read(xc, 0, xc.vectors, in(xc, kOperandB), true);
            if (kind == Reduce::SumSquares) {
                binary(alu, Opcode::Mul, in(xc, kOperandA), in(xc, kOperandB), elem);
            } else {
                unary(alu, Opcode::Neg, in(xc, kOperandB), red);
                binary(alu, Opcode::Max, in(xc, kOperandA), red, elem);
            }
            value = elem;
        }
        unary(alu, sum ? Opcode::RedSum : Opcode::RedMax, value, c == 0 ? acc : part);
        if (c > 0) binary(alu, sum ? Opcode::Add : Opcode::Max, part, acc, acc);
    }
    e_.write(out, 0, out.vectors, acc);
    e_.fence();
    return out;
}

Region DataflowOps::rms_inverse(const Tensor& x, double eps) {
    const Region sum = reduce(x, Reduce::SumSquares, "norm sum of squares");
    const int alu = e_.next_alu();
    const Region r = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * m_), "norm scale", true);
    e_.read(sum, 0, sum.vectors, in(sum, kOperandA), true);
    with_imm(alu, Opcode::MulImm, in(sum, kOperandA), static_cast<float>(1.0 / static_cast<double>(x.elems)), to(r, kChain0));
    with_imm(alu, Opcode::AddImm, to(r, kChain0), static_cast<float>(eps), to(r, kChain1));
    unary(alu, Opcode::Rsqrt, to(r, kChain1), to(r, kChain2));
    e_.write(r, 0, r.vectors, to(r, kChain2));
    e_.fence();
    return r;
}

Tensor DataflowOps::scale_rows(const Tensor& x, const Region& r, const Tensor* gamma) {
    Tensor y = alloc(x.elems, DType::Fp32, false, "normalised");
    const int alu = e_.next_alu();
    for (size_t c = 0; c < x.chunks.size(); ++c) {
        const Region &xc = x.chunks[c], &yc = y.chunks[c];
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        e_.read(r, 0, r.vectors, in(r, kOperandB), true);
        const isa::StreamRef scaled = gamma ? to(yc, kChain0) : to(yc, kChain1);
        binary(alu, Opcode::Mul, in(xc, kOperandA), in(r, kOperandB), scaled);
        if (gamma) {
            const Region& gc = gamma->chunks[c];
            e_.read(gc, 0, gc.vectors, in(gc, kOperandB), false);  // weights: written before the program
            binary(alu, Opcode::Mul, scaled, in(gc, kOperandB), to(yc, kChain1));
        }
        e_.write(yc, 0, yc.vectors, to(yc, kChain1));
    }
    e_.fence();
    return y;
}

Tensor DataflowOps::quantize(const Tensor& y, DType to_type, Region* token_scale) {
    const int alu = e_.next_alu();
    if (to_type == DType::Fp16) {
        Tensor q = alloc(y.elems, DType::Fp16, false, "activations fp16");
        for (size_t c = 0; c < y.chunks.size(); ++c) {
            const Region &yc = y.chunks[c], &qc = q.chunks[c];
            e_.read(yc, 0, yc.vectors, in(yc, kOperandA), true);
            cvt(alu, in(yc, kOperandA), to(qc, kChain0), DType::Fp32, DType::Fp16);
            e_.write(qc, 0, qc.vectors, to(qc, kChain0));
        }
        e_.fence();
        return q;
    }
    // Per-token dynamic scale: 127 / max|y| in, max|y| / 127 out (applied after the matmul).
    const Region amax = reduce(y, Reduce::MaxAbs, "activation max");
    const Region inv = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * m_), "activation scale", true);
    *token_scale = e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * m_), "activation scale", true);
    // + kScaleFloor: an all-zero row gets scale 1e-30 instead of 1/0 (no change to any max
    // above ~1e-22, where it is below half an ulp)
    e_.read(amax, 0, amax.vectors, in(amax, kOperandA), true);
    with_imm(alu, Opcode::AddImm, in(amax, kOperandA), kScaleFloor, to(inv, kChain3));
    e_.write(amax, 0, amax.vectors, to(inv, kChain3));
    e_.fence();
    e_.read(amax, 0, amax.vectors, in(amax, kOperandA), true);
    unary(alu, Opcode::Recip, in(amax, kOperandA), to(inv, kChain0));
    with_imm(alu, Opcode::MulImm, to(inv, kChain0), 127.0f, to(inv, kChain1));
    e_.write(inv, 0, inv.vectors, to(inv, kChain1));
    e_.read(amax, 0, amax.vectors, in(amax, kOperandB), true);
    with_imm(alu, Opcode::MulImm, in(amax, kOperandB), 1.0f / 127.0f, to(*token_scale, kChain2));
    e_.write(*token_scale, 0, token_scale->vectors, to(*token_scale, kChain2));
    e_.fence();
    Tensor q = alloc(y.elems, DType::Int8, false, "activations int8");
    for (size_t c = 0; c < y.chunks.size(); ++c) {
        const Region &yc = y.chunks[c], &qc = q.chunks[c];
        e_.read(yc, 0, yc.vectors, in(yc, kOperandA), true);
        e_.read(inv, 0, inv.vectors, in(inv, kOperandB), true);
        binary(alu, Opcode::Mul, in(yc, kOperandA), in(inv, kOperandB), to(qc, kChain0));
        cvt(alu, to(qc, kChain0), to(qc, kChain1), DType::Fp32, DType::Int8);
        e_.write(qc, 0, qc.vectors, to(qc, kChain1));
    }
    e_.fence();
    return q;
}

Tensor DataflowOps::dequantize_rows(const Tensor& q, const Region& scale, DType to_type) {
    Tensor out = alloc(q.elems, to_type, false, "activations");
    const int alu = e_.next_alu();
    for (size_t c = 0; c < q.chunks.size(); ++c) {
        const Region &qc = q.chunks[c], &oc = out.chunks[c];
        e_.read(qc, 0, qc.vectors, in(qc, kOperandA), true);
        cvt(alu, in(qc, kOperandA), to(oc, kChain0), DType::Int8, DType::Fp32);
        e_.read(scale, 0, scale.vectors, in(scale, kOperandB), true);
        binary(alu, Opcode::Mul, to(oc, kChain0), in(scale, kOperandB), to(oc, kChain1));
        cvt(alu, to(oc, kChain1), to(oc, kChain2), DType::Fp32, to_type);
        e_.write(oc, 0, oc.vectors, to(oc, kChain2));
    }
    e_.fence();
    return out;
}

void DataflowOps::scale_in_place(Tensor& x, const Region& r) {
    const int alu = e_.next_alu();
    for (const Region& xc : x.chunks) {
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        e_.read(r, 0, r.vectors, in(r, kOperandB), true);
        binary(alu, Opcode::Mul, in(xc, kOperandA), in(r, kOperandB), to(xc, kChain0));
        e_.write(xc, 0, xc.vectors, to(xc, kChain0));
    }
    e_.fence();
}

Tensor DataflowOps::swiglu(const Tensor& g, const Tensor& u) {
    Tensor h = alloc(g.elems, DType::Fp32, false, "swiglu");
    const int alu = e_.next_alu();
    for (size_t c = 0; c < g.chunks.size(); ++c) {
        const Region &gc = g.chunks[c], &uc = u.chunks[c], &hc = h.chunks[c];
        e_.read(gc, 0, gc.vectors, in(gc, kOperandA), true);
        e_.read(gc, 0, gc.vectors, in(gc, kOperandB), true);
        unary(alu, Opcode::Neg, in(gc, kOperandA), to(hc, kChain0));
        unary(alu, Opcode::Exp, to(hc, kChain0), to(hc, kChain1));
        with_imm(alu, Opcode::AddImm, to(hc, kChain1), 1.0f, to(hc, kChain2));
        unary(alu, Opcode::Recip, to(hc, kChain2), to(hc, kChain3));
        binary(alu, Opcode::Mul, in(gc, kOperandB), to(hc, kChain3), to(hc, kChain0));
        e_.read(uc, 0, uc.vectors, in(uc, kOperandA), true);
        binary(alu, Opcode::Mul, to(hc, kChain0), in(uc, kOperandA), to(hc, kChain1));
        e_.write(hc, 0, hc.vectors, to(hc, kChain1));
    }
    e_.fence();
    return h;
}

void DataflowOps::unary_in_place(Tensor& x, Opcode op) {
    const int alu = e_.next_alu();
    for (const Region& xc : x.chunks) {
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        unary(alu, op, in(xc, kOperandA), to(xc, kChain0));
        e_.write(xc, 0, xc.vectors, to(xc, kChain0));
    }
    e_.fence();
}

void DataflowOps::unary_imm_in_place(Tensor& x, Opcode op, float imm) {
    const int alu = e_.next_alu();
    for (const Region& xc : x.chunks) {
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        with_imm(alu, op, in(xc, kOperandA), imm, to(xc, kChain0));
        e_.write(xc, 0, xc.vectors, to(xc, kChain0));
    }
    e_.fence();
}

Tensor DataflowOps::with_row(const Tensor& x, Opcode op, const Region& b, const std::string& what) {
    Tensor out = alloc(x.elems, DType::Fp32, false, what);
    const int alu = e_.next_alu();
    for (size_t c = 0; c < x.chunks.size(); ++c) {
        const Region &xc = x.chunks[c], &oc = out.chunks[c];
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        e_.read(b, 0, b.vectors, in(b, kOperandB), true);
        binary(alu, op, in(xc, kOperandA), in(b, kOperandB), to(oc, kChain0));
        e_.write(oc, 0, oc.vectors, to(oc, kChain0));
    }
    e_.fence();
    return out;
}

Tensor DataflowOps::rope(const Tensor& x, const Tensor& cos, const Tensor& sin) {
    Tensor y = alloc(x.elems, DType::Fp32, false, "rotated");
    const int alu = e_.next_alu();
    for (size_t c = 0; c < x.chunks.size(); ++c) {
        const Region &xc = x.chunks[c], &yc = y.chunks[c];
        e_.read(xc, 0, xc.vectors, stream(31, false), true);
        e_.emit(Unit::Sxm, 0, Opcode::Permute, {static_cast<int64_t>(xc.vectors), s(stream(31, false)), s(stream(31, true)), 4});
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        e_.read(cos.chunks[c], 0, cos.chunks[c].vectors, in(cos.chunks[c], kOperandB), false);
        binary(alu, Opcode::Mul, in(xc, kOperandA), in(cos.chunks[c], kOperandB), to(yc, kChain0));
        e_.read(sin.chunks[c], 0, sin.chunks[c].vectors, in(sin.chunks[c], kOperandB), false);
        binary(alu, Opcode::Mul, stream(31, true), in(sin.chunks[c], kOperandB), to(yc, kChain1));
        binary(alu, Opcode::Add, to(yc, kChain0), to(yc, kChain1), to(yc, kChain2));
        e_.write(yc, 0, yc.vectors, to(yc, kChain2));
    }
    e_.fence();
    return y;
}

void DataflowOps::add_in_place(Tensor& x, const Tensor& y) {
    const int alu = e_.next_alu();
    for (size_t c = 0; c < x.chunks.size(); ++c) {
        const Region &xc = x.chunks[c], &yc = y.chunks[c];
        e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
        e_.read(yc, 0, yc.vectors, in(yc, kOperandB), true);
        binary(alu, Opcode::Add, in(xc, kOperandA), in(yc, kOperandB), to(xc, kChain0));
        e_.write(xc, 0, xc.vectors, to(xc, kChain0));
    }
    e_.fence();
}

std::vector<Region> DataflowOps::slots(const Tensor& x, int t) {
    // Every rank owns the same number of chunk slots (the last ones padding when t does not
    // divide the chunks), so each pair of ranks exchanges the same messages both ways.
    const int64_t per = (static_cast<int64_t>(x.chunks.size()) + t - 1) / t, n = per * t;
    std::vector<Region> slot(x.chunks.begin(), x.chunks.end());
    while (static_cast<int64_t>(slot.size()) < n)  // each its own buffer: ranks write them
        slot.push_back(e_.alloc_in_hemisphere(false, static_cast<uint64_t>(4 * m_), "all-reduce padding", true));
    return slot;
}

void DataflowOps::send_slots(const std::vector<Region>& slot, int t, int rank, int first, int links, bool own) {
    const auto per = static_cast<int64_t>(slot.size()) / t;
    for (int d = 1; d < t; ++d) {
        const int peer = (rank + d) % t;
        const int owner = own ? rank : peer;
        for (int64_t c = owner * per; c < (owner + 1) * per; ++c) {
            const Region& xc = slot[static_cast<size_t>(c)];
            e_.read(xc, 0, xc.vectors, in(xc, kOperandA), true);
            e_.emit(Unit::C2c, (d - 1) % std::max(links, 1), Opcode::Send, {first + peer, static_cast<int64_t>(xc.vectors), s(in(xc, kOperandA))});
        }
    }
}

void DataflowOps::all_gather(Tensor& x, int t, int rank, int first, int links) {
    if (t <= 1) return;
    gather_slots(slots(x, t), t, rank, first, links);
}

void DataflowOps::gather_slots(const std::vector<Region>& slot, int t, int rank, int first, int links) {
    const auto per = static_cast<int64_t>(slot.size()) / t;
    send_slots(slot, t, rank, first, links, true);
    for (int d = 1; d < t; ++d) {
        const int peer = (rank + d) % t;
        for (int64_t c = peer * per; c < (peer + 1) * per; ++c) {
            const Region& xc = slot[static_cast<size_t>(c)];
            e_.emit(Unit::C2c, (d - 1) % std::max(links, 1), Opcode::Recv, {first + peer, static_cast<int64_t>(xc.vectors), s(to(xc, kChain1))});
            e_.write(xc, 0, xc.vectors, to(xc, kChain1));
        }
    }
    e_.fence();
}

void DataflowOps::all_reduce(Tensor& x, int t, int rank, int first, int links) {
    if (t <= 1) return;
    const std::vector<Region> slot = reduce_scatter(x, t, rank, first, links);
    gather_slots(slot, t, rank, first, links);
}

std::vector<Region> DataflowOps::reduce_scatter(Tensor& x, int t, int rank, int first, int links) {
    const std::vector<Region> slot = slots(x, t);
    if (t <= 1) return slot;
    const auto per = static_cast<int64_t>(slot.size()) / t;
    const int alu = e_.next_alu();
    // Reduce-scatter: every peer gets this rank's partial sums of its chunks; this rank's
    // chunks: own partial + each peer's, in peer order (rank+1, rank+2, ...).
    send_slots(slot, t, rank, first, links, false);
    for (int64_t c = rank * per; c < (rank + 1) * per; ++c) {
        const Region& xc = slot[static_cast<size_t>(c)];
        const isa::StreamRef got = stream(kChain0, true), acc = to(xc, kChain2), fin = to(xc, kChain3);
        for (int d = 1; d < t; ++d) {
            const int peer = (rank + d) % t;
            e_.emit(Unit::C2c, (d - 1) % std::max(links, 1), Opcode::Recv, {first + peer, static_cast<int64_t>(xc.vectors), s(got)});
            if (d == 1) e_.read(xc, 0, xc.vectors, in(xc, kOperandB), true);
            binary(alu, Opcode::Add, got, d == 1 ? in(xc, kOperandB) : acc, d == t - 1 ? fin : acc);
        }
        e_.write(xc, 0, xc.vectors, fin);
    }
    e_.fence();
    return slot;
}

}  // namespace lpu::wl
