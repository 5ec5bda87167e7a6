#pragma once
// Shared pieces of the GPU kernel classes (host code): the base class with the operator's
// names, types and shapes, the check of the views the engine hands over, walks for our
// strided kernels, and the fused epilogue. Only files of hw/gpu/ include this header.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hw/cpu/fusion.hpp"
#include "hw/cpu/own_common.hpp"
#include "hw/gpu/gpu_env.hpp"
#include "hw/gpu/gpu_kernel.hpp"

namespace sparoa::hw::gpu {

class KernelBase : public GpuKernel {
 public:
  std::string implementation() const override { return implementation_; }

 protected:
  KernelBase(const KernelContext& ctx, Stream& stream, std::string implementation);
  // Throws when the engine's views do not match the graph (count, type, shape).
  void check_views(std::span<const TensorView> in, std::span<const TensorView> out) const;
  const graph::Operator& op() const { return *op_; }
  cudaStream_t stream() const { return h_->stream; }
  LaneHandles& handles() const { return *h_; }
  // The graph data of input i when it is a constant (nullopt when omitted or run-time).
  std::optional<TensorView> constant(std::size_t i) const;
  bool present(std::size_t i) const { return i < in_types_.size() && in_types_[i] != DType::undefined; }
  Elem elem(DType t) const;  // throws naming the operator for a type our kernels do not run

  std::string where_;
  std::vector<DType> in_types_, out_types_;
  std::vector<Shape> in_shapes_, out_shapes_;
  const KernelContext* ctx_ = nullptr;  // valid during construction only
  std::string implementation_;

 private:
  const graph::Operator* op_;
  LaneHandles* h_;
};

// A device copy of host data, made at construction (folded weights, CSR arrays, tables).
template <class T> Buffer upload(const std::vector<T>& host) {
  Buffer b(MemoryKind::device, host.size() * sizeof(T));
  copy(b.device(), host.data(), host.size() * sizeof(T));
  return b;
}

// Our walk from the CPU kernels' (coalesced) one: operand 0 is the contiguous output, the
// CPU walk's operands follow. Throws naming `where` above kMaxDims dimensions.
Walk to_gpu_walk(const own::Walk& w, const std::string& where);
// numpy broadcasting of `operands` onto `out` as a walk (operand 0 = out).
Walk broadcast(const Shape& out, const std::vector<Shape>& operands, const std::string& where);

// The fused part of a group after its root (bias per channel, post-ops) as our epilogue.
// `channels`/`inner`: the root output viewed as [outer, channels, inner]. `addend(k)` gives
// the device address of group input k at run time.
struct EpiloguePlan {
  Epilogue e;
  std::vector<std::size_t> addend_inputs;  // group input index of each addend
  bool empty() const { return e.bias == nullptr && e.ops == 0; }
  // Fills in the addends' addresses for this run and enqueues the epilogue over y.
  void apply(float* y, std::int64_t n, std::span<const TensorView> in, cudaStream_t s) const;
};
EpiloguePlan plan_epilogue(const KernelContext& ctx, const Shape& out, std::int64_t channel_axis, const float* bias,
                           const std::string& where);

UnaryParams unary_of(const EltwiseParams& p);

// Kernel families (each returns nullptr for an operator type it does not handle).
std::unique_ptr<GpuKernel> make_cudnn_kernel(const KernelContext& ctx, Stream& stream);
std::unique_ptr<GpuKernel> make_cublas_kernel(const KernelContext& ctx, Stream& stream);
std::unique_ptr<GpuKernel> make_cusparse_kernel(const KernelContext& ctx, Stream& stream);
std::unique_ptr<GpuKernel> make_own_gpu_kernel(const KernelContext& ctx, Stream& stream);

}  // namespace sparoa::hw::gpu
