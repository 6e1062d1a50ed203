#include "sim/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/input_error.hpp"
#include "sim/memory_interface.hpp"

namespace lpu::sim {

using isa::Unit;

void program_error(const Engine& e, const isa::Queue& q, const isa::Instruction& ins, const std::string& field,
                   const std::string& value, const std::string& expected) {
    throw InputError({e.program_file, static_cast<int>(ins.line), 0},
                     fmt::format("chip {} {} {}: {}.{}", q.chip, isa::unit_name(q.unit), q.index,
                                 isa::spec(ins.opcode).mnemonic, field),
                     value, expected);
}

Engine::Engine(const hw::HwConfig& c, const isa::Program& p, EngineOptions o, StatsRegistry& s)
    : cfg(c), program(p), options(o), stats(s), layout(c), vector_bytes(c.vector_bytes()) {
    for (const auto& q : program.queues) {
        if (chips.count(static_cast<int>(q.chip))) continue;
        ChipState& chip = chips[static_cast<int>(q.chip)];
        chip.id = static_cast<int>(q.chip);
        chip.east = std::vector<StreamFifo>(static_cast<size_t>(cfg.streams.registers_per_direction));
        chip.west = std::vector<StreamFifo>(static_cast<size_t>(cfg.streams.registers_per_direction));
        chip.bank_slots.assign(static_cast<size_t>(cfg.mem.slices),
                               std::vector<std::vector<BankSlot>>(static_cast<size_t>(cfg.mem.banks_per_slice)));
        chip.sram.resize(static_cast<size_t>(cfg.mem.slices));
        chip.planes.resize(static_cast<size_t>(cfg.mxm.planes));
        for (auto& plane : chip.planes) {
            timing::MxmParams mp;
            mp.rows_per_cycle = timing::rows_per_cycle_from_install_bandwidth(cfg.mxm.install_bytes_per_cycle,
                                                                              cfg.mxm.planes, cfg.mxm.cols);
            mp.cycles_per_vector = 1;
            mp.weight_double_buffering = cfg.mxm.weight_double_buffering;
            mp.iw_cycles = cfg.mxm.iw_cycles;
            mp.accumulator_rows = cfg.mxm.accumulator_rows;
            mp.drain_vectors_per_cycle = cfg.mxm.acc_drain_vectors_per_cycle;
            plane.timeline = std::make_unique<timing::MxmTimeline>(timing::MxmGeometry{cfg.mxm.rows, cfg.mxm.cols}, mp);
        }
        chip.alu_free.assign(static_cast<size_t>(cfg.vxm.alus_per_lane), 0);
        chip.sxm_free.assign(static_cast<size_t>(cfg.sxm.units), 0);
        chip.link_free.assign(static_cast<size_t>(cfg.c2c.links), 0);

        const std::string pre = fmt::format("chip{}.", chip.id);
        ChipCounters& k = counters[chip.id];
        for (int u = 0; u < isa::kUnitCount; ++u) {
            const std::string un(isa::unit_name(static_cast<Unit>(u)));
            k.busy_cycles[u] = &stats.counter(pre + un + ".busy_cycles", "cycles",
                                              "cycles the " + un + " primary resources were held, summed over "
                                              "instances (docs/metrics.md)");
            k.instructions[u] = &stats.counter(pre + un + ".instructions", "instructions", "instructions executed");
        }
        k.macs_int8 = &stats.counter(pre + "mxm.macs_int8", "MACs", "int8 MACs on installed weights (rows x cols in use)");
        k.macs_fp16 = &stats.counter(pre + "mxm.macs_fp16", "MACs", "fp16 MACs on installed weights");
        k.mac_slots = &stats.counter(pre + "mxm.mac_slots", "MACs", "MAC slots swept (full array per vector)");
        k.sram_read_bytes = &stats.counter(pre + "bytes.sram_read", "bytes", "bytes read from MEM slices");
        k.sram_write_bytes = &stats.counter(pre + "bytes.sram_write", "bytes", "bytes written to MEM slices");
        k.stream_bytes = &stats.counter(pre + "bytes.stream", "bytes", "bytes consumed from streams");
        k.stream_hop_bytes = &stats.counter(pre + "bytes.stream_hops", "byte-hops", "bytes x slice hops travelled");
        k.install_bytes = &stats.counter(pre + "bytes.mxm_install", "bytes", "weight bytes installed into MXM planes");
        k.c2c_bytes = &stats.counter(pre + "bytes.c2c", "bytes", "payload bytes sent over C2C links");
        k.c2c_wire_bytes = &stats.counter(pre + "bytes.c2c_wire", "bytes", "framed bytes on C2C links");
        k.mem_if_bytes = &stats.counter(pre + "bytes.mem_if", "bytes", "bytes moved through the memory interface");
        k.vxm_lane_ops = &stats.counter(pre + "vxm.lane_ops", "ops", "ALU operations x lanes");
        k.sxm_bytes = &stats.counter(pre + "sxm.bytes", "bytes", "bytes moved by SXM ops");
        k.bank_conflicts = &stats.counter(pre + "mem.bank_conflicts", "events",
                                          "accesses delayed by an access of the other kind (read/write) on the same bank");
        k.bank_conflict_cycles = &stats.counter(pre + "mem.bank_conflict_cycles", "cycles", "cycles lost to bank conflicts");
        k.sync_wait_cycles = &stats.counter(pre + "icu.sync_wait_cycles", "cycles", "cycles queues waited in Sync");
        if (cfg.memory_interface.present()) {
            memory.push_back(std::make_unique<MemoryInterface>(
                sc_core::sc_module_name(fmt::format("mem_if_chip{}", chip.id).c_str()), cfg.memory_interface,
                options.functional, cfg.clock_hz()));
            dma.push_back(std::make_unique<DmaInitiator>(
                sc_core::sc_module_name(fmt::format("dma_chip{}", chip.id).c_str())));
            dma.back()->socket.bind(memory.back()->socket);
            dma_of[chip.id] = dma.back().get();
            memory_of[chip.id] = memory.back().get();
        }
    }
    categories.push_back("other");
    build_stream_turns();
}

namespace {

bool is_output_operand(std::string_view name) { return name == "out"; }

// Instructions inside a repeat body run several times; their queue must then be the only
// writer (reader) of the registers they use, since turns are counted statically.
std::vector<bool> in_repeat_body(const isa::Queue& q) {
    std::vector<bool> body(q.instructions.size(), false);
    for (size_t i = 0; i < q.instructions.size(); ++i)
        if (q.instructions[i].opcode == isa::Opcode::Repeat)
            for (auto j = static_cast<size_t>(q.instructions[i].operands[1]); j < i; ++j) body[j] = true;
    return body;
}

}  // namespace

void Engine::build_stream_turns() {
    struct Access {
        uint32_t line;
        size_t order;
        const isa::Queue* queue;
        bool repeated;
    };
    // per chip, direction, register: writers and readers in program text order
    std::map<std::tuple<int, bool, int>, std::pair<std::vector<Access>, std::vector<Access>>> uses;
    size_t order = 0;
    for (const auto& q : program.queues) {
        const auto body = in_repeat_body(q);
        for (size_t i = 0; i < q.instructions.size(); ++i) {
            const auto& ins = q.instructions[i];
            const auto& sp = isa::spec(ins.opcode);
            for (int k = 0; k < sp.operand_count; ++k) {
                if (sp.operands[k].kind != isa::OperandKind::Stream) continue;
                const isa::StreamRef s = isa::decode_stream(ins.operands[k]);
                for (int w = 0; w < s.width; ++w) {
                    auto& pair = uses[{static_cast<int>(q.chip), s.east, s.id + w}];
                    auto& list = is_output_operand(sp.operands[k].name) ? pair.first : pair.second;
                    list.push_back({ins.line, order++, &q, body[i]});
                }
            }
        }
    }
    auto segments = [&](std::vector<Access>& list, const char* role, int chip, bool east, int reg) {
        std::stable_sort(list.begin(), list.end(), [](const Access& a, const Access& b) { return a.line < b.line; });
        std::vector<TurnSegment> out;
        bool repeated = false;
        for (const auto& a : list) {
            repeated = repeated || a.repeated;
            if (!out.empty() && out.back().queue == a.queue)
                ++out.back().count;
            else
                out.push_back({a.queue, 1});
        }
        if (out.size() == 1) out[0].count = 0;  // a single queue: no turns to keep
        if (out.size() > 1 && repeated)
            throw InputError({program_file, static_cast<int>(list.front().line), 0},
                             fmt::format("chip {} stream s{}{}", chip, reg, east ? 'e' : 'w'),
                             fmt::format("{}s in several queues, one inside an icu.repeat body", role),
                             "a stream register used inside a repeat body to have a single writer and a single reader queue");
        return out;
    };
    for (auto& [key, pair] : uses) {
        const auto [chip_id, east, reg] = key;
        auto chip_it = chips.find(chip_id);
        if (chip_it == chips.end()) continue;
        auto& fifos = east ? chip_it->second.east : chip_it->second.west;
        if (reg >= static_cast<int>(fifos.size())) continue;  // reported when executed
        fifos[static_cast<size_t>(reg)].writers = segments(pair.first, "writer", chip_id, east, reg);
        fifos[static_cast<size_t>(reg)].readers = segments(pair.second, "reader", chip_id, east, reg);
    }
}

namespace {

// Waits for `q`'s turn in `segs`. The turn passes on only with advance_turn(), after the
// access happened: a writer that still waits for space keeps its turn, so the next writer
// cannot overtake it.
void wait_turn(StreamFifo& f, const std::vector<TurnSegment>& segs, const size_t& at, const isa::Queue& q) {
    if (segs.size() <= 1) return;  // one queue (or none known): program order is the order
    while (at < segs.size() && segs[at].queue != &q) sc_core::wait(f.turn);
}

void advance_turn(StreamFifo& f, const std::vector<TurnSegment>& segs, size_t& at, uint64_t& used) {
    if (segs.size() <= 1 || at >= segs.size()) return;
    if (++used == segs[at].count) {
        ++at;
        used = 0;
        f.turn.notify(sc_core::SC_ZERO_TIME);
    }
}

}  // namespace

void Engine::acquire_output(ChipState& chip, isa::StreamRef s, const isa::Queue& q) {
    auto& fifos = s.east ? chip.east : chip.west;
    for (int i = 0; i < s.width; ++i) {
        if (s.id + i >= static_cast<int>(fifos.size())) return;  // reported by write_stream
        StreamFifo& f = fifos[static_cast<size_t>(s.id + i)];
        wait_turn(f, f.writers, f.writer_at, q);
        while (f.bursts.size() >= kStreamDepth) sc_core::wait(f.popped);
    }
    // Every register of the group is ours and has space: take the turns together (no wait
    // between here and write_stream, so nobody can push in between).
    for (int i = 0; i < s.width && s.id + i < static_cast<int>(fifos.size()); ++i) {
        StreamFifo& f = fifos[static_cast<size_t>(s.id + i)];
        if (f.bursts.size() >= kStreamDepth || (f.writers.size() > 1 && f.writer_at < f.writers.size() &&
                                                f.writers[f.writer_at].queue != &q)) {
            acquire_output(chip, s, q);  // something changed while we waited on a later register
            return;
        }
    }
    for (int i = 0; i < s.width && s.id + i < static_cast<int>(fifos.size()); ++i) {
        StreamFifo& f = fifos[static_cast<size_t>(s.id + i)];
        advance_turn(f, f.writers, f.writer_at, f.writer_used);
    }
}

Engine::~Engine() = default;

bool holds_primary_resource(isa::Opcode op) {
    using isa::Opcode;
    switch (op) {
        case Opcode::Lw: case Opcode::Iw: case Opcode::Acc:  // MXM utilization is the array's (ABC)
        case Opcode::Recv:                                   // a link's busy time is its sending side
        case Opcode::DmaLoad: case Opcode::DmaStore:         // interface use is measured in bytes
        case Opcode::Nop: case Opcode::Repeat: case Opcode::Sync: case Opcode::Notify: case Opcode::Ifetch:
            return false;
        default: return true;
    }
}

int Engine::category_id(const std::string& name) {
    for (size_t i = 0; i < categories.size(); ++i)
        if (categories[i] == name) return static_cast<int>(i);
    categories.push_back(name);
    return static_cast<int>(categories.size() - 1);
}

uint64_t Engine::now() { return sc_core::sc_time_stamp().value() / 1000; }  // 1 cycle = 1 ns = 1000 ps

void Engine::wait_until(uint64_t cycle) {
    const uint64_t t = now();
    if (cycle > t) sc_core::wait(sc_core::sc_time(static_cast<double>(cycle - t), sc_core::SC_NS));
}

StreamInput Engine::read_stream(ChipState& chip, isa::StreamRef s, uint64_t vectors, int position,
                                const isa::Queue& q, const isa::Instruction& ins) {
    auto& fifos = s.east ? chip.east : chip.west;
    if (s.id + s.width > static_cast<int>(fifos.size()))
        program_error(*this, q, ins, "stream", fmt::format("s{}{}:{}", s.id, s.east ? 'e' : 'w', s.width),
                      fmt::format("stream registers below {}", fifos.size()));
    StreamInput in;
    in.vectors = vectors;
    if (options.functional) in.data.assign(vectors * static_cast<uint64_t>(vector_bytes), 0);
    bool any = false;
    for (int i = 0; i < s.width; ++i) {
        // Stream id+i carries vectors i, i+width, i+2*width, ...
        uint64_t need = vectors > static_cast<uint64_t>(i) ? (vectors - static_cast<uint64_t>(i) + s.width - 1) / s.width : 0;
        uint64_t taken = 0;
        StreamFifo& f = fifos[static_cast<size_t>(s.id + i)];
        if (need > 0) wait_turn(f, f.readers, f.reader_at, q);
        bool first_of_register = true;
        while (taken < need) {
            while (f.bursts.empty()) sc_core::wait(f.pushed);
            Burst& b = f.bursts.front();
            const int hops = std::abs(position - b.position);
            if ((s.east && position < b.position) || (!s.east && position > b.position))
                program_error(*this, q, ins, "stream", fmt::format("s{}{}", s.id + i, s.east ? 'e' : 'w'),
                              fmt::format("a consumer {} of its producer (line {}): {} streams flow {}",
                                          s.east ? "east" : "west", b.line, s.east ? "eastward" : "westward",
                                          s.east ? "east" : "west"));
            const uint64_t take = std::min(need - taken, b.vectors);
            const double hop_cycles = static_cast<double>(hops) * cfg.streams.hop_cycles;
            const auto first = static_cast<uint64_t>(std::ceil(b.first + hop_cycles));
            const auto last = static_cast<uint64_t>(std::ceil(b.first + static_cast<double>(take - 1) * b.interval + hop_cycles));
            // Ready when every register's first vector is there (later bursts of the same
            // register only bound the end, through last_arrival).
            if (first_of_register && (!any || first > in.first_arrival)) in.first_arrival = first;
            first_of_register = false;
            in.last_arrival = std::max(in.last_arrival, last);
            any = true;
            in.hops += static_cast<uint64_t>(hops) * take;
            if (options.functional && b.data) {
                for (uint64_t k = 0; k < take; ++k) {
                    const uint64_t dst = static_cast<uint64_t>(i) + (taken + k) * s.width;
                    std::copy_n(b.data->begin() + static_cast<long>((b.data_offset + k) * vector_bytes), vector_bytes,
                                in.data.begin() + static_cast<long>(dst * vector_bytes));
                }
            }
            taken += take;
            if (take == b.vectors) {
                f.bursts.pop_front();
                f.popped.notify(sc_core::SC_ZERO_TIME);
            } else {
                b.vectors -= take;
                b.first += static_cast<double>(take) * b.interval;
                b.data_offset += take;
            }
        }
        if (need > 0) advance_turn(f, f.readers, f.reader_at, f.reader_used);
    }
    ChipCounters& k = counters[chip.id];
    k.stream_bytes->add(static_cast<double>(vectors * vector_bytes));
    k.stream_hop_bytes->add(static_cast<double>(in.hops * vector_bytes));
    return in;
}

void Engine::write_stream(ChipState& chip, isa::StreamRef s, uint64_t vectors, double first, double vectors_per_cycle,
                          int position, uint32_t line, std::shared_ptr<const Bytes> data, const isa::Queue&) {
    auto& fifos = s.east ? chip.east : chip.west;
    vectors_per_cycle = std::min(vectors_per_cycle, static_cast<double>(s.width));  // one vector per register per cycle
    if (s.id + s.width > static_cast<int>(fifos.size()))
        throw InputError({program_file, static_cast<int>(line), 0}, "out",
                         fmt::format("s{}{}:{}", s.id, s.east ? 'e' : 'w', s.width),
                         fmt::format("stream registers below {}", fifos.size()));
    for (int i = 0; i < s.width; ++i) {
        const uint64_t count =
            vectors > static_cast<uint64_t>(i) ? (vectors - static_cast<uint64_t>(i) + s.width - 1) / s.width : 0;
        if (count == 0) continue;
        Burst b;
        b.vectors = count;
        b.first = first + std::floor(i / vectors_per_cycle);
        b.interval = s.width / vectors_per_cycle;
        b.position = position;
        b.line = line;
        if (data) {
            if (s.width == 1) {
                b.data = data;
            } else {
                auto part = std::make_shared<Bytes>(count * static_cast<uint64_t>(vector_bytes));
                for (uint64_t k = 0; k < count; ++k)
                    std::copy_n(data->begin() + static_cast<long>((static_cast<uint64_t>(i) + k * s.width) * vector_bytes),
                                vector_bytes, part->begin() + static_cast<long>(k * vector_bytes));
                b.data = std::move(part);
            }
        }
        StreamFifo& f = fifos[static_cast<size_t>(s.id + i)];
        f.bursts.push_back(std::move(b));
        f.pushed.notify(sc_core::SC_ZERO_TIME);
    }
}

void Engine::record(const ExecRecord& r, const isa::Queue& q, const isa::Instruction& ins, uint64_t n) {
    ChipCounters& k = counters[static_cast<int>(r.chip)];
    const int u = static_cast<int>(r.unit);
    if (holds_primary_resource(r.opcode)) k.busy_cycles[u]->add(static_cast<double>(r.busy));
    k.instructions[u]->add(1);
    records.push_back(r);
    if (options.progress && (records.size() & 0x3fff) == 0) options.progress(records.size());
    uint64_t& done = queue_done[&q];
    done = std::max(done, r.start + r.busy);
    ChipState& chip = chips[static_cast<int>(r.chip)];
    chip.last_activity = std::max(chip.last_activity, r.start + r.busy);
    if (options.trace && options.trace->wants(static_cast<int>(r.chip), r.layer, r.start)) {
        TraceSpan s;
        s.chip = static_cast<int>(r.chip);
        s.track = layout.instance_name(q.unit, static_cast<int>(q.index));
        s.unit = q.unit;
        s.instance = static_cast<int>(q.index);
        if (ins.opcode == isa::Opcode::Send || ins.opcode == isa::Opcode::Recv) s.peer = static_cast<int>(ins.operands[0]);
        s.name = std::string(isa::spec(ins.opcode).mnemonic);
        s.category = categories[r.category];
        s.layer = r.layer;
        s.start_cycle = r.start;
        s.duration_cycles = std::max<uint64_t>(r.busy, 1);
        s.line = ins.line;
        s.n = n;
        options.trace->span(s);
    }
}

uint64_t execute(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, int category, int layer) {
    ExecRecord r;
    r.chip = static_cast<uint32_t>(chip.id);
    r.unit = isa::spec(ins.opcode).unit == Unit::Icu ? Unit::Icu : q.unit;
    r.instance = static_cast<uint16_t>(q.index);
    r.category = static_cast<uint16_t>(category);
    r.layer = static_cast<int16_t>(layer);
    r.opcode = ins.opcode;
    r.start = Engine::now();
    uint64_t next = 0;
    switch (isa::spec(ins.opcode).unit) {
        case Unit::Icu: next = execute_icu(e, chip, q, ins, r); break;
        case Unit::Mem: next = execute_mem(e, chip, q, ins, r); break;
        case Unit::Mxm: next = execute_mxm(e, chip, q, ins, r); break;
        case Unit::Vxm: next = execute_vxm(e, chip, q, ins, r); break;
        case Unit::Sxm: next = execute_sxm(e, chip, q, ins, r); break;
        case Unit::C2c: next = execute_c2c(e, chip, q, ins, r); break;
        case Unit::Dma: next = execute_dma(e, chip, q, ins, r); break;
    }
    uint64_t n = 0;
    for (int k = 0; k < isa::spec(ins.opcode).operand_count; ++k)
        if (isa::spec(ins.opcode).operands[k].name == "n") n = static_cast<uint64_t>(ins.operands[k]);
    e.record(r, q, ins, n);
    return next;
}

uint64_t execute_icu(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    using isa::Opcode;
    const uint64_t now = Engine::now();
    switch (ins.opcode) {
        case Opcode::Nop:
            r.busy = static_cast<uint64_t>(ins.operands[0]);
            return now + r.busy;
        case Opcode::Ifetch:
            r.busy = ceil_div(static_cast<uint64_t>(ins.operands[0]), static_cast<uint64_t>(e.cfg.icu.ifetch_words_per_cycle));
            return now + r.busy;
        case Opcode::Notify: {
            // A notify is a fence: it signals once this queue's earlier instructions completed.
            SyncPoint& sp = chip.sync[static_cast<uint64_t>(ins.operands[0])];
            const uint64_t at = std::max(now, e.queue_done[&q]);
            r.start = at;
            sp.notify_cycles.push_back(at + static_cast<uint64_t>(e.cfg.icu.notify_cycles));
            sp.notified.notify(sc_core::SC_ZERO_TIME);
            r.busy = static_cast<uint64_t>(e.cfg.icu.notify_cycles);
            return at + std::max<uint64_t>(r.busy, 1);
        }
        default: break;
    }
    return now + 1;
}

}  // namespace lpu::sim
