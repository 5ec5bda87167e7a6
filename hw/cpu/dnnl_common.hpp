#pragma once
// Shared pieces of the oneDNN kernel family: memory descriptors for ONNX's plain row-major
// tensors, operands that reorder into the layout a primitive prefers, the mapping of fused
// post-operations onto oneDNN post-ops (with a C++ epilogue for what oneDNN cannot fuse), and
// the error conventions. Internal to hw/cpu/dnnl_*.cpp.
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "hw/cpu/cpu_kernel.hpp"
#include "support/error.hpp"

namespace sparoa::hw::onednn {

using dims_t = dnnl::memory::dims;
using dt = dnnl::memory::data_type;

// "operator 'conv1' (Conv)": the `where` of every error this family throws.
std::string op_where(const graph::Operator& op);

// oneDNN's element type for ours; nullopt when oneDNN has none.
std::optional<dt> dnnl_type(graph::DType t);

// A tensor's dimensions for oneDNN: rank 0 becomes {1} (oneDNN has no scalars).
dims_t to_dims(const graph::Shape& shape);
// Row-major strides of `dims`.
dims_t plain_strides(const dims_t& dims);
// A plain row-major descriptor.
dnnl::memory::desc plain_desc(const dims_t& dims, dt type = dt::f32);
// `shape` right-aligned to `rank` dimensions (numpy broadcasting), leading ones added.
dims_t right_aligned(const graph::Shape& shape, std::size_t rank);
// Whether `small` broadcasts to `full` (each dimension equal or 1, same rank).
bool broadcasts_to(const dims_t& small, const dims_t& full);
dims_t spatial_dims(const graph::Shape& shape);  // shape[2:]

// The root's input i is present and float32.
bool input_is_f32(const KernelContext& ctx, std::size_t i);
// The root's output o is float32.
bool output_is_f32(const KernelContext& ctx, std::size_t o = 0);
// The graph tensor of the root's input i, nullptr for an omitted (or absent) one.
const graph::Tensor* input_tensor_or_null(const KernelContext& ctx, std::size_t i);
// Shape of the root's first output (the shape the fused group keeps).
const graph::Shape& root_output_shape(const KernelContext& ctx);

// Wraps a oneDNN call that may refuse the configuration; turns dnnl::error into an Error.
[[noreturn]] void rethrow_dnnl(const KernelContext& ctx, const std::string& what, const dnnl::error& e);

// The engine and stream of one kernel object, created on the lane's thread and never shared.
struct Runtime {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

// One argument of a primitive backed by a caller's plain buffer (a run() input or output, or
// a constant prepared at construction). When the primitive wants another layout, `inner`
// holds that layout and a reorder bridges the two.
class Operand {
 public:
  Operand() = default;
  // A run-time input or output in the plain layout `user`, wanted by the primitive as `want`.
  Operand(const Runtime& rt, const dnnl::memory::desc& user, const dnnl::memory::desc& want, bool is_output);
  // A constant: reordered once, now, from `data` (plain layout `user`) into `want`. When no
  // reorder is needed the primitive reads `data` itself, which must outlive the operand
  // (graph weights do: the engine keeps the graph for as long as its kernels).
  static Operand constant(const Runtime& rt, const dnnl::memory::desc& user, const dnnl::memory::desc& want, const void* data);

  // The memory to hand the primitive.
  const dnnl::memory& memory() const { return inner_ ? inner_ : user_; }
  // Input: points the user memory at `data` and reorders it in. Output: points it at `data`.
  void bind(void* data, dnnl::stream& stream);
  // Output: moves the primitive's result into the caller's buffer.
  void finish(dnnl::stream& stream);
  // Output of a primitive with a sum post-op: makes prefill() possible.
  void enable_prefill(const Runtime& rt);
  // Output: copies `data` (plain, like the caller's buffer `out`) into what the primitive
  // writes, for a sum post-op to add.
  void prefill(const void* data, void* out, dnnl::stream& stream);

 private:
  dnnl::memory user_;
  dnnl::memory inner_;
  std::optional<dnnl::reorder> reorder_;
  dnnl::memory prefill_source_;
  std::optional<dnnl::reorder> prefill_reorder_;
  bool is_output_ = false;
  bool constant_ = false;
};

// An attribute with the user-managed scratchpad (each kernel owns its own, so that kernels
// on different lanes never share one).
dnnl::primitive_attr scratchpad_attr();

// The parts every kernel of the family has: its engine and stream, the arguments of its
// primitive and its scratchpad.
class DnnlKernel : public CpuKernel {
 protected:
  Runtime rt_;
  std::unordered_map<int, dnnl::memory> args_;
  dnnl::memory scratchpad_;
  std::string implementation_;

  // Adds the scratchpad the descriptor asks for to args_.
  void add_scratchpad(const dnnl::primitive_desc_base& pd);

 public:
  std::string implementation() const override { return implementation_; }
};

// Maps an activation onto a oneDNN eltwise algorithm. Hard-sigmoid takes two steps (linear
// then clip); erf has none (gelu_erf is not erf). Empty when oneDNN cannot run it.
struct EltwiseStep {
  dnnl::algorithm alg;
  float alpha = 0;
  float beta = 0;
};
std::vector<EltwiseStep> eltwise_steps(const EltwiseParams& p);

// The group's post-ops that run after the primitive in C++ (those oneDNN cannot fuse, or
// all of them when the primitive refuses its post-ops): on the plain float output.
class Epilogue {
 public:
  Epilogue() = default;
  Epilogue(const KernelContext& ctx, std::size_t first, const graph::Shape& out_shape);
  bool empty() const { return ops_.empty(); }
  void run(float* out, std::span<const TensorView> inputs) const;

 private:
  std::vector<PostOp> ops_;
  graph::Shape out_shape_;
};

// " + epilogue (n post-ops)" when the last n of the group's post-ops run in the Epilogue, so
// that traces show a fusion that oneDNN only partly took; "" otherwise.
std::string epilogue_suffix(const KernelContext& ctx, std::size_t in_primitive);

// The post-ops of a fused group inside the primitive: the first `in_primitive` of
// group.post_ops, the binary post-ops' second operands, bound in run() to group inputs, and
// the input a sum post-op adds (the kernel copies it into the destination before running).
struct PostOpPlan {
  struct Binary {
    int arg = 0;            // DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | DNNL_ARG_SRC_1
    std::size_t input = 0;  // index into the run() inputs
    dnnl::memory::desc desc;
    dnnl::memory memory;    // created by create_fused, pointed at the input in bind()
  };
  std::size_t in_primitive = 0;
  std::vector<Binary> binaries;
  std::optional<std::size_t> sum_input;

  void bind(std::span<const TensorView> inputs, std::unordered_map<int, dnnl::memory>& args);
};

// Length of the longest prefix of group.post_ops that oneDNN post-ops can express.
std::size_t fusable_prefix(const KernelContext& ctx);
// An attribute with user scratchpad, the kernel's own settings (`configure`: scales), the
// kernel's leading binary post-ops (Gemm's C: arguments DNNL_ARG_ATTR_MULTIPLE_POST_OP(0..)),
// then the first `count` of the group's post-ops, whose binaries go to `plan`. With
// `use_sum`, the first Add of an addend as large as the destination becomes a sum post-op.
dnnl::primitive_attr post_op_attr(const KernelContext& ctx, const dims_t& dst_dims,
                                  const std::function<void(dnnl::primitive_attr&)>& configure,
                                  const std::vector<dnnl::memory::desc>& leading, std::size_t count, bool use_sum,
                                  PostOpPlan& plan);
void create_binary_memory(const Runtime& rt, PostOpPlan& plan);

// Creates a primitive descriptor with as many of the group's post-ops fused as oneDNN takes
// without changing the implementation it picks for the bare operation: gemm-based
// convolutions run most post-ops in a slow scalar pass and blocked kernels refuse a plain
// binary operand, so a post-op that would move oneDNN to another implementation goes to the
// Epilogue instead (measured: 1x1 conv 16->96 at 112x112 with clip, gemm:jit 2.9 ms, bare
// 0.2 ms; 3x3 conv with a residual binary add on a blocked destination fell back from
// brgconv to gemm:jit, 14 ms instead of 0.6 ms). Residual adds try a sum post-op first (the
// addend is copied into the destination), which both kinds run natively. `make` builds the
// descriptor from an attribute. Throws an Error naming the operator when oneDNN cannot run
// even the bare operation.
template <typename Pd>
Pd create_fused(const KernelContext& ctx, const Runtime& rt, const dims_t& dst_dims,
                const std::function<void(dnnl::primitive_attr&)>& configure,
                const std::vector<dnnl::memory::desc>& leading, const std::function<Pd(const dnnl::primitive_attr&)>& make,
                PostOpPlan& plan) {
  PostOpPlan base_plan;
  Pd base;
  try {
    base = make(post_op_attr(ctx, dst_dims, configure, leading, 0, false, base_plan));
  } catch (const dnnl::error& e) {
    rethrow_dnnl(ctx, "oneDNN has no implementation for this configuration", e);
  }
  const std::string base_impl = base.impl_info_str();
  for (std::size_t count = fusable_prefix(ctx); count > 0; --count) {
    for (bool use_sum : {true, false}) {
      PostOpPlan p;
      try {
        const dnnl::primitive_attr attr = post_op_attr(ctx, dst_dims, configure, leading, count, use_sum, p);
        if (use_sum && !p.sum_input) continue;  // no residual add among them: the binary try is the same
        Pd pd = make(attr);
        if (base_impl == pd.impl_info_str()) {
          plan = std::move(p);
          create_binary_memory(rt, plan);
          return pd;
        }
      } catch (const dnnl::error&) {
        // oneDNN refuses this combination of post-ops: try fewer.
      }
    }
  }
  plan = std::move(base_plan);
  create_binary_memory(rt, plan);
  return base;
}

// The family's kernels by operator type; each returns nullptr when it does not take the case.
std::unique_ptr<CpuKernel> make_conv_kernel(const KernelContext& ctx);       // Conv, ConvTranspose
std::unique_ptr<CpuKernel> make_matmul_kernel(const KernelContext& ctx);     // Gemm, MatMul
std::unique_ptr<CpuKernel> make_pool_kernel(const KernelContext& ctx);       // pools, global pools
std::unique_ptr<CpuKernel> make_norm_kernel(const KernelContext& ctx);       // BN, LayerNorm, Softmax
std::unique_ptr<CpuKernel> make_elementwise_kernel(const KernelContext& ctx);  // eltwise, binary, PRelu
std::unique_ptr<CpuKernel> make_data_kernel(const KernelContext& ctx);       // Concat, reductions

}  // namespace sparoa::hw::onednn
