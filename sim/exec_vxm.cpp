// VXM instructions. Each queue drives one of the alus_per_lane ALUs in every lane (SIMD
// across the 320 lanes); an ALU processes one row of 32-bit-or-narrower elements per cycle
// [TSP20 sec. 3.4]. Unpacking costs unpack_alu_ops_per_vector cycles per int8 output row
// (docs/quantization.md). Latencies per op come from vxm.op_latency_cycles.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sim/engine.hpp"
#include "sim/values.hpp"

namespace lpu::sim {

namespace {

using isa::DType;
using isa::Opcode;

std::string op_name(Opcode op) {
    const std::string_view m = isa::spec(op).mnemonic;
    return std::string(m.substr(m.find('.') + 1));
}

bool is_packed(DType t) { return t == DType::Int4 || t == DType::Int3p5 || t == DType::Int3p5b; }

double apply_binary(Opcode op, double a, double b) {
    switch (op) {
        case Opcode::Add:
        case Opcode::AddSat: return a + b;
        case Opcode::Sub:
        case Opcode::SubSat: return a - b;
        case Opcode::Mul:
        case Opcode::MulSat: return a * b;
        case Opcode::Max: return std::max(a, b);
        case Opcode::Min: return std::min(a, b);
        default: return 0;
    }
}

double apply_unary(Opcode op, double x, DType t) {
    switch (op) {
        case Opcode::Relu: return std::max(x, 0.0);
        case Opcode::Tanh: return std::tanh(x);
        case Opcode::Exp: return is_float(t) ? static_cast<double>(std::exp(static_cast<float>(x))) : std::exp(x);
        case Opcode::Rsqrt: return 1.0 / std::sqrt(static_cast<float>(x));
        case Opcode::Recip: return 1.0 / static_cast<float>(x);
        case Opcode::Neg: return -x;
        default: return x;
    }
}

// Arithmetic is done in the element type: fp32 ops round through float.
double in_type(double v, DType t) { return t == DType::Fp32 ? static_cast<double>(static_cast<float>(v)) : v; }

// Unpack one lane's packed bytes (column-major along K, docs/quantization.md) to int8.
//   int4:    byte j holds rows 2j (low nibble) and 2j+1 (high nibble), two's complement.
//   7-bit pair field of rows 2p, 2p+1: bits 6..3 = row 2p (4-bit), bits 2..0 = row 2p+1 (3-bit).
//   int3p5b: byte p holds pair p's field in bits 6..0.
//   int3p5:  pair p's field occupies bits 7p..7p+6 of the lane's little-endian bit stream.
int8_t sign_extend(uint32_t v, int bits) {
    const uint32_t m = 1u << (bits - 1);
    return static_cast<int8_t>(static_cast<int32_t>((v ^ m)) - static_cast<int32_t>(m));
}

int8_t unpack_one(const uint8_t* lane_bytes, uint64_t stride, uint64_t row, DType t) {
    if (t == DType::Int4) {
        const uint8_t b = lane_bytes[(row / 2) * stride];
        return sign_extend(row % 2 == 0 ? (b & 0xfu) : (b >> 4), 4);
    }
    if (t == DType::Int3p5b) {
        const uint8_t b = lane_bytes[(row / 2) * stride];
        return row % 2 == 0 ? sign_extend((b >> 3) & 0xfu, 4) : sign_extend(b & 0x7u, 3);
    }
    const uint64_t pair = row / 2;
    const uint64_t bit = 7 * pair + (row % 2 == 0 ? 3 : 0);
    const int width = row % 2 == 0 ? 4 : 3;
    uint32_t v = 0;
    for (int i = 0; i < width; ++i) {
        const uint64_t b = bit + static_cast<uint64_t>(i);
        v |= static_cast<uint32_t>((lane_bytes[(b / 8) * stride] >> (b % 8)) & 1u) << i;
    }
    return sign_extend(v, width);
}

}  // namespace

uint64_t execute_vxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    const Opcode op = ins.opcode;
    const auto& o = ins.operands;
    const uint64_t n = static_cast<uint64_t>(o[0]);
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 row");
    const int pos = e.layout.position(isa::Unit::Vxm, static_cast<int>(q.index));
    const uint64_t vb = static_cast<uint64_t>(e.vector_bytes);
    const int lanes = e.vector_bytes;
    const std::string name = op_name(op);
    const uint64_t latency = static_cast<uint64_t>(e.cfg.vxm.op_latency_cycles.at(name));

    std::vector<StreamInput> inputs;
    isa::StreamRef out;
    DType in_t = DType::Fp32, out_t = DType::Fp32;
    uint64_t cost_per_row = 1;
    uint64_t out_rows = n;
    switch (op) {
        case Opcode::Add: case Opcode::Sub: case Opcode::Mul: case Opcode::Max: case Opcode::Min:
        case Opcode::AddSat: case Opcode::SubSat: case Opcode::MulSat:
            in_t = out_t = static_cast<DType>(o[4]);
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * element_bytes(in_t), pos, q, ins));
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[2]), n * element_bytes(in_t), pos, q, ins));
            out = isa::decode_stream(o[3]);
            break;
        case Opcode::AddImm: case Opcode::MulImm:
            in_t = out_t = static_cast<DType>(o[4]);
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * element_bytes(in_t), pos, q, ins));
            out = isa::decode_stream(o[3]);
            break;
        case Opcode::Relu: case Opcode::Tanh: case Opcode::Exp: case Opcode::Rsqrt: case Opcode::Recip:
        case Opcode::Neg: case Opcode::RedSum: case Opcode::RedMax:
            in_t = out_t = static_cast<DType>(o[3]);
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * element_bytes(in_t), pos, q, ins));
            out = isa::decode_stream(o[2]);
            break;
        case Opcode::Cvt:
            in_t = static_cast<DType>(o[3]);
            out_t = static_cast<DType>(o[4]);
            if (is_packed(in_t) || is_packed(out_t))
                program_error(e, q, ins, "from", std::string(isa::dtype_name(in_t)), "an element type (use vxm.unpack for packed weights)");
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * element_bytes(in_t), pos, q, ins));
            out = isa::decode_stream(o[2]);
            break;
        case Opcode::Unpack: {
            in_t = static_cast<DType>(o[3]);
            out_t = DType::Int8;
            if (!is_packed(in_t)) program_error(e, q, ins, "type", std::string(isa::dtype_name(in_t)), "int4, int3p5 or int3p5b");
            cost_per_row = static_cast<uint64_t>(e.cfg.vxm.unpack_alu_ops_per_vector.at(std::string(isa::dtype_name(in_t))));
            const uint64_t packed = ceil_div(n * static_cast<uint64_t>(isa::dtype_bits_x2(in_t)), 16);
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), packed, pos, q, ins));
            out = isa::decode_stream(o[2]);
            break;
        }
        case Opcode::Dequant:
            in_t = DType::Int32;
            out_t = DType::Fp32;
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * 4, pos, q, ins));
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[2]), 4, pos, q, ins));  // one fp32 row of scales
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[3]), 4, pos, q, ins));  // one fp32 row of zeros
            out = isa::decode_stream(o[4]);
            cost_per_row = 2;  // subtract, multiply
            break;
        case Opcode::DequantZ:
            in_t = DType::Int32;
            out_t = DType::Fp32;
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[1]), n * 4, pos, q, ins));
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[2]), 4, pos, q, ins));      // scales
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[3]), 4, pos, q, ins));      // zero points
            inputs.push_back(e.read_stream(chip, isa::decode_stream(o[4]), n * 4, pos, q, ins));  // row sums
            out = isa::decode_stream(o[5]);
            cost_per_row = 3;  // multiply (asum * zero), subtract, multiply
            break;
        default:
            return Engine::now() + 1;
    }

    e.acquire_output(chip, out, q);
    const uint64_t now = Engine::now();
    uint64_t ready = now, last = 0;
    for (const auto& in : inputs) {
        ready = std::max(ready, in.first_arrival);
        last = std::max(last, in.last_arrival);
    }
    uint64_t& alu_free = chip.alu_free[q.index];
    const uint64_t start = std::max(ready, alu_free);
    const uint64_t busy = std::max(n * cost_per_row, last + 1 > start ? last + 1 - start : 0);
    alu_free = start + busy;
    e.counters[chip.id].vxm_lane_ops->add(static_cast<double>(n * cost_per_row) * lanes);
    r.ops = static_cast<float>(n * cost_per_row) * static_cast<float>(lanes);
    uint64_t moved = out_rows * static_cast<uint64_t>(element_bytes(out_t)) * vb;
    for (const auto& in : inputs) moved += in.vectors * vb;
    r.bytes = static_cast<float>(moved);
    r.level = Level::Stream;

    std::shared_ptr<Bytes> data;
    if (e.options.functional) {
        const uint64_t in_row = vb * static_cast<uint64_t>(element_bytes(in_t));
        const uint64_t out_row = vb * static_cast<uint64_t>(element_bytes(out_t));
        data = std::make_shared<Bytes>(out_rows * out_row);
        const bool sat = op == Opcode::AddSat || op == Opcode::SubSat || op == Opcode::MulSat;
        float imm = 0;
        if (op == Opcode::AddImm || op == Opcode::MulImm) {
            const auto bits = static_cast<uint32_t>(o[2]);
            std::memcpy(&imm, &bits, sizeof imm);
        }
        for (uint64_t i = 0; i < out_rows; ++i) {
            uint8_t* dst = data->data() + i * out_row;
            if (op == Opcode::Unpack) {
                for (int l = 0; l < lanes; ++l)
                    dst[l] = static_cast<uint8_t>(unpack_one(inputs[0].data.data() + l, vb, i, in_t));
                continue;
            }
            const uint8_t* a = inputs[0].data.data() + i * in_row;
            if (op == Opcode::RedSum || op == Opcode::RedMax) {
                double acc = op == Opcode::RedSum ? 0.0 : -INFINITY;
                for (int l = 0; l < lanes; ++l) {
                    const double v = load_element(a, l, in_t);
                    acc = op == Opcode::RedSum ? in_type(acc + v, in_t) : std::max(acc, v);
                }
                for (int l = 0; l < lanes; ++l) store_element(dst, l, out_t, acc, false);
                continue;
            }
            for (int l = 0; l < lanes; ++l) {
                const double x = load_element(a, l, in_t);
                double v = x;
                switch (op) {
                    case Opcode::AddImm: v = x + imm; break;
                    case Opcode::MulImm: v = x * imm; break;
                    case Opcode::Cvt: v = x; break;
                    case Opcode::Dequant: {
                        const double s = load_element(inputs[1].data.data(), l, DType::Fp32);
                        const double z = load_element(inputs[2].data.data(), l, DType::Fp32);
                        v = static_cast<float>(static_cast<float>(x - z) * static_cast<float>(s));
                        break;
                    }
                    case Opcode::DequantZ: {
                        // Each step rounds to fp32 (docs/isa.md): t = asum*zero, u = in - t, u*scale.
                        const double s = load_element(inputs[1].data.data(), l, DType::Fp32);
                        const double z = load_element(inputs[2].data.data(), l, DType::Fp32);
                        const double sum = load_element(inputs[3].data.data() + i * in_row, l, DType::Fp32);
                        const float t = static_cast<float>(sum * z);
                        v = static_cast<float>(static_cast<float>(x - static_cast<double>(t)) * static_cast<float>(s));
                        break;
                    }
                    default:
                        v = inputs.size() > 1 ? apply_binary(op, x, load_element(inputs[1].data.data() + i * in_row, l, in_t))
                                              : apply_unary(op, x, in_t);
                }
                store_element(dst, l, out_t, in_type(v, out_t), sat || op == Opcode::Cvt);
            }
        }
    }
    // Results leave at the pace the ALU actually ran: stretched when the input came slower.
    const double rows_per_cycle = static_cast<double>(out_rows) / static_cast<double>(std::max<uint64_t>(busy, 1));
    e.write_stream(chip, out, out_rows * static_cast<uint64_t>(element_bytes(out_t)), static_cast<double>(start + latency),
                   rows_per_cycle * element_bytes(out_t), pos, ins.line, data, q);
    r.start = start;
    r.busy = busy;
    chip.last_activity = std::max(chip.last_activity, start + busy + latency);
    return issue_slot();
}

}  // namespace lpu::sim
