// Tests for the instruction-set tooling: assembler, disassembler, binary codec.
// Expected programs, texts and bytes are written out by hand from the rules in
// docs/isa.md, never taken from the code's own output.
#include <fmt/format.h>
#include <unistd.h>

#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "common/input_error.hpp"
#include "isa/assembler.hpp"
#include "isa/binary.hpp"
#include "isa/disassembler.hpp"

using namespace lpu::isa;
using lpu::InputError;

namespace {

// What an InputError said, for checking where it points.
struct Caught {
    int line = -1;
    int column = -1;
    std::string field;
    std::string message;
};

Caught assembly_error(const std::string& text) {
    try {
        assemble(text, "prog.s");
    } catch (const InputError& e) {
        return {e.where().line, e.where().column, e.field(), e.what()};
    }
    FAIL("assembled without an error:\n" << text);
    return {};
}

std::string decode_error(const std::vector<uint8_t>& bytes) {
    try {
        decode_binary(bytes, "prog.lpub");
    } catch (const InputError& e) {
        return e.what();
    }
    FAIL("decoded without an error");
    return {};
}

// One representative value per operand kind: its canonical text and the stored value
// worked out by hand from docs/isa.md.
struct Sample {
    const char* text;
    int64_t stored;
};
// clang-format off
Sample sample(OperandKind kind) {
    switch (kind) {
        case OperandKind::Count: return {"7", 7};
        case OperandKind::Address: return {"0x1f0", 0x1f0};
        case OperandKind::Imm: return {"-3", -3};
        case OperandKind::Real: return {"0.125", 0x3e000000};  // 2^-3: exponent 124, mantissa 0
        case OperandKind::Stream: return {"s2w:3", 2 + 0 * 32 + (3 - 1) * 64};
        case OperandKind::Type: return {"fp16", 7};  // position of fp16 in the DType list
        case OperandKind::Label: return {"top", 0};  // `top:` labels instruction 0
        case OperandKind::Chip: return {"5", 5};
    }
    return {"", 0};
}
// clang-format on

// The bytes of a valid program with a label, several queues and every operand width.
const char* const kRichProgram = R"(.chip 0
.queue mem 12
top:
    mem.read addr=0x100 n=8 out=s3e
    icu.repeat count=2 from=top

.queue sxm 1
    sxm.shift n=4 in=s0w:16 out=s16w:16 amount=-549755813888
    icu.nop cycles=1099511627775

.chip 7
.queue vxm 3
    vxm.muli n=1 in=s0e imm=-1e-45 out=s31e type=int3p5b
    vxm.cvt n=2 in=s1e out=s2e:4 from=int32 to=fp32
end:
)";

}  // namespace

TEST_CASE("the opcode table is indexed by opcode and names each opcode once, prefixed by its unit") {
    REQUIRE(kOpcodeCount == 45);
    std::set<std::string_view> names;
    for (int op = 0; op < kOpcodeCount; ++op) {
        const OpcodeSpec& sp = spec(Opcode(op));
        CHECK(static_cast<int>(sp.opcode) == op);
        CHECK(names.insert(sp.mnemonic).second);
        CHECK(sp.mnemonic.substr(0, sp.mnemonic.find('.')) == unit_name(sp.unit));
        CHECK(find_opcode(sp.mnemonic) == Opcode(op));
        CHECK(sp.operand_count >= 0);
        CHECK(sp.operand_count <= kMaxOperands);
    }
}

TEST_CASE("every opcode survives text -> program -> binary -> program -> text unchanged") {
    for (int op = 0; op < kOpcodeCount; ++op) {
        const OpcodeSpec& sp = spec(Opcode(op));
        const std::string_view unit = sp.unit == Unit::Icu ? "mem" : unit_name(sp.unit);
        std::string text = fmt::format(".chip 0\n.queue {} 0\ntop:\n    {}", unit, sp.mnemonic);
        Instruction expected;
        expected.opcode = Opcode(op);
        for (int slot = 0; slot < sp.operand_count; ++slot) {
            const Sample s = sample(sp.operands[slot].kind);
            text += fmt::format(" {}={}", sp.operands[slot].name, s.text);
            expected.operands[slot] = s.stored;
        }
        text += "\n";
        INFO(text);

        const Program program = assemble(text, "op.s");
        REQUIRE(program.queues.size() == 1);
        REQUIRE(program.queues[0].instructions.size() == 1);
        CHECK(program.queues[0].instructions[0] == expected);
        CHECK(program.queues[0].instructions[0].line == 4);
        CHECK(disassemble(program) == text);

        const std::vector<uint8_t> bytes = encode_binary(program);
        const Program decoded = decode_binary(bytes, "op.lpub");
        CHECK(decoded == program);
        CHECK(disassemble(decoded) == text);
        CHECK(encode_binary(assemble(disassemble(decoded), "again.s")) == bytes);
    }
}

TEST_CASE("a messy text assembles and disassembles to the canonical form, a fixed point") {
    const std::string messy =
        "; a program written by hand\n"
        ".CHIP 0\n"
        ".Queue MEM 12   # trailing comment\n"
        "LOOP: MEM.READ OUT=S3E n=8 ADDR=256\n"
        "  icu.REPEAT from=LOOP count=0x3\t; hex count\n"
        ".queue vxm 1\n"
        "    vxm.muli n=4 in=s1e imm=+0.50 out=s2e:1 type=FP32\r\n"
        ".queue mem 12\n"
        "    mem.write addr=0X10 n=01 in=s03w\n"
        ".chip 1\n"
        ".queue c2c 2\n"
        "    c2c.send peer=0 n=2 in=s0e:32\n"
        "    c2c.deskew\n";
    const std::string canonical =
        ".chip 0\n"
        ".queue mem 12\n"
        "LOOP:\n"
        "    mem.read addr=0x100 n=8 out=s3e\n"
        "    icu.repeat count=3 from=LOOP\n"
        "    mem.write addr=0x10 n=1 in=s3w\n"
        "\n"
        ".queue vxm 1\n"
        "    vxm.muli n=4 in=s1e imm=0.5 out=s2e type=fp32\n"
        "\n"
        ".chip 1\n"
        ".queue c2c 2\n"
        "    c2c.send peer=0 n=2 in=s0e:32\n"
        "    c2c.deskew\n";
    const Program p = assemble(messy, "messy.s");
    CHECK(disassemble(p) == canonical);
    CHECK(disassemble(assemble(canonical, "canonical.s")) == canonical);
    CHECK(assemble(canonical, "canonical.s") == p);

    // Reopening `mem 12` continued the first queue instead of making a new one.
    REQUIRE(p.queues.size() == 3);
    CHECK(p.queues[0].instructions.size() == 3);
    CHECK(p.queues[0].instructions[0].line == 4);
    CHECK(p.queues[0].instructions[1].line == 5);
    CHECK(p.queues[0].instructions[2].line == 9);
    CHECK(p.queues[2].chip == 1);
    CHECK(p.queues[2].unit == Unit::C2c);
    CHECK(p.queues[2].index == 2);
}

TEST_CASE("labels name the next instruction of their queue, on their own line or before an instruction") {
    const std::string text =
        ".queue mxm 0\n"
        "    mxm.iw cols=320\n"
        "a:\n"
        "    mxm.iw cols=320\n"
        ".queue mxm 1\n"
        "a: mxm.iw cols=16    ; the same name in another queue is another label\n"
        "    icu.repeat count=1 from=a\n"
        "self: icu.repeat count=2 from=self\n"
        ".queue mxm 0\n"
        "    icu.repeat count=4 from=a\n"
        "end_.2:\n";
    const Program p = assemble(text, "labels.s");
    REQUIRE(p.queues.size() == 2);
    const Queue& q0 = p.queues[0];
    const Queue& q1 = p.queues[1];
    CHECK(q0.labels == std::map<uint32_t, std::string>{{1, "a"}, {3, "end_.2"}});
    CHECK(q1.labels == std::map<uint32_t, std::string>{{0, "a"}, {2, "self"}});
    REQUIRE(q0.instructions.size() == 3);
    CHECK(q0.instructions[2].opcode == Opcode::Repeat);
    CHECK(q0.instructions[2].operands == std::array<int64_t, kMaxOperands>{4, 1, 0, 0, 0, 0});
    REQUIRE(q1.instructions.size() == 3);
    CHECK(q1.instructions[1].operands == std::array<int64_t, kMaxOperands>{1, 0, 0, 0, 0, 0});
    CHECK(q1.instructions[2].operands == std::array<int64_t, kMaxOperands>{2, 2, 0, 0, 0, 0});  // itself

    CHECK(disassemble(p) ==
          ".chip 0\n"
          ".queue mxm 0\n"
          "    mxm.iw cols=320\n"
          "a:\n"
          "    mxm.iw cols=320\n"
          "    icu.repeat count=4 from=a\n"
          "end_.2:\n"
          "\n"
          ".queue mxm 1\n"
          "a:\n"
          "    mxm.iw cols=16\n"
          "    icu.repeat count=1 from=a\n"
          "self:\n"
          "    icu.repeat count=2 from=self\n");
    CHECK(decode_binary(encode_binary(p), "labels.lpub") == p);
}

TEST_CASE("an empty text is an empty program, and an empty queue is kept") {
    CHECK(assemble("", "empty.s").queues.empty());
    CHECK(assemble("; only a comment\n\n   \n", "empty.s").queues.empty());
    CHECK(disassemble(Program{}).empty());
    const Program p = assemble(".queue dma 0\n", "q.s");
    REQUIRE(p.queues.size() == 1);
    CHECK(p.queues[0].instructions.empty());
    CHECK(disassemble(p) == ".chip 0\n.queue dma 0\n");
}

TEST_CASE("every stream group is written s<id><e|w>[:width] and stored as id + 32*east + 64*(width-1)") {
    for (int id = 0; id < 32; ++id)
        for (int width = 1; id + width <= 32; ++width)
            for (const bool east : {true, false}) {
                const std::string stream =
                    fmt::format("s{}{}{}", id, east ? 'e' : 'w', width == 1 ? "" : fmt::format(":{}", width));
                const std::string text =
                    ".chip 0\n.queue mem 0\n    mem.read addr=0x0 n=1 out=" + stream + "\n";
                const Program p = assemble(text, "s.s");
                CHECK(p.queues[0].instructions[0].operands[2] == id + 32 * (east ? 1 : 0) + 64 * (width - 1));
                CHECK(disassemble(p) == text);
            }
    // An explicit width of 1 and upper case are accepted and normalised away.
    const Program p = assemble(".queue mem 0\n mem.read addr=0 n=1 out=S7W:1\n", "s.s");
    CHECK(p.queues[0].instructions[0].operands[2] == 7);
}

TEST_CASE("immediates accept the 40-bit signed range and reals round-trip every finite float") {
    const auto imm_of = [](const std::string& amount) {
        return assemble(".queue sxm 0\n sxm.shift n=1 in=s0e out=s1e amount=" + amount + "\n", "i.s")
            .queues[0]
            .instructions[0]
            .operands[3];
    };
    CHECK(imm_of("-549755813888") == -549755813888);
    CHECK(imm_of("549755813887") == 549755813887);
    CHECK(imm_of("+12") == 12);

    const auto real_of = [](const std::string& imm) {
        return assemble(".queue vxm 0\n vxm.addi n=1 in=s0e imm=" + imm + " out=s1e type=fp32\n", "r.s")
            .queues[0]
            .instructions[0]
            .operands[2];
    };
    CHECK(real_of("-0") == 0x80000000);  // the sign bit alone
    CHECK(real_of("1e-45") == 1);        // the smallest subnormal
    CHECK(real_of("+2") == 0x40000000);
    CHECK(real_of("3.4028235e38") == 0x7f7fffff);  // the largest finite float

    std::mt19937 rng(20240601);
    int tried = 0;
    while (tried < 20000) {
        const uint32_t bits = static_cast<uint32_t>(rng());
        if (!std::isfinite(std::bit_cast<float>(bits))) continue;
        ++tried;
        Program p;
        Instruction ins;
        ins.opcode = Opcode::MulImm;
        ins.operands = {1, 32, bits, 33, 8};  // n=1 in=s0e imm out=s1e type=fp32
        p.queues.push_back(Queue{0, Unit::Vxm, 0, {ins}, {}});
        const Program back = assemble(disassemble(p), "r.s");
        REQUIRE(back == p);
    }
}

#ifndef LPUSIM_SOURCE_DIR
#define LPUSIM_SOURCE_DIR "."
#endif

TEST_CASE("docs/isa.md lists every opcode, in table order, with its unit and operands") {
    std::ifstream in(std::string(LPUSIM_SOURCE_DIR) + "/docs/isa.md");
    REQUIRE(in);
    const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    constexpr const char* kKindNames[] = {"count",  "address", "imm",   "real",
                                          "stream", "type",    "label", "chip"};
    size_t previous = 0;
    for (int op = 0; op < kOpcodeCount; ++op) {
        const OpcodeSpec& sp = spec(Opcode(op));
        std::string operands;
        for (int slot = 0; slot < sp.operand_count; ++slot)
            operands += fmt::format("{}{}:{}", slot ? " " : "", sp.operands[slot].name,
                                    kKindNames[static_cast<int>(sp.operands[slot].kind)]);
        const std::string row =
            fmt::format("| `{}` | {} | {} |", sp.mnemonic, sp.unit == Unit::Icu ? "any" : unit_name(sp.unit),
                        operands.empty() ? "(none)" : "`" + operands + "`");
        INFO(row);
        const size_t at = doc.find(row);
        REQUIRE(at != std::string::npos);
        CHECK(at > previous);  // the row's position is the opcode number
        previous = at;
    }
}

// ---- Errors: each names the line, the column of the offending token and the field ----

TEST_CASE("an unknown mnemonic is reported with the mnemonics of the unit it names") {
    const Caught e = assembly_error(".queue mem 0\n    mem.reed addr=0 n=1 out=s0e\n");
    CHECK(e.line == 2);
    CHECK(e.column == 5);
    CHECK(e.field == "mnemonic");
    CHECK(e.message ==
          "prog.s:2:5: mnemonic: got 'mem.reed', expected one of: mem.read, mem.write, mem.gather, "
          "mem.scatter");
    const Caught all = assembly_error(".queue mem 0\nfrob x=1\n");
    CHECK(all.column == 1);
    CHECK_THAT(all.message, Catch::Contains("icu.nop") && Catch::Contains("dma.store"));
}

TEST_CASE("an unknown operand key, a token without '=' and an operand of an operand-less opcode are errors") {
    Caught e = assembly_error(".queue mem 0\n    mem.read addr=0 n=1 out=s0e bogus=3\n");
    CHECK(e.line == 2);
    CHECK(e.column == 33);
    CHECK(e.field == "operand");
    CHECK_THAT(e.message, Catch::Contains("got 'bogus'") && Catch::Contains("addr, n, out"));

    e = assembly_error(".queue c2c 0\n    c2c.deskew n=1\n");
    CHECK(e.column == 16);
    CHECK(e.field == "operand");
    CHECK_THAT(e.message, Catch::Contains("no operands"));

    e = assembly_error(".queue mem 0\n    icu.nop 5\n");
    CHECK(e.column == 13);
    CHECK(e.field == "operand");
}

TEST_CASE("a missing operand is reported at the mnemonic, a duplicate one at its second use") {
    Caught e = assembly_error(".queue mem 0\n    mem.read addr=0 out=s0e\n");
    CHECK(e.line == 2);
    CHECK(e.column == 5);
    CHECK(e.field == "n");

    e = assembly_error(".queue mem 0\n    mem.read addr=0 n=1 N=2 out=s0e\n");  // keys ignore case
    CHECK(e.line == 2);
    CHECK(e.column == 25);
    CHECK(e.field == "n");
    CHECK_THAT(e.message, Catch::Contains("first given at column 21"));
}

TEST_CASE("malformed or out-of-range streams are errors at the stream's column") {
    // "    mem.read addr=0 n=1 out=" puts the value at column 29.
    for (const char* bad : {"s32e", "s3x", "s30e:4", "s0e:0", "s0e:33", "s1e:", "s", "se", "s-1e", "3e",
                            "s3e4", "s3e:4x", "s0001e"}) {
        INFO(bad);
        const Caught e = assembly_error(fmt::format(".queue mem 0\n    mem.read addr=0 n=1 out={}\n", bad));
        CHECK(e.line == 2);
        CHECK(e.column == 29);
        CHECK(e.field == "out");
        CHECK_THAT(e.message, Catch::Contains("a stream like s3e or s0w:4"));
    }
    for (const char* good : {"s31e", "s0e:32", "s28w:4", "s07E"}) {
        INFO(good);
        CHECK_NOTHROW(assemble(fmt::format(".queue mem 0\n    mem.read addr=0 n=1 out={}\n", good), "ok.s"));
    }
}

TEST_CASE("numbers beyond their kind's range are errors at the number's column") {
    const auto check = [](const std::string& text, int column, const char* field) {
        INFO(text);
        const Caught e = assembly_error(text);
        CHECK(e.line == 2);
        CHECK(e.column == column);
        CHECK(e.field == field);
    };
    check(".queue mem 0\n    mem.read addr=0x10000000000 n=1 out=s0e\n", 19, "addr");  // 2^40
    check(".queue mem 0\n    mem.read addr=0 n=1099511627776 out=s0e\n", 23, "n");     // 2^40
    check(".queue mem 0\n    mem.read addr=0 n=18446744073709551616 out=s0e\n", 23, "n");
    check(".queue mem 0\n    mem.read addr=0 n=-1 out=s0e\n", 23, "n");
    check(".queue mem 0\n    mem.read addr=0 n=0x out=s0e\n", 23, "n");
    check(".queue mem 0\n    mem.read addr=0 n=1.5 out=s0e\n", 23, "n");
    check(".queue sxm 0\n    sxm.shift n=1 in=s0e out=s1e amount=549755813888\n", 41, "amount");
    check(".queue sxm 0\n    sxm.shift n=1 in=s0e out=s1e amount=-549755813889\n", 41, "amount");
    check(".queue sxm 0\n    sxm.shift n=1 in=s0e out=s1e amount=0x10\n", 41, "amount");
    check(".queue c2c 0\n    c2c.send peer=4294967296 n=1 in=s0e\n", 19, "peer");
    for (const char* bad : {"inf", "nan", "-inf", "1e50", "1e-50", "0x1p3", "+-1", "", "1.5f", "1,5"})
        check(fmt::format(".queue vxm 0\n    vxm.addi n=1 in=s0e imm={} out=s1e type=fp32\n", bad), 29,
              "imm");
    check(".queue vxm 0\n    vxm.addi n=1 in=s0e imm=1 out=s1e type=fp64\n", 44, "type");

    CHECK_NOTHROW(assemble(".queue mem 0\n mem.read addr=0xFFFFFFFFFF n=1099511627775 out=s0e\n", "max.s"));
    CHECK_NOTHROW(assemble(".queue c2c 0\n c2c.send peer=4294967295 n=1 in=s0e\n", "max.s"));
}

TEST_CASE("a unit's instruction in another unit's queue is an error at the mnemonic") {
    const Caught e = assembly_error(".queue mem 3\n  mxm.lw n=1 in=s0e type=int8\n");
    CHECK(e.line == 2);
    CHECK(e.column == 3);
    CHECK(e.field == "mnemonic");
    CHECK_THAT(e.message, Catch::Contains("mem queue"));
}

TEST_CASE("instructions and labels need a .queue of the current chip") {
    Caught e = assembly_error("; comment\n\n  icu.nop cycles=1\n");
    CHECK(e.line == 3);
    CHECK(e.column == 3);
    CHECK(e.field == "queue");

    e = assembly_error(".queue mem 0\n.chip 1\n    icu.nop cycles=1\n");  // .chip closes the queue
    CHECK(e.line == 3);
    CHECK(e.column == 5);
    CHECK(e.field == "queue");

    e = assembly_error("top:\n");
    CHECK(e.line == 1);
    CHECK(e.column == 1);
    CHECK(e.field == "label");
}

TEST_CASE("an undefined label, a label of another queue and a forward repeat are errors at the label use") {
    // "    icu.repeat count=1 from=" puts the label at column 29.
    Caught e = assembly_error(".queue mem 0\n    icu.repeat count=1 from=nowhere\n");
    CHECK(e.line == 2);
    CHECK(e.column == 29);
    CHECK(e.field == "from");
    CHECK_THAT(e.message, Catch::Contains("got 'nowhere'") && Catch::Contains("queue mem 0 of chip 0"));

    e = assembly_error(".queue mem 0\nx: icu.nop cycles=1\n.queue mem 1\n    icu.repeat count=1 from=x\n");
    CHECK(e.line == 4);
    CHECK(e.column == 29);
    CHECK(e.field == "from");

    // The forward label resolves (it is not "undefined") but a repeat must go backwards.
    e = assembly_error(".queue mem 0\n    icu.repeat count=1 from=later\nlater: icu.nop cycles=1\n");
    CHECK(e.line == 2);
    CHECK(e.column == 29);
    CHECK(e.field == "from");
    CHECK_THAT(e.message, Catch::Contains("backwards"));

    // A label past the last instruction names no instruction to repeat.
    e = assembly_error(".queue mem 0\n    icu.repeat count=1 from=end\nend:\n");
    CHECK(e.column == 29);
    CHECK(e.field == "from");

    e = assembly_error(".queue mem 0\n    icu.repeat count=1 from=1x\n");
    CHECK(e.column == 29);
    CHECK(e.field == "from");
}

TEST_CASE("duplicate labels, two labels on one instruction and malformed labels are errors") {
    Caught e = assembly_error(".queue mem 0\nx: icu.nop cycles=1\n    icu.nop cycles=2\n  x:\n");
    CHECK(e.line == 4);
    CHECK(e.column == 3);
    CHECK(e.field == "label");
    CHECK_THAT(e.message, Catch::Contains("first defined at line 2"));

    e = assembly_error(".queue mem 0\nx: y: icu.nop cycles=1\n");
    CHECK(e.line == 2);
    CHECK(e.column == 4);
    CHECK(e.field == "label");

    e = assembly_error(".queue mem 0\n9lives: icu.nop cycles=1\n");
    CHECK(e.column == 1);
    CHECK(e.field == "label");

    e = assembly_error(".queue mem 0\nx: .queue mem 1\n");
    CHECK(e.line == 2);
    CHECK(e.column == 4);
    CHECK(e.field == "directive");
}

TEST_CASE("malformed directives are errors at the offending token") {
    const auto check = [](const std::string& text, int column, const char* field) {
        INFO(text);
        const Caught e = assembly_error(text);
        CHECK(e.line == 1);
        CHECK(e.column == column);
        CHECK(e.field == field);
    };
    check(".queue icu 0\n", 8, "unit");
    check(".queue tpu 0\n", 8, "unit");
    check(".queue mem 65536\n", 12, "index");
    check(".queue mem\n", 12, "index");
    check(".queue\n", 8, "unit");
    check(".queue mem 1 2\n", 14, "directive");
    check(".foo\n", 1, "directive");
    check(".chip 1 2\n", 9, "directive");
    check(".chip -1\n", 7, "chip");
    check(".chip 4294967296\n", 7, "chip");
    CHECK_NOTHROW(assemble(".chip 4294967295\n.queue mem 65535\n", "max.s"));
}

TEST_CASE("assemble_file reads a file and reports an unreadable one as an input error") {
    const auto dir = std::filesystem::temp_directory_path() / fmt::format("lpusim_isa_test_{}", ::getpid());
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "prog.s").string();
    {
        std::ofstream out(path);
        out << ".queue mem 0\n    icu.nop cycles=3\n    icu.nop cycles=x\n";
    }
    try {
        assemble_file(path);
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK(e.where().file == path);
        CHECK(e.where().line == 3);
        CHECK(e.where().column == 20);
    }
    CHECK_THROWS_AS(assemble_file((dir / "missing.s").string()), InputError);
    CHECK_THROWS_AS(assemble_file(dir.string()), InputError);  // a directory
    std::filesystem::remove_all(dir);
}

// ---- Binary encoding ----

// `.chip 0 / .queue mem 12 / top: / mem.read addr=0x100 n=8 out=s3e / icu.repeat count=2 from=top`,
// encoded by hand from the layout in docs/isa.md.
// clang-format off
const std::vector<uint8_t> kHandBytes = {
    'L', 'P', 'U', 'B', 0x01, 0x00,  // magic, version 1
    0x01, 0x00, 0x00, 0x00,          // 1 queue
    0x00, 0x00, 0x00, 0x00,          // byte 10: chip 0
    0x01,                            // byte 14: unit mem
    0x0c, 0x00,                      // byte 15: index 12
    0x02, 0x00, 0x00, 0x00,          // byte 17: 2 instructions
    0x01, 0x00, 0x00, 0x00,          // byte 21: 1 label
    0x00, 0x00, 0x00, 0x00,          // byte 25: label at instruction 0
    0x03, 0x00, 't', 'o', 'p',       // byte 29: its name
    0x05, 0x00,                      // byte 34: opcode 5 = mem.read
    0x80, 0x04,                      // addr 0x100: zig-zag 0x200 = 0b100'0000000 -> 0x80 0x04
    0x10,                            // n 8: zig-zag 16
    0x46,                            // out s3e = 3 + 32 = 35: zig-zag 70
    0x01, 0x00,                      // byte 40: opcode 1 = icu.repeat
    0x04,                            // count 2: zig-zag 4
    0x00,                            // byte 43: from = instruction 0
};
// clang-format on
const char* const kHandText =
    ".chip 0\n"
    ".queue mem 12\n"
    "top:\n"
    "    mem.read addr=0x100 n=8 out=s3e\n"
    "    icu.repeat count=2 from=top\n";

TEST_CASE("the binary encoding matches the byte layout worked out by hand") {
    const Program p = assemble(kHandText, "hand.s");
    CHECK(encode_binary(p) == kHandBytes);
    CHECK(disassemble(decode_binary(kHandBytes, "hand.lpub")) == kHandText);

    // Negative immediates zig-zag to odd codes; chips are little-endian u32.
    // clang-format off
    const std::vector<uint8_t> shift = {
        'L', 'P', 'U', 'B', 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x02, 0x01, 0x00, 0x00,  // chip 258
        0x04, 0x01, 0x00,        // unit sxm, index 1
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x22, 0x00,  // opcode 34 = sxm.shift
        0x02,        // n 1
        0x40,        // in s0e = 32: zig-zag 64
        0x02,        // out s1w = 1: zig-zag 2
        0x05,        // amount -3: zig-zag 5
    };
    // clang-format on
    CHECK(encode_binary(assemble(".chip 258\n.queue sxm 1\n sxm.shift n=1 in=s0e out=s1w amount=-3\n",
                                 "s.s")) == shift);
}

TEST_CASE("every truncation of a valid encoding is an input error") {
    const std::vector<uint8_t> bytes = encode_binary(assemble(kRichProgram, "rich.s"));
    REQUIRE(decode_binary(bytes, "rich.lpub") == assemble(kRichProgram, "rich.s"));
    for (size_t n = 0; n < bytes.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        CHECK_THROWS_AS(decode_binary(prefix, "cut.lpub"), InputError);
    }
}

TEST_CASE("the decoder names the byte offset of bad headers, fields and trailing data") {
    auto with = [](size_t at, std::initializer_list<uint8_t> replacement) {
        std::vector<uint8_t> b = kHandBytes;
        std::copy(replacement.begin(), replacement.end(), b.begin() + static_cast<std::ptrdiff_t>(at));
        return b;
    };
    CHECK_THAT(decode_error(with(3, {'X'})), Catch::StartsWith("prog.lpub: byte 0: magic"));
    CHECK_THAT(decode_error(with(4, {0x02})), Catch::StartsWith("prog.lpub: byte 4: version"));
    CHECK_THAT(decode_error(with(6, {0xff, 0xff, 0xff, 0xff})),
               Catch::StartsWith("prog.lpub: byte 6: queue count"));
    CHECK_THAT(decode_error(with(14, {0x00})), Catch::StartsWith("prog.lpub: byte 14: queue 0 unit"));  // icu
    CHECK_THAT(decode_error(with(14, {0x07})), Catch::StartsWith("prog.lpub: byte 14: queue 0 unit"));
    CHECK_THAT(decode_error(with(17, {0x00, 0x00, 0x00, 0x40})),
               Catch::StartsWith("prog.lpub: byte 17: queue 0 instruction count"));
    CHECK_THAT(decode_error(with(25, {0x03})),
               Catch::StartsWith("prog.lpub: byte 25: queue 0 label 0 index"));
    CHECK_THAT(decode_error(with(29, {0x00})),
               Catch::StartsWith("prog.lpub: byte 29: queue 0 label 0 name length"));
    CHECK_THAT(decode_error(with(31, {'9'})), Catch::StartsWith("prog.lpub: byte 31: queue 0 label 0 name"));
    CHECK_THAT(decode_error(with(34, {0x2c})),
               Catch::StartsWith("prog.lpub: byte 34: queue 0 instruction 0 opcode"));
    CHECK_THAT(decode_error(with(34, {0x09})),  // mxm.lw in a mem queue
               Catch::StartsWith("prog.lpub: byte 34: queue 0 instruction 0 opcode"));
    CHECK_THAT(decode_error(with(39, {0x41})),  // s32e: zig-zag of a negative stream code
               Catch::StartsWith("prog.lpub: byte 39: queue 0 instruction 0 out"));
    // The label moves to instruction 1, so the repeat's target 0 has no label.
    CHECK_THAT(decode_error(with(25, {0x01})),
               Catch::StartsWith("prog.lpub: byte 43: queue 0 instruction 1 from"));

    std::vector<uint8_t> trailing = kHandBytes;
    trailing.push_back(0);
    CHECK_THAT(decode_error(trailing), Catch::StartsWith("prog.lpub: byte 44: end"));

    // n = 8 written as 0x90 0x00: the same value in a longer form.
    std::vector<uint8_t> overlong = kHandBytes;
    overlong[38] = 0x90;
    overlong.insert(overlong.begin() + 39, 0x00);
    CHECK_THAT(decode_error(overlong), Catch::StartsWith("prog.lpub: byte 38: queue 0 instruction 0 n") &&
                                           Catch::Contains("shortest form"));

    // The same queue twice.
    std::vector<uint8_t> twice = kHandBytes;
    twice[6] = 0x02;
    twice.insert(twice.end(), kHandBytes.begin() + 10, kHandBytes.end());
    CHECK_THAT(decode_error(twice), Catch::StartsWith("prog.lpub: byte 44: queue 1"));
}

TEST_CASE("random garbage is an input error, never a crash") {
    std::mt19937 rng(7);
    for (int round = 0; round < 5000; ++round) {
        std::vector<uint8_t> bytes(rng() % 96);
        for (auto& b : bytes) b = static_cast<uint8_t>(rng());
        if (round % 2 == 1 && bytes.size() >= 6) {  // get past the header half the time
            const uint8_t header[6] = {'L', 'P', 'U', 'B', 1, 0};
            std::copy(std::begin(header), std::end(header), bytes.begin());
        }
        CHECK_THROWS_AS(decode_binary(bytes, "garbage.lpub"), InputError);
    }
}

TEST_CASE("a mutated encoding is either refused or decodes to a program that re-encodes to the same bytes") {
    const std::vector<uint8_t> good = encode_binary(assemble(kRichProgram, "rich.s"));
    std::mt19937 rng(11);
    int accepted = 0;
    for (int round = 0; round < 20000; ++round) {
        std::vector<uint8_t> bytes = good;
        const int changes = 1 + static_cast<int>(rng() % 2);
        for (int c = 0; c < changes; ++c) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
        try {
            const Program p = decode_binary(bytes, "mutant.lpub");
            ++accepted;
            REQUIRE(encode_binary(p) == bytes);
            REQUIRE(assemble(disassemble(p), "mutant.s") == p);
        } catch (const InputError&) {
        }
    }
    CHECK(accepted > 0);  // some mutations (e.g. a count value) stay valid
}

TEST_CASE("the encoder and the disassembler refuse programs the assembler could not have made") {
    const Program good = assemble(kHandText, "hand.s");
    const auto refused = [](const Program& p) {
        CHECK_THROWS_AS(encode_binary(p), InputError);
        CHECK_THROWS_AS(disassemble(p), InputError);
    };
    Program p = good;
    p.queues[0].unit = Unit::Icu;
    refused(p);
    p = good;
    p.queues.push_back(good.queues[0]);  // the same queue twice
    refused(p);
    p = good;
    p.queues[0].instructions[0].operands[4] = 1;  // mem.read has 3 operands
    refused(p);
    p = good;
    p.queues[0].labels.clear();  // the repeat's target loses its label
    refused(p);
    p = good;
    p.queues[0].labels[5] = "far";  // past the end of the queue
    refused(p);
    p = good;
    p.queues[0].labels[1] = "top";  // the same name twice
    refused(p);
    p = good;
    p.queues[0].instructions[0].opcode = static_cast<Opcode>(200);
    refused(p);
    p = good;
    p.queues[0].instructions[0].opcode = Opcode::Acc;  // an mxm instruction in a mem queue
    refused(p);
    p = good;
    p.queues[0].instructions[0].operands[1] = int64_t{1} << 40;
    refused(p);
    p = good;
    p.queues[0].labels[2] = "end";  // one past the last instruction is allowed
    CHECK(decode_binary(encode_binary(p), "end.lpub") == p);
}
