#pragma once
// Launchers of our own CUDA kernels (own_kernels.cu). Plain types only: this header is read
// by nvcc (C++17) and by the host code of the GPU kernel classes (C++20). Every launcher
// enqueues on `stream` and returns at once; launch errors surface through check_launch().
#include <cuda_runtime_api.h>

#include <cstdint>

// Functions both sides call: __host__ __device__ under nvcc, plain inline for the host compiler.
#ifdef __CUDACC__
#define SPAROA_HD __host__ __device__
#else
#define SPAROA_HD
#endif

namespace sparoa::hw::gpu {

inline constexpr int kMaxDims = 8;       // ranks above this are refused when a kernel is built
inline constexpr int kMaxOperands = 4;   // output + up to three inputs (Where)
inline constexpr int kMaxPostOps = 8;    // fused activations/Adds after a root

// Element types our CUDA kernels compute with (f16 computes in float).
enum class Elem : int { f32, f64, f16, i8, u8, i16, i32, i64, boolean };

// A row-major walk over `dims` with one stride per operand (elements; 0 where broadcast).
// Operand 0 is the output.
struct Walk {
  int rank = 0;
  int operands = 0;
  std::int64_t dims[kMaxDims] = {};
  std::int64_t strides[kMaxOperands][kMaxDims] = {};
  std::int64_t offset[kMaxOperands] = {};
  SPAROA_HD std::int64_t elements() const {
    std::int64_t n = 1;
    for (int d = 0; d < rank; ++d) n *= dims[d];
    return n;
  }
};

// Activations, one value at a time; mirrors hw::EltwiseAlg and apply_eltwise (hw/cpu/fusion).
enum class Unary : int {
  relu, leaky_relu, clip, sigmoid, tanh, hard_sigmoid, hard_swish, exp, abs, sqrt, log, neg, reciprocal, erf,
  logical_not, identity
};
struct UnaryParams {
  Unary op = Unary::identity;
  float alpha = 0, beta = 0;
};

enum class Binary : int { add, sub, mul, div, pow, max, min, equal, greater, greater_equal, less, less_equal, prelu };
SPAROA_HD inline bool is_comparison(Binary b) { return b >= Binary::equal && b <= Binary::less_equal; }

// A chain applied to a float32 output in place: y = ops(y + bias[channel]); an `add` op adds
// addend k, either of the output's shape (per element) or per channel.
struct PostOp {
  bool add = false;
  UnaryParams unary;        // !add
  int addend = 0;           // add: index into Epilogue::addends
};
struct Epilogue {
  const float* bias = nullptr;  // per channel, or nullptr
  std::int64_t channels = 1, inner = 1;  // y viewed as [outer, channels, inner]
  int ops = 0;
  PostOp op[kMaxPostOps];
  const float* addends[2] = {nullptr, nullptr};
  bool addend_per_channel[2] = {false, false};
};

// dst (operand 0) <- src (operand 1), elements of `elem_bytes` moved by bits.
void strided_copy(const Walk& w, const void* src, void* dst, int elem_bytes, cudaStream_t s);
// Fills n elements of `elem_bytes` with the bit pattern `bits`.
void fill(void* dst, std::int64_t n, int elem_bytes, std::uint64_t bits, cudaStream_t s);

// y[i] = op(x[i]) over contiguous tensors (float types; relu, abs and neg also integers;
// logical_not on bool).
void unary(Elem t, const UnaryParams& p, const void* x, void* y, std::int64_t n, cudaStream_t s);
// Operands: 0 = y, 1 = a, 2 = b. Comparisons write bool; prelu is a * (a < 0 ? b : 1).
void binary(Elem t, Binary op, const Walk& w, const void* a, const void* b, void* y, cudaStream_t s);
// Pow with an exponent of another type (operands as binary's): ONNX/numpy promotion, the
// result in the base's type.
void pow_mixed(Elem base, Elem exponent, const Walk& w, const void* a, const void* b, void* y, cudaStream_t s);
// Operands: 0 = y, 1 = condition (bool), 2 = x, 3 = y-source.
void where(const Walk& w, const void* cond, const void* x, const void* other, void* y, int elem_bytes, cudaStream_t s);
// ONNX Cast semantics of the CPU kernels: float to integer truncates toward zero, NaN gives
// 0, out-of-range values saturate; to bool is != 0.
void cast(Elem from, Elem to, const void* x, void* y, std::int64_t n, cudaStream_t s);

void epilogue(float* y, std::int64_t n, const Epilogue& e, cudaStream_t s);

// Pad: per output dimension, the input index is i - begin[d]; outside the input the mode
// decides: 0 constant (`bits`), 1 edge (clamp), 2 reflect (without repeating the edge).
struct PadGeometry {
  int rank = 0;
  int mode = 0;
  std::int64_t out_dims[kMaxDims] = {}, in_dims[kMaxDims] = {}, begin[kMaxDims] = {};
  std::uint64_t bits = 0;
};
void pad(const PadGeometry& g, const void* src, void* dst, int elem_bytes, cudaStream_t s);

// Gather along one axis: x viewed as [outer, axis, inner], y as [outer, count, inner].
// Indices (int32 or int64) may be negative (counted from the end); one out of range sets
// *error (mapped host memory) to 1 + its position and gathers nothing for it.
void gather(const void* x, const void* indices, bool indices_int64, void* y, std::int64_t outer, std::int64_t axis,
            std::int64_t count, std::int64_t inner, int elem_bytes, int* error, cudaStream_t s);

// Reductions: y has `kept` elements; each reduces `reduced` elements. Operand offsets: the
// kept walk (dims/strides of the input over kept axes) and the reduced walk.
enum class Reduce : int { sum, mean, max, min };
void reduce(Elem t, Reduce op, const Walk& kept, const Walk& reduced, const void* x, void* y, cudaStream_t s);

// LayerNormalization over rows of `cols`: y = (x - mean) / sqrt(var + eps) * scale + bias;
// scale and bias have `cols` elements (or one); mean and inv_std (optional) one per row.
void layer_norm(const float* x, const float* scale, std::int64_t scale_n, const float* bias, std::int64_t bias_n,
                float* y, float* mean, float* inv_std, std::int64_t rows, std::int64_t cols, float eps, cudaStream_t s);

// Pooling of any rank up to 3 spatial dimensions, with ONNX's pads, strides, dilations and
// ceil_mode already resolved into the output shape. avg divides by the window inside the
// input when !count_include_pad. indices (int64, optional) for MaxPool: flat NCHW offsets.
struct PoolGeometry {
  int spatial = 0;
  std::int64_t n = 0, c = 0;
  std::int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1},
               dilation[3] = {1, 1, 1}, pad_begin[3] = {0, 0, 0},
               pad_end[3] = {0, 0, 0};  // ceil_mode's extra end padding excluded
  bool max = true;
  bool count_include_pad = false;
};
void pool(const PoolGeometry& g, const float* x, float* y, std::int64_t* indices, cudaStream_t s);

// Resize with per-axis tap tables (device arrays, one entry per output coordinate of the
// axis, concatenated over axes at `axis_begin[d]`): offsets into x and weights; `outside`
// marks crop coordinates that get `fill`.
struct ResizeTables {
  int rank = 0;
  std::int64_t out_dims[kMaxDims] = {};
  std::int64_t axis_begin[kMaxDims] = {};
  bool two_taps[kMaxDims] = {};
  const std::int64_t* off0 = nullptr;
  const std::int64_t* off1 = nullptr;
  const double* w0 = nullptr;
  const double* w1 = nullptr;
  const unsigned char* outside = nullptr;
  bool linear = false;
  double fill = 0;               // linear: the extrapolation value
  std::uint64_t fill_bits = 0;   // nearest: the same value stored in x's element type
};
void resize(Elem t, const ResizeTables& r, const void* x, void* y, int elem_bytes, cudaStream_t s);

// im2col for a (grouped) 2-D convolution of one image: cols[(c * kh + i) * kw + j][oh * ow]
// row-major, zeros where the window reads padding.
struct Im2col {
  std::int64_t c = 0, h = 0, w = 0, oh = 0, ow = 0, kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0;
};
void im2col(const Im2col& g, const float* x, float* cols, cudaStream_t s);

// Softmax rows of a [outer, axis, inner] view over `axis` (own kernel for what cuDNN declines).
void softmax(const float* x, float* y, std::int64_t outer, std::int64_t axis, std::int64_t inner, cudaStream_t s);

// Throws sparoa::Error naming `where` when the last launch failed.
void check_launch(const char* where);

}  // namespace sparoa::hw::gpu
