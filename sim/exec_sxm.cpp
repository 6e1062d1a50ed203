// SXM instructions: lane movement on raw 320-byte vectors, one vector per cycle per unit
// [TSP20 sec. 3.6]. Functional semantics (docs/isa.md):
//   shift   lane l <- lane l - amount (zero fill); rotate: the same modulo lanes
//   permute lane l <- lane l XOR map (butterfly exchange, used by lane reductions)
//   distribute lane l <- lane (l / map) * map (broadcast the first lane of each group)
//   transpose 16x16 byte blocks within each superlane, over groups of 16 vectors
#include <fmt/format.h>

#include <algorithm>

#include "sim/engine.hpp"

namespace lpu::sim {

uint64_t execute_sxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    using isa::Opcode;
    const auto& o = ins.operands;
    const uint64_t n = static_cast<uint64_t>(o[0]);
    const int lanes = e.vector_bytes;
    const int group = e.cfg.lanes.lanes_per_superlane;
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 vector");
    if (ins.opcode == Opcode::Transpose && n % static_cast<uint64_t>(group) != 0)
        program_error(e, q, ins, "n", std::to_string(n), fmt::format("a multiple of {} (lanes per superlane)", group));
    if ((ins.opcode == Opcode::Permute || ins.opcode == Opcode::Distribute) && (o[3] < 0 || o[3] >= lanes))
        program_error(e, q, ins, "map", std::to_string(o[3]), fmt::format("0..{}", lanes - 1));
    if (ins.opcode == Opcode::Distribute && o[3] == 0) program_error(e, q, ins, "map", "0", "a group size of at least 1");
    const int pos = e.layout.position(isa::Unit::Sxm, static_cast<int>(q.index));
    const std::string_view mn = isa::spec(ins.opcode).mnemonic;
    const uint64_t latency = static_cast<uint64_t>(e.cfg.sxm.op_latency_cycles.at(std::string(mn.substr(4))));
    StreamInput in = e.read_stream(chip, isa::decode_stream(o[1]), n, pos, q, ins);
    e.acquire_output(chip, isa::decode_stream(o[2]), q);
    uint64_t& free = chip.sxm_free[q.index];
    const uint64_t start = std::max({Engine::now(), in.first_arrival, free});
    const uint64_t busy = std::max(n, in.last_arrival + 1 > start ? in.last_arrival + 1 - start : 0);
    free = start + busy;
    std::shared_ptr<Bytes> data;
    if (e.options.functional) {
        data = std::make_shared<Bytes>(in.data.size(), 0);
        const auto vb = static_cast<uint64_t>(lanes);
        for (uint64_t v = 0; v < n; ++v) {
            const uint8_t* src = in.data.data() + v * vb;
            uint8_t* dst = data->data() + v * vb;
            for (int l = 0; l < lanes; ++l) {
                int from = l;
                switch (ins.opcode) {
                    case Opcode::Shift: from = l - static_cast<int>(o[3]); break;
                    case Opcode::Rotate: from = static_cast<int>(((l - o[3]) % lanes + lanes) % lanes); break;
                    case Opcode::Permute: from = l ^ static_cast<int>(o[3]); break;
                    case Opcode::Distribute: from = (l / static_cast<int>(o[3])) * static_cast<int>(o[3]); break;
                    case Opcode::Transpose: {
                        const uint64_t base = v - v % static_cast<uint64_t>(group);
                        const int sl = l / group, j = l % group;
                        const uint64_t row = v % static_cast<uint64_t>(group);
                        dst[l] = in.data[(base + static_cast<uint64_t>(j)) * vb + static_cast<uint64_t>(sl * group) + row];
                        continue;
                    }
                    default: break;
                }
                dst[l] = (from >= 0 && from < lanes) ? src[from] : 0;
            }
        }
    }
    // Output at the pace the input allowed (one vector per cycle at most).
    e.write_stream(chip, isa::decode_stream(o[2]), n, static_cast<double>(start + latency),
                   static_cast<double>(n) / static_cast<double>(std::max<uint64_t>(busy, 1)), pos, ins.line, data, q);
    e.counters[chip.id].sxm_bytes->add(static_cast<double>(n) * lanes);
    r.bytes = static_cast<float>(n) * static_cast<float>(lanes);
    r.level = Level::Stream;
    r.start = start;
    r.busy = busy;
    return issue_slot();
}

}  // namespace lpu::sim
