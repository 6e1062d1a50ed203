// The optional off-chip memory (DRAM/HBM) as a TLM-2.0 target with the loosely timed
// blocking transport: a DMA request annotates its issue delay, the target adds its channel
// queueing, transfer and latency, and returns when the last byte is delivered.
// Timing (docs/timing.md): a transfer is split into request_bytes chunks interleaved over
// channels; each channel serves its chunks at channel_GBps behind earlier transfers;
// the data completes latency_cycles after the last channel finishes.
#pragma once

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <map>
#include <vector>

#include "hw/config.hpp"

namespace lpu::sim {

class MemoryInterface : public sc_core::sc_module {
public:
    tlm_utils::simple_target_socket<MemoryInterface> socket;

    MemoryInterface(sc_core::sc_module_name name, const hw::MemoryInterfaceConfig& cfg, bool functional,
                    double clock_hz);

    // Cycles from the request until the last byte of a `bytes` transfer, on an idle interface.
    double unloaded_cycles(uint64_t bytes) const;
    double bytes_per_cycle() const { return channel_bytes_per_cycle_ * static_cast<double>(cfg_.channels); }
    const hw::MemoryInterfaceConfig& config() const { return cfg_; }

private:
    void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

    hw::MemoryInterfaceConfig cfg_;
    bool functional_;
    double channel_bytes_per_cycle_;
    std::vector<double> channel_free_;           // cycle each channel is free
    std::map<uint64_t, std::vector<uint8_t>> pages_;  // functional backing store, 64 KiB pages
};

// The chip side: a DMA engine's initiator socket.
class DmaInitiator : public sc_core::sc_module {
public:
    tlm_utils::simple_initiator_socket<DmaInitiator> socket;
    explicit DmaInitiator(sc_core::sc_module_name name) : sc_core::sc_module(name), socket("socket") {}
};

}  // namespace lpu::sim
