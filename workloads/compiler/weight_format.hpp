// Weight storage formats: how many bytes a K x N weight matrix takes (payload, scales and
// zero points), the exact bit layout of each packed format, and the reference quantizer and
// dequantizer that functional simulation is checked against.
//
// Conventions (docs/quantization.md has the diagrams and the reasoning):
//   - A weight matrix W is K x N: K input features (the reduction dimension), N output
//     channels. Integer values q are passed row-major: q[k * N + n].
//   - Packed bytes are column-major: column n's K values are packed along K into
//     packed_column_bytes(format, K) bytes, padded with zero bits to a whole packing unit,
//     and column n starts at byte n * packed_column_bytes(format, K).
//   - Scales and zero points are IEEE fp16, one pair per group of `group_size` consecutive
//     rows of one column (the last group of a column may be shorter), or one per column when
//     group_size is 0. Dequantization is w = (q - zero) * scale for every integer format
//     (int8 has zero = 0 and stores no zero point), the same formula as vxm.dequant.
// Pure C++: no SystemC, no hardware knowledge.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "isa/opcodes.hpp"

namespace lpu::wl {

enum class WeightFormat : uint8_t {
    Fp16,     // IEEE half, 2 bytes per weight, no scales
    Int8,     // signed 8-bit, one fp16 scale per output channel (symmetric)
    Int4,     // signed 4-bit, two per byte, fp16 scale + fp16 zero point per group
    Int3p5,   // one 4-bit + one 3-bit signed value per 7-bit pair, 16 weights in 7 bytes
    Int3p5b,  // the same 7-bit pair stored one per byte (bit 7 unused): 4 bits per weight
};
inline constexpr int kWeightFormatCount = 5;

std::string_view format_name(WeightFormat f);  // "fp16", "int8", "int4", "int3p5", "int3p5b"
std::optional<WeightFormat> find_format(std::string_view name);
const std::vector<std::string>& weight_format_names();  // all five, for enum fields
isa::DType format_dtype(WeightFormat f);                // the ISA type of the same name
bool is_packed(WeightFormat f);       // int4, int3p5, int3p5b: must be unpacked to int8 before install
bool has_zero_point(WeightFormat f);  // int4, int3p5, int3p5b store a zero point per group

// A format and its scale granularity along K.
struct WeightSpec {
    WeightFormat format = WeightFormat::Int8;
    int group_size = 0;  // rows of one column sharing a scale; 0 = one scale per column
    friend bool operator==(const WeightSpec&, const WeightSpec&) = default;
};
std::string to_string(const WeightSpec& s);  // e.g. "int4/g128", "int8/channel", "fp16"

// fp16 and int8 allow group_size 0 only; int4, int3p5, int3p5b allow 0, 32, 64, 128.
const std::vector<int>& allowed_group_sizes(WeightFormat f);
int default_group_size(WeightFormat f);  // 128 for the packed formats, 0 otherwise
// Why `s` is not a valid combination (text fit for "expected ..."), or nothing if it is.
std::optional<std::string> spec_problem(const WeightSpec& s);

// ---- storage ----------------------------------------------------------------------------

// The smallest run of consecutive weights (along K, in one column) that fills whole bytes.
struct PackingUnit {
    int weights = 1;
    int bytes = 1;
};
PackingUnit packing_unit(WeightFormat f);  // fp16 {1,2}, int8 {1,1}, int4 {2,1}, int3p5 {16,7}, int3p5b {2,1}

// Bytes of one column of K weights, padded to a whole packing unit: ceil(K / weights) x bytes.
int64_t packed_column_bytes(WeightFormat f, int64_t k);
int64_t payload_bytes(WeightFormat f, int64_t k, int64_t n);  // n x packed_column_bytes
int64_t groups_per_column(const WeightSpec& s, int64_t k);    // ceil(K / g), or 1 when g = 0
// fp16 scale (and fp16 zero point where the format has one) per group per column.
int64_t scale_bytes(const WeightSpec& s, int64_t k, int64_t n);
// Everything the matrix occupies: payload_bytes + scale_bytes. Throws std::invalid_argument
// for an invalid spec or non-positive sizes, std::overflow_error beyond 64 bits.
int64_t storage_bytes(const WeightSpec& s, int64_t k, int64_t n);
int64_t storage_bytes(WeightFormat f, int group_size, int64_t k, int64_t n);

// Stored bits per weight without scales: 16, 8, 4, 3.5, 4.
double payload_bits_per_weight(WeightFormat f);

// ---- bit-exact packing ------------------------------------------------------------------

// Range of the integer stored for row k: int8 [-128, 127]; int4 [-8, 7]; int3p5 and int3p5b
// [-8, 7] for even k (the 4-bit first value of a pair) and [-4, 3] for odd k (the 3-bit
// second value). fp16 has no integer range (std::invalid_argument).
struct ValueRange {
    int min = 0;
    int max = 0;
};
ValueRange value_range(WeightFormat f, int64_t k_index);

// q: K x N row-major, every value within value_range (else std::invalid_argument).
// Returns N x packed_column_bytes(f, K) bytes, padding bits zero. Integer formats only.
std::vector<uint8_t> pack(WeightFormat f, const std::vector<int8_t>& q, int64_t k, int64_t n);
// Inverse of pack (row-major result). Bits outside the defined fields (int3p5b bit 7, padding)
// are ignored. `bytes` must have exactly the size pack would produce.
std::vector<int8_t> unpack(WeightFormat f, const std::vector<uint8_t>& bytes, int64_t k, int64_t n);

// IEEE 754 binary16: round to nearest, ties to even; overflow gives infinity.
uint16_t fp16_bits(float value);
float fp16_value(uint16_t bits);
float round_to_fp16(float value);
// fp16 matrices: w K x N row-major -> column-major little-endian halves, and back.
std::vector<uint8_t> pack_fp16(const std::vector<float>& w, int64_t k, int64_t n);
std::vector<float> unpack_fp16(const std::vector<uint8_t>& bytes, int64_t k, int64_t n);

// ---- reference quantization ---------------------------------------------------------------

struct QuantizedMatrix {
    WeightSpec spec;
    int64_t k = 0;
    int64_t n = 0;
    std::vector<int8_t> q;      // K x N row-major (integer formats)
    std::vector<float> values;  // K x N row-major, rounded to fp16 (fp16 format only)
    std::vector<float> scales;  // groups_per_column x N, index g * N + n; each exactly an fp16 value
    std::vector<float> zeros;   // same shape as scales for formats with a zero point, else empty
};

// Deterministic reference quantizer (docs/quantization.md, "Quantization rule"):
//   int8:   per column, scale = fp16(max|w| / 127), q = clamp(round(w / scale)).
//   int4:   per group, range [lo, hi] = [min(w, 0), max(w, 0)], scale = fp16((hi - lo) / 15),
//           zero = clamp(round(-lo / scale), 0, 15) - 8 (an integer), q = clamp(round(w / scale) + zero).
//   int3p5, int3p5b: per group, same range, scale = fp16((hi - lo) / 14), offset at the middle:
//           zero = fp16(-(hi + lo) / 2 / scale), q = clamp(round(w / scale + zero)) with the range
//           of its position (4-bit even rows, 3-bit odd rows).
//   round() is round-half-away-from-zero; a zero scale gives q = 0. Computed in double.
// w: K x N row-major, finite (else std::invalid_argument).
QuantizedMatrix quantize(const WeightSpec& s, const std::vector<float>& w, int64_t k, int64_t n);
std::vector<float> dequantize(const QuantizedMatrix& m);  // (q - zero) * scale, K x N row-major
// Rows [k0, k1) and columns [n0, n1) of a quantized matrix, with their scales (a tensor-
// parallel shard keeps the full matrix's quantization). k0 must start a group.
QuantizedMatrix slice(const QuantizedMatrix& m, int64_t k0, int64_t k1, int64_t n0, int64_t n1);
// [a | b]: the columns of b after those of a (same K and format).
QuantizedMatrix concat_columns(const QuantizedMatrix& a, const QuantizedMatrix& b);

// Scales in storage order: column by column, group by group, each an fp16 scale followed by
// an fp16 zero point when the format has one (little-endian). Size: scale_bytes(spec, K, N).
std::vector<uint8_t> pack_scales(const QuantizedMatrix& m);
// The whole stored matrix: pack (or pack_fp16) followed by pack_scales. Size: storage_bytes.
std::vector<uint8_t> pack_matrix(const QuantizedMatrix& m);

// ---- unpack cost --------------------------------------------------------------------------

// VXM ALU operations per unpacked 320-lane int8 output vector when the unpack runs on the
// vector unit: 0 for fp16 and int8 (nothing to unpack), int4 2, int3p5 4, int3p5b 3. These
// are the reference values documented in docs/quantization.md; the simulator uses the
// hardware config's vxm.unpack_alu_ops_per_vector, which may differ.
int reference_unpack_alu_ops_per_vector(WeightFormat f);

}  // namespace lpu::wl
