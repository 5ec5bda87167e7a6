#include "hw/backends.hpp"

#include <dnnl.h>

#include <thread>

namespace sparoa::hw {

#ifdef SPAROA_HAVE_CUDA
BackendInfo cuda_backend_info();  // gpu/cuda_backend.cu
#endif

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::vector<BackendInfo> backends() {
  std::vector<BackendInfo> out;
  const dnnl_version_t* v = dnnl_version();
  out.push_back({"cpu",
                 "oneDNN " + onednn_version() + (v->cpu_runtime == DNNL_RUNTIME_OMP ? " (OpenMP)" : ""),
                 true, std::to_string(std::thread::hardware_concurrency()) + " hardware threads"});
#ifdef SPAROA_HAVE_CUDA
  out.push_back(cuda_backend_info());
#endif
  return out;
}

}  // namespace sparoa::hw
