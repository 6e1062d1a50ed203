#include "isa/opcodes.hpp"

#include <cmath>

namespace lpu::isa {
namespace {

using K = OperandKind;
constexpr OperandSpec n{"n", K::Count};
constexpr OperandSpec in{"in", K::Stream};
constexpr OperandSpec out{"out", K::Stream};
constexpr OperandSpec a{"a", K::Stream};
constexpr OperandSpec b{"b", K::Stream};
constexpr OperandSpec type{"type", K::Type};
constexpr OperandSpec addr{"addr", K::Address};
constexpr OperandSpec idx{"idx", K::Stream};
constexpr OperandSpec amount{"amount", K::Imm};
constexpr OperandSpec map{"map", K::Count};
constexpr OperandSpec peer{"peer", K::Chip};

// Operands are written and disassembled in the order listed here.
const OpcodeSpec kTable[kOpcodeCount] = {
    {Opcode::Nop, "icu.nop", Unit::Icu, 1, {{{"cycles", K::Count}}}, "wait cycles"},
    {Opcode::Repeat, "icu.repeat", Unit::Icu, 2, {{{"count", K::Count}, {"from", K::Label}}},
     "run the block [from, here) count more times"},
    {Opcode::Sync, "icu.sync", Unit::Icu, 2, {{{"id", K::Count}, {"count", K::Count}}},
     "wait until `count` more notifies on id than this queue has waited for"},
    {Opcode::Notify, "icu.notify", Unit::Icu, 1, {{{"id", K::Count}}}, "signal id to this chip's queues"},
    {Opcode::Ifetch, "icu.ifetch", Unit::Icu, 1, {{n}}, "fetch n instruction words"},
    {Opcode::Read, "mem.read", Unit::Mem, 3, {{addr, n, out}}, "read n vectors onto a stream"},
    {Opcode::Write, "mem.write", Unit::Mem, 3, {{addr, n, in}}, "write n vectors from a stream"},
    {Opcode::Gather, "mem.gather", Unit::Mem, 4, {{addr, n, idx, out}}, "indexed read"},
    {Opcode::Scatter, "mem.scatter", Unit::Mem, 4, {{addr, n, idx, in}}, "indexed write"},
    {Opcode::Lw, "mxm.lw", Unit::Mxm, 3, {{n, in, type}}, "load weight rows into the buffer"},
    {Opcode::Iw, "mxm.iw", Unit::Mxm, 1, {{{"cols", K::Count}}},
     "install buffered weights into the array; cols = columns in use (accounting, clock gating)"},
    {Opcode::Abc, "mxm.abc", Unit::Mxm, 4, {{n, in, type, {"accumulate", K::Count}}},
     "stream activations through the array into the accumulators"},
    {Opcode::Acc, "mxm.acc", Unit::Mxm, 2, {{n, out}}, "drain int32 accumulators onto a stream"},
    {Opcode::Add, "vxm.add", Unit::Vxm, 5, {{n, a, b, out, type}}, "out = a + b"},
    {Opcode::Sub, "vxm.sub", Unit::Vxm, 5, {{n, a, b, out, type}}, "out = a - b"},
    {Opcode::Mul, "vxm.mul", Unit::Vxm, 5, {{n, a, b, out, type}}, "out = a * b"},
    {Opcode::Max, "vxm.max", Unit::Vxm, 5, {{n, a, b, out, type}}, "out = max(a, b)"},
    {Opcode::Min, "vxm.min", Unit::Vxm, 5, {{n, a, b, out, type}}, "out = min(a, b)"},
    {Opcode::AddSat, "vxm.adds", Unit::Vxm, 5, {{n, a, b, out, type}}, "saturating add"},
    {Opcode::SubSat, "vxm.subs", Unit::Vxm, 5, {{n, a, b, out, type}}, "saturating subtract"},
    {Opcode::MulSat, "vxm.muls", Unit::Vxm, 5, {{n, a, b, out, type}}, "saturating multiply"},
    {Opcode::AddImm, "vxm.addi", Unit::Vxm, 5, {{n, in, {"imm", K::Real}, out, type}}, "out = in + imm"},
    {Opcode::MulImm, "vxm.muli", Unit::Vxm, 5, {{n, in, {"imm", K::Real}, out, type}}, "out = in * imm"},
    {Opcode::Relu, "vxm.relu", Unit::Vxm, 4, {{n, in, out, type}}, "out = max(in, 0)"},
    {Opcode::Tanh, "vxm.tanh", Unit::Vxm, 4, {{n, in, out, type}}, "out = tanh(in)"},
    {Opcode::Exp, "vxm.exp", Unit::Vxm, 4, {{n, in, out, type}}, "out = exp(in)"},
    {Opcode::Rsqrt, "vxm.rsqrt", Unit::Vxm, 4, {{n, in, out, type}}, "out = 1/sqrt(in)"},
    {Opcode::Recip, "vxm.recip", Unit::Vxm, 4, {{n, in, out, type}}, "out = 1/in"},
    {Opcode::Neg, "vxm.neg", Unit::Vxm, 4, {{n, in, out, type}}, "out = -in"},
    {Opcode::Cvt, "vxm.cvt", Unit::Vxm, 5, {{n, in, out, {"from", K::Type}, {"to", K::Type}}},
     "convert element type"},
    {Opcode::Unpack, "vxm.unpack", Unit::Vxm, 4, {{n, in, out, type}},
     "unpack packed weights of type to int8"},
    {Opcode::Dequant, "vxm.dequant", Unit::Vxm, 5, {{n, in, {"scale", K::Stream}, {"zero", K::Stream}, out}},
     "out = (in - zero) * scale as fp32"},
    {Opcode::RedSum, "vxm.rsum", Unit::Vxm, 4, {{n, in, out, type}}, "sum across lanes, broadcast"},
    {Opcode::RedMax, "vxm.rmax", Unit::Vxm, 4, {{n, in, out, type}}, "max across lanes, broadcast"},
    {Opcode::Shift, "sxm.shift", Unit::Sxm, 4, {{n, in, out, amount}}, "shift lanes"},
    {Opcode::Rotate, "sxm.rotate", Unit::Sxm, 4, {{n, in, out, amount}}, "rotate lanes"},
    {Opcode::Permute, "sxm.permute", Unit::Sxm, 4, {{n, in, out, map}}, "permute lanes"},
    {Opcode::Distribute, "sxm.distribute", Unit::Sxm, 4, {{n, in, out, map}}, "distribute lanes"},
    {Opcode::Transpose, "sxm.transpose", Unit::Sxm, 3, {{n, in, out}}, "transpose 16x16 blocks"},
    {Opcode::Send, "c2c.send", Unit::C2c, 3, {{peer, n, in}}, "send vectors to a chip"},
    {Opcode::Recv, "c2c.recv", Unit::C2c, 3, {{peer, n, out}}, "receive vectors from a chip"},
    {Opcode::Deskew, "c2c.deskew", Unit::C2c, 0, {}, "align the link"},
    {Opcode::DmaLoad, "dma.load", Unit::Dma, 3, {{addr, n, out}}, "load from off-chip memory"},
    {Opcode::DmaStore, "dma.store", Unit::Dma, 3, {{addr, n, in}}, "store to off-chip memory"},
    {Opcode::DequantZ, "vxm.dequantz", Unit::Vxm, 6,
     {{n, in, {"scale", K::Stream}, {"zero", K::Stream}, {"asum", K::Stream}, out}},
     "out = (in - asum * zero) * scale as fp32; asum: n rows of activation sums"},
};

constexpr std::string_view kUnitNames[kUnitCount] = {"icu", "mem", "mxm", "vxm", "sxm", "c2c", "dma"};
constexpr std::string_view kDTypeNames[kDTypeCount] = {"int3p5", "int3p5b", "int4", "int8", "uint8",
                                                       "int16", "int32", "fp16", "fp32"};
constexpr int kDTypeBitsX2[kDTypeCount] = {7, 8, 8, 16, 16, 32, 64, 32, 64};

}  // namespace

const OpcodeSpec& spec(Opcode op) { return kTable[static_cast<int>(op)]; }

std::optional<Opcode> find_opcode(std::string_view mnemonic) {
    for (const auto& s : kTable)
        if (s.mnemonic == mnemonic) return s.opcode;
    return std::nullopt;
}

std::string_view unit_name(Unit u) { return kUnitNames[static_cast<int>(u)]; }

std::optional<Unit> find_unit(std::string_view name) {
    for (int i = 0; i < kUnitCount; ++i)
        if (kUnitNames[i] == name) return static_cast<Unit>(i);
    return std::nullopt;
}

std::string_view dtype_name(DType t) { return kDTypeNames[static_cast<int>(t)]; }

std::optional<DType> find_dtype(std::string_view name) {
    for (int i = 0; i < kDTypeCount; ++i)
        if (kDTypeNames[i] == name) return static_cast<DType>(i);
    return std::nullopt;
}

int dtype_bits_x2(DType t) { return kDTypeBitsX2[static_cast<int>(t)]; }

int64_t encode_stream(StreamRef s) {
    return int64_t{s.id} | (int64_t{s.east ? 1 : 0} << 5) | (int64_t{s.width - 1u} << 6);
}

StreamRef decode_stream(int64_t v) {
    StreamRef s;
    s.id = static_cast<uint8_t>(v & 31);
    s.east = ((v >> 5) & 1) != 0;
    s.width = static_cast<uint8_t>(((v >> 6) & 31) + 1);
    return s;
}

}  // namespace lpu::isa
