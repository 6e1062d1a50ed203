// MXM plane instructions: weight-stationary R x C array (docs/timing-mxm.md).
//   LW   weights stream into the plane's buffer at install_bytes_per_cycle / planes.
//   IW   the buffer becomes the active weights; with double buffering the swap travels with
//        the next ABC's first activation, so it only waits for the previous ABC's inputs.
//   ABC  activations enter one row per cycle (fp16: one per fp16_cycles_per_vector); the
//        last partial sum reaches the accumulators R + C cycles after the last row entered.
//   ACC  accumulator rows leave as int32 (4 stream vectors per row).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "sim/engine.hpp"
#include "sim/values.hpp"

namespace lpu::sim {

namespace {


bool is_packed(isa::DType t) {
    return t == isa::DType::Int4 || t == isa::DType::Int3p5 || t == isa::DType::Int3p5b;
}

uint64_t lw(Engine& e, ChipState& chip, PlaneState& p, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    const auto& m = e.cfg.mxm;
    const uint64_t rows = static_cast<uint64_t>(ins.operands[0]);
    const auto type = static_cast<isa::DType>(ins.operands[2]);
    if (rows == 0 || rows > static_cast<uint64_t>(m.rows))
        program_error(e, q, ins, "n", std::to_string(rows), fmt::format("1..{} weight rows", m.rows));
    uint64_t in_vectors = rows;
    if (type == isa::DType::Fp16) {
        if (std::find(m.precisions.begin(), m.precisions.end(), "fp16") == m.precisions.end())
            program_error(e, q, ins, "type", "fp16", "a precision listed in mxm.precisions");
        in_vectors = 2 * rows;
    } else if (is_packed(type)) {
        const std::string name(isa::dtype_name(type));
        if (std::find(m.install_unpack_formats.begin(), m.install_unpack_formats.end(), name) ==
            m.install_unpack_formats.end())
            program_error(e, q, ins, "type", name,
                          "int8 or fp16: this config has no install-path unpack for it (mxm.install_unpack_formats); "
                          "unpack on the VXM first");
        in_vectors = ceil_div(rows * static_cast<uint64_t>(isa::dtype_bits_x2(type)), 16);
    } else if (type != isa::DType::Int8) {
        program_error(e, q, ins, "type", std::string(isa::dtype_name(type)), "int8, fp16 or a packed weight type");
    }
    const int pos = e.layout.position(isa::Unit::Mxm, static_cast<int>(q.index));
    StreamInput in = e.read_stream(chip, isa::decode_stream(ins.operands[1]), in_vectors, pos, q, ins);
    const uint64_t bytes_per_weight = type == isa::DType::Fp16 ? 2 : 1;
    const uint64_t install_bytes = rows * static_cast<uint64_t>(m.cols) * bytes_per_weight;
    // fp16 rows carry twice the bytes: they take two int8 row slots of the install path.
    const timing::OpTiming t = p.timeline->lw(static_cast<int64_t>(rows * bytes_per_weight),
                                              static_cast<int64_t>(std::max(Engine::now(), in.first_arrival)),
                                              static_cast<int64_t>(in.last_arrival));
    const auto start = static_cast<uint64_t>(t.start);
    const auto busy = static_cast<uint64_t>(t.end - t.start);
    p.shadow_rows = static_cast<int>(rows);
    p.shadow_fp16 = type == isa::DType::Fp16;
    if (e.options.functional) {
        p.shadow.assign(static_cast<size_t>(m.rows) * static_cast<size_t>(m.cols), 0.0f);
        const size_t vb = static_cast<size_t>(e.vector_bytes);
        for (uint64_t k = 0; k < rows; ++k)
            for (int c = 0; c < m.cols; ++c)
                p.shadow[k * static_cast<size_t>(m.cols) + static_cast<size_t>(c)] =
                    p.shadow_fp16 ? static_cast<float>(load_element(in.data.data() + 2 * k * vb, c, isa::DType::Fp16))
                                  : static_cast<float>(static_cast<int8_t>(in.data[k * vb + static_cast<size_t>(c)]));
    }
    e.counters[chip.id].install_bytes->add(static_cast<double>(install_bytes));
    r.bytes = static_cast<float>(install_bytes);
    r.level = Level::Install;
    r.start = start;
    r.busy = busy;
    return issue_slot();
}

uint64_t iw(Engine& e, PlaneState& p, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    const auto& m = e.cfg.mxm;
    const uint64_t cols = static_cast<uint64_t>(ins.operands[0]);
    if (cols == 0 || cols > static_cast<uint64_t>(m.cols))
        program_error(e, q, ins, "cols", std::to_string(cols), fmt::format("1..{} columns", m.cols));
    if (p.shadow_rows == 0) program_error(e, q, ins, "weights", "none loaded", "an mxm.lw before mxm.iw");
    // The swap token takes iw_cycles slots of the activation port, after the LW completed.
    const timing::OpTiming t = p.timeline->iw(static_cast<int64_t>(Engine::now()));
    const auto start = static_cast<uint64_t>(t.start);
    const uint64_t iw_cycles = static_cast<uint64_t>(t.end - t.start);
    p.active_rows = p.shadow_rows;
    p.active_cols = static_cast<int>(cols);
    p.active_fp16 = p.shadow_fp16;
    if (e.options.functional) p.active = p.shadow;
    r.start = start;
    r.busy = iw_cycles;
    return issue_slot();
}

uint64_t abc(Engine& e, ChipState& chip, PlaneState& p, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    const auto& m = e.cfg.mxm;
    const uint64_t n = static_cast<uint64_t>(ins.operands[0]);
    const auto type = static_cast<isa::DType>(ins.operands[2]);
    const bool accumulate = ins.operands[3] != 0;
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 activation row");
    if (type != isa::DType::Int8 && type != isa::DType::Fp16)
        program_error(e, q, ins, "type", std::string(isa::dtype_name(type)), "int8 or fp16");
    if ((type == isa::DType::Fp16) != p.active_fp16)
        program_error(e, q, ins, "type", std::string(isa::dtype_name(type)),
                      p.active_fp16 ? "fp16, the type of the installed weights" : "int8, the type of the installed weights");
    if (p.active_rows == 0) program_error(e, q, ins, "weights", "none installed", "an mxm.iw before the first mxm.abc");
    const uint64_t rate = type == isa::DType::Fp16 ? static_cast<uint64_t>(m.fp16_cycles_per_vector) : 1;
    if (!accumulate) p.abc_seen = true;
    else if (!p.abc_seen) program_error(e, q, ins, "accumulate", "1", "0 for the first mxm.abc of a plane");
    const int pos = e.layout.position(isa::Unit::Mxm, static_cast<int>(q.index));
    StreamInput in = e.read_stream(chip, isa::decode_stream(ins.operands[1]), n * (type == isa::DType::Fp16 ? 2 : 1), pos, q, ins);
    if (n > static_cast<uint64_t>(m.accumulator_rows))
        program_error(e, q, ins, "n", std::to_string(n), fmt::format("at most mxm.accumulator_rows = {} rows", m.accumulator_rows));
    timing::OpTiming t;
    try {
        t = p.timeline->abc(static_cast<int64_t>(n), accumulate, static_cast<int64_t>(std::max(Engine::now(), in.first_arrival)),
                            static_cast<int64_t>(in.last_arrival), static_cast<int>(rate));
    } catch (const std::logic_error& err) {
        program_error(e, q, ins, "accumulate", std::to_string(accumulate ? 1 : 0),
                      fmt::format("an order the plane can execute ({}): drain results with mxm.acc", err.what()));
    }
    const auto start = static_cast<uint64_t>(t.start);
    const auto busy = static_cast<uint64_t>(t.port_free - t.start);
    const auto done = static_cast<uint64_t>(t.end);
    ChipCounters& k = e.counters[chip.id];
    const double macs = static_cast<double>(n) * p.active_rows * p.active_cols;
    (type == isa::DType::Fp16 ? k.macs_fp16 : k.macs_int8)->add(macs);
    k.mac_slots->add(static_cast<double>(n) * m.rows * m.cols);
    r.ops = static_cast<float>(2 * macs);
    r.bytes = static_cast<float>(in.vectors * static_cast<uint64_t>(e.vector_bytes));
    r.level = Level::Stream;
    if (e.options.functional) {
        const size_t cols = static_cast<size_t>(m.cols);
        const size_t rowb = static_cast<size_t>(e.vector_bytes) * (type == isa::DType::Fp16 ? 2 : 1);
        if (!accumulate) {
            p.acc_int.assign(n * cols, 0);
            p.acc_float.assign(n * cols, 0.0f);
        } else if (p.acc_rows != n) {
            program_error(e, q, ins, "n", std::to_string(n),
                          fmt::format("{} rows, as many as the accumulators hold (accumulate=1)", p.acc_rows));
        }
        p.acc_rows = n;
        for (uint64_t i = 0; i < n; ++i) {
            const uint8_t* x = in.data.data() + i * rowb;
            for (size_t c = 0; c < cols; ++c) {
                if (type == isa::DType::Int8) {
                    int64_t sum = 0;
                    for (int kk = 0; kk < p.active_rows; ++kk)
                        sum += static_cast<int64_t>(static_cast<int8_t>(x[kk])) *
                               static_cast<int64_t>(p.active[static_cast<size_t>(kk) * cols + c]);
                    int32_t& a = p.acc_int[i * cols + c];
                    a = static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(sum));  // int32 wraps
                } else {
                    float sum = 0;
                    for (int kk = 0; kk < p.active_rows; ++kk)
                        sum += static_cast<float>(load_element(x, kk, isa::DType::Fp16)) * p.active[static_cast<size_t>(kk) * cols + c];
                    p.acc_float[i * cols + c] += sum;
                }
            }
        }
    }
    r.start = start;
    r.busy = busy;
    chip.last_activity = std::max(chip.last_activity, done);
    return issue_slot();
}

uint64_t acc(Engine& e, ChipState& chip, PlaneState& p, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    const auto& m = e.cfg.mxm;
    const uint64_t n = static_cast<uint64_t>(ins.operands[0]);
    if (n == 0) program_error(e, q, ins, "n", "0", "at least 1 row");
    if (e.options.functional && n != p.acc_rows)
        program_error(e, q, ins, "n", std::to_string(n), fmt::format("{} rows, as many as the last ABC produced", p.acc_rows));
    if (p.active_rows == 0) program_error(e, q, ins, "accumulators", "empty", "an mxm.abc before mxm.acc");
    const uint64_t per_cycle = static_cast<uint64_t>(m.acc_drain_vectors_per_cycle);
    e.acquire_output(chip, isa::decode_stream(ins.operands[1]), q);
    const timing::OpTiming t = p.timeline->acc(static_cast<int64_t>(n), static_cast<int64_t>(Engine::now()));
    const auto start = static_cast<uint64_t>(t.start);
    const auto busy = static_cast<uint64_t>(t.end - t.start);
    std::shared_ptr<Bytes> data;
    const uint64_t vb = static_cast<uint64_t>(e.vector_bytes);
    if (e.options.functional) {
        // int32 rows (fp16 planes accumulate in fp32: same 4-byte layout as float)
        data = std::make_shared<Bytes>(n * 4 * vb);
        for (uint64_t i = 0; i < n; ++i)
            for (int c = 0; c < m.cols; ++c) {
                uint8_t* dst = data->data() + i * 4 * vb + 4 * static_cast<uint64_t>(c);
                if (p.active_fp16)
                    std::memcpy(dst, &p.acc_float[i * static_cast<uint64_t>(m.cols) + static_cast<uint64_t>(c)], 4);
                else
                    std::memcpy(dst, &p.acc_int[i * static_cast<uint64_t>(m.cols) + static_cast<uint64_t>(c)], 4);
            }
    }
    const int pos = e.layout.position(isa::Unit::Mxm, static_cast<int>(q.index));
    e.write_stream(chip, isa::decode_stream(ins.operands[1]), 4 * n, static_cast<double>(start),
                   4.0 * static_cast<double>(per_cycle), pos, ins.line, data, q);
    r.bytes = static_cast<float>(4 * n * vb);
    r.level = Level::Stream;
    r.start = start;
    r.busy = busy;
    return issue_slot();
}

}  // namespace

uint64_t execute_mxm(Engine& e, ChipState& chip, const isa::Queue& q, const isa::Instruction& ins, ExecRecord& r) {
    PlaneState& p = chip.planes[q.index];
    switch (ins.opcode) {
        case isa::Opcode::Lw: return lw(e, chip, p, q, ins, r);
        case isa::Opcode::Iw: return iw(e, p, q, ins, r);
        case isa::Opcode::Abc: return abc(e, chip, p, q, ins, r);
        case isa::Opcode::Acc: return acc(e, chip, p, q, ins, r);
        default: return Engine::now() + 1;
    }
}

}  // namespace lpu::sim
