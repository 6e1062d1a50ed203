#include "workloads/compiler/emitter.hpp"

#include <cstring>

#include <fmt/format.h>

#include <algorithm>

namespace lpu::wl {

void ProgramBuilder::emit(int chip, isa::Unit unit, int index, isa::Opcode op, std::initializer_list<int64_t> operands,
                          const InstrTag& tag) {
    const auto key = std::make_tuple(chip, unit, index);
    auto it = queue_of_.find(key);
    if (it == queue_of_.end()) {
        isa::Queue q;
        q.chip = static_cast<uint32_t>(chip);
        q.unit = unit;
        q.index = static_cast<uint32_t>(index);
        out_.program.queues.push_back(std::move(q));
        it = queue_of_.emplace(key, out_.program.queues.size() - 1).first;
    }
    isa::Queue& q = out_.program.queues[it->second];
    isa::Instruction ins;
    ins.opcode = op;
    size_t i = 0;
    for (int64_t v : operands) ins.operands[i++] = v;
    ins.line = ++line_;
    if (out_.tags.size() <= it->second) out_.tags.resize(it->second + 1);
    out_.tags[it->second].push_back(tag);
    q.instructions.push_back(ins);
}

uint16_t ProgramBuilder::category_id(const std::string& name) {
    for (size_t i = 0; i < out_.categories.size(); ++i)
        if (out_.categories[i] == name) return static_cast<uint16_t>(i);
    out_.categories.push_back(name);
    return static_cast<uint16_t>(out_.categories.size() - 1);
}

ChipEmitter::ChipEmitter(const hw::HwConfig& cfg, int chip, ProgramBuilder& builder)
    : cfg_(cfg), chip_(chip), builder_(builder),
      next_free_(static_cast<size_t>(cfg.mem.slices), std::vector<uint64_t>(static_cast<size_t>(cfg.mem.banks_per_slice), 0)),
      scratch_(next_free_), scratch_high_(next_free_) {}

Region ChipEmitter::alloc(int slice, uint64_t vectors, const std::string& what, bool scratch, int bank) {
    const uint64_t per_bank = static_cast<uint64_t>(cfg_.mem.vectors_per_slice() / cfg_.mem.banks_per_slice);
    auto& banks = next_free_[static_cast<size_t>(slice)];
    auto& tops = scratch_[static_cast<size_t>(slice)];
    auto& high = scratch_high_[static_cast<size_t>(slice)];
    for (size_t b = 0; b < banks.size(); ++b) {
        if (bank >= 0 && b != static_cast<size_t>(bank)) continue;
        if (bank_free(slice, b, scratch) >= vectors) {
            if (!scratch) {
                Region r{slice, b * per_bank + banks[b], vectors};
                banks[b] += vectors;
                return r;
            }
            tops[b] += vectors;
            high[b] = std::max(high[b], tops[b]);
            int64_t total = 0;
            for (const auto& sl : scratch_)
                for (uint64_t v : sl) total += static_cast<int64_t>(v);
            scratch_peak_vectors_ = std::max(scratch_peak_vectors_, total);
            return Region{slice, b * per_bank + per_bank - tops[b], vectors};
        }
    }
    if (vectors > per_bank)  // no bank could ever hold it: the limit is the bank, not the chip
        throw SimulationError(fmt::format(
            "does not fit: {} needs one region of {} vectors, and a bank holds {} (mem.words_per_tile / banks_per_slice); "
            "use a smaller mapping.tile_m (rows per tile)",
            what, vectors, per_bank));
    uint64_t largest = 0;
    for (size_t b = 0; b < banks.size(); ++b) largest = std::max(largest, bank_free(slice, b, scratch));
    throw SimulationError(fmt::format(
        "does not fit: chip {} slice {} has no bank with {} free vectors for {} (its banks have at most {} free; "
        "SRAM in use on this chip: {} of {} bytes); use more chips (parallelism.tensor / pipeline), a smaller weight "
        "format, or a smaller mapping.tile_m",
        chip_, slice, vectors, what, largest, used_bytes(), int64_t{cfg_.mem.slices} * cfg_.mem.slice_bytes()));
}

Region ChipEmitter::alloc_in_hemisphere(bool west, uint64_t vectors, const std::string& what, bool scratch) {
    int best = -1;
    uint64_t best_free = 0;
    for (int i = 0; i < slices_per_hemisphere(); ++i) {
        const int sl = slice(west, i);
        uint64_t free = 0;
        for (size_t b = 0; b < next_free_[static_cast<size_t>(sl)].size(); ++b) free = std::max(free, bank_free(sl, b, scratch));
        if (free > best_free) {
            best_free = free;
            best = sl;
        }
    }
    return alloc(best < 0 ? slice(west, 0) : best, vectors, what, scratch);
}

std::vector<Region> ChipEmitter::alloc_spread(bool west, uint64_t vectors, const std::string& what, bool scratch) {
    // Pieces of at most a quarter bank keep one slice from filling up with one tensor.
    const uint64_t piece = static_cast<uint64_t>(cfg_.mem.vectors_per_slice() / cfg_.mem.banks_per_slice / 4);
    std::vector<Region> out;
    for (uint64_t done = 0; done < vectors;) {
        const uint64_t n = std::min(piece, vectors - done);
        out.push_back(alloc_in_hemisphere(west, n, what, scratch));
        done += n;
    }
    return out;
}

uint64_t ChipEmitter::bank_free(int slice, size_t b, bool scratch) const {
    const uint64_t per_bank = static_cast<uint64_t>(cfg_.mem.vectors_per_slice() / cfg_.mem.banks_per_slice);
    const auto s = static_cast<size_t>(slice);
    // Persistent data (loaded before the program runs) must stay clear of every address
    // scratch has used so far, not only of the scratch live now.
    const uint64_t top = scratch || written_ ? scratch_[s][b] : std::max(scratch_[s][b], scratch_high_[s][b]);
    // (written data may sit where scratch once was, below the high-water mark)
    return next_free_[s][b] + top >= per_bank ? 0 : per_bank - next_free_[s][b] - top;
}

bool ChipEmitter::has_room(int slice, uint64_t vectors) const {
    for (size_t b = 0; b < next_free_[static_cast<size_t>(slice)].size(); ++b)
        if (bank_free(slice, b, false) >= vectors) return true;
    return false;
}

void ChipEmitter::release_scratch() {
    for (auto& sl : scratch_) std::fill(sl.begin(), sl.end(), 0);
}

int64_t ChipEmitter::persistent_bytes() const {
    int64_t v = 0;
    for (const auto& banks : next_free_)
        for (uint64_t used : banks) v += static_cast<int64_t>(used);
    return v * cfg_.vector_bytes();
}

void ChipEmitter::read(const Region& r, uint64_t offset, uint64_t n, isa::StreamRef out, bool depends) {
    if (depends && fence_id_ >= 0 && std::find(synced_.begin(), synced_.end(), r.slice) == synced_.end()) {
        emit(isa::Unit::Mem, r.slice, isa::Opcode::Sync, {fence_id_, fence_count_});
        synced_.push_back(r.slice);
    }
    emit(isa::Unit::Mem, r.slice, isa::Opcode::Read, {static_cast<int64_t>(r.addr + offset), static_cast<int64_t>(n), isa::encode_stream(out)});
}

void ChipEmitter::write(const Region& r, uint64_t offset, uint64_t n, isa::StreamRef in) {
    emit(isa::Unit::Mem, r.slice, isa::Opcode::Write, {static_cast<int64_t>(r.addr + offset), static_cast<int64_t>(n), isa::encode_stream(in)});
    if (std::find(writers_.begin(), writers_.end(), r.slice) == writers_.end()) writers_.push_back(r.slice);
}

void ChipEmitter::fence(bool keep_writers) {
    if (writers_.empty()) return;
    ++fence_id_;
    for (int slice : writers_) emit(isa::Unit::Mem, slice, isa::Opcode::Notify, {fence_id_});
    fence_count_ = static_cast<int64_t>(writers_.size());
    if (!keep_writers) writers_.clear();
    synced_.clear();
}

int64_t ChipEmitter::used_bytes() const { return persistent_bytes() + scratch_peak_vectors_ * cfg_.vector_bytes(); }

PlaneStreams plane_streams(const ChipEmitter& e, int plane) {
    const bool west = e.plane_is_west(plane);
    const int west_planes = (e.cfg().mxm.planes + 1) / 2;
    const int h = (west ? plane : plane - west_planes) % 2;  // two planes per hemisphere get own registers
    PlaneStreams p;
    p.weights_east = !west;  // west planes sit west of their slices: data flows west to them
    p.acc_east = west;
    p.weights = west ? 8 * h : 8 + 8 * h;
    p.activations = west ? 16 + h : 24 + h;
    p.acc = west ? 4 * h : 18 + 4 * h;
    p.local = h;
    return p;
}

isa::StreamRef stream(int id, bool east, int width) {
    isa::StreamRef r;
    r.id = static_cast<uint8_t>(id);
    r.east = east;
    r.width = static_cast<uint8_t>(width);
    return r;
}

int64_t s(isa::StreamRef r) { return isa::encode_stream(r); }

isa::StreamRef ChipEmitter::to_centre(const Region& r, int reg) const { return stream(reg, west(r)); }
isa::StreamRef ChipEmitter::from_centre(const Region& r, int reg) const { return stream(reg, !west(r)); }

void put_f32(std::vector<uint8_t>& bytes, size_t at, float v) { std::memcpy(bytes.data() + at, &v, 4); }

int64_t imm_bits(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return static_cast<int64_t>(b);
}

}  // namespace lpu::wl
