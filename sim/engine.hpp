// The simulation engine's shared state: stream FIFOs, per-unit resources, C2C mailboxes,
// and the helpers every instruction uses to read its input streams and write its outputs.
//
// Model (docs/timing.md): each ICU queue is one SC_THREAD that issues its instructions in
// order. An instruction starts when its queue has issued the previous one, its input data
// has arrived (producer time + hop distance) and its resource (bank, install port, array,
// ALU, link, channel) is free; it holds the resource for its occupancy. Outputs are pushed
// at issue time stamped with the cycles at which their vectors appear, so consumers compute
// their own start without polling. One SystemC wait per instruction: cost scales with
// instructions, not cycles or MACs.
#pragma once

#include <systemc>

#include <array>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "hw/config.hpp"
#include "isa/program.hpp"
#include "sim/layout.hpp"
#include "sim/mxm_timing.hpp"
#include "sim/stats.hpp"
#include "sim/trace.hpp"

namespace lpu::sim {

class MemoryInterface;
class DmaInitiator;

using Bytes = std::vector<uint8_t>;

// A run of vectors on one stream register: vector k is at the producer at cycle
// first + k * interval.
struct Burst {
    uint64_t vectors = 0;
    double first = 0;
    double interval = 1;
    int position = 0;  // producer position on the east-west axis
    uint32_t line = 0; // producer's program line (for error messages)
    std::shared_ptr<const Bytes> data;  // functional mode: vectors * vector_bytes bytes
    uint64_t data_offset = 0;           // in vectors, after partial consumption
};

// Who may write (or read) a stream register next. Writers take turns in program text order,
// and so do readers (docs/timing.md, "stream ordering"): a run of `count` consecutive
// accesses by one queue is one segment; count 0 = unlimited (a single queue).
struct TurnSegment {
    const isa::Queue* queue = nullptr;
    uint64_t count = 0;
};

struct StreamFifo {
    std::deque<Burst> bursts;
    sc_core::sc_event pushed, popped, turn;
    std::vector<TurnSegment> writers, readers;
    size_t writer_at = 0, reader_at = 0;
    uint64_t writer_used = 0, reader_used = 0;
};

// Bursts a stream register holds before its writer must wait for a reader (flow control).
inline constexpr size_t kStreamDepth = 2;

// Input vectors gathered from a stream group, interleaved (vector j from stream j % width).
struct StreamInput {
    uint64_t first_arrival = 0;  // cycle the first vector of every stream has arrived
    uint64_t last_arrival = 0;   // cycle the last vector has arrived
    uint64_t vectors = 0;
    Bytes data;  // functional mode only
    uint64_t hops = 0;  // total slice hops travelled (for stream energy)
};

// The memory level an instruction's bytes belong to (for the roofline).
enum class Level : uint8_t { None, Sram, Stream, Install, C2c, MemIf };

// One executed instruction, kept for the breakdown, utilization and trace reports.
struct ExecRecord {
    float ops = 0;    // arithmetic ops: 2 per MAC (MXM), lane ops (VXM)
    float bytes = 0;  // bytes moved at `level`
    Level level = Level::None;
    uint64_t start = 0;
    uint64_t busy = 0;  // cycles the unit's resource was held
    uint32_t chip = 0;
    isa::Unit unit = isa::Unit::Icu;
    uint16_t instance = 0;
    uint16_t category = 0;  // index into Engine::categories
    int16_t layer = -1;
    isa::Opcode opcode = isa::Opcode::Nop;
};

struct PlaneState {
    // Timing: the hazard rules verified against the PE-level model (sim/mxm_timing.hpp).
    std::unique_ptr<timing::MxmTimeline> timeline;
    int shadow_rows = 0, active_rows = 0, active_cols = 0;
    bool abc_seen = false;
    bool shadow_fp16 = false, active_fp16 = false;
    std::vector<float> shadow, active;  // functional: rows x cols weights (int8 values or fp16 as float)
    std::vector<int32_t> acc_int;       // functional: accumulated rows x cols
    std::vector<float> acc_float;
    uint64_t acc_rows = 0;
};

struct SyncPoint {
    std::vector<uint64_t> notify_cycles;  // k-th notify's cycle
    sc_core::sc_event notified;
};

// One access's hold on a bank: cycles [start, end), vector addresses [lo, hi).
struct BankSlot {
    uint64_t start = 0, end = 0;
    uint64_t lo = 0, hi = 0;
    bool write = false;
};

struct ChipState {
    int id = 0;
    std::vector<StreamFifo> east, west;  // per stream register
    // Per slice, per bank: the accesses placed on the bank that have not ended yet
    // (docs/timing.md sec. 3), kept sorted by start.
    std::vector<std::vector<std::vector<BankSlot>>> bank_slots;
    std::vector<Bytes> sram;                          // functional: per slice, lazily sized
    std::vector<PlaneState> planes;
    std::vector<uint64_t> alu_free, sxm_free, link_free;
    uint64_t dma_free = 0;
    std::map<uint64_t, SyncPoint> sync;
    uint64_t last_activity = 0;  // latest completion of anything on this chip
};

struct Message {
    uint64_t vectors = 0;
    double first = 0;
    double interval = 1;
    std::shared_ptr<const Bytes> data;
};

struct Mailbox {
    std::deque<Message> messages;
    sc_core::sc_event posted;
};

// Per-chip counters, resolved once so the hot path does not look names up.
struct ChipCounters {
    std::array<Counter*, isa::kUnitCount> busy_cycles{};
    std::array<Counter*, isa::kUnitCount> instructions{};
    Counter *macs_int8, *macs_fp16, *mac_slots, *sram_read_bytes, *sram_write_bytes, *stream_bytes,
        *stream_hop_bytes, *install_bytes, *c2c_bytes, *c2c_wire_bytes, *mem_if_bytes, *vxm_lane_ops,
        *sxm_bytes, *bank_conflicts, *bank_conflict_cycles, *sync_wait_cycles;
};

struct EngineOptions {
    bool functional = false;
    TraceSink* trace = nullptr;
    // Symmetric tensor-parallel peers: a receive from a chip that is not simulated is served
    // by this chip's own send to that chip (docs/timing.md, "representative chips").
    bool mirror_unsimulated_peers = false;
    // Called with the number of instructions executed so far, every 16384 of them.
    std::function<void(uint64_t)> progress;
};

class Engine {
public:
    Engine(const hw::HwConfig& cfg, const isa::Program& program, EngineOptions options, StatsRegistry& stats);
    ~Engine();

    const hw::HwConfig& cfg;
    const isa::Program& program;
    EngineOptions options;
    StatsRegistry& stats;
    Layout layout;
    int vector_bytes;
    std::map<int, ChipState> chips;  // simulated chips, by id
    std::map<int, ChipCounters> counters;
    std::map<std::pair<int, int>, Mailbox> mailboxes;  // (src, dst)
    std::vector<std::unique_ptr<MemoryInterface>> memory;  // per chip index in chips order
    std::map<int, MemoryInterface*> memory_of;
    std::vector<std::unique_ptr<DmaInitiator>> dma;
    std::map<int, DmaInitiator*> dma_of;
    std::map<const isa::Queue*, uint64_t> queue_done;  // latest completion of each queue's work
    std::vector<std::string> categories;  // breakdown category names, index = ExecRecord::category
    std::vector<ExecRecord> records;

    int category_id(const std::string& name);

    // Current simulated cycle.
    static uint64_t now();
    // Advance this thread to `cycle` (no-op if already there).
    static void wait_until(uint64_t cycle);

    // Pop `vectors` vectors from stream group `s` for a consumer at `position`; blocks until
    // producers have issued them. Throws InputError on direction or size mismatches.
    StreamInput read_stream(ChipState& chip, isa::StreamRef s, uint64_t vectors, int position,
                            const isa::Queue& q, const isa::Instruction& ins);
    // Wait until queue `q` may write every register of group `s` (its turn, and space).
    // Producers call this before fixing their start time.
    void acquire_output(ChipState& chip, isa::StreamRef s, const isa::Queue& q);
    // Push `vectors` vectors onto group `s`, produced from cycle `first` at `vectors_per_cycle`.
    void write_stream(ChipState& chip, isa::StreamRef s, uint64_t vectors, double first, double vectors_per_cycle,
                      int position, uint32_t line, std::shared_ptr<const Bytes> data, const isa::Queue& q);

    void record(const ExecRecord& r, const isa::Queue& q, const isa::Instruction& ins, uint64_t n);

    std::string program_file;  // for error messages
    std::exception_ptr failure;  // first error raised inside a queue thread

private:
    void build_stream_turns();
};

// Executes one instruction of `q` (the queue's thread calls this); returns the cycle at which
// the queue may issue its next instruction.
uint64_t execute(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, int category,
                 int layer);

// Unit-specific parts, one file each.
uint64_t execute_mem(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_mxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_vxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_sxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_c2c(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_dma(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);
uint64_t execute_icu(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r);

// Errors found while running a program (a stream read against its direction, a size
// mismatch): bad input, reported at the program line.
[[noreturn]] void program_error(const Engine& e, const isa::Queue& q, const isa::Instruction& ins, const std::string& field,
                                const std::string& value, const std::string& expected);

// Whether an instruction's busy time counts toward its unit kind's utilization:
// MXM arrays (ABC), MEM banks, VXM ALUs, SXM units, C2C links (send side).
bool holds_primary_resource(isa::Opcode op);

// An instruction occupies its queue for one issue slot; the units' resources (banks, ALUs,
// plane ports, links, channels) are timelines that place its execution, possibly later.
// So a queue is never held behind one instruction's future start (docs/timing.md §1).
inline uint64_t issue_slot() { return Engine::now() + 1; }

inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace lpu::sim
