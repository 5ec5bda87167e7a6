#pragma once
// The simplest correct execution of a graph: every operator once, in topological order, on
// the calling thread and its OpenMP team, each output in its own buffer. The conformance
// runner and the kernel tests use it; the replay engine's outputs are checked against it.
#include <map>
#include <string>

#include "graph/graph.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/tensor.hpp"

namespace sparoa::hw {

struct ReferenceOptions {
  int threads = 1;  // OpenMP team of the calling thread while it runs
  KernelChoice kernel = KernelChoice::dense;  // for every operator that has that kernel
};

// `inputs`: one view per graph input, by name (shape and dtype must match the graph's; a
// mismatch is an Error naming the input). Returns every graph output, by name.
std::map<std::string, HostTensor> run_reference(const graph::Graph& g, const std::map<std::string, TensorView>& inputs,
                                                const ReferenceOptions& options = {});

// Checks a caller's tensor against the graph input it is meant for (shape and dtype).
void check_input(const graph::Graph& g, const std::string& name, const TensorView& v);

}  // namespace sparoa::hw
