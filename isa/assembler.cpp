#include "isa/assembler.hpp"

#include "common/atomic_file.hpp"

#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace lpu::isa {
namespace {

// ---- Phrases for "expected ...", shared so every message says the same thing ----

constexpr std::string_view kExpectUnsigned = "an unsigned integer below 2^40 (decimal or 0x hex)";
constexpr std::string_view kExpectImm = "a signed decimal integer from -2^39 to 2^39-1";
constexpr std::string_view kExpectReal = "a finite decimal number within 32-bit float range, like 0.125";
constexpr std::string_view kExpectStream =
    "a stream like s3e or s0w:4 (id 0..31, width 1..32, id + width <= 32)";
constexpr std::string_view kExpectLabel = "a label name: a letter or _, then letters, digits, _ or .";
constexpr std::string_view kExpectChip = "an unsigned integer below 2^32";
constexpr std::string_view kExpectQueueIndex = "an unsigned queue index below 2^16";

std::string one_of_dtypes() {
    std::string s = "one of:";
    for (int t = 0; t < kDTypeCount; ++t) s += fmt::format("{} {}", t ? "," : "", dtype_name(DType(t)));
    return s;
}

// The units a queue can belong to: every unit but the ICU, whose instructions run in all.
std::string one_of_queue_units() {
    std::string s = "one of:";
    for (int u = 1; u < kUnitCount; ++u) s += fmt::format("{} {}", u > 1 ? "," : "", unit_name(Unit(u)));
    return s;
}

// Lists the mnemonics of the unit named before the dot if there is one (shorter, and what
// the user was probably reaching for), else all mnemonics.
std::string one_of_mnemonics(std::string_view written) {
    const auto unit = find_unit(written.substr(0, written.find('.')));
    std::string s = "one of:";
    bool first = true;
    for (int op = 0; op < kOpcodeCount; ++op) {
        const OpcodeSpec& sp = spec(Opcode(op));
        if (unit && sp.unit != *unit) continue;
        s += fmt::format("{} {}", first ? "" : ",", sp.mnemonic);
        first = false;
    }
    return s;
}

std::string expected_text(OperandKind kind) {
    switch (kind) {
        case OperandKind::Count:
        case OperandKind::Address:
            return std::string(kExpectUnsigned);
        case OperandKind::Imm:
            return std::string(kExpectImm);
        case OperandKind::Real:
            return std::string(kExpectReal);
        case OperandKind::Stream:
            return std::string(kExpectStream);
        case OperandKind::Type:
            return "a type, " + one_of_dtypes();
        case OperandKind::Label:
            return std::string(kExpectLabel);
        case OperandKind::Chip:
            return std::string(kExpectChip);
    }
    return "a valid operand";
}

std::string operand_names(const OpcodeSpec& sp) {
    if (sp.operand_count == 0) return "no operands";
    std::string s;
    for (int i = 0; i < sp.operand_count; ++i) s += fmt::format("{}{}", i ? ", " : "", sp.operands[i].name);
    return s;
}

// ---- Lexical helpers ----

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return r;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

struct Token {
    std::string_view text;
    int column;  // 1-based
};

// Splits a line into whitespace-separated tokens, dropping a ';' or '#' comment.
std::vector<Token> tokenize(std::string_view line) {
    std::vector<Token> tokens;
    size_t i = 0;
    while (i < line.size()) {
        if (line[i] == ';' || line[i] == '#') break;
        if (is_space(line[i])) {
            ++i;
            continue;
        }
        const size_t start = i;
        while (i < line.size() && !is_space(line[i]) && line[i] != ';' && line[i] != '#') ++i;
        tokens.push_back({line.substr(start, i - start), static_cast<int>(start) + 1});
    }
    return tokens;
}

// ---- Value parsers: nullopt means "not of this form"; the caller knows the field ----

std::optional<uint64_t> parse_unsigned(std::string_view s, uint64_t max) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc{} || end != s.data() + s.size() || v > max) return std::nullopt;
    return v;
}

// Strips an optional '+' (which from_chars does not take) but not a "+-" pair.
std::optional<std::string_view> strip_plus(std::string_view s) {
    if (s.empty() || s[0] != '+') return s;
    s.remove_prefix(1);
    if (s.empty() || s[0] == '-') return std::nullopt;
    return s;
}

std::optional<int64_t> parse_imm(std::string_view text) {
    const auto s = strip_plus(text);
    if (!s || s->empty()) return std::nullopt;
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
    if (ec != std::errc{} || end != s->data() + s->size() || v < kMinImm || v > kMaxImm) return std::nullopt;
    return v;
}

// Returns the float's bit pattern. Infinities and NaNs are refused: their text forms
// would not carry every bit pattern back (NaN payloads), breaking the round trip.
std::optional<int64_t> parse_real(std::string_view text) {
    const auto s = strip_plus(text);
    if (!s || s->empty()) return std::nullopt;
    float f = 0;
    const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), f, std::chars_format::general);
    if (ec != std::errc{} || end != s->data() + s->size() || !std::isfinite(f)) return std::nullopt;
    return int64_t{std::bit_cast<uint32_t>(f)};
}

std::optional<unsigned> parse_small_decimal(std::string_view s) {
    if (s.empty() || s.size() > 3) return std::nullopt;  // ids and widths are at most 32
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    return v;
}

// `s<id><e|w>` or `s<id><e|w>:<width>`, letters in any case.
std::optional<int64_t> parse_stream(std::string_view s) {
    if (s.size() < 3 || (s[0] != 's' && s[0] != 'S')) return std::nullopt;
    s.remove_prefix(1);
    size_t digits = 0;
    while (digits < s.size() && is_digit(s[digits])) ++digits;
    const auto id = parse_small_decimal(s.substr(0, digits));
    if (!id || digits >= s.size()) return std::nullopt;
    const char dir = s[digits];
    const bool east = dir == 'e' || dir == 'E';
    if (!east && dir != 'w' && dir != 'W') return std::nullopt;
    s.remove_prefix(digits + 1);
    unsigned width = 1;
    if (!s.empty()) {
        if (s[0] != ':') return std::nullopt;
        const auto w = parse_small_decimal(s.substr(1));
        if (!w) return std::nullopt;
        width = *w;
    }
    if (*id > 31 || width < 1 || width > 32 || *id + width > 32) return std::nullopt;
    return encode_stream(StreamRef{uint8_t(*id), east, uint8_t(width)});
}

std::optional<int64_t> parse_dtype(std::string_view s) {
    const auto t = find_dtype(lower(s));
    if (!t) return std::nullopt;
    return static_cast<int64_t>(*t);
}

// ---- The assembler proper: one pass over lines, then label resolution ----

class Assembler {
public:
    explicit Assembler(std::string file) : file_(std::move(file)) {}

    void assemble_line(std::string_view line, int line_no);
    Program finish();

private:
    struct LabelDef {
        uint32_t index;
        int line;
    };
    // A Label operand waiting for the end of the file (labels may be defined later).
    struct LabelUse {
        size_t queue;
        uint32_t instruction;
        int slot;
        std::string name;
        int line;
        int column;
    };
    using QueueKey = std::tuple<uint32_t, Unit, uint32_t>;

    [[noreturn]] void fail(int line, int column, std::string_view field, std::string_view value,
                           std::string_view expected) const {
        throw InputError(SourceLocation{file_, line, column}, std::string(field), std::string(value),
                         std::string(expected));
    }

    void directive(std::span<const Token> tokens, int line);
    void define_label(const Token& token, int line);
    void instruction(std::span<const Token> tokens, int line);
    int64_t operand_value(const OperandSpec& operand, std::string_view text, int line, int column);
    std::string queue_name(size_t q) const;

    std::string file_;
    Program program_;
    std::vector<std::unordered_map<std::string, LabelDef>> labels_;  // parallel to program_.queues
    std::map<QueueKey, size_t> queue_by_key_;
    std::vector<LabelUse> label_uses_;
    uint32_t chip_ = 0;
    std::optional<size_t> current_;  // index into program_.queues
};

std::string Assembler::queue_name(size_t q) const {
    const Queue& queue = program_.queues[q];
    return fmt::format("queue {} {} of chip {}", unit_name(queue.unit), queue.index, queue.chip);
}

void Assembler::assemble_line(std::string_view line, int line_no) {
    const std::vector<Token> tokens = tokenize(line);
    size_t i = 0;
    for (; i < tokens.size() && tokens[i].text.back() == ':'; ++i) define_label(tokens[i], line_no);
    if (i == tokens.size()) return;
    const std::span<const Token> rest(tokens.data() + i, tokens.size() - i);
    if (rest[0].text[0] != '.') return instruction(rest, line_no);
    // A label names the next instruction of the current queue; before a directive that
    // changes the queue it would silently name something else.
    if (i > 0) fail(line_no, rest[0].column, "directive", rest[0].text, "an instruction after a label");
    directive(rest, line_no);
}

void Assembler::directive(std::span<const Token> tokens, int line) {
    const Token& name = tokens[0];
    const std::string which = lower(name.text);
    // Where a missing argument should have been: just past the last token.
    const int end_column = tokens.back().column + static_cast<int>(tokens.back().text.size()) + 1;
    size_t argc = 0;
    if (which == ".chip") {
        argc = 1;
        if (tokens.size() < 2) fail(line, end_column, "chip", "", kExpectChip);
        const auto chip = parse_unsigned(tokens[1].text, kMaxChip);
        if (!chip) fail(line, tokens[1].column, "chip", tokens[1].text, kExpectChip);
        chip_ = static_cast<uint32_t>(*chip);
        current_.reset();  // instructions after .chip need a .queue of that chip
    } else if (which == ".queue") {
        argc = 2;
        if (tokens.size() < 2) fail(line, end_column, "unit", "", one_of_queue_units());
        const auto unit = find_unit(lower(tokens[1].text));
        if (!unit || *unit == Unit::Icu)
            fail(line, tokens[1].column, "unit", tokens[1].text, one_of_queue_units());
        if (tokens.size() < 3) fail(line, end_column, "index", "", kExpectQueueIndex);
        const auto index = parse_unsigned(tokens[2].text, kMaxQueueIndex);
        if (!index) fail(line, tokens[2].column, "index", tokens[2].text, kExpectQueueIndex);
        const QueueKey key{chip_, *unit, static_cast<uint32_t>(*index)};
        const auto [it, inserted] = queue_by_key_.try_emplace(key, program_.queues.size());
        if (inserted) {
            program_.queues.push_back(Queue{chip_, *unit, static_cast<uint32_t>(*index), {}, {}, static_cast<uint32_t>(line)});
            labels_.emplace_back();
        }
        current_ = it->second;
    } else {
        fail(line, name.column, "directive", name.text, "one of: .chip, .queue");
    }
    if (tokens.size() > argc + 1) {
        const Token& extra = tokens[argc + 1];
        fail(line, extra.column, "directive", extra.text, fmt::format("end of line after {}", which));
    }
}

void Assembler::define_label(const Token& token, int line) {
    const std::string_view name = token.text.substr(0, token.text.size() - 1);
    if (!current_) fail(line, token.column, "label", name, "a .queue directive before the first label");
    if (!is_label_name(name)) fail(line, token.column, "label", name, kExpectLabel);
    Queue& queue = program_.queues[*current_];
    auto& defs = labels_[*current_];
    const auto index = static_cast<uint32_t>(queue.instructions.size());
    if (const auto it = defs.find(std::string(name)); it != defs.end())
        fail(
            line, token.column, "label", name,
            fmt::format("a label not yet defined in this queue (first defined at line {})", it->second.line));
    // Program::labels holds one name per instruction index.
    if (const auto it = queue.labels.find(index); it != queue.labels.end())
        fail(line, token.column, "label", name,
             fmt::format("one label per instruction ('{}' already names it)", it->second));
    defs.emplace(std::string(name), LabelDef{index, line});
    queue.labels.emplace(index, std::string(name));
}

void Assembler::instruction(std::span<const Token> tokens, int line) {
    const Token& mnemonic = tokens[0];
    if (!current_)
        fail(line, mnemonic.column, "queue", mnemonic.text,
             "a .queue directive before the first instruction");
    const auto op = find_opcode(lower(mnemonic.text));
    if (!op) fail(line, mnemonic.column, "mnemonic", mnemonic.text, one_of_mnemonics(lower(mnemonic.text)));
    const OpcodeSpec& sp = spec(*op);
    Queue& queue = program_.queues[*current_];
    if (sp.unit != Unit::Icu && sp.unit != queue.unit)
        fail(line, mnemonic.column, "mnemonic", mnemonic.text,
             fmt::format("an icu or {0} instruction (this is a {0} queue)", unit_name(queue.unit)));

    Instruction ins;
    ins.opcode = *op;
    ins.line = static_cast<uint32_t>(line);
    const auto own_index = static_cast<uint32_t>(queue.instructions.size());
    std::array<int, kMaxOperands> seen_at{};  // column where each operand was given, 0 = not yet
    for (const Token& token : tokens.subspan(1)) {
        const size_t eq = token.text.find('=');
        if (eq == std::string_view::npos || eq == 0)
            fail(line, token.column, "operand", token.text, "key=value, e.g. n=8");
        const std::string key = lower(token.text.substr(0, eq));
        int slot = 0;
        while (slot < sp.operand_count && sp.operands[slot].name != key) ++slot;
        if (slot == sp.operand_count)
            fail(line, token.column, "operand", token.text.substr(0, eq),
                 fmt::format("an operand of {}: {}", sp.mnemonic, operand_names(sp)));
        if (seen_at[slot])
            fail(line, token.column, key, token.text,
                 fmt::format("{} only once (first given at column {})", key, seen_at[slot]));
        seen_at[slot] = token.column;
        const std::string_view value = token.text.substr(eq + 1);
        const int value_column = token.column + static_cast<int>(eq) + 1;
        const OperandSpec& operand = sp.operands[slot];
        if (operand.kind == OperandKind::Label)
            label_uses_.push_back({*current_, own_index, slot, std::string(value), line, value_column});
        ins.operands[slot] = operand_value(operand, value, line, value_column);
    }
    for (int slot = 0; slot < sp.operand_count; ++slot)
        if (!seen_at[slot])
            fail(line, mnemonic.column, sp.operands[slot].name, "",
                 fmt::format("operand {}=... ({} takes {})", sp.operands[slot].name, sp.mnemonic,
                             operand_names(sp)));
    queue.instructions.push_back(ins);
}

int64_t Assembler::operand_value(const OperandSpec& operand, std::string_view text, int line, int column) {
    std::optional<int64_t> v;
    switch (operand.kind) {
        case OperandKind::Count:
        case OperandKind::Address: {
            const auto u = parse_unsigned(text, kMaxUnsigned);
            if (u) v = static_cast<int64_t>(*u);
            break;
        }
        case OperandKind::Chip: {
            const auto u = parse_unsigned(text, kMaxChip);
            if (u) v = static_cast<int64_t>(*u);
            break;
        }
        case OperandKind::Imm:
            v = parse_imm(text);
            break;
        case OperandKind::Real:
            v = parse_real(text);
            break;
        case OperandKind::Stream:
            v = parse_stream(text);
            break;
        case OperandKind::Type:
            v = parse_dtype(text);
            break;
        case OperandKind::Label:
            if (is_label_name(text)) v = 0;  // resolved in finish()
            break;
    }
    if (!v) fail(line, column, operand.name, text, expected_text(operand.kind));
    return *v;
}

Program Assembler::finish() {
    for (const LabelUse& use : label_uses_) {
        Queue& queue = program_.queues[use.queue];
        Instruction& ins = queue.instructions[use.instruction];
        const std::string_view key = spec(ins.opcode).operands[use.slot].name;
        const auto& defs = labels_[use.queue];
        const auto it = defs.find(use.name);
        if (it == defs.end())
            fail(use.line, use.column, key, use.name,
                 fmt::format("a label defined in {}", queue_name(use.queue)));
        ins.operands[use.slot] = it->second.index;
        const auto problem = label_target_problem(queue, queue.instructions.size(), ins.opcode,
                                                  use.instruction, it->second.index);
        if (problem) fail(use.line, use.column, key, use.name, *problem);
    }
    return std::move(program_);
}

}  // namespace

// ---- Public entry points ----

Program assemble(std::string_view text, const std::string& file_name) {
    Assembler assembler(file_name);
    int line_no = 1;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        assembler.assemble_line(text.substr(start, end - start), line_no);
        start = end + 1;
        ++line_no;
    }
    return assembler.finish();
}

Program assemble_file(const std::string& path) {
    return assemble(read_input_file(path, kMaxProgramBytes), path);
}

bool is_label_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxLabelLength || !is_ident_start(name[0])) return false;
    for (char c : name)
        if (!is_ident_start(c) && !is_digit(c) && c != '.') return false;
    return true;
}

std::optional<std::string> operand_value_problem(OperandKind kind, int64_t v) {
    switch (kind) {
        case OperandKind::Count:
        case OperandKind::Address:
            if (v >= 0 && v <= kMaxUnsigned) return std::nullopt;
            return std::string(kExpectUnsigned);
        case OperandKind::Imm:
            if (v >= kMinImm && v <= kMaxImm) return std::nullopt;
            return std::string(kExpectImm);
        case OperandKind::Real:
            if (v >= 0 && v <= int64_t{UINT32_MAX} &&
                std::isfinite(std::bit_cast<float>(static_cast<uint32_t>(v))))
                return std::nullopt;
            return "the 32-bit pattern of a finite float";
        case OperandKind::Stream:
            if (v >= 0 && v < (int64_t{1} << 11)) {
                const StreamRef s = decode_stream(v);
                if (s.id + s.width <= 32) return std::nullopt;
            }
            return "a stream code id + 32*east + 64*(width-1) with id + width <= 32";
        case OperandKind::Type:
            if (v >= 0 && v < kDTypeCount) return std::nullopt;
            return fmt::format("a type number below {}", kDTypeCount);
        case OperandKind::Label:
            if (v >= 0 && v <= int64_t{UINT32_MAX}) return std::nullopt;
            return "an instruction index";
        case OperandKind::Chip:
            if (v >= 0 && v <= kMaxChip) return std::nullopt;
            return std::string(kExpectChip);
    }
    return "a valid operand";
}

std::optional<std::string> label_target_problem(const Queue& queue, size_t instruction_count, Opcode opcode,
                                                size_t own_index, int64_t target) {
    if (target < 0 || static_cast<uint64_t>(target) >= instruction_count)
        return fmt::format("a label on one of this queue's {} instructions", instruction_count);
    if (!queue.labels.contains(static_cast<uint32_t>(target))) return "an instruction that carries a label";
    // A repeat re-runs the block [from, here): a target after it has no block to run.
    if (opcode == Opcode::Repeat && static_cast<uint64_t>(target) > own_index)
        return "a label at or before this icu.repeat (repeat loops go backwards)";
    return std::nullopt;
}

namespace {

// validate_program's checks, one function per part of a queue. Field names are only
// formatted when a check fails, so validating a large program builds no strings.
[[noreturn]] void invalid(const std::string& source_name, const std::string& field, const std::string& value,
                          const std::string& expected) {
    throw InputError(SourceLocation{source_name, 0, 0}, field, value, expected);
}

void validate_labels(const Queue& q, size_t qi, const std::string& source_name) {
    std::set<std::string_view> names;
    for (const auto& entry : q.labels) {
        const auto& [index, name] = entry;
        // (captures `entry`: clang 14 cannot capture structured bindings)
        const auto field = [&] { return fmt::format("queue {} label {}", qi, entry.second); };
        if (index > q.instructions.size())
            invalid(source_name, field(), std::to_string(index),
                    fmt::format("an instruction index at most {}", q.instructions.size()));
        if (!is_label_name(name)) invalid(source_name, field(), name, std::string(kExpectLabel));
        if (!names.insert(name).second) invalid(source_name, field(), name, "each label name once per queue");
    }
}

void validate_instruction(const Queue& q, size_t qi, size_t i, const std::string& source_name) {
    const Instruction& ins = q.instructions[i];
    const auto field = [&](std::string_view what) {
        return fmt::format("queue {} instruction {} {}", qi, i, what);
    };
    const int op = static_cast<int>(ins.opcode);
    if (op < 0 || op >= kOpcodeCount)
        invalid(source_name, field("opcode"), std::to_string(op),
                fmt::format("an opcode number below {}", kOpcodeCount));
    const OpcodeSpec& sp = spec(ins.opcode);
    if (sp.unit != Unit::Icu && sp.unit != q.unit)
        invalid(source_name, field("opcode"), std::string(sp.mnemonic),
                fmt::format("an icu or {} instruction", unit_name(q.unit)));
    for (int slot = 0; slot < kMaxOperands; ++slot) {
        const int64_t v = ins.operands[slot];
        // Unused slots take part in Instruction equality but are not encoded: keep them 0.
        if (slot >= sp.operand_count) {
            if (v != 0)
                invalid(source_name, field(fmt::format("unused operand slot {}", slot)), std::to_string(v),
                        "0");
            continue;
        }
        const OperandSpec& operand = sp.operands[slot];
        const auto problem = operand.kind == OperandKind::Label
                                 ? label_target_problem(q, q.instructions.size(), ins.opcode, i, v)
                                 : operand_value_problem(operand.kind, v);
        if (problem) invalid(source_name, field(operand.name), std::to_string(v), *problem);
    }
}

}  // namespace

void validate_program(const Program& program, const std::string& source_name) {
    std::set<std::tuple<uint32_t, Unit, uint32_t>> seen;
    for (size_t qi = 0; qi < program.queues.size(); ++qi) {
        const Queue& q = program.queues[qi];
        const int unit = static_cast<int>(q.unit);
        if (unit <= 0 || unit >= kUnitCount)
            invalid(source_name, fmt::format("queue {} unit", qi), std::to_string(unit),
                    one_of_queue_units());
        if (q.index > kMaxQueueIndex)
            invalid(source_name, fmt::format("queue {} index", qi), std::to_string(q.index),
                    std::string(kExpectQueueIndex));
        if (!seen.emplace(q.chip, q.unit, q.index).second)
            invalid(source_name, fmt::format("queue {}", qi),
                    fmt::format("chip {} {} {}", q.chip, unit_name(q.unit), q.index),
                    "each (chip, unit, index) queue once");
        validate_labels(q, qi, source_name);
        for (size_t i = 0; i < q.instructions.size(); ++i) validate_instruction(q, qi, i, source_name);
    }
}

}  // namespace lpu::isa
