#pragma once
// The core of the sparse CPU kernels: a float32 CSR matrix and the product C = A_csr * B of
// it with a dense matrix B, followed by an epilogue (bias, additions, activations) applied
// while the output block is still in L1.
//
// How the product is organised, and why:
// * B is consumed in column panels of `width` floats (64 with AVX-512, 32 otherwise): one
//   row of C over one panel is `width` accumulators that stay in vector registers for the
//   whole row of A, and a panel (A.cols() x width floats) is reused by every row of A while
//   it sits in L1/L2. Panels are packed into aligned blocks when enough rows reuse them
//   (split loads and power-of-two strides cost more than the copy), and a panel larger than
//   L1 is run in column ranges over a tile of 32 rows, accumulating through the tile, so
//   that the part being read stays in L1 (1.5x at 50% sparsity for BERT's FFN).
// * Row k of a panel is found at `b + col_index * ldb`, so a caller can make the CSR's column
//   index any offset it likes: the direct convolution stores input offsets there and reads
//   the (padded) input itself instead of building im2col columns.
// * Work is split into (unit, column panel, row chunk) tasks on the calling thread's OpenMP
//   team. Every output element is computed by one task in a fixed order, so the result does
//   not depend on the number of threads (bit for bit).
// * The inner loops are plain C++ that the compiler vectorises. On x86-64 the same source
//   is also compiled for AVX2 and AVX-512 and picked at run time (the build itself targets
//   the x86-64 baseline); elsewhere (aarch64: NEON) the portable build is all there is.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hw/cpu/fusion.hpp"
#include "hw/tensor.hpp"

namespace sparoa::hw {

// Compressed sparse rows of a float32 matrix: row i holds values[row_ptr[i] .. row_ptr[i+1])
// at the columns col_index[...] (ascending within a row, no duplicates).
class CsrMatrix {
 public:
  CsrMatrix() = default;
  // Validates the arrays (sizes, monotone row_ptr, columns in range and ascending); throws
  // sparoa::Error otherwise.
  CsrMatrix(std::int64_t rows, std::int64_t cols, std::vector<std::int64_t> row_ptr, std::vector<std::int32_t> col_index,
            std::vector<float> values);
  // From a dense row-major matrix whose row i starts at a + i * ld (ld = cols when < 0);
  // exact zeros (+0 and -0) are dropped.
  static CsrMatrix from_dense(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t ld = -1);
  // The CSR form of the transpose (cols x rows) of the same dense matrix, built without a
  // dense transposed copy.
  static CsrMatrix from_dense_transposed(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t ld = -1);

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::int64_t nnz() const { return std::int64_t(values_.size()); }
  // Nonzeros / (rows x cols); 0 for an empty shape.
  double density() const;
  const std::vector<std::int64_t>& row_ptr() const { return row_ptr_; }
  const std::vector<std::int32_t>& col_index() const { return col_index_; }
  const std::vector<float>& values() const { return values_; }

  // Multiplies row i by scale[i] (folding a BatchNormalization or Gemm's alpha).
  void scale_rows(std::span<const float> scale);
  void scale(float s);
  // The dense row-major matrix (tests and debugging).
  std::vector<float> to_dense() const;

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::vector<std::int64_t> row_ptr_{0};
  std::vector<std::int32_t> col_index_;
  std::vector<float> values_;
};

// A dense matrix (or a broadcast tensor seen as one) read by the product: element (i, j) of
// unit u is data[u * unit_stride + i * row_stride + j * col_stride]. A stride of 0 broadcasts.
struct DenseOperand {
  const float* data = nullptr;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 0;
  std::int64_t unit_stride = 0;
};

// Where C goes: element (i, j) of unit u at data[u * unit_stride + i * row_stride + j * col_stride].
struct DenseResult {
  float* data = nullptr;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
  std::int64_t unit_stride = 0;
};

// What happens to each value c(i, j) of a unit before it is stored, in this order:
// c += row_bias[i]; then each step: c += scale * operand(i, j), or c = eltwise(c).
struct SpmmEpilogue {
  struct Step {
    enum class Kind { add, eltwise };
    Kind kind = Kind::eltwise;
    DenseOperand operand;  // add
    float scale = 1;       // add
    EltwiseParams eltwise;  // eltwise
  };
  const float* row_bias = nullptr;
  std::vector<Step> steps;

  bool empty() const { return row_bias == nullptr && steps.empty(); }
  // Applies the epilogue in place to len values v[t] = c(i0 + t * di, j0 + t * dj) of unit u.
  void apply(float* v, std::int64_t len, std::int64_t u, std::int64_t i0, std::int64_t di, std::int64_t j0,
             std::int64_t dj) const;
};

namespace sparse {

// One vectorised implementation of the panel product: rows [r0, r1) of A times the panel
// whose row k starts at b + col_index * ldb (`width` contiguous floats) into tile row
// (r - r0), `width` floats apart; row r's nonzeros are [row_begin[r], row_end[r]) (a whole
// CSR row, or the part of it in one column range), added to the tile when `accumulate`.
// width 1 is a sparse matrix-vector product.
struct PanelArgs {
  const std::int64_t* row_begin;
  const std::int64_t* row_end;
  const std::int32_t* col_index;
  const float* values;
  std::int64_t r0, r1;
  const float* b;
  std::int64_t ldb;
  float* tile;
  bool accumulate;
};
using PanelFn = void (*)(const PanelArgs&);

struct KernelSet {
  std::string isa;       // "avx512", "avx2", "portable"
  int wide = 0;          // panel width of `wide_fn` (4 vector registers per row)
  int narrow = 0;        // panel width of `narrow_fn` (1 vector register per row)
  PanelFn wide_fn = nullptr;
  PanelFn narrow_fn = nullptr;
  PanelFn vector_fn = nullptr;  // width 1
};
// Every kernel set this CPU can run, best first; the first is the one used.
const std::vector<KernelSet>& kernel_sets();
const KernelSet& best_kernel_set();

// How the product is cut into tasks: unit x column panel x row chunk. Full panels are
// `wide` columns; the last columns go to narrow panels when there are few of them, so that a
// short tail (197 tokens = 3 x 64 + 5) is not padded to a whole wide panel.
struct Panel {
  std::int64_t j0 = 0;  // first column
  int width = 0;        // columns the kernel computes (the tile's row stride)
  int valid = 0;        // columns that exist (<= width; the rest is padding)
  PanelFn fn = nullptr;
};
struct Plan {
  const KernelSet* kernels = nullptr;
  // Column ranges of A, run one after the other over a tile of rows so that only that part
  // of the panel needs to stay in L1: range q of row r is [col_bounds[q][r],
  // col_bounds[q + 1][r]). Empty: whole rows.
  std::vector<std::vector<std::int64_t>> col_bounds;
  std::int64_t units = 0;
  std::int64_t n = 0;  // columns per unit
  std::vector<Panel> panels;
  std::vector<std::int64_t> row_bounds;  // row chunks, balanced by nonzeros
  int threads = 1;
  int max_width = 0;
  std::int64_t chunks() const { return std::int64_t(row_bounds.size()) - 1; }
  std::int64_t tasks() const { return units * std::int64_t(panels.size()) * chunks(); }
  // Columns the panels cover, padding included.
  std::int64_t covered() const { return panels.empty() ? 0 : panels.back().j0 + panels.back().width; }
};
Plan make_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads, const KernelSet& kernels = best_kernel_set());
// Splits the rows of A at the given column thresholds (ascending), dropping ranges that
// would hold fewer than `min_nnz` nonzeros per row on average (merged into the next).
void split_columns(Plan& plan, const CsrMatrix& a, std::span<const std::int64_t> thresholds, double min_nnz = 8.0);

}  // namespace sparse

// Per-thread scratch memory kept between runs of a kernel (panels and output tiles).
class SpmmScratch {
 public:
  // A buffer of at least `floats` floats for OpenMP thread `thread` (contents unspecified).
  float* get(int thread, int slot, std::size_t floats);
  void reserve_threads(int threads);
  // spmm()'s plan, kept for the next run of the same product (a kernel runs the same shapes
  // every time): nullptr when none is kept for these arguments. (Keyed by the matrix's
  // address: a caller that replaces its matrix uses a new scratch.)
  const sparse::Plan* cached_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads, bool b_in_place) const;
  const sparse::Plan& keep_plan(const CsrMatrix& a, std::int64_t units, std::int64_t n, int threads, bool b_in_place,
                                sparse::Plan plan);

 private:
  std::vector<AlignedBuffer> buffers_;  // [thread * 2 + slot]
  sparse::Plan plan_;
  const CsrMatrix* plan_a_ = nullptr;
  std::int64_t plan_units_ = -1, plan_n_ = -1;
  int plan_threads_ = 0;
  bool plan_b_in_place_ = false;
};

// C (unit u) = A * B (unit u) (+ epilogue), for u < units; B has A.cols() rows and n
// columns. Either stride of B may be the contiguous one: panels are packed into aligned
// K x width blocks (always for a transposed B, row_stride 1; for B with col_stride 1 when
// A has at least 4 nonzeros per column on average, else read in place). The same for C:
// col_stride 1 is stored row by row, row_stride 1 column by column from the tile. Runs on
// the calling thread's OpenMP team with `threads` threads.
void spmm(const CsrMatrix& a, std::int64_t units, std::int64_t n, const DenseOperand& b, const DenseResult& c,
          const SpmmEpilogue& epilogue, int threads, SpmmScratch& scratch);
// The simple form: C = A * B, B row-major with leading dimension ldb, C with ldc.
void spmm(const CsrMatrix& a, const float* b, std::int64_t ldb, std::int64_t n, float* c, std::int64_t ldc,
          const SpmmEpilogue& epilogue = {}, int threads = 1);

namespace sparse {

// Rows of a tile computed at once: the tile (kTileRows x width floats) stays in L1.
inline constexpr std::int64_t kTileRows = 32;

struct PanelRef {
  const float* b = nullptr;
  std::int64_t ldb = 0;
};

// Runs every task of the plan on the calling thread's team:
//   panel(u, panel, thread) -> PanelRef: where row k of B's panel starts (b + col * ldb);
//     called whenever a thread starts a task of another (unit, panel) than its previous
//     one, so it may pack into the thread's scratch slot 0;
//   write(u, panel, r0, r1, tile): stores rows [r0, r1) of the panel's result (row r at
//     tile + (r - r0) * panel.width; the tile is the thread's scratch, writable).
// Neither may throw.
template <class PanelFnT, class WriteFnT>
void run_plan(const CsrMatrix& a, const Plan& plan, PanelFnT&& panel, WriteFnT&& write, SpmmScratch& scratch) {
  const std::int64_t tasks = plan.tasks();
  if (tasks == 0) return;
  const std::int64_t chunks = plan.chunks();
  const std::int64_t panels = std::int64_t(plan.panels.size());
  const int threads = int(std::min<std::int64_t>(plan.threads, tasks));
  scratch.reserve_threads(threads);
  const std::int64_t* rp = a.row_ptr().data();
  const std::int32_t* ci = a.col_index().data();
  const float* va = a.values().data();
  const std::size_t ranges = plan.col_bounds.empty() ? 0 : plan.col_bounds.size() - 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();
    float* tile = scratch.get(t, 1, std::size_t(kTileRows * plan.max_width));
    std::int64_t cached = -1;
    PanelRef ref;
    // Dynamic: tasks differ in cost (a narrow tail panel, uneven rows, a core shared with
    // another process), and which thread runs a task never changes its result.
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t task = 0; task < tasks; ++task) {
      const std::int64_t chunk = task % chunks;
      const std::int64_t up = task / chunks;
      const std::int64_t p = up % panels;
      const std::int64_t u = up / panels;
      const Panel& pan = plan.panels[std::size_t(p)];
      if (up != cached) {
        ref = panel(u, pan, t);
        cached = up;
      }
      const std::int64_t end = plan.row_bounds[std::size_t(chunk + 1)];
      for (std::int64_t r = plan.row_bounds[std::size_t(chunk)]; r < end; r += kTileRows) {
        const std::int64_t r1 = std::min(r + kTileRows, end);
        if (ranges == 0) {
          pan.fn(PanelArgs{rp, rp + 1, ci, va, r, r1, ref.b, ref.ldb, tile, false});
        } else {
          for (std::size_t q = 0; q < ranges; ++q) {
            pan.fn(PanelArgs{plan.col_bounds[q].data(), plan.col_bounds[q + 1].data(), ci, va, r, r1, ref.b, ref.ldb, tile, q > 0});
          }
        }
        write(u, pan, r, r1, tile);
      }
    }
  }
}

}  // namespace sparse
}  // namespace sparoa::hw
