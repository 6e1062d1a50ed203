// The lpusim instruction set: every opcode, the unit that executes it and its operands.
//
// Modelled on the TSP's published instruction set (Abts et al., ISCA 2020, Table 1):
// each functional unit kind has its own instructions, issued from in-order ICU queues.
// This header is the single source of truth; the assembler, the disassembler, the binary
// encoding, the simulator and the compiler all read the table below.
// No SystemC here: isa/ depends on nothing of ours.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lpu::isa {

// Unit kinds; a queue belongs to one unit instance (`.queue mem 12`).
enum class Unit : uint8_t { Icu, Mem, Mxm, Vxm, Sxm, C2c, Dma };
inline constexpr int kUnitCount = 7;

// Element types carried by streams and interpreted by instructions.
// int3p5 = pairs of one 4-bit and one 3-bit signed value in 7 bits, packed densely (16
// weights in 7 bytes); int3p5b = the seeds' byte-aligned variant (one 7-bit pair per byte).
enum class DType : uint8_t { Int3p5, Int3p5b, Int4, Int8, Uint8, Int16, Int32, Fp16, Fp32 };
inline constexpr int kDTypeCount = 9;

// How an operand is written in text and stored in an Instruction's value slot.
enum class OperandKind : uint8_t {
    Count,    // unsigned integer: a size or repeat count (decimal or 0x hex)
    Address,  // unsigned integer: a vector address in a MEM slice or in off-chip memory
    Imm,      // signed integer (shift amounts)
    Real,     // IEEE-754 float, stored as its 32-bit pattern (text: a decimal literal)
    Stream,   // stream group: `s<id><e|w>` or `s<id><e|w>:<width>`; see StreamRef
    Type,     // a DType name: int8, fp16, ...
    Label,    // a label name in the same queue; stored as the target instruction index
    Chip,     // a chip index (C2C peer)
};

struct OperandSpec {
    std::string_view name;
    OperandKind kind;
};

enum class Opcode : uint16_t {
    // ICU: valid in every queue
    Nop,       // wait `cycles` cycles
    Repeat,    // run the block [from, this instruction) `count` more times
    Sync,      // park this queue until `count` more Notifies on `id` have happened than this
               // queue has already waited for (a counting barrier; costs sync_cycles once)
    Notify,    // signal `id` to the queues of this chip, once this queue's earlier work is done
    Ifetch,    // fetch `n` instruction words into this queue
    // MEM slice
    Read,      // read `n` vectors from `addr` onto stream `out`
    Write,     // write `n` vectors from stream `in` at `addr`
    Gather,    // read `n` vectors at addr + offsets taken from stream `idx`
    Scatter,   // write `n` vectors from `in` at addr + offsets from `idx`
    // MXM plane (the queue index is the plane)
    Lw,        // load `n` weight rows of `type` from `in` into the plane's weight buffer
    Iw,        // install the loaded weights into the array (swap buffers); `cols` in use
    Abc,       // stream `n` activation vectors of `type` from `in` through the array into
               // the accumulators (accumulate=0 overwrites, 1 adds)
    Acc,       // drain `n` accumulator vectors (int32) onto `out`
    // VXM ALU (the queue index is the ALU); unary and binary elementwise ops
    Add, Sub, Mul, Max, Min, AddSat, SubSat, MulSat,
    AddImm, MulImm,
    Relu, Tanh, Exp, Rsqrt, Recip, Neg,
    Cvt,       // convert `n` vectors from type `from` to type `to` (optional fp32 `scale`)
    Unpack,    // unpack `n` packed weight vectors of `type` (int4/int3p5/int3p5b) to int8
    Dequant,   // out = (in - zero) * scale, per lane, with scale/zero vectors from streams
    RedSum,    // sum each vector across all lanes; result broadcast to every lane
    RedMax,    // max of each vector across all lanes; result broadcast
    // SXM
    Shift,     // shift lanes by `amount` (signed; zero fill)
    Rotate,    // rotate lanes by `amount`
    Permute,   // permute lanes by permutation table `map`
    Distribute,// broadcast lane groups by table `map`
    Transpose, // transpose 16x16 blocks within each superlane
    // C2C port (the queue index is the link)
    Send,      // send `n` vectors from `in` to chip `peer`
    Recv,      // receive `n` vectors from chip `peer` onto `out`
    Deskew,    // align this link's clock: costs the link's deskew time
    // Memory interface DMA
    DmaLoad,   // load `n` vectors from off-chip `addr` onto `out`
    DmaStore,  // store `n` vectors from `in` to off-chip `addr`
    // Added after the first binary format: new opcodes go last so numbers stay stable.
    DequantZ,  // VXM: out = (in - asum * zero) * scale, for weights with a zero point; asum =
               // per-row sum of the activations (one broadcast fp32 row per output row)
};
inline constexpr int kOpcodeCount = static_cast<int>(Opcode::DequantZ) + 1;

inline constexpr int kMaxOperands = 6;

struct OpcodeSpec {
    Opcode opcode;
    std::string_view mnemonic;  // `unit.name`, lower case
    Unit unit;                  // Unit::Icu means: valid in any queue
    int operand_count;
    std::array<OperandSpec, kMaxOperands> operands;
    std::string_view summary;
};

// The table, indexed by Opcode value.
const OpcodeSpec& spec(Opcode op);
std::optional<Opcode> find_opcode(std::string_view mnemonic);

std::string_view unit_name(Unit u);  // "icu", "mem", "mxm", "vxm", "sxm", "c2c", "dma"
std::optional<Unit> find_unit(std::string_view name);
std::string_view dtype_name(DType t);
std::optional<DType> find_dtype(std::string_view name);
// Bits per element as stored (int3p5 = 3.5, reported as 7/2 through bits_x2).
int dtype_bits_x2(DType t);

// A stream group: `width` consecutive stream registers starting at `id`, one direction.
// Each register carries one 320-byte vector per cycle (ISCA 2020 sec. 3).
struct StreamRef {
    uint8_t id = 0;       // 0..31
    bool east = true;     // e = eastward, w = westward
    uint8_t width = 1;    // 1..32, id + width <= 32
    friend bool operator==(const StreamRef&, const StreamRef&) = default;
};
int64_t encode_stream(StreamRef s);
StreamRef decode_stream(int64_t v);

}  // namespace lpu::isa
