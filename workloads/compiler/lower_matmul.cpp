#include "workloads/compiler/lower_matmul.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace lpu::wl {

namespace {

using isa::Opcode;
using isa::Unit;

// Packed weights are unpacked by U ALUs per plane (each writing two of the plane's eight
// weight registers, so U <= 4); their input shares one register per plane pair:
// 26 (+1 for the second plane of a hemisphere), toward the centre.
constexpr int kUnpackIn = kVxmStreamBase;  // 26, one per hemisphere
// Scale and zero rows (8 vectors, one read) toward the centre on register 30 (one per
// hemisphere). The epilogue of each plane has its own pair of registers flowing back toward
// the plane's hemisphere (dequantized, running group sum): 28/29 for the first plane of a
// hemisphere, 27/31 for the second; so the two hemispheres' planes never share them.
constexpr int kScaleIn = kVxmStreamBase + 4;
int epilogue_register(int local, bool sum) { return local == 0 ? (sum ? 29 : 28) : (sum ? 31 : 27); }



// The slices that feed one plane: its hemisphere, split between the planes sharing it.
std::vector<int> feed_slices(const ChipEmitter& e, int plane, int planes_used) {
    const bool west = e.plane_is_west(plane);
    int share = 0, sharers = 0;
    for (int p = 0; p < planes_used; ++p)
        if (e.plane_is_west(p) == west) {
            if (p == plane) share = sharers;
            ++sharers;
        }
    const int per = e.slices_per_hemisphere() / std::max(sharers, 1);
    std::vector<int> out;
    for (int i = 0; i < per; ++i) out.push_back(e.slice(west, share * per + i));
    return out;
}

struct WeightTile {
    int plane = 0;
    int64_t k0 = 0, rows = 0, n0 = 0, cols = 0;
    std::vector<Region> chunks;      // per feed stream
    std::vector<uint64_t> chunk_reads;  // vectors each chunk's read delivers
    std::vector<int64_t> chunk_rows;    // weight rows per chunk (VXM unpack)
    uint64_t dma_addr = 0;
};

// Unpack chunk c of a tile holds row pairs (2c, 2c+1) + 2U k: pairs keep the 3.5-bit
// formats' even/odd (4-bit/3-bit) structure, and ALU c's output on registers 2c, 2c+1 lines
// up with the LW's 2U-wide stream group (row r on register r mod 2U).
int64_t unpack_chunk_rows(int64_t tile_rows, int c, int alus) {
    int64_t n = 0;
    for (int64_t r = 2 * c; r < tile_rows; r += 2 * alus) n += std::min<int64_t>(2, tile_rows - r);
    return n;
}
int64_t unpack_chunk_row(int64_t i, int c, int alus) { return (i / 2) * 2 * alus + 2 * c + i % 2; }

// M-tiles that go over the planes together. One, unless the n-tiles of one m-tile leave
// planes idle (NT not a multiple of the planes): then planes / gcd(NT, planes) m-tiles give
// every plane the same number of output tiles. Packed weights stay with the planes of their
// hemisphere (the unpack ALUs feed them) and activations of a previous operation come one
// m-tile at a time, so those keep one.
int64_t matmul_wave(int64_t m_tiles, int64_t n_tiles, int planes, bool one_m_tile) {
    if (one_m_tile || m_tiles <= 1) return 1;
    return std::min<int64_t>(m_tiles, planes / std::gcd<int64_t>(n_tiles, planes));
}

// The units (index mt * NT + j) of m-tiles [mt0, mt_end) in rounds: round r holds each
// plane's r-th unit, so all planes work at once; within a round, units in index order.
std::vector<std::vector<int64_t>> unit_rounds(const std::vector<int>& unit_plane, int64_t mt0, int64_t mt_end,
                                              int64_t n_tiles, int planes) {
    std::vector<std::vector<int64_t>> per_plane(static_cast<size_t>(planes));
    for (int64_t u = mt0 * n_tiles; u < mt_end * n_tiles; ++u)
        per_plane[static_cast<size_t>(unit_plane[static_cast<size_t>(u)])].push_back(u);
    std::vector<std::vector<int64_t>> rounds;
    for (size_t r = 0;; ++r) {
        std::vector<int64_t> round;
        for (const auto& units : per_plane)
            if (r < units.size()) round.push_back(units[r]);
        if (round.empty()) break;
        std::sort(round.begin(), round.end());
        rounds.push_back(std::move(round));
    }
    return rounds;
}

}  // namespace

std::vector<std::pair<int64_t, int64_t>> k_tiles(int64_t k, int64_t tile_k, int64_t chunk) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (int64_t k0 = 0; k0 < k;) {
        int64_t end = std::min(k, (k0 / tile_k + 1) * tile_k);
        if (chunk > 0) end = std::min(end, (k0 / chunk + 1) * chunk);
        out.emplace_back(k0, end - k0);
        k0 = end;
    }
    return out;
}

uint64_t stored_vectors(WeightFormat f, uint64_t rows) {
    if (rows == 0) return 0;
    switch (f) {
        case WeightFormat::Fp16: return 2 * rows;
        case WeightFormat::Int8: return rows;
        default: return static_cast<uint64_t>(packed_column_bytes(f, static_cast<int64_t>(rows)));
    }
}

MatmulResult emit_matmul(MatmulContext& ctx, const MatmulShape& sh, const MatmulData& data) {
    ChipEmitter& e = ctx.e;
    const hw::HwConfig& cfg = e.cfg();
    const Mapping& mp = ctx.mapping;
    const WeightFormat fmt = sh.weight.format;
    const bool packed = is_packed(fmt);
    const bool functional = ctx.sram_init != nullptr && data.b != nullptr;
    const int vb = cfg.vector_bytes();

    const int planes = mp.planes > 0 ? mp.planes : cfg.mxm.planes;
    if (planes > cfg.mxm.planes)
        throw InputError({"workload", 0, 0}, "mapping.planes", std::to_string(planes),
                         fmt::format("at most mxm.planes = {} of the hardware config", cfg.mxm.planes));
    int64_t tile_k = std::min<int64_t>(mp.tile_k, cfg.mxm.rows);
    const int64_t tile_n = std::min<int64_t>(mp.tile_n, cfg.mxm.cols);
    int64_t tile_m = mp.tile_m_auto ? std::min<int64_t>(mp.tile_m, cfg.mxm.accumulator_rows) : mp.tile_m;
    if (tile_m > cfg.mxm.accumulator_rows)
        throw InputError({"workload", 0, 0}, "mapping.tile_m", std::to_string(tile_m),
                         fmt::format("at most mxm.accumulator_rows = {} (one tile's results must fit the accumulators)",
                                     cfg.mxm.accumulator_rows));
    const bool grouped = packed && sh.weight.group_size > 0 && sh.weight.group_size < sh.k;
    if (grouped) {
        // One int32 partial sum must not span two scale groups (docs/quantization.md sec. 4).
        tile_k = std::min<int64_t>(tile_k, sh.weight.group_size);
        while (sh.weight.group_size % tile_k != 0) --tile_k;
    }
    bool unpack_on_vxm = packed;
    if (packed && mp.unpack == UnpackPath::Install) {
        const auto& f = cfg.mxm.install_unpack_formats;
        if (std::find(f.begin(), f.end(), std::string(format_name(fmt))) == f.end())
            throw InputError({"workload", 0, 0}, "mapping.unpack", "install",
                             fmt::format("vxm: the hardware config has no install-path unpack for {} "
                                         "(mxm.install_unpack_formats)", format_name(fmt)));
        unpack_on_vxm = false;
        if (functional) throw SimulationError("functional mode with mapping.unpack: install is not yet supported");
    }
    if (sh.act_fp16 != (fmt == WeightFormat::Fp16))
        throw InputError({"workload", 0, 0}, "activations", sh.act_fp16 ? "fp16" : "int8",
                         fmt == WeightFormat::Fp16 ? "fp16 with fp16 weights" : "int8 with integer weight formats");
    const isa::DType lw_type = fmt == WeightFormat::Fp16 ? isa::DType::Fp16
                               : (packed && !unpack_on_vxm) ? format_dtype(fmt)
                                                            : isa::DType::Int8;
    // ALU plan: planes x U unpack ALUs, then one epilogue ALU per plane.
    const int unpack_alus = std::clamp((cfg.vxm.alus_per_lane - planes) / std::max(planes, 1), 1, 4);
    const int feed = unpack_on_vxm ? unpack_alus : 8;
    auto unpack_alu = [&](int plane, int c) { return (plane * unpack_alus + c) % cfg.vxm.alus_per_lane; };
    auto epilogue_alu = [&](int plane) { return (planes * unpack_alus + plane) % cfg.vxm.alus_per_lane; };
    const int64_t act_vecs = sh.act_fp16 ? 2 : 1;
    const bool own_act = sh.act_in == nullptr;
    if (!own_act) {
        if (sh.m > tile_m || tile_n != vb || sh.act_in->elems != sh.k ||
            static_cast<int64_t>(sh.act_in->chunks.size()) != cdiv(sh.k, vb) ||
            sh.act_in->type != (sh.act_fp16 ? isa::DType::Fp16 : isa::DType::Int8) || (sh.act_fp16 && tile_k != vb))
            throw SimulationError(fmt::format("{}: activations from the previous operation need one m-tile (M = {} <= tile_m = {}), "
                                              "tile_n = {} and, for fp16, tile_k = {} (not yet supported otherwise)",
                                              sh.what, sh.m, tile_m, vb, vb));
    }
    const std::vector<std::pair<int64_t, int64_t>> ktl = k_tiles(sh.k, tile_k, own_act ? 0 : vb);
    const int64_t KT = static_cast<int64_t>(ktl.size()), NT = cdiv(sh.n, tile_n);
    const int64_t need = planes / std::gcd<int64_t>(NT, planes);  // m-tiles of a wave (below)
    if (mp.tile_m_auto && own_act && !packed && sh.m > tile_m && cdiv(sh.m, tile_m) % need != 0) {
        // Equal m-tiles, a multiple of a wave, so that no plane idles while others finish a
        // last wave: 800 rows on 2 n-tiles and 4 planes are 4 m-tiles of 200, not 320 + 320 +
        // 160. (When the count is already a multiple, the short last m-tile stays: its
        // epilogue is the shortest tail.)
        tile_m = cdiv(sh.m, cdiv(cdiv(sh.m, tile_m), need) * need);
    }
    const int64_t MT = cdiv(sh.m, tile_m);
    const int64_t group = grouped ? sh.weight.group_size : sh.k;
    // Weights with a zero point: y = s (sum x q - z sum x), so each output row needs the sum
    // of its activations over the k range one dequant covers (a k-tile when grouped, all of K
    // otherwise), docs/compiler.md "Zero points".
    const bool zero_points = has_zero_point(fmt);
    const int64_t asums_per_mtile = grouped ? KT : 1;

    MatmulResult res;
    res.tile_n = tile_n;
    const std::string category = e.current_tag().category;
    const int layer = e.current_tag().layer;

    // ---- placement: weight tiles, activations, scales, outputs --------------------------
    std::vector<std::vector<int>> slices_of(static_cast<size_t>(planes));
    for (int p = 0; p < planes; ++p) slices_of[static_cast<size_t>(p)] = feed_slices(e, p, planes);
    std::vector<size_t> rr(static_cast<size_t>(planes), 0);
    // Matmuls with fewer output tiles than planes start on the next plane each time, so the
    // planes' weight shares stay even.
    const int plane_offset = e.next_plane_offset(static_cast<int>(std::min<int64_t>(NT, planes)), planes);
    std::vector<WeightTile> tiles(static_cast<size_t>(KT * NT));
    for (int64_t j = 0; j < NT; ++j)
        for (int64_t kt = 0; kt < KT; ++kt) {
            WeightTile& t = tiles[static_cast<size_t>(j * KT + kt)];
            t.plane = static_cast<int>((j + plane_offset) % planes);
            t.k0 = ktl[static_cast<size_t>(kt)].first;
            t.rows = ktl[static_cast<size_t>(kt)].second;
            t.n0 = j * tile_n;
            t.cols = std::min(tile_n, sh.n - t.n0);
            const auto& sl = slices_of[static_cast<size_t>(t.plane)];
            size_t& r = rr[static_cast<size_t>(t.plane)];
            for (int c = 0; c < feed; ++c) {
                uint64_t vectors = 0, reads = 0;
                int64_t rows_c = 0;
                if (unpack_on_vxm) {
                    rows_c = unpack_chunk_rows(t.rows, c, feed);
                    vectors = stored_vectors(fmt, static_cast<uint64_t>(rows_c));
                    reads = (static_cast<uint64_t>(rows_c) * static_cast<uint64_t>(isa::dtype_bits_x2(format_dtype(fmt))) + 15) / 16;
                } else {
                    const uint64_t total = stored_vectors(fmt, static_cast<uint64_t>(t.rows));
                    const uint64_t in = lw_type == isa::DType::Int8 || lw_type == isa::DType::Fp16
                                            ? total
                                            : (static_cast<uint64_t>(t.rows) * static_cast<uint64_t>(isa::dtype_bits_x2(lw_type)) + 15) / 16;
                    reads = in > static_cast<uint64_t>(c) ? (in - static_cast<uint64_t>(c) + feed - 1) / feed : 0;
                    vectors = reads;
                }
                t.chunk_rows.push_back(rows_c);
                t.chunk_reads.push_back(reads);
                if (sh.weights_via_dma || reads == 0) {
                    t.chunks.push_back({});
                    continue;
                }
                // The next slice of the plane's set with room (others may be full of other data).
                size_t pick = (r + static_cast<size_t>(c)) % sl.size();
                for (size_t tries = 0; tries < sl.size() && !e.has_room(sl[pick], vectors); ++tries) pick = (pick + 1) % sl.size();
                if (e.has_room(sl[pick], vectors))
                    t.chunks.push_back(e.alloc(sl[pick], vectors, sh.what + " weights", sh.weights_scratch));
                else  // the plane's share is full: any slice of its hemisphere feeds it as well
                    t.chunks.push_back(e.alloc_in_hemisphere(e.plane_is_west(t.plane), vectors, sh.what + " weights", sh.weights_scratch));
            }
            r += static_cast<size_t>(feed);
            if (sh.weights_via_dma) {
                t.dma_addr = ctx.dma_next_addr;
                uint64_t total = 0;
                for (uint64_t v : t.chunk_reads) total += v;
                ctx.dma_next_addr += total * static_cast<uint64_t>(vb);
            }
        }
    // Activation buffers of one m-tile in one hemisphere; waves and per-plane copies (below)
    // multiply them, and are given up when they would take more than 3/4 of the scratch
    // space the weights leave in a hemisphere (long K: [800 x 32576] fp16 is 52 MB).
    int64_t free_bytes = INT64_MAX;
    for (const bool w : {true, false}) {
        int64_t f = 0;
        for (int i = 0; i < e.slices_per_hemisphere(); ++i)
            for (size_t b = 0; b < static_cast<size_t>(cfg.mem.banks_per_slice); ++b)
                f += static_cast<int64_t>(e.bank_free(e.slice(w, i), b, true)) * vb;
        free_bytes = std::min(free_bytes, f);
    }
    // a GEMM's results, placed up front, take their share (fp32: 4 vectors a row and n-tile)
    if (sh.split_output) free_bytes -= std::min(free_bytes, sh.m * NT * 4 * vb / 2);
    const int64_t act_bytes_per_m_tile = KT * std::min(tile_m, sh.m) * act_vecs * vb;
    int64_t wave = matmul_wave(MT, NT, planes, packed || !own_act);
    while (wave > 1 && 4 * wave * act_bytes_per_m_tile > 3 * free_bytes) --wave;
    const bool act_per_plane = own_act && 4 * 2 * wave * act_bytes_per_m_tile <= 3 * free_bytes;
    // Work units: output tiles (m-tile, n-tile), each computed over all its k-tiles on one
    // plane. One m-tile at a time keeps only its buffers live; when its n-tiles do not spread
    // evenly over the planes, `wave` m-tiles go together and each unit goes to the plane with
    // the fewest rows so far (docs/compiler.md, "Matmul").
    std::vector<int> unit_plane(static_cast<size_t>(MT * NT));
    for (int64_t mt0 = 0; mt0 < MT; mt0 += wave) {
        std::vector<int64_t> load(static_cast<size_t>(planes), 0);
        for (int64_t mt = mt0; mt < std::min(MT, mt0 + wave); ++mt)
            for (int64_t j = 0; j < NT; ++j) {
                int p = tiles[static_cast<size_t>(j * KT)].plane;  // one m-tile: where the weights are
                if (wave > 1) p = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
                load[static_cast<size_t>(p)] += std::min(tile_m, sh.m - mt * tile_m);
                unit_plane[static_cast<size_t>(mt * NT + j)] = p;
            }
    }
    bool hemi_used[2] = {false, false};
    for (int p = 0; p < planes; ++p) hemi_used[e.plane_is_west(p) ? 0 : 1] = true;
    // Activations and results: one region per (k-tile, m-tile) and (m-tile, n-tile). With
    // data (functional mode) all are placed up front; otherwise each m-tile's are placed when
    // it starts and released after it (prefill keeps only one m-tile of buffers live).
    // A GEMM's activations and results go to different slices, so that no write of results
    // holds a bank that an activation read needs: activations in the last quarter of the
    // hemisphere's slices (the one with the most room), results in turn over the others,
    // so that tiles finishing together write to different slices.
    int next_out_slice[2] = {0, 0};
    auto alloc_staging = [&](bool west, uint64_t vectors, bool output) {
        const int S = e.slices_per_hemisphere();
        const int outputs = sh.split_output ? std::max(1, S - S / 4) : 0;
        int& next = next_out_slice[west ? 0 : 1];
        // Weights fill banks from the first; staging prefers the last bank with room, so that
        // its reads and writes rarely share a bank with weight reads.
        int best = -1, best_bank = -1;
        uint64_t best_free = 0;
        for (int i = 0; i < (output ? outputs : S - outputs); ++i) {
            const int sl = e.slice(west, output ? (next + i) % outputs : outputs + i);
            for (int b = cfg.mem.banks_per_slice - 1; b >= 0; --b) {
                const uint64_t free = e.bank_free(sl, static_cast<size_t>(b), true);
                if (free < vectors || free <= best_free) continue;
                best = sl;
                best_bank = b;
                best_free = free;
                if (output) next = (next + i + 1) % outputs;
                if (output) break;
            }
            if (output && best >= 0) break;
        }
        const std::string what = sh.what + (output ? " output" : " activations");
        return best >= 0 && outputs > 0 ? e.alloc(best, vectors, what, true, best_bank) : e.alloc_in_hemisphere(west, vectors, what, true);
    };
    // Copy g = 2 h + c in hemisphere h: with its own activations each plane of a hemisphere
    // reads its own copy (c = its local index), since two planes streaming one copy from one
    // bank would each get half the bank's vector per cycle; a previous operation's tensor is
    // shared (c = 0).
    std::vector<Region> act[4];
    auto act_copy = [&](int plane) { return (e.plane_is_west(plane) ? 0 : 2) + (act_per_plane ? plane_streams(e, plane).local : 0); };
    for (int p = 0; p < planes; ++p) act[act_copy(p)].resize(static_cast<size_t>(KT * MT));
    auto place_act = [&](int64_t mt) {
        if (!own_act) return;  // staged per k-tile when the instructions start
        for (int g = 0; g < 4; ++g)
            for (int64_t kt = 0; kt < static_cast<int64_t>(act[g].size()) / MT; ++kt)
                act[g][static_cast<size_t>(kt * MT + mt)] =
                    alloc_staging(g < 2, static_cast<uint64_t>(std::min(tile_m, sh.m - mt * tile_m) * act_vecs), false);
    };
    // Activation row sums (fp32 rows of 4 vectors), per hemisphere, per (m-tile, k-tile or all).
    std::vector<Region> asum[2];
    for (int h = 0; h < 2; ++h) asum[h].resize(hemi_used[h] && zero_points ? static_cast<size_t>(asums_per_mtile * MT) : 0);
    auto place_asum = [&](int64_t mt) {
        for (int h = 0; h < 2; ++h)
            for (int64_t a = 0; a < static_cast<int64_t>(asum[h].size()) / MT; ++a)
                asum[h][static_cast<size_t>(mt * asums_per_mtile + a)] = e.alloc_in_hemisphere(
                    h == 0, static_cast<uint64_t>(4 * std::min(tile_m, sh.m - mt * tile_m)), sh.what + " activation sums", true);
    };
    const int64_t groups_per_col = cdiv(sh.k, group);
    // per (n-tile, group): the fp32 scale row then the fp32 zero row, in the plane's hemisphere
    std::vector<Region> scales;
    auto plane_of = [&](int64_t j) { return tiles[static_cast<size_t>(j * KT)].plane; };
    if (fmt != WeightFormat::Fp16)
        for (int64_t j = 0; j < NT; ++j)
            for (int64_t g = 0; g < groups_per_col; ++g)
                scales.push_back(e.alloc_in_hemisphere(e.plane_is_west(plane_of(j)), 8, sh.what + " scales", sh.weights_scratch));
    // Results return from the VXM to the plane's hemisphere (fp16 results go there directly),
    // 4 vectors per row.
    // With split_output, a tile's fp32 rows go to `pieces` slices in turn: a slice writes one
    // vector per cycle, the epilogue makes 4 per row every dequant cost (fp16: per drained
    // row), and a piece never takes more than half a bank.
    const int64_t per_bank = cfg.mem.vectors_per_slice() / cfg.mem.banks_per_slice;
    const int64_t row_cycles = fmt == WeightFormat::Fp16 ? 1 : zero_points ? 3 : 2;
    res.out_regions.resize(static_cast<size_t>(MT * NT));
    res.out_pieces.resize(static_cast<size_t>(MT * NT));
    auto place_out = [&](int64_t mt) {
        const int64_t rows = std::min(tile_m, sh.m - mt * tile_m);
        const int64_t pieces = !sh.split_output ? 1 : std::max(cdiv(4, row_cycles), cdiv(4 * rows, per_bank / 2));
        const int64_t piece_rows = cdiv(rows, pieces);
        for (int64_t j = 0; j < NT; ++j) {
            auto& out = res.out_pieces[static_cast<size_t>(mt * NT + j)];
            out.clear();
            for (int64_t r0 = 0; r0 < rows; r0 += piece_rows) {
                const int64_t n = std::min(piece_rows, rows - r0);
                out.push_back({alloc_staging(e.plane_is_west(unit_plane[static_cast<size_t>(mt * NT + j)]), static_cast<uint64_t>(4 * n), true),
                               r0, n});
            }
            res.out_regions[static_cast<size_t>(mt * NT + j)] = out.front().region;
        }
    };
    // A GEMM's results are what it is run for: they stay, while each wave's activation
    // buffers are released after it (timing mode), so no wave loads its activations over the
    // results of the previous one.
    const bool outputs_up_front = functional || sh.split_output;
    if (outputs_up_front)
        for (int64_t mt = 0; mt < MT; ++mt) place_out(mt);
    if (functional)
        for (int64_t mt = 0; mt < MT; ++mt) {
            place_act(mt);
            place_asum(mt);
        }
    res.m_tiles = MT;
    res.tile_m = tile_m;

    // ---- functional images --------------------------------------------------------------
    if (functional) {
        const QuantizedMatrix& b = *data.b;
        auto weight_of = [&](int64_t k, int64_t n) -> float {
            return fmt == WeightFormat::Fp16 ? b.values[static_cast<size_t>(k * sh.n + n)]
                                             : static_cast<float>(b.q[static_cast<size_t>(k * sh.n + n)]);
        };
        for (const WeightTile& t : tiles) {
            // The tile's row sequence as the LW (or the unpack ALUs) consume it.
            for (int c = 0; c < feed; ++c) {
                if (t.chunk_reads[static_cast<size_t>(c)] == 0) continue;
                std::vector<uint8_t> img;
                if (unpack_on_vxm) {
                    const int64_t rc = t.chunk_rows[static_cast<size_t>(c)];
                    std::vector<int8_t> q(static_cast<size_t>(rc * vb), 0);
                    for (int64_t i = 0; i < rc; ++i)
                        for (int64_t l = 0; l < t.cols; ++l)
                            q[static_cast<size_t>(i * vb + l)] =
                                static_cast<int8_t>(weight_of(t.k0 + unpack_chunk_row(i, c, feed), t.n0 + l));
                    const std::vector<uint8_t> colmajor = pack(fmt, q, rc, vb);
                    const int64_t pcb = packed_column_bytes(fmt, rc);
                    img.assign(static_cast<size_t>(pcb * vb), 0);
                    for (int64_t l = 0; l < vb; ++l)
                        for (int64_t jv = 0; jv < pcb; ++jv)
                            img[static_cast<size_t>(jv * vb + l)] = colmajor[static_cast<size_t>(l * pcb + jv)];
                } else {
                    // Vector sequence of the tile: int8 one per row, fp16 two per row.
                    const int64_t per_row = fmt == WeightFormat::Fp16 ? 2 : 1;
                    const int64_t total = t.rows * per_row;
                    for (int64_t v = c; v < total; v += feed) {
                        std::vector<uint8_t> vec(static_cast<size_t>(vb), 0);
                        const int64_t row = v / per_row, half = v % per_row;
                        for (int64_t l = 0; l < t.cols; ++l) {
                            const float w = weight_of(t.k0 + row, t.n0 + l);
                            if (per_row == 1) {
                                vec[static_cast<size_t>(l)] = static_cast<uint8_t>(static_cast<int8_t>(w));
                            } else {
                                // element-contiguous fp16 row: element l at bytes 2l, 2l+1 of the 640-byte row
                                const uint16_t h = fp16_bits(w);
                                const int64_t byte = 2 * l;
                                if (byte / vb == half) vec[static_cast<size_t>(byte % vb)] = static_cast<uint8_t>(h & 0xff);
                                if ((byte + 1) / vb == half) vec[static_cast<size_t>((byte + 1) % vb)] = static_cast<uint8_t>(h >> 8);
                            }
                        }
                        img.insert(img.end(), vec.begin(), vec.end());
                    }
                }
                const Region& r = t.chunks[static_cast<size_t>(c)];
                ctx.sram_init->push_back({e.chip(), r.slice, r.addr, std::move(img)});
            }
        }
        for (int h = 0; h < 4 && own_act; ++h)
            for (size_t ri = 0; ri < act[h].size(); ++ri) {
                const std::vector<float>& a = *data.a;
                const int64_t kt = static_cast<int64_t>(ri) / MT, mt = static_cast<int64_t>(ri) % MT;
                const int64_t m_first = mt * tile_m, m_rows = std::min(tile_m, sh.m - m_first);
                std::vector<uint8_t> img(static_cast<size_t>(m_rows * act_vecs * vb), 0);
                for (int64_t m = 0; m < m_rows; ++m)
                    for (int64_t i = 0; i < ktl[static_cast<size_t>(kt)].second; ++i) {
                        const float v = a[static_cast<size_t>((m_first + m) * sh.k + ktl[static_cast<size_t>(kt)].first + i)];
                        if (!sh.act_fp16) {
                            img[static_cast<size_t>(m * vb + i)] = static_cast<uint8_t>(static_cast<int8_t>(v));
                        } else {
                            const uint16_t bits = fp16_bits(v);
                            img[static_cast<size_t>(m * 2 * vb + 2 * i)] = static_cast<uint8_t>(bits & 0xff);
                            img[static_cast<size_t>(m * 2 * vb + 2 * i + 1)] = static_cast<uint8_t>(bits >> 8);
                        }
                    }
                const Region& r = act[h][ri];
                ctx.sram_init->push_back({e.chip(), r.slice, r.addr, std::move(img)});
            }
        for (int64_t j = 0; j < NT && fmt != WeightFormat::Fp16; ++j)
            for (int64_t g = 0; g < groups_per_col; ++g) {
                std::vector<uint8_t> img(static_cast<size_t>(8 * vb), 0);  // scale row, zero-point row
                for (int64_t l = 0; l < std::min(tile_n, sh.n - j * tile_n); ++l) {
                    const size_t at = static_cast<size_t>(g * sh.n + j * tile_n + l);
                    put_f32(img, static_cast<size_t>(4 * l), b.scales[at]);
                    if (zero_points) put_f32(img, static_cast<size_t>(4 * (vb + l)), b.zeros[at]);
                }
                const Region& r = scales[static_cast<size_t>(j * groups_per_col + g)];
                ctx.sram_init->push_back({e.chip(), r.slice, r.addr, std::move(img)});
            }
    }

    // ---- instructions ---------------------------------------------------------------------
    for (int64_t mt0 = 0; mt0 < MT; mt0 += wave) {
        const int64_t mt_end = std::min(MT, mt0 + wave);
        const ChipEmitter::ScratchMark mark = e.scratch_mark();
        if (!functional)
            for (int64_t mt = mt0; mt < mt_end; ++mt) {
                place_act(mt);
                if (!outputs_up_front) place_out(mt);
                place_asum(mt);
            }
        if (!own_act) {
            // Activations of the previous operation: a k-tile that is a whole chunk (or its zero-
            // padded end) in the plane's hemisphere is read in place, or copied across the
            // centre. A k-tile inside a chunk is cut out on the west SXM: shifted up so that
            // it ends at the top lane, then down to lane 0 with zero fill, so that its vector
            // holds only its own columns (the zero-point row sums add every lane).
            e.tag("activation_staging", layer);
            bool staged = false;
            for (int h = 0; h < 2; ++h)
                for (int64_t kt = 0; kt < KT && hemi_used[h]; ++kt) {
                    const auto [k0, krows] = ktl[static_cast<size_t>(kt)];
                    const Region& src = sh.act_in->chunks[static_cast<size_t>(k0 / vb)];
                    const int64_t lane = k0 % vb;
                    const bool src_west = src.slice < e.slices_per_hemisphere();
                    const int64_t end = k0 + krows == sh.k ? vb : lane + krows;  // past K the chunk is zero
                    const bool whole = lane == 0 && end == vb;
                    Region& dst = act[2 * h][static_cast<size_t>(kt)];
                    if (whole && src_west == (h == 0)) {
                        dst = src;
                        continue;
                    }
                    dst = e.alloc_in_hemisphere(h == 0, src.vectors, sh.what + " activations", true);
                    const auto n = static_cast<int64_t>(src.vectors);
                    if (whole) {
                        e.read(src, 0, src.vectors, stream(kUnpackIn, src_west), true);
                        e.write(dst, 0, src.vectors, stream(kUnpackIn, src_west));
                    } else {
                        e.read(src, 0, src.vectors, stream(kUnpackIn, false), true);
                        isa::StreamRef cur = stream(kUnpackIn, false);
                        if (end < vb) {
                            e.emit(Unit::Sxm, 0, Opcode::Shift, {n, s(cur), s(stream(kUnpackIn + 2, true)), vb - end});
                            cur = stream(kUnpackIn + 2, true);
                        }
                        e.emit(Unit::Sxm, 0, Opcode::Shift, {n, s(cur), s(stream(kUnpackIn + 1, true)), -(end < vb ? vb - krows : lane)});
                        e.write(dst, 0, src.vectors, stream(kUnpackIn + 1, true));
                    }
                    staged = true;
                }
            if (staged) e.fence(true);
        }
        // Row sums of the activations for the zero-point term, computed once per m-tile in each
        // hemisphere with planes (before the tiles, so stream registers are borrowed in order):
        // int8 row -> cvt fp32 -> rsum (exact: |sum| < 2^24) -> running sum over k-tiles.
        for (int64_t mt = mt0; mt < mt_end; ++mt)
        for (int h = 0; h < 2 && zero_points; ++h) {
            if (!hemi_used[h]) continue;
            const int64_t rows = std::min(tile_m, sh.m - mt * tile_m);
            const bool west = h == 0;
            int first_plane = 0;
            while (e.plane_is_west(first_plane) != west) ++first_plane;
            const int alu = epilogue_alu(first_plane);
            e.tag("dequant", layer);
            const isa::StreamRef in = stream(kUnpackIn, west), wide = stream(27, !west), fin = stream(28, !west),
                                 sum = stream(29, !west), part = stream(31, !west);
            for (int64_t kt = 0; kt < KT; ++kt) {
                e.read(act[2 * h][static_cast<size_t>(kt * MT + mt)], 0, static_cast<uint64_t>(rows), in, true);
                e.emit(Unit::Vxm, alu, Opcode::Cvt, {rows, s(in), s(wide), static_cast<int64_t>(isa::DType::Int8),
                                                     static_cast<int64_t>(isa::DType::Fp32)});
                const bool last = kt == KT - 1;
                const isa::StreamRef red = grouped || KT == 1 ? fin : (kt == 0 ? sum : part);
                e.emit(Unit::Vxm, alu, Opcode::RedSum, {rows, s(wide), s(red), static_cast<int64_t>(isa::DType::Fp32)});
                if (!grouped && kt > 0)
                    e.emit(Unit::Vxm, alu, Opcode::Add, {rows, s(part), s(sum), s(last ? fin : sum), static_cast<int64_t>(isa::DType::Fp32)});
                if (grouped || last)
                    e.write(asum[h][static_cast<size_t>(mt * asums_per_mtile + (grouped ? kt : 0))], 0, static_cast<uint64_t>(4 * rows), fin);
            }
        }
        if (zero_points) e.fence(true);
        for (const std::vector<int64_t>& round : unit_rounds(unit_plane, mt0, mt_end, NT, planes)) {
            for (int64_t kt = 0; kt < KT; ++kt) {
                for (const int64_t u : round) {
                    const int64_t mt = u / NT, j = u % NT, rows = std::min(tile_m, sh.m - mt * tile_m);
                    const int plane = unit_plane[static_cast<size_t>(u)];
                    const WeightTile& t = tiles[static_cast<size_t>(j * KT + kt)];
                    const PlaneStreams ps = plane_streams(e, plane);
                    const bool west = e.plane_is_west(plane);
                    // weight feed
                    e.tag("weight_install", layer);
                    if (unpack_on_vxm) {
                        for (int c = 0; c < feed; ++c) {
                            if (t.chunk_reads[static_cast<size_t>(c)] == 0) continue;
                            // Slices sit on the plane's side of the VXM: data flows toward the centre.
                            const isa::StreamRef to_vxm = stream(kUnpackIn, west);
                            if (sh.weights_via_dma) {
                                e.tag("memory_interface", layer);
                                e.emit(Unit::Dma, 0, Opcode::DmaLoad, {static_cast<int64_t>(t.dma_addr), static_cast<int64_t>(t.chunk_reads[static_cast<size_t>(c)]), s(to_vxm)});
                            } else {
                                const Region& r = t.chunks[static_cast<size_t>(c)];
                                e.emit(Unit::Mem, r.slice, Opcode::Read, {static_cast<int64_t>(r.addr), static_cast<int64_t>(t.chunk_reads[static_cast<size_t>(c)]), s(to_vxm)});
                            }
                            e.tag("unpack", layer);
                            e.emit(Unit::Vxm, unpack_alu(plane, c), Opcode::Unpack, {t.chunk_rows[static_cast<size_t>(c)], s(to_vxm),
                                                                   s(stream(ps.weights + 2 * c, ps.weights_east, 2)),
                                                                   static_cast<int64_t>(format_dtype(fmt))});
                        }
                    } else if (sh.weights_via_dma) {
                        e.tag("memory_interface", layer);
                        uint64_t total = 0;
                        for (uint64_t v : t.chunk_reads) total += v;
                        e.emit(Unit::Dma, 0, Opcode::DmaLoad, {static_cast<int64_t>(t.dma_addr), static_cast<int64_t>(total),
                                                              s(stream(ps.weights, ps.weights_east, 8))});
                    } else {
                        for (int c = 0; c < feed; ++c) {
                            if (t.chunk_reads[static_cast<size_t>(c)] == 0) continue;
                            const Region& r = t.chunks[static_cast<size_t>(c)];
                            e.emit(Unit::Mem, r.slice, Opcode::Read, {static_cast<int64_t>(r.addr), static_cast<int64_t>(t.chunk_reads[static_cast<size_t>(c)]),
                                                                       s(stream(ps.weights + c, ps.weights_east))});
                        }
                    }
                    e.tag("weight_install", layer);
                    const int width = unpack_on_vxm ? static_cast<int>(std::min<int64_t>(2 * feed, t.rows))
                                                    : static_cast<int>(std::count_if(t.chunk_reads.begin(), t.chunk_reads.end(),
                                                                                     [](uint64_t v) { return v > 0; }));
                    e.emit(Unit::Mxm, plane, Opcode::Lw, {t.rows, s(stream(ps.weights, ps.weights_east, std::max(width, 1))), static_cast<int64_t>(lw_type)});
                    e.emit(Unit::Mxm, plane, Opcode::Iw, {t.cols});
                    res.tiles++;
                    res.install_bytes += t.rows * cfg.mxm.cols * (fmt == WeightFormat::Fp16 ? 2 : 1);
                    // activations and the array pass
                    e.tag(category, layer);
                    const Region& ar = act[act_copy(plane)][static_cast<size_t>(kt * MT + mt)];
                    e.read(ar, 0, static_cast<uint64_t>(rows * act_vecs),
                           stream(ps.activations, ps.weights_east), true);
                    e.emit(Unit::Mxm, plane, Opcode::Abc, {rows, s(stream(ps.activations, ps.weights_east)),
                                                              static_cast<int64_t>(sh.act_fp16 ? isa::DType::Fp16 : isa::DType::Int8),
                                                              grouped ? 0 : (kt > 0 ? 1 : 0)});
                    const bool last_k = kt == KT - 1;
                    if (!grouped && !last_k) continue;
                    // epilogue: drain, dequant (and the group sum), write
                    e.emit(Unit::Mxm, plane, Opcode::Acc, {rows, s(stream(ps.acc, ps.acc_east, 4))});
                    const auto& out = res.out_pieces[static_cast<size_t>(mt * NT + j)];
                    auto write_out = [&](isa::StreamRef from) {
                        for (const MatmulResult::Piece& piece : out)
                            e.write(piece.region, 0, static_cast<uint64_t>(4 * piece.rows), from);
                    };
                    if (fmt == WeightFormat::Fp16) {
                        // fp32 accumulators: straight to SRAM, no dequant
                        write_out(stream(ps.acc, ps.acc_east, 4));
                        continue;
                    }
                    e.tag("dequant", layer);
                    const int64_t g = grouped ? ktl[static_cast<size_t>(kt)].first / group : 0;
                    const Region& sc = scales[static_cast<size_t>(j * groups_per_col + g)];
                    const isa::StreamRef scale_in = e.to_centre(sc, kScaleIn);
                    e.emit(Unit::Mem, sc.slice, Opcode::Read, {static_cast<int64_t>(sc.addr), 8, s(scale_in)});
                    // One ALU per plane keeps each plane's dequant/sum chain in order on one queue.
                    const int alu = epilogue_alu(plane);
                    const bool chain = grouped && KT > 1;
                    // Groups: partial results are dequantized one group at a time and summed on
                    // the VXM (first group -> sum register; later groups -> added into it).
                    // back toward the plane's hemisphere, where its results are stored
                    const isa::StreamRef dequantized = stream(epilogue_register(ps.local, false), !west);
                    const isa::StreamRef sum = stream(epilogue_register(ps.local, true), !west);
                    const isa::StreamRef dq_out = chain && kt == 0 ? sum : dequantized;
                    if (!zero_points && !chain && out.size() == 2) {
                        // Per-channel scales, two pieces: the second piece's rows are dequantized on
                        // a second ALU (an unpack ALU, idle with int8 weights) onto the sum
                        // register, unused here, so the epilogue keeps pace with the drain.
                        const isa::StreamRef acc_out = stream(ps.acc, ps.acc_east, 4);
                        e.emit(Unit::Vxm, alu, Opcode::Dequant, {out[0].rows, s(acc_out), s(scale_in), s(scale_in), s(dequantized)});
                        e.emit(Unit::Mem, sc.slice, Opcode::Read, {static_cast<int64_t>(sc.addr), 8, s(scale_in)});
                        e.emit(Unit::Vxm, unpack_alu(plane, 0), Opcode::Dequant,
                               {out[1].rows, s(acc_out), s(scale_in), s(scale_in), s(sum)});
                        e.write(out[0].region, 0, static_cast<uint64_t>(4 * out[0].rows), dequantized);
                        e.write(out[1].region, 0, static_cast<uint64_t>(4 * out[1].rows), sum);
                        continue;
                    }
                    if (zero_points) {
                        // the row sums follow the scale and zero rows on the same register
                        const Region& as = asum[west ? 0 : 1][static_cast<size_t>(mt * asums_per_mtile + (grouped ? kt : 0))];
                        e.read(as, 0, static_cast<uint64_t>(4 * rows), scale_in, true);
                        e.emit(Unit::Vxm, alu, Opcode::DequantZ, {rows, s(stream(ps.acc, ps.acc_east, 4)), s(scale_in), s(scale_in),
                                                                  s(scale_in), s(dq_out)});
                    } else {
                        e.emit(Unit::Vxm, alu, Opcode::Dequant, {rows, s(stream(ps.acc, ps.acc_east, 4)), s(scale_in), s(scale_in), s(dq_out)});
                    }
                    if (chain && kt == 0) continue;
                    isa::StreamRef result = dq_out;
                    if (chain) {
                        result = last_k ? dequantized : sum;
                        e.emit(Unit::Vxm, alu, Opcode::Add, {rows, s(sum), s(dequantized), s(result), static_cast<int64_t>(isa::DType::Fp32)});
                        if (!last_k) continue;
                    }
                    write_out(result);
                }
            }
        }
        // With activations from the previous operation the outputs are the next one's input:
        // they (and the staging buffers) live until the caller releases its scratch.
        if (!functional && own_act) e.scratch_rewind(mark);
    }
    return res;
}

}  // namespace lpu::wl
