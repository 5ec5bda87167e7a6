#pragma once
// CUDA-side internals shared by the GPU kernel files: the handles of a lane, status checks
// that turn library errors into sparoa::Error naming the operator, and the mapping of graph
// element types onto our kernels'. Only files of hw/gpu/ include this header.
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cusparse.h>

#include <optional>
#include <string>

#include "graph/tensor.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/gpu/own_launch.hpp"

namespace sparoa::hw::gpu {

struct LaneHandles {
  cudaStream_t stream = nullptr;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  cusparseHandle_t cusparse = nullptr;
  bool tf32 = false;
  // One workspace per lane: its kernels run one after another on the stream. Kernels reserve
  // at construction (all are built before the first run) and use workspace() in run().
  void reserve(std::size_t bytes) {
    if (bytes > workspace_bytes) {
      workspace_ = Buffer(MemoryKind::device, bytes);
      workspace_bytes = bytes;
    }
  }
  void* workspace() const { return workspace_.device(); }
  std::size_t workspace_bytes = 0;

 private:
  Buffer workspace_;
};

[[noreturn]] void fail_cuda(const std::string& where, const std::string& what);
inline void check(cudaError_t e, const std::string& where) {
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail_cuda(where, std::string("CUDA: ") + cudaGetErrorString(e));
  }
}
inline void check(cudnnStatus_t e, const std::string& where) {
  if (e != CUDNN_STATUS_SUCCESS) fail_cuda(where, std::string("cuDNN: ") + cudnnGetErrorString(e));
}
void check(cublasStatus_t e, const std::string& where);
inline void check(cusparseStatus_t e, const std::string& where) {
  if (e != CUSPARSE_STATUS_SUCCESS) fail_cuda(where, std::string("cuSPARSE: ") + cusparseGetErrorString(e));
}

// Our kernels' element type for a graph type; nullopt for types they do not run (strings,
// bfloat16, unsigned types wider than 8 bits).
std::optional<Elem> elem_of(graph::DType t);

}  // namespace sparoa::hw::gpu
