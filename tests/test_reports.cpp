// Run reports (breakdown, roofline, utilization, power, plots, report.html): checked
// against hand counts of small programs, against the run's own metrics where a report must
// agree with them by definition, and for determinism and offline viewing.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "cli_helpers.hpp"
#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "hw/config.hpp"
#include "hw/derived.hpp"
#include "isa/assembler.hpp"
#include "sim/engine.hpp"
#include "sim/simulation.hpp"
#include "tools/report/breakdown.hpp"
#include "tools/report/csv.hpp"
#include "tools/report/metrics.hpp"
#include "tools/report/plots.hpp"
#include "tools/report/power.hpp"
#include "tools/report/roofline.hpp"
#include "tools/report/run_report.hpp"
#include "tools/report/utilization.hpp"

using namespace lpu;
using lpu::test::scratch_dir;
using lpu::test::slurp;
using lpu::test::source_path;

namespace {

// The example GEMM: [8x320] x [320x320] int8 on plane 0 (see the file's comments).
std::string gemm_text() {
    return slurp(source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm"));
}

// Two chips, every unit kind busy on chip 0: the GEMM, a VXM add, an SXM shift and a C2C
// message to chip 1, which writes it to SRAM. Positions (sim/layout.hpp, 88 slices): west
// slice i at 45 - i, east slice i at 3 + i, VXM and C2C at 46, SXM 0 at 1, MXM 0 at 0.
std::string multi_unit_text() {
    return gemm_text() + R"(
.queue mem 44
    mem.read addr=0 n=8 out=s10w
.queue mem 45
    mem.read addr=0 n=8 out=s11w
.queue vxm 0
    vxm.add n=8 a=s10w b=s11w out=s12e type=int8
.queue mem 46
    mem.write addr=0 n=8 in=s12e
.queue mem 47
    mem.read addr=0 n=4 out=s13w
.queue c2c 0
    c2c.send peer=1 n=4 in=s13w
.queue mem 30
    mem.read addr=0 n=4 out=s14w
.queue sxm 0
    sxm.shift n=4 in=s14w out=s14e amount=1
.queue mem 31
    mem.write addr=0 n=4 in=s14e
.chip 1
.queue c2c 0
    c2c.recv peer=0 n=4 out=s0e
.queue mem 50
    mem.write addr=0 n=4 in=s0e
)";
}

hw::HwConfig tsp(int chips = 1) {
    return hw::load_hw_config(source_path("configs/tsp-v1.yaml"), {fmt::format("system.chips={}", chips)});
}

sim::SimResult run(const hw::HwConfig& cfg, const std::string& text, const std::string& tag_first_queues = "",
                   size_t queues = 0) {
    sim::SimOptions o;
    o.program_file = "test.lpuasm";
    const isa::Program program = isa::assemble(text, "test.lpuasm");
    // Optionally tag every instruction of the first `queues` queues as one category, layer 0,
    // as the compiler tags a layer's operation with its reads and writes.
    if (queues > 0) o.category_names = {tag_first_queues};
    for (size_t q = 0; q < queues && q < program.queues.size(); ++q)
        o.tags.emplace_back(program.queues[q].instructions.size(), sim::SimOptions::Tag{0, 0});
    return sim::simulate(cfg, program, o);
}

const report::BreakdownRow& row_of(const report::Breakdown& b, const std::string& category) {
    for (const auto& r : b.rows)
        if (r.category == category && !r.layer) return r;
    FAIL("no breakdown row " << category);
    throw std::logic_error("unreachable");
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

}  // namespace

TEST_CASE("union_cycles measures the union of intervals exactly", "[reports]") {
    CHECK(report::union_cycles({}) == 0);
    CHECK(report::union_cycles({{0, 10}}) == 10);
    CHECK(report::union_cycles({{5, 10}, {0, 3}}) == 8);              // disjoint, unsorted
    CHECK(report::union_cycles({{0, 10}, {5, 15}, {12, 20}}) == 20);  // chained overlaps
    CHECK(report::union_cycles({{0, 10}, {2, 4}, {10, 12}}) == 12);   // nested, touching
    CHECK(report::union_cycles({{7, 7}, {3, 3}}) == 0);               // empty intervals
}

TEST_CASE("Time buckets cover the run with whole-cycle edges", "[reports]") {
    const auto b = report::make_buckets(10, 4);
    REQUIRE(b.size() == 4);
    CHECK(b.edges == std::vector<uint64_t>{0, 2, 5, 7, 10});
    CHECK(report::make_buckets(3, 200).size() == 3);  // never shorter than a cycle
    CHECK(report::make_buckets(0, 200).size() == 0);
    const auto big = report::make_buckets(uint64_t{1} << 62, 7);  // no overflow in the edges
    CHECK(big.edges.back() == uint64_t{1} << 62);
    size_t hits = 0;
    b.for_overlaps(1, 6, [&](size_t bucket, uint64_t overlap) {
        hits += overlap;
        CHECK(bucket <= 2);
    });
    CHECK(hits == 5);
}

TEST_CASE("The breakdown of the example GEMM matches a hand count", "[reports]") {
    const auto cfg = tsp();
    const auto r = run(cfg, gemm_text());
    const auto b = report::compute_breakdown(r);

    // memory: 9 reads (8 x 40 weight rows + 8 activation rows) and one write of 32 vectors.
    const auto& memory = row_of(b, "memory");
    CHECK(memory.instructions == 10);
    CHECK(memory.bytes[0] == (8 * 40 + 8 + 32) * 320.0);
    CHECK(memory.ops == 0);
    // weight_install: lw + iw, 320 x 320 int8 weights.
    const auto& install = row_of(b, "weight_install");
    CHECK(install.instructions == 2);
    CHECK(install.bytes[2] == 320.0 * 320);
    // matmul: abc + acc; 8 x 320 x 320 MACs; 8 vectors in, 32 int32 vectors out.
    const auto& matmul = row_of(b, "matmul");
    CHECK(matmul.instructions == 2);
    CHECK(matmul.macs == 8.0 * 320 * 320);
    CHECK(matmul.ops == 2 * matmul.macs);
    CHECK(matmul.bytes[1] == (8 + 32) * 320.0);

    // Every record is in exactly one "all" row, and no row outlasts the run.
    uint64_t busy = 0;
    for (const auto& rec : *r.records) busy += rec.busy;
    uint64_t row_busy = 0, row_instructions = 0;
    for (const auto& row : b.rows) {
        CHECK(row.active_cycles <= r.cycles);
        if (row.idle) continue;
        CHECK(row.active_cycles <= row.busy_cycles);
        CHECK(row.share_of_time ==
              Approx(static_cast<double>(row.active_cycles) / static_cast<double>(r.cycles)));
        REQUIRE_FALSE(row.layer);  // hand-written programs carry no layer tags
        row_busy += row.busy_cycles;
        row_instructions += row.instructions;
    }
    CHECK(row_busy == busy);
    CHECK(row_instructions == r.records->size());
    CHECK(b.rows.back().idle);

    const std::string csv = report::breakdown_csv(b);
    CHECK(
        csv.rfind("category,layer,instructions,busy_cycles,active_cycles,share_of_time,ops,macs,bytes_sram,",
                  0) == 0);
    CHECK(csv.find("\nmatmul,all,2,") != std::string::npos);
    const std::string table = report::breakdown_table(r);
    CHECK(table.find("matmul") != std::string::npos);
    CHECK(table.find("idle") != std::string::npos);
}

TEST_CASE("No roofline point of a simulated run lies above its roof", "[reports]") {
    const auto cfg = tsp(2);
    // The GEMM's 11 queues (its reads, weight install, matmul and write) tagged "gemm", layer 0.
    const auto r = run(cfg, multi_unit_text(), "gemm", 11);
    const auto points = report::compute_roofline(cfg, report::compute_breakdown(r));
    const auto roofs = report::config_roofs(cfg);
    CHECK(report::roofline_violations(points, roofs).empty());

    const auto d = hw::derive(cfg);
    bool saw_gemm = false, saw_vector = false;
    for (const auto& p : points) {
        if (p.category == "gemm") {
            saw_gemm = true;
            // 8 x 320 x 320 MACs; SRAM: 9 reads (328 vectors) and a write of 32; install:
            // 320 x 320 weights; streams: 8 vectors into the array, 32 out.
            const double ops = 2.0 * 8 * 320 * 320, sram = (328 + 32) * 320.0, install = 320.0 * 320;
            CHECK(p.compute_roof == "mxm_int8");
            CHECK(p.bandwidth_roof == "sram+mxm_install");
            CHECK(p.memory_intensity_ops_per_byte == Approx(ops / (sram + install)));
            CHECK(p.intensity_ops_per_byte == Approx(ops / (sram + install + (8 + 32) * 320.0)));
            const double bandwidth = d.sram_read_bytes_per_s + d.mxm_install_bytes_per_s;
            CHECK(p.roof_ops_per_s ==
                  Approx(std::min(d.peak_int8_ops_per_s, bandwidth * ops / (sram + install))));
            CHECK(p.achieved_ops_per_s > 0);
        }
        if (p.category == "vector") {
            saw_vector = true;
            CHECK(p.compute_roof == "vxm");
            CHECK(p.ops == 8.0 * 320);  // one ALU op per lane per row
        }
        if (p.ops == 0) CHECK(p.bound == "none");
    }
    CHECK(saw_gemm);
    CHECK(saw_vector);
    // Layer-tagged categories get a point per layer too.
    CHECK(std::count_if(points.begin(), points.end(), [](const auto& p) { return p.category == "gemm"; }) ==
          2);
    // Roofs come from the config: MXM int8 2 x 4 x 320 x 320 x 900 MHz; SRAM one vector per
    // bank per cycle: 88 x 2 x 320 B x 900 MHz.
    bool saw_sram = false;
    for (const auto& roof : roofs) {
        if (roof.name == "mxm_int8") CHECK(roof.value == Approx(2.0 * 4 * 320 * 320 * 900e6));
        if (roof.name == "sram") {
            saw_sram = true;
            CHECK(roof.value == Approx(88.0 * 2 * 320 * 900e6));
            CHECK(roof.ridge_ops_per_byte == Approx(2.0 * 4 * 320 * 320 / (88.0 * 2 * 320)));
        }
    }
    CHECK(saw_sram);
}

TEST_CASE("The roofline check flags points above their compute or bandwidth roof", "[reports]") {
    const auto cfg = tsp();
    sim::SimResult r;
    r.cycles = 100;
    r.categories = {"too_fast_mxm", "too_fast_sram", "legal_vxm"};
    r.records = std::make_shared<std::vector<sim::ExecRecord>>();
    auto add = [&](uint16_t category, isa::Unit unit, isa::Opcode op, float ops, float bytes,
                   sim::Level level) {
        sim::ExecRecord rec;
        rec.category = category;
        rec.unit = unit;
        rec.opcode = op;
        rec.ops = ops;
        rec.bytes = bytes;
        rec.level = level;
        rec.start = 10;
        rec.busy = 1;
        r.records->push_back(rec);
    };
    // 1e9 ops in one cycle: 9e17 ops/s, far above the MXM's 7.4e14.
    add(0, isa::Unit::Mxm, isa::Opcode::Abc, 1e9f, 320, sim::Level::Stream);
    // 320 lane ops on 1e9 SRAM bytes in one cycle: under the VXM peak, far above SRAM x intensity.
    add(1, isa::Unit::Vxm, isa::Opcode::Add, 320, 1e9f, sim::Level::Sram);
    // 320 lane ops in one cycle on one ALU: within every roof.
    add(2, isa::Unit::Vxm, isa::Opcode::Add, 320, 960, sim::Level::Stream);
    const auto points = report::compute_roofline(cfg, report::compute_breakdown(r));
    const auto v = report::roofline_violations(points, report::config_roofs(cfg));
    REQUIRE(v.size() == 2);
    CHECK(v[0].find("too_fast_mxm") != std::string::npos);
    CHECK(v[1].find("too_fast_sram") != std::string::npos);
    for (const auto& p : points)
        if (p.category == "too_fast_sram") CHECK(p.bound == "bandwidth");
}

TEST_CASE("Utilization over time averages to the run's utilization per unit kind", "[reports]") {
    const auto cfg = tsp(2);
    const auto r = run(cfg, multi_unit_text());
    const auto m = report::compute_metrics(cfg, r);
    for (int buckets : {1, 7, 200, 1000000}) {  // uneven buckets; more buckets than cycles
        const auto u = report::compute_utilization(cfg, r, report::make_buckets(r.cycles, buckets));
        CHECK(u.chips == std::vector<int>{0, 1});
        const auto avg = report::average_utilization(u);
        for (const char* kind : report::kUnitKindNames) {
            INFO(kind << " with " << buckets << " buckets");
            CHECK(avg.at(kind) == Approx(m.utilization.at(kind)).epsilon(1e-9).margin(1e-15));
            CHECK(m.utilization.at(kind) > 0);  // every kind was exercised
        }
        double lo = 0, hi = 0;
        for (const auto& per_chip : u.busy_fraction)
            for (const auto& series : per_chip)
                for (double f : series) lo = std::min(lo, f), hi = std::max(hi, f);
        CHECK(lo >= 0);
        CHECK(hi <= 1 + 1e-12);
    }
}

TEST_CASE("Power over time adds up to the run's energy", "[reports]") {
    const auto cfg = tsp(2);
    const auto r = run(cfg, multi_unit_text());
    const auto m = report::compute_metrics(cfg, r);
    const auto p = report::compute_power(cfg, r, report::make_buckets(r.cycles, 37));
    CHECK(p.total_J() == Approx(m.energy.total_J()).epsilon(1e-9));
    // Per component, summed over chips and buckets.
    for (size_t k = 0; k < report::kEnergyComponents; ++k) {
        double sum = 0;
        for (const auto& chip : p.dynamic_J)
            for (double j : chip[k]) sum += j;
        INFO(report::kEnergyComponentNames[k]);
        CHECK(sum ==
              Approx(m.energy.dynamic_J.at(report::kEnergyComponentNames[k])).epsilon(1e-9).margin(1e-30));
    }
    // Static power: 55 W for the whole run on each of the 2 chips.
    double static_J = 0;
    for (const auto& chip : p.static_J)
        for (double j : chip) static_J += j;
    CHECK(static_J == Approx(55.0 * 2 * static_cast<double>(r.cycles) / 900e6));
    // Hand count of chip 0's MAC energy: 8 x 320 x 320 int8 MACs x mac_int8_pJ, all of it in the
    // buckets the ABC ran in, none in chip 1.
    double mac0 = 0, mac1 = 0;
    for (double j : p.dynamic_J[0][0]) mac0 += j;
    for (double j : p.dynamic_J[1][0]) mac1 += j;
    CHECK(mac0 == Approx(8.0 * 320 * 320 * cfg.energy.mac_int8_pJ * 1e-12));
    CHECK(mac1 == 0);
}

TEST_CASE("The run reports are complete and self-contained and byte-identical across runs", "[reports]") {
    const auto cfg = tsp(2);
    const auto r = run(cfg, multi_unit_text());
    const auto m = report::compute_metrics(cfg, r);
    nlohmann::ordered_json summary = report::metrics_json(m);
    summary["program"] = "multi-unit";
    const std::string a = scratch_dir("reports-a"), b = scratch_dir("reports-b");
    for (const auto& dir : {a, b}) {
        write_file_atomic(dir + "/summary.json", summary.dump(2) + "\n");
        report::write_run_reports(dir, {cfg, r, m, summary});
    }
    const std::vector<std::string> files = {
        "breakdown.csv", "roofline.csv", "roofline_roofs.csv", "utilization.csv", "power.csv",
        "breakdown.gp",  "roofline.gp",  "utilization.gp",     "power.gp",        "report.html"};
    for (const auto& f : files) {
        INFO(f);
        REQUIRE(exists(a + "/" + f));
        CHECK(slurp(a + "/" + f) == slurp(b + "/" + f));
    }
    const std::string html = slurp(a + "/report.html");
    CHECK(html.find("<table>") != std::string::npos);
    CHECK(html.find("matmul") != std::string::npos);
    CHECK(html.find("multi-unit") != std::string::npos);  // from summary.json
    // Offline: no URL, no script, nothing loaded from elsewhere.
    CHECK(html.find("http") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=") == std::string::npos);
    // No file is left half-written or temporary.
    for (const auto& e : std::filesystem::directory_iterator(a))
        CHECK(e.path().filename().string().find(".tmp") == std::string::npos);

    if (report::find_gnuplot().empty()) {
        WARN("gnuplot not installed: plots not checked");
        CHECK(html.find("plots unavailable: gnuplot not found") != std::string::npos);
        return;
    }
    // Two chips: the pipeline view (which chip is busy when) is drawn too.
    for (const char* plot : {"roofline", "utilization", "power", "breakdown", "pipeline"}) {
        INFO(plot);
        const std::string svg = slurp(a + "/" + plot + ".svg");
        CHECK(svg.find("<svg") != std::string::npos);
        CHECK(svg == slurp(b + "/" + plot + ".svg"));
        CHECK(html.find(fmt::format("id=\"{}-gnuplot_canvas\"", plot)) != std::string::npos);
    }
    size_t svgs = 0;
    for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) ++svgs;
    CHECK(svgs == 5);
    // Ids are unique across the inlined plots.
    std::set<std::string> ids;
    const std::regex id_re(" id=['\"]([^'\"]+)['\"]");
    for (auto it = std::sregex_iterator(html.begin(), html.end(), id_re); it != std::sregex_iterator(); ++it)
        CHECK(ids.insert((*it)[1].str()).second);

    // `lpusim report` regenerates the same page and plots from the files alone.
    std::filesystem::remove(a + "/report.html");
    std::filesystem::remove(a + "/roofline.svg");
    report::regenerate_report(a);
    CHECK(slurp(a + "/report.html") == slurp(b + "/report.html"));
    CHECK(slurp(a + "/roofline.svg") == slurp(b + "/roofline.svg"));
}

TEST_CASE("Without gnuplot the reports are written with a note instead of plots", "[reports]") {
    const auto cfg = tsp();
    const auto r = run(cfg, gemm_text());
    const auto m = report::compute_metrics(cfg, r);
    const std::string dir = scratch_dir("reports-no-gnuplot");
    report::RunReportInputs in{cfg, r, m, report::metrics_json(m)};
    in.render.gnuplot = "/nonexistent/gnuplot";
    report::write_run_reports(dir, in);
    const std::string html = slurp(dir + "/report.html");
    CHECK(html.find("plots unavailable: gnuplot not found") != std::string::npos);
    CHECK(html.find("<svg") == std::string::npos);
    CHECK(exists(dir + "/power.csv"));
    CHECK(exists(dir + "/roofline.gp"));  // the scripts are still there to render later
    CHECK_FALSE(exists(dir + "/roofline.svg"));
}

TEST_CASE("lpusim report names the missing or garbled file and writes nothing", "[reports]") {
    const auto cfg = tsp();
    const auto r = run(cfg, gemm_text());
    const auto m = report::compute_metrics(cfg, r);
    const auto summary = report::metrics_json(m);
    const std::string dir = scratch_dir("reports-garbled");
    write_file_atomic(dir + "/summary.json", summary.dump(2));
    report::write_run_reports(dir, {cfg, r, m, summary, 50, {"/nonexistent/gnuplot"}});
    const std::string good_breakdown = slurp(dir + "/breakdown.csv");
    auto message = [&] {
        try {
            report::regenerate_report(dir, {"/nonexistent/gnuplot"});
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message() == "no error");

    std::filesystem::remove(dir + "/report.html");
    std::filesystem::rename(dir + "/power.csv", dir + "/power.moved");
    CHECK(message().find("power.csv") != std::string::npos);
    CHECK_FALSE(exists(dir + "/report.html"));
    std::filesystem::rename(dir + "/power.moved", dir + "/power.csv");

    write_file_atomic(dir + "/breakdown.csv",
                      std::regex_replace(good_breakdown, std::regex(",all,2,"), ",all,two,"));
    std::string e = message();
    CHECK(e.find("breakdown.csv") != std::string::npos);
    CHECK(e.find("instructions") != std::string::npos);  // the column
    CHECK(e.find("two") != std::string::npos);
    CHECK_FALSE(exists(dir + "/report.html"));

    write_file_atomic(dir + "/breakdown.csv", "category,layer\nmatmul,all\n");  // columns missing
    e = message();
    CHECK(e.find("breakdown.csv") != std::string::npos);
    write_file_atomic(dir + "/breakdown.csv", good_breakdown);

    write_file_atomic(dir + "/summary.json", "{\"hw\": ");
    CHECK(message().find("summary.json") != std::string::npos);
    CHECK_FALSE(exists(dir + "/report.html"));
}

TEST_CASE("report.html renders offline in headless Chromium with its plots", "[reports][chromium]") {
    const std::string chromium = "/usr/bin/chromium";
    if (::access(chromium.c_str(), X_OK) != 0) {
        WARN("chromium not installed (Debian package chromium): render test skipped");
        return;
    }
    if (report::find_gnuplot().empty()) {
        WARN("gnuplot not installed: render test skipped");
        return;
    }
    const auto cfg = tsp();
    const auto r = run(cfg, gemm_text());
    const auto m = report::compute_metrics(cfg, r);
    const std::string dir = scratch_dir("reports-chromium");
    report::write_run_reports(dir, {cfg, r, m, report::metrics_json(m)});
    const std::string profile = scratch_dir("reports-chromium-profile");
    const std::string dom = dir + "/dom.html";
    // `timeout`: a browser that hangs must fail the test, not stall the suite.
    const std::string cmd =
        "timeout 120 " + chromium +
        " --headless --no-sandbox --disable-dev-shm-usage --disable-gpu --disable-quic --no-first-run"
        " --disable-background-networking --disable-component-update --disable-sync"
        " --user-data-dir=" +
        profile + " --dump-dom 'file://" + dir + "/report.html' > " + dom + " 2>/dev/null";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string text = slurp(dom);
    size_t svgs = 0;
    for (size_t at = text.find("<svg"); at != std::string::npos; at = text.find("<svg", at + 1)) ++svgs;
    CHECK(svgs == 4);
    CHECK(text.find("roofline-gnuplot_canvas") != std::string::npos);
    CHECK(text.find("Per-operation breakdown") != std::string::npos);
    std::filesystem::remove_all(profile);
}

TEST_CASE("Reports of a run without instructions are written without failing", "[reports]") {
    const auto cfg = tsp();
    const auto r = run(cfg, ".chip 0\n.queue mem 0\n");
    REQUIRE(r.cycles == 0);
    const auto m = report::compute_metrics(cfg, r);
    const std::string dir = scratch_dir("reports-empty");
    report::write_run_reports(dir, {cfg, r, m, report::metrics_json(m)});
    CHECK(slurp(dir + "/utilization.csv").find('\n') ==
          slurp(dir + "/utilization.csv").size() - 1);  // header only
    CHECK(exists(dir + "/report.html"));
    if (!report::find_gnuplot().empty())
        CHECK(slurp(dir + "/power.svg").find("no data") != std::string::npos);
    CHECK_THROWS_AS(report::write_run_reports(dir, {cfg, r, m, report::metrics_json(m), 0}), InputError);
}

TEST_CASE("lpusim report re-renders a run directory and rejects a missing one", "[reports][cli]") {
    if (lpu::test::run_cli("--help").out.find("  report ") == std::string::npos) {
        WARN("lpusim has no report command registered yet: CLI test skipped");
        return;
    }
    const std::string dir = scratch_dir("reports-cli");
    const auto ran =
        lpu::test::run_cli("run --hw '" + source_path("configs/tsp-v1.yaml") + "' --program '" +
                           source_path("workloads/examples/programs/gemm-8x320x320-int8.lpuasm") +
                           "' --trace off --out '" + dir + "'");
    REQUIRE(ran.exit_code == 0);
    CHECK(ran.out.find("matmul") != std::string::npos);  // the breakdown table
    REQUIRE(exists(dir + "/report.html"));
    const std::string before = slurp(dir + "/report.html");
    std::filesystem::remove(dir + "/report.html");
    const auto again = lpu::test::run_cli("report '" + dir + "'");
    CHECK(again.exit_code == 0);
    CHECK(slurp(dir + "/report.html") == before);
    const auto missing = lpu::test::run_cli("report '" + dir + "/nonexistent'");
    CHECK(missing.exit_code == 2);
    CHECK(missing.err.find("summary.json") != std::string::npos);
}
