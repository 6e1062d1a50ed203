// Hardware config: defaults against hand calculations, every class of bad input, --set.
#include <catch2/catch.hpp>

#include <regex>

#include "cli_helpers.hpp"
#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "hw/derived.hpp"

using namespace lpu;
using lpu::test::source_path;

namespace {

std::string tsp_text() { return test::slurp(source_path("configs/tsp-v1.yaml")); }

// Replace the first occurrence of `from` in the default config and load it.
hw::HwConfig load_edited(const std::string& from, const std::string& to) {
    std::string text = tsp_text();
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    return hw::load_hw_config_text(text, "edited.yaml");
}

// Line (1-based) of the first occurrence of `needle` in the default config.
int line_of(const std::string& needle) {
    const std::string text = tsp_text();
    const auto pos = text.find(needle);
    REQUIRE(pos != std::string::npos);
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n'));
}

}  // namespace

TEST_CASE("tsp-v1 derived figures match hand calculations from the ISCA 2020 parameters") {
    const auto cfg = hw::load_hw_config(source_path("configs/tsp-v1.yaml"));
    const auto d = hw::derive(cfg);
    CHECK(d.clock_hz == 900e6);
    CHECK(d.lanes == 20 * 16);
    CHECK(d.mxm_macs_per_cycle_int8 == 4 * 320 * 320);                      // 409,600
    CHECK(d.peak_int8_ops_per_s == Approx(409600.0 * 2 * 900e6));           // 737.28 TOPS
    CHECK(d.peak_fp16_flops_per_s == Approx(409600.0 * 2 * 900e6 / 4));
    CHECK(d.sram_bytes == int64_t{88} * 20 * 8192 * 16);                    // 230,686,720
    CHECK(d.sram_bytes == 230686720);
    CHECK(d.sram_read_bytes_per_cycle == 88 * 2 * 320);                     // 56,320
    CHECK(d.sram_read_bytes_per_s == Approx(56320.0 * 900e6));
    CHECK(d.mxm_install_bytes_per_cycle == 10240);
    CHECK(d.mxm_full_install_cycles == Approx(4.0 * 320 * 320 / 10240));     // 40 cycles
    CHECK(d.vxm_alu_ops_per_cycle == 320 * 16);
    CHECK(d.c2c_link_bytes_per_s == Approx(4 * 25e9 / 8));                  // 12.5 GB/s per link
    CHECK(d.c2c_bytes_per_s == Approx(16 * 12.5e9 * 320 / 328));            // payload after framing
    CHECK(d.mem_if_bytes_per_s == 0);
    CHECK(d.chips == 1);
    CHECK(cfg.icu.sync_cycles == 35);
}

TEST_CASE("seed-lpu has one plane and an 80 GB/s memory interface as the seeds describe") {
    const auto d = hw::derive(hw::load_hw_config(source_path("configs/seed-lpu.yaml")));
    CHECK(d.mxm_macs_per_cycle_int8 == 320 * 320);
    CHECK(d.mem_if_bytes_per_s == Approx(80e9));
    CHECK(d.sram_bytes == 230686720);
}

TEST_CASE("an unknown key is reported at its line with its dotted path") {
    try {
        load_edited("  iw_cycles: 1", "  iw_cycles: 1\n  bogus_field: 3");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mxm.bogus_field");
        CHECK(e.where().line == line_of("  iw_cycles: 1") + 1);
        CHECK(e.where().column == 3);
        CHECK(std::string(e.what()).find("unknown key") != std::string::npos);
    }
}

TEST_CASE("a misspelt required key is reported as unknown with a suggestion") {
    try {
        load_edited("  planes: 4", "  planez: 4");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mxm.planez");
        CHECK(e.where().line == line_of("  planes: 4"));
        CHECK(std::string(e.what()).find("did you mean 'planes'") != std::string::npos);
    }
}

TEST_CASE("a wrong type names the field, the value and the expected type") {
    try {
        load_edited("  rows: 320", "  rows: abc");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mxm.rows");
        CHECK(e.where().line == line_of("  rows: 320"));
        CHECK(e.where().column == 9);
        const std::string msg = e.what();
        CHECK(msg.find("'abc'") != std::string::npos);
        CHECK(msg.find("an integer") != std::string::npos);
    }
    CHECK_THROWS_AS(load_edited("  weight_double_buffering: true", "  weight_double_buffering: 7"), InputError);
    CHECK_THROWS_AS(load_edited("  precisions: [int8, fp16]", "  precisions: int8"), InputError);
    CHECK_THROWS_AS(load_edited("clock:\n  frequency_MHz: 900", "clock: 900"), InputError);
}

TEST_CASE("a missing field is reported with its section") {
    try {
        load_edited("  cols: 320", "");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mxm.cols");
        CHECK(std::string(e.what()).find("(missing)") != std::string::npos);
    }
}

TEST_CASE("out-of-range values are rejected: zero, negative and absurd sizes") {
    CHECK_THROWS_AS(load_edited("  planes: 4", "  planes: 0"), InputError);
    CHECK_THROWS_AS(load_edited("  rows: 320", "  rows: -320"), InputError);
    CHECK_THROWS_AS(load_edited("  words_per_tile: 8192", "  words_per_tile: 99999999999999"), InputError);
    CHECK_THROWS_AS(load_edited("  frequency_MHz: 900", "  frequency_MHz: .nan"), InputError);
    CHECK_THROWS_AS(load_edited("  frequency_MHz: 900", "  frequency_MHz: 0"), InputError);
}

TEST_CASE("inconsistent values are rejected with the rule they break") {
    try {
        load_edited("  lanes_per_superlane: 16", "  lanes_per_superlane: 15");
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mem.word_bytes");
        CHECK(std::string(e.what()).find("lanes_per_superlane = 15") != std::string::npos);
    }
    CHECK_THROWS_AS(load_edited("  slices: 88", "  slices: 87"), InputError);        // hemispheres
    CHECK_THROWS_AS(load_edited("  flit_bytes: 328", "  flit_bytes: 300"), InputError); // framing
}

TEST_CASE("overrides with --set go through the same validation") {
    const std::string path = source_path("configs/tsp-v1.yaml");
    const auto cfg = hw::load_hw_config(path, {"mxm.planes=8", "mxm.install_bytes_per_cycle=20480", "clock.frequency_MHz=1000"});
    CHECK(cfg.mxm.planes == 8);
    CHECK(hw::derive(cfg).peak_int8_ops_per_s == Approx(8 * 320.0 * 320 * 2 * 1e9));
    try {
        hw::load_hw_config(path, {"mxm.planes=-1"});
        FAIL("expected an error");
    } catch (const InputError& e) {
        CHECK(e.field() == "mxm.planes");
        CHECK(e.where().file == "--set mxm.planes=-1");
    }
    CHECK_THROWS_AS(hw::load_hw_config(path, {"mxm.plane=8"}), InputError);     // unknown key
    CHECK_THROWS_AS(hw::load_hw_config(path, {"noequals"}), InputError);
    CHECK_THROWS_AS(hw::load_hw_config(path, {"clock.frequency_MHz.x=1"}), InputError);
}

TEST_CASE("malformed files: truncated, garbage, non-UTF-8, deep nesting, empty") {
    CHECK_THROWS_AS(hw::load_hw_config_text("mxm: [1, 2", "t.yaml"), InputError);
    CHECK_THROWS_AS(hw::load_hw_config_text(std::string("name: \xff\xfe x\n"), "t.yaml"), InputError);
    CHECK_THROWS_AS(hw::load_hw_config_text(std::string(5000, '['), "t.yaml"), InputError);
    CHECK_THROWS_AS(hw::load_hw_config_text("", "t.yaml"), InputError);
    CHECK_THROWS_AS(hw::load_hw_config_text("- a\n- b\n", "t.yaml"), InputError);
    CHECK_THROWS_AS(hw::load_hw_config("/nonexistent/x.yaml"), InputError);
    std::string text = tsp_text();
    CHECK_THROWS_AS(hw::load_hw_config_text(text.substr(0, text.size() / 2), "half.yaml"), InputError);
}

TEST_CASE("describe --json prints the issue's keys and figures") {
    const auto r = test::run_cli("describe --hw '" + source_path("configs/tsp-v1.yaml") + "' --json");
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("\"mxm_macs_per_cycle_int8\": 409600") != std::string::npos);
    CHECK(r.out.find("\"sram_bytes\": 230686720") != std::string::npos);
    CHECK(r.out.find("\"sram_read_bytes_per_cycle\": 56320") != std::string::npos);
    for (const char* key : {"clock_hz", "peak_int8_ops_per_s", "peak_fp16_flops_per_s", "sram_read_bytes_per_s",
                            "mxm_install_bytes_per_cycle", "c2c_bytes_per_s", "mem_if_bytes_per_s", "chips"})
        CHECK(r.out.find(std::string("\"") + key + "\"") != std::string::npos);
}

TEST_CASE("check-config exits 2 with the line for a broken file and 0 for a good one") {
    const std::string dir = test::scratch_dir("checkcfg");
    std::string text = tsp_text();
    text.replace(text.find("  rows: 320"), 11, "  rows: x  ");
    test::write_text(dir + "/bad.yaml", text);
    const auto bad = test::run_cli("check-config " + dir + "/bad.yaml");
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find(dir + "/bad.yaml:" + std::to_string(line_of("  rows: 320")) + ":9: mxm.rows") != std::string::npos);
    CHECK(test::run_cli("check-config " + source_path("configs/tsp-v1.yaml")).exit_code == 0);
    CHECK(test::run_cli("check-config " + source_path("configs/tsp-v1.yaml") + " --set mxm.rows=0").exit_code == 2);
    CHECK(test::run_cli("describe --hw " + source_path("configs/tsp-v1.yaml") + " --frobnicate").exit_code == 2);
    CHECK(test::run_cli("no-such-command").exit_code == 2);
    const auto help = test::run_cli("--help");
    CHECK(help.exit_code == 0);
    for (const char* c : {"describe", "check-config", "asm", "disasm"}) CHECK(help.out.find(c) != std::string::npos);
}
