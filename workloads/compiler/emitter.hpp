// Building one chip's instruction streams: queues, program-order line numbers (which also
// order stream-register turns, docs/timing.md), breakdown tags, SRAM allocation and the
// stream-register plan.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "isa/program.hpp"
#include "workloads/compiler/compiler.hpp"

namespace lpu::wl {

// A contiguous run of vectors in one bank of one slice.
struct Region {
    int slice = 0;
    uint64_t addr = 0;
    uint64_t vectors = 0;
};

// An activation tensor in SRAM with its real layout: chunk c holds elements [L c, L c + L)
// (L = vector lanes) of each of the M token rows, M x (bytes per element) vectors in one
// bank; elements past the tensor's width are zero.
struct Tensor {
    std::vector<Region> chunks;
    int64_t elems = 0;
    isa::DType type = isa::DType::Fp32;
};

class ProgramBuilder {
public:
    explicit ProgramBuilder(CompiledWorkload& out) : out_(out) {}
    // Appends to queue (chip, unit, index); the line number is the global emission order.
    void emit(int chip, isa::Unit unit, int index, isa::Opcode op, std::initializer_list<int64_t> operands,
              const InstrTag& tag);
    uint64_t instructions() const { return line_; }
    uint16_t category_id(const std::string& name);
    const std::string& category_name(uint16_t id) const { return out_.categories[id]; }

private:
    CompiledWorkload& out_;
    std::map<std::tuple<int, isa::Unit, int>, size_t> queue_of_;
    uint32_t line_ = 0;
};

class ChipEmitter {
public:
    ChipEmitter(const hw::HwConfig& cfg, int chip, ProgramBuilder& builder);

    int chip() const { return chip_; }
    const hw::HwConfig& cfg() const { return cfg_; }
    void tag(const std::string& category, int layer = -1) {
        tag_ = {builder_.category_id(category), static_cast<int16_t>(layer)};
    }
    struct TagName {
        std::string category;
        int layer;
    };
    TagName current_tag() const { return {builder_.category_name(tag_.category), tag_.layer}; }
    void emit(isa::Unit unit, int index, isa::Opcode op, std::initializer_list<int64_t> operands) {
        builder_.emit(chip_, unit, index, op, operands, tag_);
    }

    // Slices of a hemisphere, i = 0 nearest the VXM.
    int slices_per_hemisphere() const { return cfg_.mem.slices / 2; }
    bool west(const Region& r) const { return r.slice < slices_per_hemisphere(); }
    // A stream from r's slice toward the centre (VXM, C2C), and from the centre to r's slice.
    isa::StreamRef to_centre(const Region& r, int reg) const;
    isa::StreamRef from_centre(const Region& r, int reg) const;
    int slice(bool west, int i) const { return west ? i : slices_per_hemisphere() + i; }
    bool plane_is_west(int plane) const { return plane < (cfg_.mxm.planes + 1) / 2; }

    // Allocate `vectors` in one bank of the given slice; throws SimulationError when full.
    // Persistent data (weights, scales, KV cache) grows from the bottom of each bank;
    // scratch (activations) from the top, released with release_scratch() after each layer.
    // `bank` >= 0: that bank only (a matmul keeps its staging off the banks its weights use).
    Region alloc(int slice, uint64_t vectors, const std::string& what, bool scratch = false, int bank = -1);
    // Allocate in the hemisphere's slice with the most free space (ties: lowest index).
    Region alloc_in_hemisphere(bool west, uint64_t vectors, const std::string& what, bool scratch = false);
    void release_scratch();
    // Scratch is a stack: a mark taken before a piece of work is rewound after it.
    using ScratchMark = std::vector<std::vector<uint64_t>>;
    ScratchMark scratch_mark() const { return scratch_; }
    void scratch_rewind(const ScratchMark& m) { scratch_ = m; }
    // Data larger than a bank: consecutive pieces over the hemisphere's slices.
    std::vector<Region> alloc_spread(bool west, uint64_t vectors, const std::string& what, bool scratch);
    // Persistent data the program itself writes before reading (a prefill's KV cache): unlike
    // data loaded before the program runs, it may reuse space earlier scratch used.
    std::vector<Region> reserve_written(bool west, uint64_t vectors, const std::string& what) {
        written_ = true;
        std::vector<Region> r = alloc_spread(west, vectors, what, false);
        written_ = false;
        return r;
    }
    void read(const std::vector<Region>& rs, isa::StreamRef out, bool depends) {
        for (const Region& r : rs) read(r, 0, r.vectors, out, depends);
    }
    void write(const std::vector<Region>& rs, isa::StreamRef in) {
        for (const Region& r : rs) write(r, 0, r.vectors, in);
    }
    bool has_room(int slice, uint64_t vectors) const;  // for persistent data
    uint64_t bank_free(int slice, size_t bank, bool scratch) const;
    int64_t used_bytes() const;       // persistent plus the scratch high-water mark
    int64_t persistent_bytes() const;

    // SRAM reads and writes with read-after-write ordering through the ICU: a fence() ends an
    // operation (each queue that wrote notifies, once its writes are done); a later read that
    // depends on it first syncs on all those notifies (docs/compiler.md, "dependencies").
    void read(const Region& r, uint64_t offset, uint64_t n, isa::StreamRef out, bool depends);
    void write(const Region& r, uint64_t offset, uint64_t n, isa::StreamRef in);
    // keep_writers: a fence inside an operation (its own intermediate data); the slices
    // written so far notify again at the operation's final fence, which later readers sync on.
    void fence(bool keep_writers = false);

    // First plane of the next matmul (advances by the planes it used).
    int next_plane_offset(int used, int planes) {
        const int first = plane_rr_ % planes;
        plane_rr_ += used;
        return first;
    }

    // Round-robin VXM ALU and SXM unit choice.
    int next_alu() { return alu_rr_++ % cfg_.vxm.alus_per_lane; }

private:
    const hw::HwConfig& cfg_;
    int chip_;
    ProgramBuilder& builder_;
    InstrTag tag_;
    std::vector<std::vector<uint64_t>> next_free_;  // per slice, per bank: next free vector (bottom)
    std::vector<std::vector<uint64_t>> scratch_;    // per slice, per bank: vectors used from the top
    std::vector<std::vector<uint64_t>> scratch_high_;  // per slice, per bank: the most scratch ever used
    bool written_ = false;                            // inside reserve_written
    int64_t scratch_peak_vectors_ = 0;
    int alu_rr_ = 0;
    int plane_rr_ = 0;
    std::vector<int> writers_;  // slices written since the last fence
    int64_t fence_id_ = -1, fence_count_ = 0;
    std::vector<int> synced_;  // slices that synced on the current fence
};

// Stream-register plan (docs/compiler.md): fixed registers per plane so concurrent flows
// never share one; registers 26..31 of each direction serve VXM pipelines.
struct PlaneStreams {
    bool weights_east = false;  // direction of weight and activation streams into the plane
    int weights = 0;            // first of 8 registers
    int activations = 0;
    bool acc_east = true;       // direction of the int32 results leaving the plane
    int acc = 0;                // first of 4 registers
    int local = 0;              // 0 or 1: which plane of its hemisphere
};
PlaneStreams plane_streams(const ChipEmitter& e, int plane);
inline constexpr int kVxmStreamBase = 26;

isa::StreamRef stream(int id, bool east, int width = 1);
int64_t s(isa::StreamRef r);  // encoded operand
int64_t imm_bits(float v);    // an fp32 immediate operand (vxm.addi, vxm.muli)
// Functional images: an fp32 value at byte `at` (little-endian, as the chip stores it).
void put_f32(std::vector<uint8_t>& bytes, size_t at, float v);
inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace lpu::wl
