// MEM slice instructions. A slice has banks_per_slice banks (contiguous address halves);
// each bank serves one vector access per cycle [TSP20 sec. 3.3]. Accesses to a busy bank
// wait: that is a bank conflict, counted with the cycles lost.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "sim/engine.hpp"

namespace lpu::sim {

namespace {

struct BankAccess {
    int bank;
    uint64_t lo, hi;  // the vectors it may touch (gather/scatter: the whole bank)
};

BankAccess check_range(const Engine& e, const isa::Queue& q, const isa::Instruction& ins, uint64_t addr, uint64_t n,
                       bool gathered) {
    const uint64_t words = static_cast<uint64_t>(e.cfg.mem.vectors_per_slice());
    const uint64_t per_bank = words / static_cast<uint64_t>(e.cfg.mem.banks_per_slice);
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 vector");
    if (addr >= words || addr + n > words)
        program_error(e, q, ins, "addr", fmt::format("{:#x}+{}", addr, n),
                      fmt::format("a range inside the slice's {} vectors", words));
    if (addr / per_bank != (addr + n - 1) / per_bank)
        program_error(e, q, ins, "addr", fmt::format("{:#x}+{}", addr, n),
                      fmt::format("a range inside one bank ({} vectors per bank)", per_bank));
    const int bank = static_cast<int>(addr / per_bank);
    if (gathered) return {bank, bank * per_bank, (bank + 1) * per_bank};
    return {bank, addr, addr + n};
}

// Start time for an access of `busy` cycles to vectors [lo, hi) of `bank`, no earlier than
// `ready`; counts conflicts. The bank is a calendar, not a cursor: an access takes the
// earliest gap of the bank from `ready` on, so a read that is ready now does not wait
// behind a write queued before it whose data comes later — the order a static schedule
// gives them (docs/timing.md sec. 3). Accesses that touch common addresses, one of them a
// write, keep program order: the later one starts after the earlier one ends.
// A conflict is a read delayed by a write on its bank (or a write by a read); accesses of
// the same kind queueing behind each other are ordinary queueing.
uint64_t claim_bank(Engine& e, ChipState& chip, int slice, int bank, uint64_t ready, uint64_t busy, bool write,
                    uint64_t lo, uint64_t hi) {
    std::vector<BankSlot>& slots = chip.bank_slots[static_cast<size_t>(slice)][static_cast<size_t>(bank)];
    const uint64_t now = Engine::now();
    // Only this slice's queue uses the bank and its `ready` never precedes its issue time:
    // accesses that ended by now cannot matter any more.
    slots.erase(std::remove_if(slots.begin(), slots.end(), [&](const BankSlot& b) { return b.end <= now; }), slots.end());
    uint64_t earliest = ready;
    for (const BankSlot& b : slots)
        if ((write || b.write) && b.lo < hi && lo < b.hi) earliest = std::max(earliest, b.end);
    uint64_t start = earliest;
    const BankSlot* pushed_by = nullptr;  // the access whose end decided the start
    for (const BankSlot& b : slots) {     // sorted by start
        if (b.end <= start) continue;
        if (b.start >= start + busy) break;
        start = b.end;
        pushed_by = &b;
    }
    if (pushed_by != nullptr && pushed_by->write != write && start > ready) {
        ChipCounters& k = e.counters[chip.id];
        k.bank_conflicts->add(1);
        k.bank_conflict_cycles->add(static_cast<double>(start - std::max(ready, pushed_by->start)));
    }
    const BankSlot mine{start, start + busy, lo, hi, write};
    slots.insert(std::upper_bound(slots.begin(), slots.end(), mine,
                                  [](const BankSlot& a, const BankSlot& b) { return a.start < b.start; }),
                 mine);
    return start;
}

Bytes& slice_data(Engine& e, ChipState& chip, int slice) {
    Bytes& d = chip.sram[static_cast<size_t>(slice)];
    if (d.empty()) d.assign(static_cast<size_t>(e.cfg.mem.slice_bytes()), 0);
    return d;
}

// Offsets for gather/scatter: the first 4 bytes (little-endian int32) of each index vector.
uint64_t index_of(const Bytes& idx, uint64_t j, int vector_bytes) {
    int32_t v = 0;
    std::memcpy(&v, idx.data() + j * static_cast<uint64_t>(vector_bytes), sizeof v);
    return static_cast<uint64_t>(std::max(v, 0));
}

}  // namespace

uint64_t execute_mem(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    using isa::Opcode;
    const int slice = static_cast<int>(q.index);
    const int pos = e.layout.position(isa::Unit::Mem, slice);
    const uint64_t addr = static_cast<uint64_t>(ins.operands[0]);
    const uint64_t n = static_cast<uint64_t>(ins.operands[1]);
    const uint64_t vb = static_cast<uint64_t>(e.vector_bytes);
    ChipCounters& k = e.counters[chip.id];
    const uint64_t now = Engine::now();
    const bool gathered = ins.opcode == Opcode::Gather || ins.opcode == Opcode::Scatter;
    StreamInput idx;
    if (gathered) idx = e.read_stream(chip, isa::decode_stream(ins.operands[2]), n, pos, q, ins);
    const BankAccess acc = check_range(e, q, ins, addr, gathered ? 1 : n, gathered);
    auto target = [&](uint64_t j) {
        const uint64_t a = gathered ? addr + (e.options.functional ? index_of(idx.data, j, e.vector_bytes) : 0) : addr + j;
        if (a >= static_cast<uint64_t>(e.cfg.mem.vectors_per_slice()))
            program_error(e, q, ins, "idx", std::to_string(a), "addresses inside the slice");
        return a;
    };

    if (ins.opcode == Opcode::Read || ins.opcode == Opcode::Gather) {
        const isa::StreamRef out = isa::decode_stream(ins.operands[gathered ? 3 : 2]);
        e.acquire_output(chip, out, q);
        const uint64_t ready = std::max(Engine::now(), gathered ? idx.first_arrival : now);
        const uint64_t start = claim_bank(e, chip, slice, acc.bank, ready, n, false, acc.lo, acc.hi);
        r.start = start;
        r.busy = n;
        std::shared_ptr<Bytes> data;
        if (e.options.functional) {
            Bytes& sram = slice_data(e, chip, slice);
            data = std::make_shared<Bytes>(n * vb);
            for (uint64_t j = 0; j < n; ++j)
                std::copy_n(sram.begin() + static_cast<long>(target(j) * vb), vb, data->begin() + static_cast<long>(j * vb));
        }
        e.write_stream(chip, out, n, static_cast<double>(start + static_cast<uint64_t>(e.cfg.mem.read_latency_cycles)),
                       1.0, pos, ins.line, data, q);
        k.sram_read_bytes->add(static_cast<double>(n * vb));
        r.bytes = static_cast<float>(n * vb);
        r.level = Level::Sram;
        return issue_slot();
    }
    // Write / Scatter: consume the stream as it arrives, one vector per cycle.
    const isa::StreamRef in_ref = isa::decode_stream(ins.operands[gathered ? 3 : 2]);
    StreamInput in = e.read_stream(chip, in_ref, n, pos, q, ins);
    const uint64_t ready = std::max({now, in.first_arrival, gathered ? idx.first_arrival : 0});
    const uint64_t busy = std::max<uint64_t>(n, in.last_arrival + 1 > ready ? in.last_arrival + 1 - ready : 0);
    const uint64_t start = claim_bank(e, chip, slice, acc.bank, ready, busy, true, acc.lo, acc.hi);
    r.start = start;
    r.busy = busy;
    if (e.options.functional) {
        Bytes& sram = slice_data(e, chip, slice);
        for (uint64_t j = 0; j < n; ++j)
            std::copy_n(in.data.begin() + static_cast<long>(j * vb), vb, sram.begin() + static_cast<long>(target(j) * vb));
    }
    k.sram_write_bytes->add(static_cast<double>(n * vb));
    r.bytes = static_cast<float>(n * vb);
    r.level = Level::Sram;
    chip.last_activity = std::max(chip.last_activity, start + busy + static_cast<uint64_t>(e.cfg.mem.write_latency_cycles));
    return issue_slot();
}

}  // namespace lpu::sim
