#include "hw/cpu/sparse_spmm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "support/error.hpp"

// GCC's -O3 unroll-and-jam turns the panel loops inside out (the nonzero loop innermost,
// scalar, the accumulators in memory): 15x slower. The loops below are already the shape
// they should run in.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-loop-unroll-and-jam")
#endif

namespace sparoa::hw {

// ---------------------------------------------------------------------------------------
// CsrMatrix

CsrMatrix::CsrMatrix(std::int64_t rows, std::int64_t cols, std::vector<std::int64_t> row_ptr,
                     std::vector<std::int32_t> col_index, std::vector<float> values)
    : rows_(rows), cols_(cols), row_ptr_(std::move(row_ptr)), col_index_(std::move(col_index)), values_(std::move(values)) {
  const std::string where = "CSR matrix";
  if (rows < 0 || cols < 0) throw Error(where, "negative shape");
  if (cols > std::numeric_limits<std::int32_t>::max()) {
    throw Error(where, std::to_string(cols) + " columns do not fit 32-bit column indices");
  }
  if (std::int64_t(row_ptr_.size()) != rows + 1) throw Error(where, "row_ptr must hold rows + 1 entries");
  if (col_index_.size() != values_.size()) throw Error(where, "col_index and values differ in size");
  if (row_ptr_.front() != 0 || row_ptr_.back() != std::int64_t(values_.size())) {
    throw Error(where, "row_ptr must start at 0 and end at the number of nonzeros");
  }
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t b = row_ptr_[std::size_t(i)], e = row_ptr_[std::size_t(i + 1)];
    if (e < b) throw Error(where, "row_ptr decreases at row " + std::to_string(i));
    for (std::int64_t p = b; p < e; ++p) {
      const std::int32_t c = col_index_[std::size_t(p)];
      if (c < 0 || c >= cols) throw Error(where, "column " + std::to_string(c) + " out of range in row " + std::to_string(i));
      if (p > b && c <= col_index_[std::size_t(p - 1)]) {
        throw Error(where, "columns of row " + std::to_string(i) + " are not strictly ascending");
      }
    }
  }
}

CsrMatrix CsrMatrix::from_dense(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  if (ld < 0) ld = cols;
  if (rows < 0 || cols < 0 || ld < cols) throw Error("CSR matrix", "bad dense shape or leading dimension");
  std::vector<std::int64_t> row_ptr(std::size_t(rows) + 1, 0);
  std::int64_t nnz = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = a + i * ld;
    for (std::int64_t k = 0; k < cols; ++k) nnz += row[k] != 0.0f;
    row_ptr[std::size_t(i + 1)] = nnz;
  }
  // Every element is written and the position advances only past nonzeros: no branch to
  // mispredict at 50% sparsity. One slot of slack for the last write.
  std::vector<std::int32_t> col(static_cast<std::size_t>(nnz) + 1);
  std::vector<float> val(static_cast<std::size_t>(nnz) + 1);
  std::size_t p = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = a + i * ld;
    for (std::int64_t k = 0; k < cols; ++k) {
      col[p] = std::int32_t(k);
      val[p] = row[k];
      p += row[k] != 0.0f;
    }
  }
  col.pop_back();
  val.pop_back();
  return CsrMatrix(rows, cols, std::move(row_ptr), std::move(col), std::move(val));
}

CsrMatrix CsrMatrix::from_dense_transposed(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  if (ld < 0) ld = cols;
  if (rows < 0 || cols < 0 || ld < cols) throw Error("CSR matrix", "bad dense shape or leading dimension");
  // Row c of the transpose is column c of `a`: count per column, then fill row by row of `a`
  // (which visits each column's entries in ascending row order).
  std::vector<std::int64_t> row_ptr(std::size_t(cols) + 1, 0);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = a + i * ld;
    for (std::int64_t k = 0; k < cols; ++k) row_ptr[std::size_t(k + 1)] += row[k] != 0.0f;
  }
  for (std::int64_t k = 0; k < cols; ++k) row_ptr[std::size_t(k + 1)] += row_ptr[std::size_t(k)];
  const std::int64_t nnz = row_ptr.back();
  std::vector<std::int32_t> col(static_cast<std::size_t>(nnz));
  std::vector<float> val(static_cast<std::size_t>(nnz));
  std::vector<std::int64_t> next(row_ptr.begin(), row_ptr.end() - 1);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = a + i * ld;
    for (std::int64_t k = 0; k < cols; ++k) {
      if (row[k] != 0.0f) {
        const std::size_t p = std::size_t(next[std::size_t(k)]++);
        col[p] = std::int32_t(i);
        val[p] = row[k];
      }
    }
  }
  return CsrMatrix(cols, rows, std::move(row_ptr), std::move(col), std::move(val));
}

double CsrMatrix::density() const {
  const double total = double(rows_) * double(cols_);
  return total > 0 ? double(nnz()) / total : 0.0;
}

void CsrMatrix::scale_rows(std::span<const float> scale) {
  if (std::int64_t(scale.size()) != rows_) throw Error("CSR matrix", "one scale per row expected");
  for (std::int64_t i = 0; i < rows_; ++i) {
    for (std::int64_t p = row_ptr_[std::size_t(i)]; p < row_ptr_[std::size_t(i + 1)]; ++p) values_[std::size_t(p)] *= scale[std::size_t(i)];
  }
}

void CsrMatrix::scale(float s) {
  for (float& v : values_) v *= s;
}

std::vector<float> CsrMatrix::to_dense() const {
  std::vector<float> d(std::size_t(rows_ * cols_), 0.0f);
  for (std::int64_t i = 0; i < rows_; ++i) {
    for (std::int64_t p = row_ptr_[std::size_t(i)]; p < row_ptr_[std::size_t(i + 1)]; ++p) {
      d[std::size_t(i * cols_ + col_index_[std::size_t(p)])] = values_[std::size_t(p)];
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------
// Epilogue

namespace {

void add_run(float* v, std::int64_t len, const float* src, std::int64_t stride, float scale) {
  if (stride == 0) {
    const float x = scale * src[0];
#pragma omp simd
    for (std::int64_t t = 0; t < len; ++t) v[t] += x;
  } else if (stride == 1) {
    if (scale == 1.0f) {
#pragma omp simd
      for (std::int64_t t = 0; t < len; ++t) v[t] += src[t];
    } else {
#pragma omp simd
      for (std::int64_t t = 0; t < len; ++t) v[t] += scale * src[t];
    }
  } else {
    for (std::int64_t t = 0; t < len; ++t) v[t] += scale * src[t * stride];
  }
}

void eltwise_run(float* v, std::int64_t len, const EltwiseParams& e) {
  // The common activations as plain loops the compiler vectorises; the rest element by
  // element through the definition every kernel shares.
  switch (e.alg) {
    case EltwiseAlg::relu:
#pragma omp simd
      for (std::int64_t t = 0; t < len; ++t) v[t] = v[t] > 0 ? v[t] : 0.0f;
      return;
    case EltwiseAlg::leaky_relu: {
      const float a = e.alpha;
#pragma omp simd
      for (std::int64_t t = 0; t < len; ++t) v[t] = v[t] >= 0 ? v[t] : a * v[t];
      return;
    }
    case EltwiseAlg::clip: {
      const float lo = e.alpha, hi = e.beta;
#pragma omp simd
      for (std::int64_t t = 0; t < len; ++t) v[t] = std::min(std::max(v[t], lo), hi);
      return;
    }
    default:
      for (std::int64_t t = 0; t < len; ++t) v[t] = apply_eltwise(e, v[t]);
  }
}

}  // namespace

void SpmmEpilogue::apply(float* v, std::int64_t len, std::int64_t u, std::int64_t i0, std::int64_t di, std::int64_t j0,
                         std::int64_t dj) const {
  if (row_bias != nullptr) add_run(v, len, row_bias + i0, di, 1.0f);
  for (const Step& s : steps) {
    if (s.kind == Step::Kind::add) {
      const DenseOperand& o = s.operand;
      add_run(v, len, o.data + u * o.unit_stride + i0 * o.row_stride + j0 * o.col_stride, di * o.row_stride + dj * o.col_stride,
              s.scale);
    } else {
      eltwise_run(v, len, s.eltwise);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Scratch

void SpmmScratch::reserve_threads(int threads) {
  if (buffers_.size() < std::size_t(threads) * 2) buffers_.resize(std::size_t(threads) * 2);
}

const sparse::Plan* SpmmScratch::cached_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads,
                                             bool b_in_place) const {
  const bool same = plan_a_ == &a && plan_units_ == units && plan_n_ == n && plan_threads_ == threads && plan_b_in_place_ == b_in_place;
  return same ? &plan_ : nullptr;
}

const sparse::Plan& SpmmScratch::keep_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads, bool b_in_place,
                                           sparse::Plan plan) {
  plan_ = std::move(plan);
  plan_a_ = &a;
  plan_units_ = units;
  plan_n_ = n;
  plan_threads_ = threads;
  plan_b_in_place_ = b_in_place;
  return plan_;
}

float* SpmmScratch::get(int thread, int slot, std::size_t floats) {
  AlignedBuffer& b = buffers_.at(std::size_t(thread) * 2 + std::size_t(slot));
  const std::size_t bytes = std::max<std::size_t>(floats, 1) * sizeof(float);
  if (b.size() < bytes) b = AlignedBuffer(bytes);
  return reinterpret_cast<float*>(b.data());
}

// ---------------------------------------------------------------------------------------
// Panel kernels

namespace sparse {
namespace {

// Rows of A times a panel of W columns: one row's W accumulators stay in vector registers
// for the whole nonzero list, each nonzero costing one broadcast and W / vector-length FMAs
// that read the panel row directly. (Interleaving two rows for more independent FMA chains
// measured slower at the sparsities that matter: their nonzero counts differ, and the
// uneven remainders cost more than the latency they hide.) always_inline: each ISA's
// wrapper below must compile its own copy with its own target options.
template <int W>
[[gnu::always_inline]] inline void panel_rows(const PanelArgs& a) {
  const std::int32_t* col = a.col_index;
  const float* val = a.values;
  const float* b = a.b;
  const std::int64_t ldb = a.ldb;
  for (std::int64_t r = a.r0; r < a.r1; ++r) {
    float acc[W] = {};
    if (a.accumulate) {
#pragma omp simd
      for (int j = 0; j < W; ++j) acc[j] = a.tile[(r - a.r0) * W + j];
    }
    const std::int64_t e = a.row_end[r];
    for (std::int64_t p = a.row_begin[r]; p < e; ++p) {
      const float v = val[p];
      const float* br = b + col[p] * ldb;
#pragma omp simd
      for (int j = 0; j < W; ++j) acc[j] += v * br[j];
    }
    float* t = a.tile + (r - a.r0) * W;
#pragma omp simd
    for (int j = 0; j < W; ++j) t[j] = acc[j];
  }
}

// One column: a sparse matrix-vector product. V partial sums per row (V / vector length
// independent chains of gathers and FMAs: a single running sum would wait for the previous
// FMA at every nonzero), added in a fixed order at the end.
template <int V>
[[gnu::always_inline]] inline void vector_rows(const PanelArgs& a) {
  const std::int32_t* col = a.col_index;
  const float* val = a.values;
  const float* b = a.b;
  const std::int64_t ldb = a.ldb;
  for (std::int64_t r = a.r0; r < a.r1; ++r) {
    float acc[V] = {};
    std::int64_t p = a.row_begin[r];
    const std::int64_t e = a.row_end[r];
    if (ldb == 1) {  // 32-bit gather indices
      for (; p + V <= e; p += V) {
#pragma omp simd
        for (int q = 0; q < V; ++q) acc[q] += val[p + q] * b[col[p + q]];
      }
    } else {
      for (; p + V <= e; p += V) {
#pragma omp simd
        for (int q = 0; q < V; ++q) acc[q] += val[p + q] * b[col[p + q] * ldb];
      }
    }
    float s = 0;
    for (int q = 0; q < V; ++q) s += acc[q];
    for (; p < e; ++p) s += val[p] * b[col[p] * ldb];
    a.tile[r - a.r0] = a.accumulate ? a.tile[r - a.r0] + s : s;
  }
}

// The portable build: 32 / 8 columns (NEON: 8 of its 32 vector registers accumulate).
constexpr int kPortableWide = 32;
constexpr int kPortableNarrow = 8;
void portable_wide(const PanelArgs& a) { panel_rows<kPortableWide>(a); }
void portable_narrow(const PanelArgs& a) { panel_rows<kPortableNarrow>(a); }
void portable_vector(const PanelArgs& a) { vector_rows<8>(a); }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SPAROA_SPARSE_X86_VARIANTS 1
// The same loops compiled for wider vector units, chosen at run time by CPU feature.
// prefer-vector-width: GCC's tuning would otherwise split the 512-bit loops in two.
#define SPAROA_AVX512 __attribute__((target("avx512f,prefer-vector-width=512")))
#define SPAROA_AVX2 __attribute__((target("avx2,fma")))
SPAROA_AVX512 void avx512_wide(const PanelArgs& a) { panel_rows<64>(a); }
SPAROA_AVX512 void avx512_narrow(const PanelArgs& a) { panel_rows<16>(a); }
SPAROA_AVX512 void avx512_vector(const PanelArgs& a) { vector_rows<32>(a); }
SPAROA_AVX2 void avx2_wide(const PanelArgs& a) { panel_rows<32>(a); }
SPAROA_AVX2 void avx2_narrow(const PanelArgs& a) { panel_rows<8>(a); }
SPAROA_AVX2 void avx2_vector(const PanelArgs& a) { vector_rows<16>(a); }
#undef SPAROA_AVX512
#undef SPAROA_AVX2
#endif

std::vector<KernelSet> detect_kernel_sets() {
  std::vector<KernelSet> sets;
#ifdef SPAROA_SPARSE_X86_VARIANTS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) sets.push_back({"avx512", 64, 16, avx512_wide, avx512_narrow, avx512_vector});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    sets.push_back({"avx2", 32, 8, avx2_wide, avx2_narrow, avx2_vector});
  }
#endif
  sets.push_back({"portable", kPortableWide, kPortableNarrow, portable_wide, portable_narrow, portable_vector});
  return sets;
}

}  // namespace

const std::vector<KernelSet>& kernel_sets() {
  static const std::vector<KernelSet> sets = detect_kernel_sets();
  return sets;
}

const KernelSet& best_kernel_set() { return kernel_sets().front(); }

Plan make_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads, const KernelSet& kernels) {
  Plan plan;
  plan.kernels = &kernels;
  plan.units = units;
  plan.n = n;
  plan.threads = std::max(1, threads);
  if (n == 1) {
    plan.panels.push_back({0, 1, 1, kernels.vector_fn});
  } else {
    std::int64_t j0 = 0;
    const int w = kernels.wide, nw = kernels.narrow;
    // A wide panel while more than three narrow ones would be needed; narrow ones after.
    while (n - j0 > 3 * nw) {
      const int valid = int(std::min<std::int64_t>(w, n - j0));
      plan.panels.push_back({j0, w, valid, kernels.wide_fn});
      j0 += w;
    }
    while (j0 < n) {
      const int valid = int(std::min<std::int64_t>(nw, n - j0));
      plan.panels.push_back({j0, nw, valid, kernels.narrow_fn});
      j0 += nw;
    }
  }
  for (const Panel& p : plan.panels) plan.max_width = std::max(plan.max_width, p.width);

  // Row chunks: enough tasks for every thread to get several, balanced by nonzeros plus a
  // per-row cost for the epilogue and stores.
  const std::int64_t rows = a.rows();
  std::int64_t chunks = 1;
  const std::int64_t base = units * std::int64_t(plan.panels.size());
  if (plan.threads > 1 && base > 0 && base < 8 * plan.threads) {
    chunks = (8 * plan.threads + base - 1) / base;
    chunks = std::max<std::int64_t>(1, std::min(chunks, rows / 8));
  }
  plan.row_bounds.push_back(0);
  if (chunks > 1) {
    const auto& rp = a.row_ptr();
    const double row_cost = 4.0;
    const double total = double(a.nnz()) + row_cost * double(rows);
    std::int64_t r = 0;
    for (std::int64_t c = 1; c < chunks; ++c) {
      const double target = total * double(c) / double(chunks);
      while (r < rows && double(rp[std::size_t(r)]) + row_cost * double(r) < target) ++r;
      if (r > plan.row_bounds.back() && r < rows) plan.row_bounds.push_back(r);
    }
  }
  plan.row_bounds.push_back(rows);
  if (rows == 0) plan.row_bounds = {0, 0};
  return plan;
}

void split_columns(Plan& plan, const CsrMatrix& a, std::span<const std::int64_t> thresholds, double min_nnz) {
  plan.col_bounds.clear();
  const std::int64_t rows = a.rows();
  if (rows == 0 || thresholds.empty()) return;
  const auto& rp = a.row_ptr();
  const auto& col = a.col_index();
  plan.col_bounds.emplace_back(rp.begin(), rp.end() - 1);
  for (const std::int64_t t : thresholds) {
    // Where each row's columns reach t (binary search within the row).
    std::vector<std::int64_t> at(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto* first = col.data() + rp[std::size_t(r)];
      const auto* last = col.data() + rp[std::size_t(r + 1)];
      at[std::size_t(r)] = std::lower_bound(first, last, t) - col.data();
    }
    std::int64_t in_range = 0;
    for (std::int64_t r = 0; r < rows; ++r) in_range += at[std::size_t(r)] - plan.col_bounds.back()[std::size_t(r)];
    if (double(in_range) >= min_nnz * double(rows)) plan.col_bounds.push_back(std::move(at));
  }
  plan.col_bounds.emplace_back(rp.begin() + 1, rp.end());
  if (plan.col_bounds.size() <= 2) plan.col_bounds.clear();  // one range: whole rows
}

}  // namespace sparse

// ---------------------------------------------------------------------------------------
// The general product

void spmm(const CsrMatrix& a, std::int64_t units, std::int64_t n, const DenseOperand& b, const DenseResult& c,
          const SpmmEpilogue& epilogue, int threads, SpmmScratch& scratch) {
  if (units <= 0 || n <= 0 || a.rows() == 0) return;
  const std::int64_t k_rows = a.cols();
  // B is read in place when its columns are contiguous (or there is one column) and few rows
  // of A share each of its rows; otherwise each panel is packed into an aligned, contiguous
  // K x width block, which the kernel reads faster than B's own rows (no split loads, no
  // cache-set aliasing of a power-of-two leading dimension) once a handful of rows reuse it.
  const bool b_direct = n == 1 || (b.col_stride == 1 && a.nnz() < 4 * k_rows);
  const sparse::Plan* cached = scratch.cached_plan(a, units, n, threads, b_direct);
  if (cached == nullptr) {
    sparse::Plan made = sparse::make_plan(a, units, n, threads);
    // A packed panel larger than L1 is run in column ranges of about 24 KiB of it.
    const std::int64_t range = std::max<std::int64_t>(16, (24 << 10) / (std::int64_t(sizeof(float)) * made.max_width));
    if (!b_direct && made.max_width > 1 && k_rows > 2 * range) {
      std::vector<std::int64_t> thresholds;
      for (std::int64_t t = range; t < k_rows; t += range) thresholds.push_back(t);
      sparse::split_columns(made, a, thresholds, 32.0);
    }
    cached = &scratch.keep_plan(a, units, n, threads, b_direct, std::move(made));
  }
  const sparse::Plan& plan = *cached;
  auto panel = [&](std::int64_t u, const sparse::Panel& p, int t) -> sparse::PanelRef {
    const float* base = b.data + u * b.unit_stride + p.j0 * b.col_stride;
    if (b_direct && p.valid == p.width) return {base, b.row_stride};
    // Pack the panel: K rows of `width` floats, zero beyond the valid columns.
    float* buf = scratch.get(t, 0, std::size_t(k_rows * p.width));
    if (b.col_stride == 1) {
      for (std::int64_t k = 0; k < k_rows; ++k) {
        float* dst = buf + k * p.width;
        const float* src = base + k * b.row_stride;
        std::memcpy(dst, src, std::size_t(p.valid) * sizeof(float));
        std::fill(dst + p.valid, dst + p.width, 0.0f);
      }
    } else {
      // A transposed B: column j is contiguous in k. Eight columns at a time, so that the
      // stores of each k are one contiguous run.
      constexpr int kStep = 8;
      int j = 0;
      for (; j + kStep <= p.valid; j += kStep) {
        const float* src = base + j * b.col_stride;
        for (std::int64_t k = 0; k < k_rows; ++k) {
          float* dst = buf + k * p.width + j;
          for (int q = 0; q < kStep; ++q) dst[q] = src[q * b.col_stride + k * b.row_stride];
        }
      }
      for (; j < p.valid; ++j) {
        const float* src = base + j * b.col_stride;
        for (std::int64_t k = 0; k < k_rows; ++k) buf[k * p.width + j] = src[k * b.row_stride];
      }
      for (std::int64_t k = 0; k < k_rows; ++k) std::fill(buf + k * p.width + p.valid, buf + (k + 1) * p.width, 0.0f);
    }
    return {buf, p.width};
  };
  auto write = [&](std::int64_t u, const sparse::Panel& p, std::int64_t r0, std::int64_t r1, float* tile) {
    float* out = c.data + u * c.unit_stride;
    if (c.col_stride == 1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        float* v = tile + (r - r0) * p.width;
        epilogue.apply(v, p.valid, u, r, 0, p.j0, 1);
        std::memcpy(out + r * c.row_stride + p.j0, v, std::size_t(p.valid) * sizeof(float));
      }
    } else if (c.row_stride == 1) {
      // C transposed: column j of the tile is a contiguous run of C. Stored column by column,
      // then the epilogue runs over the stored run while it is in L1.
      const std::int64_t len = r1 - r0;
      for (int j = 0; j < p.valid; ++j) {
        float* dst = out + (p.j0 + j) * c.col_stride + r0;
        const float* src = tile + j;
        for (std::int64_t r = 0; r < len; ++r) dst[r] = src[r * p.width];
        if (!epilogue.empty()) epilogue.apply(dst, len, u, r0, 1, p.j0 + j, 0);
      }
    } else {
      for (std::int64_t r = r0; r < r1; ++r) {
        float* v = tile + (r - r0) * p.width;
        epilogue.apply(v, p.valid, u, r, 0, p.j0, 1);
        for (int j = 0; j < p.valid; ++j) out[r * c.row_stride + (p.j0 + j) * c.col_stride] = v[j];
      }
    }
  };
  sparse::run_plan(a, plan, panel, write, scratch);
}

void spmm(const CsrMatrix& a, const float* b, std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc,
          const SpmmEpilogue& epilogue, int threads) {
  SpmmScratch scratch;
  spmm(a, 1, n, DenseOperand{b, ldb, 1, 0}, DenseResult{c, ldc, 1, 0}, epilogue, threads, scratch);
}

}  // namespace sparoa::hw
