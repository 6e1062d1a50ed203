// Where each unit instance sits on the chip's east-west axis, in slice positions. Streams
// move one position per hop; eastward streams flow to higher positions.
// Layout west to east [TSP20 Fig. 2]: MXM, SXM, MEM x(slices/2), VXM, MEM x(slices/2), SXM, MXM.
// C2C ports and the DMA engine are placed at the VXM position (centre); the papers do not
// place them on this axis, so this is an assumption (docs/timing.md).
#pragma once

#include <string>

#include "hw/config.hpp"
#include "isa/opcodes.hpp"

namespace lpu::sim {

class Layout {
public:
    explicit Layout(const hw::HwConfig& c)
        : half_(c.mem.slices / 2), planes_(c.mxm.planes), alus_(c.vxm.alus_per_lane), sxm_(c.sxm.units),
          links_(c.c2c.links) {}

    // Number of instances of a unit kind on one chip (queue indices 0..count-1).
    int count(isa::Unit u) const {
        switch (u) {
            case isa::Unit::Mem: return 2 * half_;
            case isa::Unit::Mxm: return planes_;
            case isa::Unit::Vxm: return alus_;
            case isa::Unit::Sxm: return sxm_;
            case isa::Unit::C2c: return links_;
            case isa::Unit::Dma: return 1;
            case isa::Unit::Icu: return 0;
        }
        return 0;
    }

    int centre() const { return half_ + 2; }
    int east_edge() const { return 2 * half_ + 4; }

    bool plane_is_west(int plane) const { return plane < (planes_ + 1) / 2; }
    bool slice_is_west(int slice) const { return slice < half_; }

    int position(isa::Unit u, int index) const {
        switch (u) {
            case isa::Unit::Mem:
                return slice_is_west(index) ? 2 + (half_ - 1 - index) : half_ + 3 + (index - half_);
            case isa::Unit::Mxm: return plane_is_west(index) ? 0 : east_edge();
            case isa::Unit::Sxm: return index % 2 == 0 ? 1 : east_edge() - 1;
            default: return centre();
        }
    }

    // Human name of an instance for traces: "mem w3", "mem e0", "mxm1", "vxm4".
    std::string instance_name(isa::Unit u, int index) const {
        if (u == isa::Unit::Mem)
            return slice_is_west(index) ? "mem w" + std::to_string(index) : "mem e" + std::to_string(index - half_);
        return std::string(isa::unit_name(u)) + std::to_string(index);
    }

private:
    int half_, planes_, alus_, sxm_, links_;
};

}  // namespace lpu::sim
