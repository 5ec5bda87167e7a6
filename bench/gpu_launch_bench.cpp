// What the replay engine costs per GPU operator launch, in host CPU time: a chain of small
// Abs operators (our own CUDA kernel, 256 floats) on one GPU lane. Engine: the mean length of
// the `launch` records (the launch lane's time per operator: start event, the kernel's
// enqueuing, end event). Baselines in the same run, on the same stream: the same kernel
// objects called back to back by a bare loop, without and with the two events. Without a
// usable GPU it prints why and exits 0.
//
//   build/bin/gpu_launch_bench [operators] [iterations]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "graph/features.hpp"
#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/gpu/gpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/host_machine.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"

namespace {

using namespace sparoa;
using Clock = std::chrono::steady_clock;

graph::Graph abs_chain(int n, std::int64_t elements) {
  graph::Graph g;
  g.name = "abs-chain";
  auto tensor = [&](const std::string& name, graph::TensorRole role) {
    graph::Tensor t;
    t.name = name;
    t.dtype = graph::DType::f32;
    t.shape = {elements};
    t.role = role;
    return t;
  };
  g.add_tensor(tensor("x", graph::TensorRole::input));
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    const std::string out = "t" + std::to_string(i);
    g.add_tensor(tensor(out, graph::TensorRole::activation));
    graph::Operator op;
    op.name = "op" + std::to_string(i);
    op.type = "Abs";
    op.inputs = {prev};
    op.outputs = {out};
    g.add_operator(op);
    prev = out;
  }
  g.set_outputs({prev});
  g.finalize();
  graph::compute_features(g, false);
  return g;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 5;
  if (const std::string why = hw::gpu::unavailable_reason(); !why.empty()) {
    std::printf("gpu_launch_bench: skipped: %s\n", why.c_str());
    return 0;
  }
  const graph::Graph g = abs_chain(n, 256);
  const platforms::Platform p = hw::host_platform(hw::describe_host());
  graph::Schedule s;
  s.platform_name = p.name;
  s.batch = 1;
  for (int i = 0; i < n; ++i) s.entries.push_back({"op" + std::to_string(i), "gpu0", "dense", i, {}});
  const hw::HostTensor x = hw::random_tensor(graph::DType::f32, {256}, 1);
  hw::ReplayOptions o;
  o.graph = &g;
  o.platform = &p;
  o.schedule = &s;
  o.inputs["x"] = x.view();
  o.warmup = 2;
  o.iterations = iterations;
  const hw::ReplayResult r = hw::replay(o);
  double launch_us = 0;
  std::size_t launches = 0;
  for (const auto& rec : r.trace.records) {
    if (rec.record != traces::RecordKind::launch) continue;
    launch_us += rec.end_us - rec.start_us;
    ++launches;
  }
  double latency = 0;
  for (double l : r.latencies_us) latency += l;
  latency /= double(r.latencies_us.size());

  // Baselines: the same kernels, called back to back on one stream by a bare loop.
  hw::gpu::Stream stream(true, false);
  hw::gpu::Event a, b;
  std::vector<std::unique_ptr<hw::gpu::GpuKernel>> kernels;
  for (graph::OpId id = 0; id < graph::OpId(n); ++id) {
    hw::KernelContext ctx;
    ctx.graph = &g;
    ctx.group = hw::single_op_group(g, id);
    kernels.push_back(hw::gpu::make_gpu_kernel(ctx, stream));
  }
  hw::gpu::Buffer in(hw::gpu::MemoryKind::device, 256 * 4), out(hw::gpu::MemoryKind::device, 256 * 4);
  const std::vector<hw::TensorView> vin = {{graph::DType::f32, {256}, in.device()}}, vout = {{graph::DType::f32, {256}, out.device()}};
  auto bare = [&](bool events) {
    double best = 1e30;
    for (int it = 0; it < iterations + 2; ++it) {
      const auto t0 = Clock::now();
      for (auto& k : kernels) {
        if (events) stream.record(a);
        k->run(vin, vout);
        if (events) stream.record(b);
      }
      const auto t1 = Clock::now();
      stream.synchronize();
      if (it >= 2) best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
    }
    return best;
  };
  const double bare_us = bare(false), bare_events_us = bare(true);
  const double engine_us = launch_us / double(launches);
  std::printf("gpu_launch_bench: %d Abs operators (256 floats) on gpu0, %d iterations; %s\n", n, iterations,
              hw::gpu::device_properties().name.c_str());
  std::printf("  engine, launch lane time per operator:   %8.2f us (mean of %zu launch records)\n", engine_us, launches);
  std::printf("  bare loop, kernel enqueue only:          %8.2f us (best iteration)\n", bare_us);
  std::printf("  bare loop, kernel + two event records:   %8.2f us (best iteration)\n", bare_events_us);
  std::printf("  engine overhead beyond the bare loop:    %8.2f us per operator (goal <= 10 us); ratio %.2fx\n",
              engine_us - bare_us, engine_us / bare_us);
  std::printf("  iteration latency: %.1f us = %.2f us per operator (GPU-bound when above the launch time)\n", latency,
              latency / n);
  return 0;
}
