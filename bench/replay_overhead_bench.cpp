// What the replay engine costs per operator, apart from the kernels: 10,000 no-op operators
// (Identity of a 4-byte tensor) on two 1-core lanes, once as independent operators (each lane
// runs half of them, nobody waits) and once as a chain that alternates lanes (every operator
// waits for the other lane: a cross-thread hand-off per operator). The baseline in the same
// run is the same kernels called back to back by a bare loop on one thread.
//
//   build/bin/replay_overhead_bench [operators] [iterations]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "graph/features.hpp"
#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/host_machine.hpp"
#include "hw/replay.hpp"

namespace {

using namespace sparoa;

graph::Graph identity_graph(int n, bool chain) {
  graph::Graph g;
  g.name = chain ? "identity-chain" : "identity-independent";
  auto tensor = [](const std::string& name, graph::TensorRole role) {
    graph::Tensor t;
    t.name = name;
    t.dtype = graph::DType::f32;
    t.shape = {1};
    t.role = role;
    return t;
  };
  g.add_tensor(tensor("x", graph::TensorRole::input));
  std::vector<std::string> outputs;
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    const std::string out = "t" + std::to_string(i);
    g.add_tensor(tensor(out, graph::TensorRole::activation));
    graph::Operator op;
    op.name = "op" + std::to_string(i);
    op.type = "Identity";
    op.inputs = {chain ? prev : "x"};
    op.outputs = {out};
    g.add_operator(op);
    prev = out;
    if (!chain) outputs.push_back(out);
  }
  g.set_outputs(chain ? std::vector<std::string>{prev} : outputs);
  g.finalize();
  graph::compute_features(g, false);
  return g;
}

platforms::Platform two_lanes() {
  platforms::Platform p;
  p.name = "bench-host";
  platforms::MemoryDomain m;
  m.id = "dram";
  p.memory_domains.push_back(m);
  for (int d = 0; d < 2; ++d) {
    platforms::Device dev;
    dev.id = "cpu" + std::to_string(d);
    dev.memory_domain = "dram";
    dev.units = 1;
    platforms::Lane lane;
    lane.id = "lane" + std::to_string(d);
    lane.cores = {0};
    dev.lanes.push_back(lane);
    p.devices.push_back(dev);
  }
  return p;
}

// Operators alternate lanes: op i on lane i % 2.
graph::Schedule alternating(const graph::Graph& g) {
  graph::Schedule s;
  s.platform_name = "bench-host";
  std::int64_t next[2] = {0, 0};
  for (graph::OpId id : g.topological_order()) {
    const int lane = int(id % 2);
    s.entries.push_back({g.op(id).name, "lane" + std::to_string(lane), "dense", next[lane]++, {}});
  }
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The kernels alone: constructed once, run back to back on this thread.
double bare_loop_us(const graph::Graph& g, int iterations) {
  std::vector<std::unique_ptr<hw::CpuKernel>> kernels;
  for (graph::OpId id : g.topological_order()) {
    hw::KernelContext ctx;
    ctx.graph = &g;
    ctx.group = hw::single_op_group(g, id);
    kernels.push_back(hw::make_cpu_kernel(ctx));
  }
  std::vector<hw::HostTensor> values(g.operators().size() + 1);
  for (auto& v : values) v = hw::HostTensor(graph::DType::f32, {1});
  std::vector<double> runs;
  for (int it = 0; it < iterations + 2; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      const hw::TensorView in = values[i].view(), out = values[i + 1].view();
      kernels[i]->run({&in, 1}, {&out, 1});
    }
    const auto t1 = std::chrono::steady_clock::now();
    if (it >= 2) runs.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return median(runs);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 20;
  const auto machine = hw::describe_host();
  std::printf("replay engine overhead: %d Identity operators on two 1-core lanes (%s, %zu usable cores), median of %d iterations\n",
              n, machine.cpu_model.c_str(), machine.cpus.size(), iterations);
  if (machine.cpus.size() < 2) std::printf("note: fewer than 2 cores: both lanes share one core\n");
  std::printf("%-28s %14s %14s %16s\n", "case", "engine us/op", "bare us/op", "overhead us/op");
  const platforms::Platform p = two_lanes();
  for (bool chain : {false, true}) {
    const graph::Graph g = identity_graph(n, chain);
    const graph::Schedule s = alternating(g);
    hw::HostTensor x(graph::DType::f32, {1});
    hw::ReplayOptions o;
    o.graph = &g;
    o.platform = &p;
    o.schedule = &s;
    o.inputs["x"] = x.view();
    o.warmup = 2;
    o.iterations = iterations;
    const hw::ReplayResult r = hw::replay(o);
    const double engine = median(r.latencies_us) / n;
    const double bare = bare_loop_us(g, iterations) / n;
    std::printf("%-28s %14.3f %14.3f %16.3f\n", chain ? "chain alternating lanes" : "independent, 2 lanes", engine, bare,
                engine - bare);
  }
  std::printf("(independent: wall time / operators with both lanes busy; the per-lane cost is twice that)\n");
  return 0;
}
