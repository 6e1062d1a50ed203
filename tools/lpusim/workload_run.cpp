#include "tools/lpusim/workload_run.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "workloads/compiler/lower_llama.hpp"
#include "workloads/reference/llama_reference.hpp"

namespace lpu::cli {

std::string models_dir() {
    if (const char* env = std::getenv("LPUSIM_MODELS_DIR")) return env;
    return std::string(LPUSIM_SOURCE_DIR) + "/workloads/models";
}

sim::SimOptions sim_options(const wl::CompiledWorkload& c, bool functional, const std::string& name) {
    sim::SimOptions so;
    so.functional = functional;
    so.program_file = name;
    so.mirror_unsimulated_peers = c.mirror_peers;
    so.category_names = c.categories;
    so.tags.resize(c.tags.size());
    for (size_t q = 0; q < c.tags.size(); ++q) {
        so.tags[q].reserve(c.tags[q].size());
        for (const auto& t : c.tags[q]) so.tags[q].push_back({t.category, t.layer});
    }
    for (const auto& s : c.sram_init) so.sram_init.push_back({s.chip, s.slice, s.addr, s.bytes});
    return so;
}

nlohmann::ordered_json workload_summary(const hw::HwConfig& cfg, const wl::Workload& w, const wl::CompiledWorkload& c,
                                        const sim::SimResult& r, const report::RunMetrics& m) {
    nlohmann::ordered_json j;
    const double step_s = r.seconds;
    j["workload"] = w.file;
    j["kind"] = std::string(wl::kind_name(w.kind));
    if (w.kind == wl::WorkloadKind::Llama) {
        j["model"] = w.model.name;
        j["phase"] = std::string(wl::phase_name(w.phase));
        j["batch"] = w.batch;
    }
    j["chips"] = c.chips;
    j["tensor_parallel"] = c.tensor;
    j["pipeline_parallel"] = c.pipeline;
    j["simulated_chips"] = c.simulated_chips.size();
    // Pipeline stages hold micro-batches of `batch` users each when the pipeline is full.
    const double users = c.users * c.pipeline;
    const bool prefill = w.kind == wl::WorkloadKind::Llama && c.prefill;
    if (prefill) {
        // A prefill step produces each sequence's first token: its figure is the time to
        // first token and the prompt rate, not a decode rate (docs/metrics.md).
        j["time_to_first_token_s"] = step_s;
        j["prompt_tokens"] = w.seq_len * w.batch;
        j["prompt_tokens_per_s"] = step_s > 0 ? static_cast<double>(w.seq_len * w.batch) / step_s : 0;
    } else if (w.kind == wl::WorkloadKind::Llama) {
        j["latency_per_token_s"] = step_s;
        j["tokens_per_s_per_user"] = step_s > 0 ? 1.0 / step_s : 0;
        j["tokens_per_s"] = step_s > 0 ? users / step_s : 0;
        j["concurrent_users"] = users;
    } else {
        j["gemm_seconds"] = step_s;
        j["gemm_ops_per_s"] = step_s > 0 ? 2.0 * c.macs / step_s : 0;
    }
    j["sram_bytes_used"] = c.sram_bytes_used;
    j["sram_bytes_per_chip"] = int64_t{cfg.mem.slices} * cfg.mem.slice_bytes();
    j["weight_bytes"] = c.weight_bytes;
    j["kv_cache_bytes"] = c.kv_cache_bytes;
    // Scope rule (docs/metrics.md): `macs` and `mac_slots` cover the simulated chips, as
    // for a program run; `macs_system` is the compiler's count over the whole system.
    j["macs"] = m.macs;
    j["macs_system"] = c.macs;
    // Each simulated chip stands for `tensor` chips when peers are mirrored.
    const double scale = c.mirror_peers ? static_cast<double>(c.tensor) : 1.0;
    const double dynamic = (m.energy.total_J() - m.energy.static_J) * scale;
    const double static_W = cfg.energy.static_W * c.chips;
    const double step_J = dynamic + static_W * step_s;
    j["energy_per_step_J"] = step_J;
    if (prefill) {
        // One prompt in flight: every chip's static power is paid over the whole step.
        const double tokens = static_cast<double>(w.seq_len * w.batch);
        const double power = step_s > 0 ? step_J / step_s : 0;
        j["energy_per_prompt_token_J"] = tokens > 0 ? step_J / tokens : 0;
        j["average_power_W_per_chip"] = c.chips > 0 ? power / c.chips : 0;
        j["system_power_W"] = power;
    } else {
        // Energy (docs/metrics.md): the simulated step has one micro-batch in flight; in steady
        // state the pipeline holds `pipeline` of them, so static power is shared by all tokens in
        // flight while dynamic energy is paid per token.
        const double tokens = c.tokens_per_step;
        const double tps = j.value("tokens_per_s", tokens / std::max(step_s, 1e-30));
        const double dyn_per_token = tokens > 0 ? dynamic / tokens : 0;
        const double power = static_W + dyn_per_token * tps;
        j["energy_per_token_J"] = tps > 0 ? power / tps : 0;
        j["tokens_per_J"] = power > 0 ? tps / power : 0;
        j["energy_per_token_single_stream_J"] = tokens > 0 ? step_J / tokens : 0;
        j["average_power_W_per_chip"] = c.chips > 0 ? power / c.chips : 0;
        j["system_power_W"] = power;
    }
    j["simulated_average_power_W_per_chip"] = m.average_power_W_per_chip;
    j["notes"] = c.notes;
    return j;
}

namespace {

// Weights streamed from off-chip memory must fit in it: the compiler places them without
// knowing the capacity, and the simulator would stop at the first DMA beyond it with an
// error at a compiled line. That is a "does not fit", like SRAM.
void check_offchip_fits(const hw::HwConfig& cfg, const wl::CompiledWorkload& c) {
    if (cfg.memory_interface.kind == "none") return;
    uint64_t end = 0;
    for (const auto& q : c.program.queues)
        for (const auto& ins : q.instructions)
            if (ins.opcode == isa::Opcode::DmaLoad || ins.opcode == isa::Opcode::DmaStore)
                end = std::max(end, static_cast<uint64_t>(ins.operands[0]) +
                                        static_cast<uint64_t>(ins.operands[1]) * static_cast<uint64_t>(cfg.vector_bytes()));
    if (end > static_cast<uint64_t>(cfg.memory_interface.capacity_bytes))
        throw SimulationError(fmt::format("does not fit: the streamed weights need {} bytes of off-chip memory per chip; "
                                          "memory_interface.capacity_bytes = {}",
                                          end, cfg.memory_interface.capacity_bytes));
}

wl::CompiledWorkload compile_checked(const hw::HwConfig& cfg, const wl::Workload& w, const wl::CompileOptions& co) {
    wl::CompiledWorkload c = wl::compile(cfg, w, co);
    check_offchip_fits(cfg, c);
    return c;
}

}  // namespace

wl::CompiledWorkload compile_for_run(const hw::HwConfig& cfg, const wl::Workload& w, const wl::CompileOptions& co) {
    // A gemm simulates every chip it is split over, ~24 queue threads each; sim/ refuses more
    // than 30,000 threads, but only after the compile of all of them (seconds to minutes).
    constexpr int64_t kMaxGemmChips = 1024;
    if (w.kind == wl::WorkloadKind::Gemm && w.chips > kMaxGemmChips)
        throw SimulationError(fmt::format("the gemm is split over {} chips; at most {} can be simulated (every chip is "
                                          "simulated, ~24 SystemC threads each)",
                                          w.chips, kMaxGemmChips));
    if (!co.functional || w.kind != wl::WorkloadKind::Llama) return compile_checked(cfg, w, co);
    wl::ModelCheck mc = wl::compile_model_check(cfg, w, co.seed);
    ref::FfnShape s;
    s.hidden = w.model.hidden_size;
    s.intermediate = w.model.intermediate_size;
    s.tensor = mc.compiled.tensor;
    s.eps = w.model.rms_norm_eps;
    s.act_fp16 = w.activations == wl::ElementType::Fp16;
    s.lanes = cfg.vector_bytes();
    s.tile_k = std::min<int64_t>(w.mapping.tile_k, cfg.mxm.rows);
    for (int64_t m = 0; m < static_cast<int64_t>(mc.tokens.size()); ++m) {
        const std::vector<float> logits = ref::model_logits(mc, m, w.model.vocab_size, w.model.num_key_value_heads,
                                                            w.model.num_attention_heads, w.model.rope_theta, s);
        mc.compiled.reference.insert(mc.compiled.reference.end(), logits.begin(), logits.end());
        mc.compiled.reference_next_tokens.push_back(ref::greedy(logits));
    }
    check_offchip_fits(cfg, mc.compiled);
    mc.compiled.notes.push_back(fmt::format("functional: random weights and input tokens {} (seed {}); logits and next tokens compared "
                                            "with the reference of workloads/reference/llama_reference.hpp",
                                            fmt::join(mc.tokens, ", "), co.seed));
    return std::move(mc.compiled);
}

FunctionalCheck check_functional(const hw::HwConfig& cfg, const wl::CompiledWorkload& c, const sim::SimResult& r) {
    FunctionalCheck f;
    if (c.reference.empty()) return f;
    if (!c.next_tokens.empty()) {
        const auto& loc = c.next_tokens.front();
        const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * loc.row_vectors), cfg.vector_bytes());
        for (int64_t row = 0; row < loc.rows; ++row) {
            float v;
            std::memcpy(&v, bytes.data() + row * loc.row_vectors * cfg.vector_bytes(), 4);
            f.next_tokens.push_back(std::isfinite(v) ? static_cast<int64_t>(v) : -1);
        }
        for (size_t i = 0; i < f.next_tokens.size(); ++i)
            if (i >= c.reference_next_tokens.size() || f.next_tokens[i] != c.reference_next_tokens[i]) ++f.mismatches;
    }
    f.checked = true;
    const int vb = cfg.vector_bytes();
    int64_t total_cols = 0;
    for (const auto& loc : c.results) total_cols = std::max(total_cols, loc.column0 + loc.columns);
    for (const auto& loc : c.results) {
        const auto bytes = r.read_sram(loc.chip, loc.slice, loc.addr, static_cast<uint64_t>(loc.rows * loc.row_vectors), vb);
        for (int64_t row = 0; row < loc.rows; ++row)
            for (int64_t col = 0; col < loc.columns; ++col) {
                float v;
                std::memcpy(&v, bytes.data() + (row * loc.row_vectors * vb + 4 * col), 4);
                const float ref = c.reference[static_cast<size_t>((loc.row0 + row) * total_cols + loc.column0 + col)];
                const double err = std::fabs(static_cast<double>(v) - static_cast<double>(ref));
                f.max_abs_error = std::max(f.max_abs_error, std::isnan(err) ? INFINITY : err);
                if (!(v == ref)) ++f.mismatches;
                ++f.compared;
            }
    }
    return f;
}

}  // namespace lpu::cli
