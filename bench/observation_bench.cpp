// What reading the machine costs an online decision on hardware (issue goal: at most 20 us
// per decision). Three figures:
//  * MachineRefresh: one reading of /proc/stat and cpufreq for every usable CPU (the engine
//    does this at most once per 5 ms, on the deciding thread);
//  * MachineCachedRead: a decision between refreshes (the cached readings);
//  * OnlineDecisions: whole online runs of SqueezeNet 1.1 on the two-lane host platform under
//    Poisson arrivals with greedy-eft, reporting the engine's own per-decision figures
//    (observation alone, observation + policy) against the baseline of the same run, the mean
//    operator time: the overhead ratio is what the decisions add to the work they place.
//
//   build/bin/observation_bench [--zoo-dir DIR] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>

#include "graph/onnx_import.hpp"
#include "graph/zoo/zoo.hpp"
#include "hw/host_machine.hpp"
#include "hw/machine_state.hpp"
#include "hw/online_engine.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/cost_model.hpp"
#include "policies/policy.hpp"

namespace {

using namespace sparoa;

std::string zoo_dir = SPAROA_BENCH_ZOO_DIR;

hw::MachineState& machine() {
  static auto m = [] {
    hw::MachineStateOptions o;
    return std::make_unique<hw::MachineState>(std::vector<hw::CpuGroup>{{"cpu", hw::describe_host().cpus}}, o);
  }();
  return *m;
}

void MachineRefresh(benchmark::State& state) {
  for (auto _ : state) machine().refresh(std::chrono::steady_clock::now());
  state.counters["cpus"] = double(hw::describe_host().cpus.size());
}
BENCHMARK(MachineRefresh)->Unit(benchmark::kMicrosecond);

void MachineCachedRead(benchmark::State& state) {
  machine().refresh(std::chrono::steady_clock::now());
  for (auto _ : state) benchmark::DoNotOptimize(machine().read().front().load);
}
BENCHMARK(MachineCachedRead)->Unit(benchmark::kMicrosecond);

void OnlineDecisions(benchmark::State& state) {
  graph::ImportOptions io;
  io.batch = 1;
  const auto path = graph::zoo::build_model("squeezenet1_1", {0, false}, zoo_dir);
  const graph::Graph g = graph::import_onnx(path, io);
  const platforms::Platform p = platforms::read_platform(platforms::resolve_platform_path("host-2core-2lanes"));
  const platforms::CostModel cost(p);
  policies::PolicyContext ctx;
  ctx.graph = &g;
  ctx.platform = &p;
  ctx.cost = &cost;
  const graph::Tensor& x = g.tensor(g.input_names().front());
  const hw::HostTensor input = hw::random_tensor(x.dtype, x.shape, 1);
  double decision = 0, observe = 0, op = 0;
  std::int64_t runs = 0;
  for (auto _ : state) {
    auto policy = policies::make_policy("greedy-eft")->online(ctx);
    hw::OnlineOptions o;
    o.graphs = {&g};
    o.platform = &p;
    o.policy = policy.get();
    o.arrivals = platforms::parse_arrivals("poisson:30");
    o.requests = 30;
    o.inputs[x.name] = input.view();
    const hw::OnlineResult r = hw::run_online(o);
    decision += r.decision_mean_us;
    observe += r.observe_mean_us;
    double sum = 0;
    for (const auto& rec : r.trace.records) sum += rec.end_us - rec.start_us;
    op += sum / double(r.trace.records.size());
    ++runs;
  }
  state.counters["decision_us"] = decision / double(runs);
  state.counters["observation_us"] = observe / double(runs);
  state.counters["operator_us"] = op / double(runs);
  state.counters["decision_per_op"] = decision / op;
}
BENCHMARK(OnlineDecisions)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--zoo-dir") == 0 && i + 1 < argc) {
      zoo_dir = argv[++i];
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = int(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
