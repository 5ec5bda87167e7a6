#include "hw/reference_run.hpp"

#include <omp.h>

#include <algorithm>

#include "graph/schedule.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

void check_input(const graph::Graph& g, const std::string& name, const TensorView& v) {
  const graph::Tensor& t = g.tensor(name);
  if (v.dtype != t.dtype) {
    throw Error("input '" + name + "'", "is " + std::string(graph::dtype_name(v.dtype)) + ", the model expects " +
                                            std::string(graph::dtype_name(t.dtype)));
  }
  if (v.shape != t.shape) {
    throw Error("input '" + name + "'", "has shape " + graph::shape_string(v.shape) + ", the model expects " +
                                            graph::shape_string(t.shape));
  }
}

std::map<std::string, HostTensor> run_reference(const graph::Graph& g, const std::map<std::string, TensorView>& inputs,
                                                const ReferenceOptions& options) {
  for (const auto& name : g.input_names()) {
    auto it = inputs.find(name);
    if (it == inputs.end()) throw Error("input '" + name + "'", "not given");
    check_input(g, name, it->second);
  }
  omp_set_num_threads(std::max(1, options.threads));
  std::map<std::string, HostTensor> values;
  auto view_of = [&](const std::string& name) -> TensorView {
    if (name.empty()) return {};
    const graph::Tensor& t = g.tensor(name);
    if (t.data) return weight_view(t);
    if (auto it = inputs.find(name); it != inputs.end()) return it->second;
    auto v = values.find(name);
    if (v == values.end()) throw Error("tensor '" + name + "'", "read before it was computed");
    return v->second.view();
  };
  for (graph::OpId id : g.topological_order()) {
    KernelContext ctx;
    ctx.graph = &g;
    ctx.group = single_op_group(g, id);
    ctx.threads = std::max(1, options.threads);
    ctx.kernel = KernelChoice::dense;
    if (options.kernel == KernelChoice::sparse) {
      const auto kinds = graph::kernels_for(g, g.op(id).name);
      if (std::find(kinds.begin(), kinds.end(), "sparse") != kinds.end()) ctx.kernel = KernelChoice::sparse;
    }
    auto kernel = make_cpu_kernel(ctx);
    std::vector<TensorView> in, out;
    for (const auto& name : ctx.group.inputs) in.push_back(view_of(name));
    for (const auto& name : ctx.group.outputs) {
      const graph::Tensor& t = g.tensor(name);
      auto [it, fresh] = values.emplace(name, HostTensor(t.dtype, t.shape));
      out.push_back(it->second.view());
    }
    kernel->run(in, out);
  }
  std::map<std::string, HostTensor> result;
  for (const auto& name : g.output_names()) {
    auto it = values.find(name);
    if (it != values.end()) {
      result.emplace(name, std::move(it->second));
      values.erase(it);
      continue;
    }
    // A graph output that is a graph input or a weight: copy it.
    const TensorView v = view_of(name);
    HostTensor copy(v.dtype, v.shape);
    std::copy_n(static_cast<const char*>(v.data), v.size_bytes(), static_cast<char*>(copy.view().data));
    result.emplace(name, std::move(copy));
  }
  return result;
}

}  // namespace sparoa::hw
