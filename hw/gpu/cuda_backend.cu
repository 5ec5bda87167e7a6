// Reports the CUDA and cuDNN versions this build uses and the GPUs the runtime sees; a
// machine without a GPU (or driver) is reported, never a failure.
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "hw/backends.hpp"

namespace sparoa::hw {

namespace {
std::string version_string(int v) {  // CUDA encodes 13.0 as 13000
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}
}  // namespace

BackendInfo cuda_backend_info() {
  BackendInfo info;
  info.name = "gpu";
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  const size_t cudnn = cudnnGetVersion();  // e.g. 91900
  // cuDNN 9 encodes 9.19.0 as 91900; 8.9.7 as 8907.
  const std::string cudnn_text = cudnn >= 90000 ? std::to_string(cudnn / 10000) + "." + std::to_string((cudnn % 10000) / 100) + "." +
                                                      std::to_string(cudnn % 100)
                                                : std::to_string(cudnn / 1000) + "." + std::to_string((cudnn % 1000) / 100) + "." +
                                                      std::to_string(cudnn % 100);
  info.library = "CUDA runtime " + version_string(runtime) + ", cuDNN " + cudnn_text + ", cuBLAS, cuSPARSE; built for sm_" +
                 std::string(SPAROA_CUDA_ARCHITECTURES) + "; TF32 off unless --tf32; 2:4 sparsity (cuSPARSELt): not built";
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    info.available = false;
    info.detail = err != cudaSuccess ? std::string("no usable GPU: ") + cudaGetErrorString(err) : "no GPU found";
    cudaGetLastError();  // clear the sticky error for later callers
    return info;
  }
  info.available = true;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    if (!info.detail.empty()) info.detail += "; ";
    info.detail += std::string(p.name) + " (sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
                   std::to_string(p.multiProcessorCount) + " SMs, " +
                   std::to_string(p.totalGlobalMem >> 20) + " MiB" + (p.integrated ? ", integrated" : "") + ")";
  }
  return info;
}

}  // namespace sparoa::hw
