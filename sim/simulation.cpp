#include "sim/simulation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>

#ifdef __has_include
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif

#include "common/atomic_file.hpp"
#include "common/input_error.hpp"
#include "sim/engine.hpp"

// SystemC's library defines main() and calls sc_main(); lpusim has its own main, so this
// symbol only satisfies the linker.
int sc_main(int, char**) { return 0; }

namespace lpu::sim {

namespace {

// AddressSanitizer builds: a throw on a SystemC coroutine stack unwinds frames whose redzones
// ASan does not clear (it does not know that stack; sim/asan_systemc.hpp), and the next
// calls made from the catch handler (sc_stop's report) land on that stale poison: a false
// stack-buffer-overflow, found by fuzz_simulate_program. Clear the region below the handler's
// frame, where the unwound frames were. No effect in other builds.
#if defined(__SANITIZE_ADDRESS__)
#define LPUSIM_SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPUSIM_SIM_ASAN 1
#endif
#endif
#ifdef LPUSIM_SIM_ASAN
__attribute__((noinline)) void forget_unwound_frames(void* handler_frame) {
    constexpr size_t kUnwoundBytes = 64 * 1024;  // well within a SystemC thread stack (320 KiB)
    __asan_unpoison_memory_region(static_cast<char*>(handler_frame) - kUnwoundBytes, kUnwoundBytes);
}
#else
void forget_unwound_frames(void*) {}
#endif

using isa::Opcode;

// The instruction after Repeat `ins` at `pc`: back to its block while repeats are left
// (`left` holds them per Repeat of the queue), else the next one.
uint32_t after_repeat(std::map<uint32_t, uint64_t>& left, uint32_t pc, const isa::Instruction& ins) {
    auto [it, fresh] = left.try_emplace(pc, static_cast<uint64_t>(ins.operands[0]));
    if (it->second > 0) {
        --it->second;
        return static_cast<uint32_t>(ins.operands[1]);
    }
    left.erase(it);
    return pc + 1;
}

// One ICU queue: a thread issuing its instructions in order.
class QueueThread : public sc_core::sc_module {
public:
    SC_HAS_PROCESS(QueueThread);
    QueueThread(sc_core::sc_module_name name, Engine& e, ChipState& chip, const isa::Queue& q,
                std::vector<int> categories, std::vector<int> layers)
        : sc_core::sc_module(name), e_(e), chip_(chip), q_(q), categories_(std::move(categories)),
          layers_(std::move(layers)) {
        SC_THREAD(run);
    }

    bool finished = false;
    uint32_t pc = 0;

private:
    void run() {
        try {
            run_queue();
        } catch (...) {
            forget_unwound_frames(__builtin_frame_address(0));
            // SystemC would wrap the exception in its own report; keep it and stop the kernel,
            // simulate() rethrows it unchanged.
            if (e_.failure) return;  // the kernel is already stopping (a second sc_stop warns on stdout)
            e_.failure = std::current_exception();
            sc_core::sc_stop();
        }
    }

    void run_queue() {
        std::map<uint32_t, uint64_t> repeats_left;  // per Repeat instruction index
        std::map<uint64_t, size_t> syncs_done;      // per sync id: how many this queue passed
        const auto& prog = q_.instructions;
        while (pc < prog.size()) {
            const isa::Instruction& ins = prog[pc];
            if (ins.opcode == Opcode::Repeat) {
                pc = after_repeat(repeats_left, pc, ins);
                Engine::wait_until(Engine::now() + 1);  // one issue slot
                continue;
            }
            if (ins.opcode == Opcode::Sync) {
                size_t& done = syncs_done[static_cast<uint64_t>(ins.operands[0])];
                done += static_cast<size_t>(ins.operands[1]);
                sync(ins, done);
                ++pc;
                continue;
            }
            const uint64_t next = execute(e_, chip_, q_, ins, categories_[pc], layers_[pc]);
            Engine::wait_until(next);
            ++pc;
        }
        finished = true;
    }

    // Waits until `needed` notifies on the id have happened (this queue's running total of
    // counts), then pays sync_cycles once. count 0 is a no-op barrier.
    void sync(const isa::Instruction& ins, size_t needed) {
        SyncPoint& sp = chip_.sync[static_cast<uint64_t>(ins.operands[0])];
        const uint64_t arrived = Engine::now();
        // Released when `needed` notifies have fired. A notify issued later may fire earlier
        // (after a shorter fence), so wait for the earliest candidate and re-check whenever
        // another notify is issued in between.
        uint64_t last_notify = 0;
        while (needed > 0) {
            while (sp.notify_cycles.size() < needed) sc_core::wait(sp.notified);
            std::vector<uint64_t> fired(sp.notify_cycles);
            std::nth_element(fired.begin(), fired.begin() + static_cast<long>(needed - 1), fired.end());
            last_notify = fired[needed - 1];
            const uint64_t now = Engine::now();
            if (last_notify <= now) break;
            sc_core::wait(sc_core::sc_time(static_cast<double>(last_notify - now), sc_core::SC_NS), sp.notified);
        }
        const uint64_t release = std::max(arrived, last_notify) + static_cast<uint64_t>(e_.cfg.icu.sync_cycles);
        e_.counters[chip_.id].sync_wait_cycles->add(static_cast<double>(release - arrived));
        ExecRecord r;
        r.chip = static_cast<uint32_t>(chip_.id);
        r.unit = isa::Unit::Icu;
        r.instance = static_cast<uint16_t>(q_.index);
        r.category = static_cast<uint16_t>(categories_[pc]);
        r.layer = static_cast<int16_t>(layers_[pc]);
        r.opcode = Opcode::Sync;
        r.start = arrived;
        r.busy = release - arrived;
        e_.record(r, q_, ins, 0);
        Engine::wait_until(release);
    }

    Engine& e_;
    ChipState& chip_;
    const isa::Queue& q_;
    std::vector<int> categories_;
    std::vector<int> layers_;
};

void validate_placement(const hw::HwConfig& cfg, const isa::Program& program, const std::string& file) {
    const Layout layout(cfg);
    std::set<std::tuple<uint32_t, isa::Unit, uint32_t>> seen;
    std::map<uint32_t, int> queues_per_chip;
    for (const auto& q : program.queues) {
        // the .queue directive's line when the program came from text, else its first instruction's
        const int line = q.line > 0 ? static_cast<int>(q.line) : q.instructions.empty() ? 0 : static_cast<int>(q.instructions.front().line);
        if (q.chip >= static_cast<uint32_t>(cfg.system.chips))
            throw InputError({file, line, 0}, ".chip", std::to_string(q.chip),
                             fmt::format("a chip index below system.chips = {}", cfg.system.chips));
        const int count = layout.count(q.unit);
        if (q.index >= static_cast<uint32_t>(count))
            throw InputError({file, line, 0}, ".queue", fmt::format("{} {}", isa::unit_name(q.unit), q.index),
                             fmt::format("an index below {} ({} instances in this config)", count, isa::unit_name(q.unit)));
        if (!seen.insert({q.chip, q.unit, q.index}).second)
            throw InputError({file, line, 0}, ".queue", fmt::format("{} {}", isa::unit_name(q.unit), q.index),
                             "each queue once per chip");
        if (++queues_per_chip[q.chip] > cfg.icu.queues)
            throw InputError({file, line, 0}, ".queue", fmt::format("queue {} on chip {}", queues_per_chip[q.chip], q.chip),
                             fmt::format("at most icu.queues = {} queues per chip", cfg.icu.queues));
    }
}

}  // namespace

std::string default_category(isa::Opcode op) {
    switch (op) {
        case Opcode::Lw: case Opcode::Iw: return "weight_install";
        case Opcode::Abc: case Opcode::Acc: return "matmul";
        case Opcode::Unpack: return "unpack";
        case Opcode::Dequant: case Opcode::DequantZ: return "dequant";
        case Opcode::Send: case Opcode::Recv: case Opcode::Deskew: return "c2c";
        case Opcode::DmaLoad: case Opcode::DmaStore: return "memory_interface";
        case Opcode::Sync: case Opcode::Notify: case Opcode::Nop: case Opcode::Repeat: case Opcode::Ifetch: return "sync";
        case Opcode::Read: case Opcode::Write: case Opcode::Gather: case Opcode::Scatter: return "memory";
        case Opcode::Shift: case Opcode::Rotate: case Opcode::Permute: case Opcode::Distribute: case Opcode::Transpose:
            return "shuffle";
        default: return "vector";
    }
}

std::vector<uint8_t> SimResult::read_sram(int chip, int slice, uint64_t addr, uint64_t n, int vector_bytes) const {
    std::vector<uint8_t> out(n * static_cast<uint64_t>(vector_bytes), 0);
    auto it = sram.find(chip);
    if (it == sram.end() || static_cast<size_t>(slice) >= it->second.size()) return out;
    const auto& s = it->second[static_cast<size_t>(slice)];
    if (s.empty()) return out;
    std::copy_n(s.begin() + static_cast<long>(addr * static_cast<uint64_t>(vector_bytes)), out.size(), out.begin());
    return out;
}

namespace {

uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
uint64_t sat_mul(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b; }

// prefix[k]: dynamic instructions of instructions [0, k) each reached once in program
// order. A repeat at p with target t and count c runs the block [t, p) c more times (and,
// when `count_repeats`, itself c + 1 times); inner loops restart on each pass, so a pass
// costs the same. Saturates at 2^64 - 1.
uint64_t queue_dynamic_instructions(const isa::Queue& q, bool count_repeats) {
    std::vector<uint64_t> prefix(q.instructions.size() + 1, 0);
    for (size_t p = 0; p < q.instructions.size(); ++p) {
        const isa::Instruction& ins = q.instructions[p];
        uint64_t cost = 1;
        if (ins.opcode == Opcode::Repeat) {
            const uint64_t c = static_cast<uint64_t>(ins.operands[0]);
            const uint64_t t = static_cast<uint64_t>(ins.operands[1]);
            const uint64_t passes = sat_mul(c, t <= p ? prefix[p] - prefix[t] : 0);
            cost = count_repeats ? sat_add(sat_add(c, 1), passes) : passes;
        }
        prefix[p + 1] = sat_add(prefix[p], cost);
    }
    return prefix.back();
}

}  // namespace

uint64_t dynamic_instructions(const isa::Queue& q) { return queue_dynamic_instructions(q, true); }

namespace {

// Each queue is a SystemC thread with its own stack, one memory mapping plus a guard page;
// Linux gives a process ~65,000 mappings (vm.max_map_count), and SystemC fails with "stack
// setup failed" beyond them after minutes of elaboration.
constexpr size_t kMaxQueueThreads = 30000;

// Refuses, before anything is elaborated, a program that would run longer than the bound.
void check_instruction_bound(const isa::Program& program, const SimOptions& options) {
    if (program.queues.size() > kMaxQueueThreads)
        throw SimulationError(fmt::format(
            "{}: the program has {} instruction queues; at most {} can be simulated (each is a thread with its own "
            "stack): simulate fewer chips",
            options.program_file, program.queues.size(), kMaxQueueThreads));
    uint64_t total = 0;
    for (const auto& q : program.queues) {
        total = sat_add(total, dynamic_instructions(q));
        if (total <= options.max_instructions) continue;
        int line = q.line > 0 ? static_cast<int>(q.line) : 0;
        for (const auto& ins : q.instructions)
            if (ins.opcode == Opcode::Repeat && ins.line > 0) {
                line = static_cast<int>(ins.line);
                break;
            }
        throw SimulationError(fmt::format(
            "{}: the program would run {} dynamic instructions (chip {} {} {} and the queues before it), more than "
            "--max-instructions = {}; lower the icu.repeat counts or raise --max-instructions",
            format_location({options.program_file, line, 0}),
            total == UINT64_MAX ? std::string("more than 2^64") : std::to_string(total), q.chip, isa::unit_name(q.unit),
            q.index, options.max_instructions));
    }
}

}  // namespace

// What the queues execute and record, Repeat instructions excluded (the progress line's total).
uint64_t dynamic_instructions(const isa::Program& program) {
    uint64_t total = 0;
    for (const auto& q : program.queues) total = sat_add(total, queue_dynamic_instructions(q, false));
    return total;
}

SimResult simulate(const hw::HwConfig& cfg, const isa::Program& program, const SimOptions& options) {
    validate_placement(cfg, program, options.program_file);
    check_instruction_bound(program, options);
    const auto wall_start = std::chrono::steady_clock::now();
    ::setenv("SYSC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
    // A fresh kernel per run: SystemC cannot elaborate after a simulation has started.
    sc_core::sc_curr_simcontext = new sc_core::sc_simcontext();
    sc_core::sc_default_global_context = sc_core::sc_curr_simcontext;

    SimResult result;
    result.stats = std::make_shared<StatsRegistry>();
    std::unique_ptr<TraceSink> trace = options.trace_path.empty()
                                           ? make_null_trace()
                                           : make_perfetto_trace(options.trace_path, cfg.clock_hz(), options.trace_limits);
    EngineOptions eo;
    eo.functional = options.functional;
    eo.trace = trace.get();
    eo.mirror_unsimulated_peers = options.mirror_unsimulated_peers;
    eo.progress = options.progress;
    auto engine = std::make_unique<Engine>(cfg, program, eo, *result.stats);
    engine->program_file = options.program_file;

    for (const auto& init : options.sram_init) {
        auto chip = engine->chips.find(init.chip);
        if (chip == engine->chips.end() || init.slice < 0 || init.slice >= cfg.mem.slices) continue;
        auto& data = chip->second.sram[static_cast<size_t>(init.slice)];
        if (data.empty()) data.assign(static_cast<size_t>(cfg.mem.slice_bytes()), 0);
        const uint64_t at = init.addr * static_cast<uint64_t>(cfg.vector_bytes());
        if (at + init.bytes.size() > data.size())
            throw InputError({options.program_file, 0, 0}, "sram_init", std::to_string(init.addr), "an address inside the slice");
        std::copy(init.bytes.begin(), init.bytes.end(), data.begin() + static_cast<long>(at));
    }
    std::vector<std::unique_ptr<QueueThread>> threads;
    std::vector<int> tag_ids;  // options.category_names index -> engine category index
    for (const auto& name : options.category_names) tag_ids.push_back(engine->category_id(name));
    for (size_t qi = 0; qi < program.queues.size(); ++qi) {
        const auto& q = program.queues[qi];
        std::vector<int> cats(q.instructions.size()), layers(q.instructions.size(), -1);
        for (uint32_t i = 0; i < q.instructions.size(); ++i) {
            const SimOptions::Tag* tag =
                qi < options.tags.size() && i < options.tags[qi].size() && options.tags[qi][i].category < tag_ids.size()
                    ? &options.tags[qi][i]
                    : nullptr;
            // Waiting in a sync is idle time, whatever operation it precedes.
            const bool waits = q.instructions[i].opcode == isa::Opcode::Sync;
            cats[i] = tag && !waits ? tag_ids[tag->category] : engine->category_id(default_category(q.instructions[i].opcode));
            layers[i] = tag ? tag->layer : -1;
        }
        result.instructions += q.instructions.size();
        const std::string name = fmt::format("chip{}_{}{}", q.chip, isa::unit_name(q.unit), q.index);
        threads.push_back(std::make_unique<QueueThread>(sc_core::sc_module_name(name.c_str()), *engine,
                                                        engine->chips.at(static_cast<int>(q.chip)), q, std::move(cats),
                                                        std::move(layers)));
    }
    sc_core::sc_trace_file* vcd = nullptr;
    if (!options.vcd_path.empty()) {
        vcd = sc_core::sc_create_vcd_trace_file((options.vcd_path + ".tmp").c_str());
        vcd->set_time_unit(1, sc_core::SC_NS);  // one cycle
        for (size_t qi = 0; qi < threads.size(); ++qi) sc_core::sc_trace(vcd, threads[qi]->pc, threads[qi]->basename());
    }
    // An error ends the run with one message on stderr (lpusim main); SystemC's own
    // "Info: Simulation stopped by user." on stdout would be a second one.
    sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
    sc_core::sc_start();
    if (vcd) {
        sc_core::sc_close_vcd_trace_file(vcd);
        // SystemC stamps the wall-clock date into the header; drop it so the same inputs
        // give the same bytes.
        const std::string tmp = options.vcd_path + ".tmp.vcd";
        std::string text = read_file(tmp);
        const auto d0 = text.find("$date"), d1 = text.find("$end", d0 == std::string::npos ? 0 : d0);
        if (d0 != std::string::npos && d1 != std::string::npos) text.erase(d0, d1 + 4 - d0);
        write_file_atomic(options.vcd_path, text);
        std::remove(tmp.c_str());
    }
    if (engine->failure) std::rethrow_exception(engine->failure);

    for (size_t qi = 0; qi < threads.size(); ++qi) {
        if (threads[qi]->finished) continue;
        const auto& q = program.queues[qi];
        const auto& ins = q.instructions[threads[qi]->pc];
        throw InputError({options.program_file, static_cast<int>(ins.line), 0},
                         fmt::format("chip {} {} {}: {}", q.chip, isa::unit_name(q.unit), q.index, isa::spec(ins.opcode).mnemonic),
                         "waits forever",
                         "a program without deadlock: every stream read, receive and sync needs a matching "
                         "write, send or notify");
    }
    for (auto& [id, chip] : engine->chips) {
        result.chip_cycles[id] = chip.last_activity;
        result.cycles = std::max(result.cycles, chip.last_activity);
        if (options.functional) result.sram[id] = std::move(chip.sram);
    }
    result.seconds = static_cast<double>(result.cycles) / cfg.clock_hz();
    result.categories = engine->categories;
    result.records = std::make_shared<std::vector<ExecRecord>>(std::move(engine->records));
    // Not finished here: the caller adds counters and writes it, only after a successful run.
    if (!options.trace_path.empty()) result.trace = std::move(trace);
    trace.reset();
    threads.clear();
    engine.reset();
    result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    return result;
}

}  // namespace lpu::sim
