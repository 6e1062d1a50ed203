#include "isa/binary.hpp"

#include <fmt/format.h>

#include <set>
#include <tuple>

#include "common/input_error.hpp"
#include "isa/assembler.hpp"

namespace lpu::isa {
namespace {

constexpr uint8_t kMagic[4] = {'L', 'P', 'U', 'B'};

// Smallest encodings, used to refuse counts the remaining bytes cannot possibly hold
// (so garbage cannot make us allocate gigabytes): a queue header is chip u32 + unit u8 +
// index u16 + instruction count u32 + label count u32; a label is index u32 + length
// u16 + at least one character; an instruction is at least its u16 opcode.
constexpr size_t kMinQueueBytes = 4 + 1 + 2 + 4 + 4;
constexpr size_t kMinLabelBytes = 4 + 2 + 1;
constexpr size_t kMinInstructionBytes = 2;

// ---- Encoding ----

class Writer {
public:
    void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void u8(uint8_t v) { out_.push_back(v); }
    void u16(uint16_t v) {
        for (int i = 0; i < 2; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    void u32(uint32_t v) {
        for (int i = 0; i < 4; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
    // Zig-zag maps small magnitudes of either sign to small codes; LEB128 then spends one
    // byte per 7 bits, so typical operands (counts, stream codes) take one or two bytes.
    void varint(int64_t v) {
        uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
        while (u >= 0x80) {
            out_.push_back(static_cast<uint8_t>(u | 0x80));
            u >>= 7;
        }
        out_.push_back(static_cast<uint8_t>(u));
    }
    std::vector<uint8_t> take() { return std::move(out_); }

private:
    std::vector<uint8_t> out_;
};

// ---- Decoding ----

// Names the item being read, e.g. "queue 0 instruction 3 n". Kept as parts and turned into
// text only when an error is thrown, so decoding a large program builds no strings.
struct Field {
    std::string_view what;
    int64_t queue = -1;        // -1: not inside a queue
    int64_t label = -1;        // -1: not inside a label
    int64_t instruction = -1;  // -1: not inside an instruction

    Field operator()(std::string_view part) const {
        Field f = *this;
        f.what = part;
        return f;
    }
    std::string text() const {
        std::string s;
        const auto part = [&s](const std::string& p) { s += (s.empty() ? "" : " ") + p; };
        if (queue >= 0) part(fmt::format("queue {}", queue));
        if (label >= 0) part(fmt::format("label {}", label));
        if (instruction >= 0) part(fmt::format("instruction {}", instruction));
        if (!what.empty()) part(std::string(what));
        return s;
    }
};

class Reader {
public:
    Reader(std::span<const uint8_t> bytes, const std::string& file) : bytes_(bytes), file_(file) {}

    size_t offset() const { return pos_; }
    size_t remaining() const { return bytes_.size() - pos_; }

    [[noreturn]] void fail(size_t at, const Field& field, std::string_view value,
                           std::string_view expected) const {
        throw InputError(SourceLocation{file_, 0, 0}, fmt::format("byte {}: {}", at, field.text()),
                         std::string(value), std::string(expected));
    }

    std::span<const uint8_t> take(size_t n, const Field& field) {
        if (remaining() < n)
            fail(pos_, field, "end of data", fmt::format("{} more byte(s) ({} left)", n, remaining()));
        const auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    uint64_t little_endian(size_t n, const Field& field) {
        uint64_t v = 0;
        const auto s = take(n, field);
        for (size_t i = 0; i < n; ++i) v |= uint64_t{s[i]} << (8 * i);
        return v;
    }
    uint8_t u8(const Field& field) { return static_cast<uint8_t>(little_endian(1, field)); }
    uint16_t u16(const Field& field) { return static_cast<uint16_t>(little_endian(2, field)); }
    uint32_t u32(const Field& field) { return static_cast<uint32_t>(little_endian(4, field)); }

    // Reads a count of items of at least `min_item_bytes` each, refusing counts that
    // could not fit in the rest of the data.
    uint32_t count(size_t min_item_bytes, const Field& field) {
        const size_t at = pos_;
        const uint32_t n = u32(field);
        if (n > remaining() / min_item_bytes)
            fail(at, field, std::to_string(n),
                 fmt::format("at most {} (the {} bytes left hold no more)", remaining() / min_item_bytes,
                             remaining()));
        return n;
    }

    // Zig-zag LEB128, at most 10 bytes, in its shortest form (so encoding is canonical).
    int64_t varint(const Field& field) {
        const size_t at = pos_;
        uint64_t u = 0;
        for (int i = 0;; ++i) {
            const uint8_t b = u8(field);
            const uint64_t payload = b & 0x7f;
            if (i == 9 && payload > 1) fail(at, field, "varint", "a varint of at most 64 bits");
            u |= payload << (7 * i);
            if ((b & 0x80) == 0) {
                if (b == 0 && i > 0) fail(at, field, "varint", "a varint in its shortest form");
                break;
            }
            if (i == 9) fail(at, field, "varint", "a varint of at most 10 bytes");
        }
        return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    }

private:
    std::span<const uint8_t> bytes_;
    const std::string& file_;
    size_t pos_ = 0;
};

void decode_labels(Reader& r, Queue& q, uint32_t instruction_count, const Field& in_queue) {
    const uint32_t label_count = r.count(kMinLabelBytes, in_queue("label count"));
    std::set<std::string> names;
    for (uint32_t l = 0; l < label_count; ++l) {
        Field field = in_queue;
        field.label = l;
        const size_t index_at = r.offset();
        const uint32_t index = r.u32(field("index"));
        // Strictly increasing indices: one label per instruction, and one canonical order.
        if (index > instruction_count || (!q.labels.empty() && index <= q.labels.rbegin()->first))
            r.fail(index_at, field("index"), std::to_string(index),
                   fmt::format("an index above the previous label's and at most {}", instruction_count));
        const size_t length_at = r.offset();
        const uint16_t length = r.u16(field("name length"));
        if (length == 0) r.fail(length_at, field("name length"), "0", "a length of at least 1");
        const size_t name_at = r.offset();
        const auto raw = r.take(length, field("name"));
        std::string name(raw.begin(), raw.end());
        if (!is_label_name(name))
            r.fail(name_at, field("name"), name, "a label name: a letter or _, then letters, digits, _ or .");
        if (!names.insert(name).second)
            r.fail(name_at, field("name"), name, "each label name once per queue");
        q.labels.emplace(index, std::move(name));
    }
}

Instruction decode_instruction(Reader& r, const Queue& q, uint32_t instruction_count, uint32_t own_index,
                               const Field& in_queue) {
    Field field = in_queue;
    field.instruction = own_index;
    const size_t opcode_at = r.offset();
    const uint16_t op = r.u16(field("opcode"));
    if (op >= kOpcodeCount)
        r.fail(opcode_at, field("opcode"), std::to_string(op),
               fmt::format("an opcode number below {}", kOpcodeCount));
    Instruction ins;
    ins.opcode = static_cast<Opcode>(op);
    const OpcodeSpec& sp = spec(ins.opcode);
    if (sp.unit != Unit::Icu && sp.unit != q.unit)
        r.fail(opcode_at, field("opcode"), sp.mnemonic,
               fmt::format("an icu or {} instruction", unit_name(q.unit)));
    for (int slot = 0; slot < sp.operand_count; ++slot) {
        const OperandSpec& operand = sp.operands[slot];
        const size_t value_at = r.offset();
        const int64_t v = r.varint(field(operand.name));
        const auto problem = operand.kind == OperandKind::Label
                                 ? label_target_problem(q, instruction_count, ins.opcode, own_index, v)
                                 : operand_value_problem(operand.kind, v);
        if (problem) r.fail(value_at, field(operand.name), std::to_string(v), *problem);
        ins.operands[slot] = v;
    }
    return ins;
}

Queue decode_queue(Reader& r, uint32_t queue_number) {
    Field field;
    field.queue = queue_number;
    Queue q;
    q.chip = r.u32(field("chip"));
    const size_t unit_at = r.offset();
    const uint8_t unit = r.u8(field("unit"));
    if (unit == 0 || unit >= kUnitCount)
        r.fail(unit_at, field("unit"), std::to_string(unit),
               fmt::format("a unit number from 1 to {}", kUnitCount - 1));
    q.unit = static_cast<Unit>(unit);
    q.index = r.u16(field("index"));
    const uint32_t instruction_count = r.count(kMinInstructionBytes, field("instruction count"));
    decode_labels(r, q, instruction_count, field);
    // The labels took bytes after the count was checked; check again before reserving.
    if (instruction_count > r.remaining() / kMinInstructionBytes)
        r.fail(r.offset(), field("instructions"), std::to_string(instruction_count),
               fmt::format("no more instructions than the {} bytes left hold", r.remaining()));
    q.instructions.reserve(instruction_count);
    for (uint32_t i = 0; i < instruction_count; ++i)
        q.instructions.push_back(decode_instruction(r, q, instruction_count, i, field));
    return q;
}

}  // namespace

std::vector<uint8_t> encode_binary(const Program& program) {
    validate_program(program);
    Writer w;
    w.bytes(kMagic);
    w.u16(kBinaryVersion);
    w.u32(static_cast<uint32_t>(program.queues.size()));
    for (const Queue& q : program.queues) {
        w.u32(q.chip);
        w.u8(static_cast<uint8_t>(q.unit));
        w.u16(static_cast<uint16_t>(q.index));
        w.u32(static_cast<uint32_t>(q.instructions.size()));
        w.u32(static_cast<uint32_t>(q.labels.size()));
        for (const auto& [index, name] : q.labels) {  // std::map: ascending index
            w.u32(index);
            w.u16(static_cast<uint16_t>(name.size()));
            w.bytes(std::span(reinterpret_cast<const uint8_t*>(name.data()), name.size()));
        }
        for (const Instruction& ins : q.instructions) {
            const OpcodeSpec& sp = spec(ins.opcode);
            w.u16(static_cast<uint16_t>(ins.opcode));
            for (int slot = 0; slot < sp.operand_count; ++slot) w.varint(ins.operands[slot]);
        }
    }
    return w.take();
}

Program decode_binary(std::span<const uint8_t> bytes, const std::string& file_name) {
    Reader r(bytes, file_name);
    const Field field;
    const auto magic = r.take(4, field("magic"));
    if (!std::equal(magic.begin(), magic.end(), std::begin(kMagic)))
        r.fail(0, field("magic"), fmt::format("{:02x}", fmt::join(magic, " ")),
               "the bytes 4c 50 55 42 (\"LPUB\")");
    const uint16_t version = r.u16(field("version"));
    if (version != kBinaryVersion)
        r.fail(4, field("version"), std::to_string(version), std::to_string(kBinaryVersion));
    const uint32_t queue_count = r.count(kMinQueueBytes, field("queue count"));
    Program program;
    program.queues.reserve(queue_count);
    std::set<std::tuple<uint32_t, Unit, uint32_t>> seen;
    for (uint32_t qi = 0; qi < queue_count; ++qi) {
        const size_t queue_at = r.offset();
        Queue q = decode_queue(r, qi);
        if (!seen.emplace(q.chip, q.unit, q.index).second)
            r.fail(queue_at, Field{"", qi}, fmt::format("chip {} {} {}", q.chip, unit_name(q.unit), q.index),
                   "each (chip, unit, index) queue once");
        program.queues.push_back(std::move(q));
    }
    if (r.remaining() != 0)
        r.fail(r.offset(), field("end"), fmt::format("{} trailing byte(s)", r.remaining()),
               "the end of the data");
    return program;
}

}  // namespace lpu::isa
