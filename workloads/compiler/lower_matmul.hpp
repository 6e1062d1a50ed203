// Lowering of one matrix multiply C[M x N] = A[M x K] B[K x N] onto one chip's MXM planes:
// weight placement in the planes' hemispheres, the weight feed (eight slices per tile, or
// packed chunks through VXM unpack ALUs), LW/IW/ABC/ACC per tile, and the dequant epilogue.
// docs/compiler.md, "Matmul".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "workloads/compiler/emitter.hpp"

namespace lpu::wl {

struct MatmulShape {
    int64_t m = 0, k = 0, n = 0;
    WeightSpec weight;            // format of B
    bool act_fp16 = false;        // A in fp16 (with fp16 weights), else int8
    bool weights_via_dma = false; // B streamed from the memory interface instead of SRAM
    bool weights_scratch = false; // B is a working copy (the KV cache is reserved by the caller)
    // A already in SRAM (int8 or fp16 chunks of the previous operation) instead of buffers
    // the matmul places itself. One m-tile only; k-tiles then never straddle a chunk, and a
    // k-tile that starts inside a chunk is lane-shifted into place on the SXM.
    const Tensor* act_in = nullptr;
    // The caller takes each output tile as row pieces in several slices (out_pieces), so
    // that the results leave the VXM as fast as it makes them; otherwise one region per tile.
    bool split_output = false;
    std::string what;             // for messages: "layer 3 q"
};

// Functional data (optional): A (M x K, int8 values or fp16-rounded floats) and B quantized.
struct MatmulData {
    const std::vector<float>* a = nullptr;
    const QuantizedMatrix* b = nullptr;
};

struct MatmulResult {
    // int32 results dequantized to fp32: rows of 4 vectors striped over 4 slices
    // (out_slice .. out_slice + 3) at the same address, one region per n-tile.
    std::vector<Region> out_regions;  // per (m-tile, n-tile), index mt * n_tiles + j (first piece)
    struct Piece {
        Region region;
        int64_t row0 = 0, rows = 0;  // rows of the tile it holds
    };
    std::vector<std::vector<Piece>> out_pieces;  // per (m-tile, n-tile): its rows in order
    int64_t m_tiles = 0;
    int64_t tile_m = 0;
    int64_t tile_n = 0;
    int64_t tiles = 0;          // weight tiles installed
    int64_t install_bytes = 0;  // bytes installed into the planes
};

struct MatmulContext {
    ChipEmitter& e;
    const Mapping& mapping;
    std::vector<SramInit>* sram_init = nullptr;  // functional: where to put the data images
    uint64_t dma_next_addr = 0;                  // off-chip placement for streamed weights
};

MatmulResult emit_matmul(MatmulContext& ctx, const MatmulShape& shape, const MatmulData& data = {});

// K-tiles of a matmul as (first row, rows): multiples of tile_k, also cut at multiples of
// `chunk` when the activations come in chunks of that many elements (chunk = 0: no cut).
std::vector<std::pair<int64_t, int64_t>> k_tiles(int64_t k, int64_t tile_k, int64_t chunk);

// Rows of packed vectors a chunk of `rows` weight rows occupies (int8: rows, fp16: 2 x rows).
uint64_t stored_vectors(WeightFormat f, uint64_t rows);

}  // namespace lpu::wl
