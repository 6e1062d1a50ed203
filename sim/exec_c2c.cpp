// C2C links [TSP22]: a message of n vectors travels as n flits of flit_bytes (payload plus
// framing) at the link's line rate, then hop_latency_cycles per link crossed between the
// two chips (topology: system.*_hops). Contention on intermediate links is not modelled.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/engine.hpp"

namespace lpu::sim {

namespace {

int hops_between(const hw::SystemConfig& s, int a, int b) {
    const int node_a = a / s.chips_per_node, node_b = b / s.chips_per_node;
    if (node_a == node_b) return s.intra_node_hops;
    if (node_a / s.nodes_per_rack == node_b / s.nodes_per_rack) return s.inter_node_hops;
    return s.inter_rack_hops;
}

}  // namespace

uint64_t execute_c2c(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    using isa::Opcode;
    const auto& c = e.cfg.c2c;
    uint64_t& link_free = chip.link_free[q.index];
    const uint64_t now = Engine::now();
    if (ins.opcode == Opcode::Deskew) {
        const uint64_t start = std::max(now, link_free);
        link_free = start + static_cast<uint64_t>(c.deskew_cycles);
        r.start = start;
        r.busy = static_cast<uint64_t>(c.deskew_cycles);
        return issue_slot();
    }
    const int peer = static_cast<int>(ins.operands[0]);
    const uint64_t n = static_cast<uint64_t>(ins.operands[1]);
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 vector");
    if (peer >= e.cfg.system.chips || peer == chip.id)
        program_error(e, q, ins, "peer", std::to_string(peer),
                      fmt::format("another chip of the system (0..{}, not {})", e.cfg.system.chips - 1, chip.id));
    const bool peer_simulated = e.chips.count(peer) > 0;
    if (!peer_simulated && !e.options.mirror_unsimulated_peers)
        program_error(e, q, ins, "peer", std::to_string(peer), "a chip that has a program (.chip N) in this file");
    const double line_bytes_per_cycle = c.link_bytes_per_s() / e.cfg.clock_hz();
    const uint64_t vb = static_cast<uint64_t>(e.vector_bytes);
    const uint64_t flits = ceil_div(n * vb, static_cast<uint64_t>(c.flit_payload_bytes));
    const double wire_bytes = static_cast<double>(flits) * c.flit_bytes;
    const double flit_cycles = c.flit_bytes / line_bytes_per_cycle;
    const int pos = e.layout.centre();

    if (ins.opcode == Opcode::Send) {
        StreamInput in = e.read_stream(chip, isa::decode_stream(ins.operands[2]), n, pos, q, ins);
        const uint64_t start = std::max({now, in.first_arrival, link_free});
        const auto serial = static_cast<uint64_t>(std::ceil(wire_bytes / line_bytes_per_cycle));
        const uint64_t busy = std::max(serial, in.last_arrival + 1 > start ? in.last_arrival + 1 - start : 0);
        link_free = start + busy;
        const int hops = hops_between(e.cfg.system, chip.id, peer);
        Message m;
        m.vectors = n;
        m.first = static_cast<double>(start) + flit_cycles + static_cast<double>(hops) * c.hop_latency_cycles;
        m.interval = static_cast<double>(busy) / static_cast<double>(n);
        if (e.options.functional) m.data = std::make_shared<Bytes>(std::move(in.data));
        // A representative chip stands for its symmetric peers: what it sends to `peer`,
        // `peer` sends to it at the same time (docs/timing.md).
        Mailbox& box = peer_simulated ? e.mailboxes[{chip.id, peer}] : e.mailboxes[{peer, chip.id}];
        box.messages.push_back(std::move(m));
        box.posted.notify(sc_core::SC_ZERO_TIME);
        ChipCounters& k = e.counters[chip.id];
        k.c2c_bytes->add(static_cast<double>(n * vb));
        k.c2c_wire_bytes->add(wire_bytes);
        r.bytes = static_cast<float>(n * vb);
        r.level = Level::C2c;
        r.start = start;
        r.busy = busy;
        // the last vector reaches the peer at first + (n - 1) x interval
        chip.last_activity = std::max(chip.last_activity,
                                      static_cast<uint64_t>(std::ceil(m.first + static_cast<double>(n - 1) * m.interval)) + 1);
        return issue_slot();
    }
    // Receive
    Mailbox& box = e.mailboxes[{peer, chip.id}];
    while (box.messages.empty()) sc_core::wait(box.posted);
    Message m = std::move(box.messages.front());
    box.messages.pop_front();
    if (m.vectors != n)
        program_error(e, q, ins, "n", std::to_string(n), fmt::format("{} vectors, the size of the message chip {} sent", m.vectors, peer));
    e.acquire_output(chip, isa::decode_stream(ins.operands[2]), q);
    const uint64_t start = std::max(Engine::now(), static_cast<uint64_t>(std::ceil(m.first)));
    const auto busy = static_cast<uint64_t>(std::ceil(m.first + m.interval * static_cast<double>(n - 1))) + 1 - start;
    std::shared_ptr<const Bytes> data = m.data;
    e.write_stream(chip, isa::decode_stream(ins.operands[2]), n, m.first, 1.0 / m.interval, pos, ins.line, data, q);
    r.start = start;
    r.busy = busy;
    return issue_slot();
}

}  // namespace lpu::sim
