#include "sim/memory_interface.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lpu::sim {

namespace {
constexpr uint64_t kPageBytes = 64 * 1024;
}

MemoryInterface::MemoryInterface(sc_core::sc_module_name name, const hw::MemoryInterfaceConfig& cfg, bool functional,
                                 double clock_hz)
    : sc_core::sc_module(name), socket("socket"), cfg_(cfg), functional_(functional),
      channel_bytes_per_cycle_(cfg.channel_GBps * 1e9 / clock_hz),
      channel_free_(static_cast<size_t>(cfg.channels), 0.0) {
    socket.register_b_transport(this, &MemoryInterface::b_transport);
}

double MemoryInterface::unloaded_cycles(uint64_t bytes) const {
    // The busiest channel carries ceil(chunks / channels) chunks.
    const uint64_t chunks = (bytes + static_cast<uint64_t>(cfg_.request_bytes) - 1) / static_cast<uint64_t>(cfg_.request_bytes);
    const uint64_t per_channel = (chunks + static_cast<uint64_t>(cfg_.channels) - 1) / static_cast<uint64_t>(cfg_.channels);
    const double busiest_bytes = std::min<double>(static_cast<double>(per_channel * static_cast<uint64_t>(cfg_.request_bytes)),
                                                  static_cast<double>(bytes));
    return busiest_bytes / channel_bytes_per_cycle_ + cfg_.latency_cycles;
}

void MemoryInterface::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    const double now = sc_core::sc_time_stamp().to_seconds() * 1e9 + delay.to_seconds() * 1e9;  // cycles (1 ns each)
    const uint64_t addr = trans.get_address();
    const uint64_t bytes = trans.get_data_length();
    if (addr + bytes > static_cast<uint64_t>(cfg_.capacity_bytes) || addr + bytes < addr) {
        trans.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
        return;
    }
    // Chunks are interleaved over channels by address.
    const uint64_t req = static_cast<uint64_t>(cfg_.request_bytes);
    const uint64_t first_chunk = addr / req;
    const uint64_t last_chunk = (addr + bytes - 1) / req;
    const uint64_t channels = channel_free_.size();
    const uint64_t chunks = last_chunk - first_chunk + 1;
    std::vector<uint64_t> chunks_per_channel(channels, chunks / channels);
    for (uint64_t k = 0; k < chunks % channels; ++k) ++chunks_per_channel[(first_chunk + k) % channels];
    double done = now;
    for (size_t ch = 0; ch < channel_free_.size(); ++ch) {
        if (chunks_per_channel[ch] == 0) continue;
        const double start = std::max(now, channel_free_[ch]);
        const double busy = static_cast<double>(chunks_per_channel[ch] * req) / channel_bytes_per_cycle_;
        channel_free_[ch] = start + busy;
        done = std::max(done, start + busy);
    }
    done += cfg_.latency_cycles;
    if (functional_ && trans.get_data_ptr()) {
        uint8_t* p = trans.get_data_ptr();
        for (uint64_t off = 0; off < bytes;) {
            const uint64_t a = addr + off;
            auto& page = pages_[a / kPageBytes];
            if (page.empty()) page.assign(kPageBytes, 0);
            const uint64_t in_page = std::min(bytes - off, kPageBytes - a % kPageBytes);
            if (trans.is_read())
                std::memcpy(p + off, page.data() + a % kPageBytes, in_page);
            else
                std::memcpy(page.data() + a % kPageBytes, p + off, in_page);
            off += in_page;
        }
    }
    // Whole cycles; the tolerance keeps sums of exact channel times from rounding up a cycle.
    delay = sc_core::sc_time(std::ceil(done - 1e-6) - sc_core::sc_time_stamp().to_seconds() * 1e9, sc_core::SC_NS);
    trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

}  // namespace lpu::sim
