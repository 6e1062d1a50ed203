// DMA between the memory interface and streams, through the chip's TLM-2.0 initiator socket.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "sim/engine.hpp"
#include "sim/memory_interface.hpp"

namespace lpu::sim {

uint64_t execute_dma(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    auto it = e.dma_of.find(chip.id);
    if (it == e.dma_of.end())
        program_error(e, q, ins, "unit", "dma", "a hardware config with a memory interface (memory_interface.kind is none)");
    MemoryInterface& mem = *e.memory_of.at(chip.id);
    const uint64_t addr = static_cast<uint64_t>(ins.operands[0]);
    const uint64_t n = static_cast<uint64_t>(ins.operands[1]);
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 vector");
    const uint64_t vb = static_cast<uint64_t>(e.vector_bytes);
    const uint64_t bytes = n * vb;
    const int pos = e.layout.centre();
    const bool load = ins.opcode == isa::Opcode::DmaLoad;
    StreamInput in;
    if (!load) in = e.read_stream(chip, isa::decode_stream(ins.operands[2]), n, pos, q, ins);
    if (load) e.acquire_output(chip, isa::decode_stream(ins.operands[2]), q);
    const uint64_t now = Engine::now();
    const uint64_t start = std::max({now, chip.dma_free, load ? now : in.first_arrival});
    chip.dma_free = start + 1;  // the engine issues one request per cycle; channels queue the rest

    Bytes buffer;
    if (e.options.functional) buffer = load ? Bytes(bytes, 0) : std::move(in.data);
    tlm::tlm_generic_payload t;
    t.set_command(load ? tlm::TLM_READ_COMMAND : tlm::TLM_WRITE_COMMAND);
    t.set_address(addr);
    t.set_data_length(static_cast<unsigned>(bytes));
    t.set_data_ptr(e.options.functional ? buffer.data() : nullptr);
    t.set_streaming_width(static_cast<unsigned>(bytes));
    t.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sc_core::sc_time delay(static_cast<double>(start - now), sc_core::SC_NS);
    it->second->socket->b_transport(t, delay);
    if (t.get_response_status() != tlm::TLM_OK_RESPONSE)
        program_error(e, q, ins, "addr", fmt::format("{:#x}+{} bytes", addr, bytes),
                      fmt::format("a range inside the memory's {} bytes", mem.config().capacity_bytes));
    uint64_t done = now + static_cast<uint64_t>(std::llround(delay.to_seconds() * 1e9));
    // A store cannot finish before its last vector arrived and crossed the interface.
    if (!load)
        done = std::max(done, in.last_arrival + 1 + static_cast<uint64_t>(std::ceil(static_cast<double>(vb) / mem.bytes_per_cycle())) +
                                  static_cast<uint64_t>(mem.config().latency_cycles));
    e.counters[chip.id].mem_if_bytes->add(static_cast<double>(bytes));
    r.bytes = static_cast<float>(bytes);
    r.level = Level::MemIf;
    r.start = start;
    r.busy = done - start;
    chip.last_activity = std::max(chip.last_activity, done);
    if (load) {
        // Data streams out at the interface's rate, finishing at `done`.
        const double per_cycle = mem.bytes_per_cycle() / static_cast<double>(vb);
        const double first = std::max(static_cast<double>(start + static_cast<uint64_t>(mem.config().latency_cycles)),
                                      static_cast<double>(done) - static_cast<double>(n - 1) / per_cycle);
        auto data = e.options.functional ? std::make_shared<Bytes>(std::move(buffer)) : nullptr;
        e.write_stream(chip, isa::decode_stream(ins.operands[2]), n, first, per_cycle, pos, ins.line, data, q);
    }
    return issue_slot();
}

}  // namespace lpu::sim
