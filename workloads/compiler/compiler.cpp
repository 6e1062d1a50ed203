#include "workloads/compiler/compiler.hpp"

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "workloads/compiler/dataflow.hpp"
#include "workloads/compiler/emitter.hpp"
#include "workloads/compiler/lower_llama.hpp"
#include "workloads/compiler/lower_matmul.hpp"

namespace lpu::wl {

namespace {

// Reference of the lowered GEMM, in the same arithmetic order as the lowering (per k-tile
// partial sums, int32 wrap-around, fp32 dequant with the zero-point term, group sums in k
// order): docs/compiler.md.
std::vector<float> reference_gemm(const Workload& w, const Mapping& mp, const hw::HwConfig& cfg,
                                  const std::vector<float>& a, const QuantizedMatrix& b) {
    const int64_t M = w.m, K = w.k, N = w.n;
    const bool fp16 = w.precision.format == WeightFormat::Fp16;
    int64_t tile_k = std::min<int64_t>(mp.tile_k, cfg.mxm.rows);
    const bool grouped = is_packed(w.precision.format) && w.precision.group_size > 0 && w.precision.group_size < K;
    const int64_t group = grouped ? w.precision.group_size : K;
    if (grouped) {
        tile_k = std::min<int64_t>(tile_k, group);
        while (group % tile_k != 0) --tile_k;
    }
    std::vector<float> c(static_cast<size_t>(M * N), 0.0f);
    for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
            if (fp16) {
                float acc = 0;
                for (int64_t k0 = 0; k0 < K; k0 += tile_k) {
                    float part = 0;
                    for (int64_t k = k0; k < std::min(K, k0 + tile_k); ++k)
                        part += a[static_cast<size_t>(m * K + k)] * b.values[static_cast<size_t>(k * N + n)];
                    acc += part;
                }
                c[static_cast<size_t>(m * N + n)] = acc;
                continue;
            }
            const int64_t step = grouped ? tile_k : K;
            float sum = 0;
            for (int64_t k0 = 0; k0 < K; k0 += step) {
                uint32_t acc = 0;  // int32 accumulators wrap
                int64_t asum = 0;  // activation sum over the same k range (exact on the chip too)
                for (int64_t k = k0; k < std::min(K, k0 + step); ++k) {
                    acc += static_cast<uint32_t>(static_cast<int32_t>(a[static_cast<size_t>(m * K + k)]) *
                                                 static_cast<int32_t>(b.q[static_cast<size_t>(k * N + n)]));
                    asum += static_cast<int64_t>(a[static_cast<size_t>(m * K + k)]);
                }
                const int64_t g = grouped ? k0 / group : 0;
                const float s = b.scales[static_cast<size_t>(g * N + n)];
                float d;
                if (b.zeros.empty()) {
                    d = static_cast<float>(static_cast<float>(static_cast<int32_t>(acc)) * s);
                } else {  // vxm.dequantz: t = fp32(asum * z); fp32(acc - t) * s
                    const float t = static_cast<float>(static_cast<double>(asum) * static_cast<double>(b.zeros[static_cast<size_t>(g * N + n)]));
                    d = static_cast<float>(static_cast<float>(static_cast<double>(static_cast<int32_t>(acc)) - static_cast<double>(t)) * s);
                }
                sum = k0 == 0 ? d : static_cast<float>(sum + d);
            }
            c[static_cast<size_t>(m * N + n)] = sum;
        }
    return c;
}

// How a GEMM of N columns goes over `chips` chips: `columns` blocks of columns (at most one
// n-tile of the array's `cols` per chip, so no chip's planes stand partly empty while another
// chip could take columns), each block's K split over `depth` chips (each at least one k-tile).
struct GemmSplit {
    int columns = 1, depth = 1;
};
GemmSplit gemm_split(int64_t n, int64_t k, int chips, int cols, int rows) {
    GemmSplit s;
    s.columns = static_cast<int>(std::min<int64_t>(chips, cdiv(n, cols)));
    s.depth = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(chips / s.columns, cdiv(k, rows))));  // a k-tile each at least
    return s;
}

// Mapping knobs the hardware cannot honour are input errors at their file:line, never
// clamped: a tile larger than the array, more planes than the chip has, m-tiles larger than
// the accumulators, double buffering on a chip without a shadow weight buffer. (Not given,
// weight_double_buffering follows the hardware config.)
void check_mapping(const hw::HwConfig& cfg, const Mapping& mp) {
    auto at = [&](const std::string& key) {
        const auto it = mp.where.find(key);
        return it != mp.where.end() ? it->second : SourceLocation{"workload", 0, 0};
    };
    auto fail = [&](const std::string& key, int64_t value, const std::string& expected) {
        throw InputError(at(key), "mapping." + key, std::to_string(value), expected);
    };
    if (mp.planes > cfg.mxm.planes) fail("planes", mp.planes, fmt::format("at most mxm.planes = {} of the hardware config", cfg.mxm.planes));
    if (mp.tile_k > cfg.mxm.rows)
        fail("tile_k", mp.tile_k, fmt::format("at most mxm.rows = {}: a k-tile is the weight rows one plane holds", cfg.mxm.rows));
    if (mp.tile_n > cfg.mxm.cols)
        fail("tile_n", mp.tile_n, fmt::format("at most mxm.cols = {}: an n-tile is the columns one plane holds", cfg.mxm.cols));
    if (mp.tile_m > cfg.mxm.accumulator_rows && !mp.tile_m_auto)
        fail("tile_m", mp.tile_m,
             fmt::format("at most mxm.accumulator_rows = {} (one tile's results must fit the accumulators)", cfg.mxm.accumulator_rows));
    if (mp.where.count("weight_double_buffering") == 0) return;  // not given: as the hardware has it
    if (mp.weight_double_buffering && !cfg.mxm.weight_double_buffering)
        throw InputError(at("weight_double_buffering"), "mapping.weight_double_buffering", "true",
                         "false: this hardware config has no shadow weight buffer (mxm.weight_double_buffering: false)");
    if (!mp.weight_double_buffering && cfg.mxm.weight_double_buffering)
        throw InputError(at("weight_double_buffering"), "mapping.weight_double_buffering", "false",
                         "true (not yet supported: a schedule that leaves the shadow weight buffer unused; to study a "
                         "chip without one, set mxm.weight_double_buffering: false in the hardware config)");
}

CompiledWorkload compile_gemm(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& opt) {
    CompiledWorkload out;
    ProgramBuilder builder(out);
    const int chips = static_cast<int>(w.chips);
    if (chips > cfg.system.chips)
        throw SimulationError(fmt::format("the gemm asks for {} chips; the hardware config has system.chips = {}", chips,
                                          cfg.system.chips));
    if (opt.functional && chips != 1)
        throw SimulationError("functional mode for a gemm split over several chips is not yet supported; use chips: 1");
    const bool fp16 = w.precision.format == WeightFormat::Fp16;
    std::vector<float> a;
    QuantizedMatrix b;
    if (opt.functional) {
        std::mt19937_64 rng(opt.seed);
        std::uniform_real_distribution<float> wdist(-1.0f, 1.0f);
        std::uniform_int_distribution<int> adist(-127, 127);
        std::vector<float> wf(static_cast<size_t>(w.k * w.n));
        for (auto& v : wf) v = wdist(rng);
        b = quantize(w.precision, wf, w.k, w.n);
        a.resize(static_cast<size_t>(w.m * w.k));
        for (auto& v : a) v = fp16 ? round_to_fp16(wdist(rng)) : static_cast<float>(adist(rng));
    }
    // Split over chips (docs/compiler.md, "A GEMM on several chips"): columns first, at most
    // one n-tile per chip; chips left over split K as well, and the partial sums of a
    // column block are reduced over C2C [TSP22 sec. 5].
    const GemmSplit split = gemm_split(w.n, w.k, chips, cfg.mxm.cols, cfg.mxm.rows);
    const int64_t n_per = cdiv(w.n, split.columns), k_per = cdiv(w.k, split.depth);
    for (int c = 0; c < split.columns * split.depth; ++c) {
        const int block = c / split.depth, rank = c % split.depth;
        const int64_t n = std::min(n_per, w.n - block * n_per), k = std::min(k_per, w.k - rank * k_per);
        if (n <= 0 || k <= 0) throw SimulationError(fmt::format("the gemm cannot use {} chips: {} x {} blocks of {} columns and {} rows leave chip {} empty; "
                                                                "use fewer chips", chips, split.columns, split.depth, n_per, k_per, c));
        ChipEmitter e(cfg, c, builder);
        e.tag("matmul");
        MatmulContext ctx{e, w.mapping, opt.functional ? &out.sram_init : nullptr, 0};
        MatmulShape sh;
        sh.m = w.m;
        sh.k = k;
        sh.n = n;
        sh.weight = w.precision;
        sh.act_fp16 = fp16;
        sh.what = "gemm";
        sh.split_output = split.depth == 1;  // the reduction takes one region per tile
        const MatmulResult r = emit_matmul(ctx, sh, opt.functional ? MatmulData{&a, &b} : MatmulData{});
        e.fence();
        if (split.depth > 1) {
            e.tag("c2c");
            for (int64_t mt = 0; mt < r.m_tiles; ++mt) {
                const int64_t n_tiles = static_cast<int64_t>(r.out_regions.size()) / r.m_tiles;
                Tensor part;
                part.elems = n;
                part.type = isa::DType::Fp32;
                part.chunks.assign(r.out_regions.begin() + mt * n_tiles, r.out_regions.begin() + (mt + 1) * n_tiles);
                DataflowOps ops(e, std::min(r.tile_m, w.m - mt * r.tile_m));
                ops.reduce_scatter(part, split.depth, rank, block * split.depth, cfg.c2c.links);
            }
        }
        out.simulated_chips.push_back(c);
        out.sram_bytes_used = std::max(out.sram_bytes_used, e.used_bytes());
        if (c == 0) {
            const size_t n_tiles = r.out_pieces.size() / static_cast<size_t>(r.m_tiles);
            for (size_t i = 0; i < r.out_pieces.size(); ++i) {
                const int64_t mt = static_cast<int64_t>(i / n_tiles), col0 = static_cast<int64_t>(i % n_tiles) * r.tile_n;
                for (const MatmulResult::Piece& p : r.out_pieces[i])
                    out.results.push_back({0, p.region.slice, p.region.addr, p.rows, 4, std::min(r.tile_n, n - col0), col0,
                                           mt * r.tile_m + p.row0, isa::DType::Fp32});
            }
            out.notes.push_back(fmt::format("gemm: {} weight tiles on chip 0, tile_n {}; {} column block(s) x {} K block(s) over chips",
                                            r.tiles, r.tile_n, split.columns, split.depth));
        }
    }
    out.chips = split.columns * split.depth;
    out.tensor = out.chips;
    out.weight_bytes = storage_bytes(w.precision, w.k, w.n);
    out.macs = static_cast<double>(w.m) * static_cast<double>(w.k) * static_cast<double>(w.n);
    out.tokens_per_step = static_cast<double>(w.m);
    if (opt.functional) {
        out.reference = reference_gemm(w, w.mapping, cfg, a, b);
        // What the quantized GEMM stands for: A times the dequantized weights, in double.
        const std::vector<float> wq = dequantize(b);
        out.reference_exact.assign(static_cast<size_t>(w.m * w.n), 0.0);
        for (int64_t m = 0; m < w.m; ++m)
            for (int64_t k = 0; k < w.k; ++k) {
                const double x = a[static_cast<size_t>(m * w.k + k)];
                for (int64_t n = 0; n < w.n; ++n)
                    out.reference_exact[static_cast<size_t>(m * w.n + n)] += x * static_cast<double>(wq[static_cast<size_t>(k * w.n + n)]);
            }
    }
    return out;
}

}  // namespace

CompiledWorkload compile(const hw::HwConfig& cfg, const Workload& w, const CompileOptions& options) {
    check_mapping(cfg, w.mapping);
    if (w.kind == WorkloadKind::Gemm) return compile_gemm(cfg, w, options);
    return compile_llama(cfg, w, options);
}

}  // namespace lpu::wl
