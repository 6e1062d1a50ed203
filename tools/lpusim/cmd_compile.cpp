// compile: lower a workload and write the per-chip assembly, in emission order so that the
// text re-assembles into the same program (stream-register turns follow text order).
#include <fmt/format.h>

#include <map>

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "common/staging_dir.hpp"
#include "isa/disassembler.hpp"
#include "tools/lpusim/commands.hpp"
#include "tools/lpusim/workload_run.hpp"

namespace po = boost::program_options;

namespace lpu::cli {

namespace {

// One instruction's canonical text, via the disassembler of a one-instruction program.
std::string instruction_text(const isa::Queue& q, const isa::Instruction& ins) {
    isa::Program p;
    isa::Queue one;
    one.chip = q.chip;
    one.unit = q.unit;
    one.index = q.index;
    one.instructions.push_back(ins);
    p.queues.push_back(one);
    const std::string text = isa::disassemble(p);
    const auto pos = text.rfind("\n    ");
    return text.substr(pos + 1);
}

}  // namespace

std::map<int, std::string> per_chip_assembly(const wl::CompiledWorkload& c, const std::string& title) {
    struct Item {
        uint32_t line;
        size_t queue;
        size_t index;
    };
    std::vector<Item> items;
    for (size_t qi = 0; qi < c.program.queues.size(); ++qi)
        for (size_t i = 0; i < c.program.queues[qi].instructions.size(); ++i)
            items.push_back({c.program.queues[qi].instructions[i].line, qi, i});
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.line < b.line; });
    std::map<int, std::string> out;
    std::map<int, size_t> current_queue;
    for (const Item& it : items) {
        const isa::Queue& q = c.program.queues[it.queue];
        std::string& text = out[static_cast<int>(q.chip)];
        if (text.empty()) text = fmt::format("; {}\n; chip {}: compiled by lpusim; instructions in emission order\n.chip {}\n", title, q.chip, q.chip);
        auto cur = current_queue.find(static_cast<int>(q.chip));
        if (cur == current_queue.end() || cur->second != it.queue) {
            text += fmt::format(".queue {} {}\n", isa::unit_name(q.unit), q.index);
            current_queue[static_cast<int>(q.chip)] = it.queue;
        }
        std::string comment;
        if (it.queue < c.tags.size() && it.index < c.tags[it.queue].size()) {
            const wl::InstrTag& t = c.tags[it.queue][it.index];
            const std::string& name = c.categories[t.category];
            comment = t.layer >= 0 ? fmt::format("  ; {} layer {}", name, t.layer) : fmt::format("  ; {}", name);
        }
        text += instruction_text(q, q.instructions[it.index]);
        if (!text.empty() && text.back() == '\n') text.pop_back();
        text += comment + "\n";
    }
    return out;
}

int cmd_compile(const Args& args) {
    po::options_description opts("compile options");
    std::string hw, workload, out, models;
    std::vector<std::string> sets, wsets;
    opts.add_options()("hw", po::value(&hw)->required(), "hardware config YAML")(
        "set", po::value(&sets)->composing(), "override a hardware field (repeatable)")(
        "workload", po::value(&workload)->required(), "workload YAML")(
        "wset", po::value(&wsets)->composing(), "override a workload field (repeatable)")(
        "models-dir", po::value(&models), "where bundled models live")(
        "full-system", "give every chip a program instead of one representative per stage")(
        "out", po::value(&out)->required(), "output directory: chip<N>.lpuasm per simulated chip");
    po::variables_map vm;
    if (!parse_args("compile", args, opts, {}, vm)) return 0;
    const hw::HwConfig cfg = hw::load_hw_config(hw, sets);
    const wl::Workload w = wl::load_workload(workload, wsets, models.empty() ? models_dir() : models);
    wl::CompileOptions co;
    co.full_system = vm.count("full-system") > 0;
    const wl::CompiledWorkload c = wl::compile(cfg, w, co);
    StagingDir stage(out, "--out");  // the chip files appear together, or not at all
    size_t total = 0;
    for (const auto& q : c.program.queues) total += q.instructions.size();
    try {
        for (const auto& [chip, text] : per_chip_assembly(c, workload))
            write_file_atomic(fmt::format("{}/chip{}.lpuasm", stage.path(), chip), text);
    } catch (const OutputError& e) {
        throw OutputError(unstaged_paths(e.what()));  // name --out, not the staging directory
    }
    stage.commit_directory();
    for (const auto& note : c.notes) fmt::print("{}\n", note);
    fmt::print("wrote {} chip program(s), {} instructions, to {}\n", c.simulated_chips.size(), total, out);
    return 0;
}

}  // namespace lpu::cli
