#include "hw/replay.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "hw/cpu/cpu_kernel.hpp"
#include "hw/host_machine.hpp"
#include "hw/reference_run.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

namespace {

using Clock = std::chrono::steady_clock;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Thrown inside a lane when another lane failed: unwinds quietly, the first error wins.
struct Aborted {};

// A completion counter: the last iteration a step (or lane) finished, -1 before the first.
// int, not int64: a futex waits on 32 bits, so wait/notify need no proxy.
using Counter = std::atomic<int>;

class Engine {
 public:
  Engine(const ReplayOptions& o, Plan plan) : o_(o), plan_(std::move(plan)) {}
  ReplayResult run();

 private:
  void bind_views();
  void lane_main(std::size_t lane);
  void run_step(std::size_t step);
  void wait_for(Counter& c, int target);
  void fail(std::exception_ptr e);
  // Counters only grow (a failing lane pushes them all up to wake everyone; a lane that has
  // not noticed yet must not pull one back down).
  static void publish(Counter& c, int value) {
    int cur = c.load(std::memory_order_relaxed);
    while (cur < value && !c.compare_exchange_weak(cur, value, std::memory_order_release, std::memory_order_relaxed)) {
    }
    c.notify_all();
  }

  const ReplayOptions& o_;
  Plan plan_;
  int warmup_ = 1;
  int total_ = 1;
  std::vector<AlignedBuffer> buffers_;
  std::vector<std::vector<TensorView>> in_views_, out_views_;
  std::vector<std::unique_ptr<CpuKernel>> kernels_;
  std::unique_ptr<Counter[]> step_done_;
  std::unique_ptr<Counter[]> lane_done_;
  Counter go_{-1};
  Counter lanes_ready_{0};
  std::atomic<bool> abort_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::vector<LaneReport> lane_reports_;
  // Per measured iteration and step: start and end in nanoseconds since go of that iteration
  // minus the run origin, filled by the lane that runs the step (no sharing).
  std::vector<std::int64_t> start_ns_, end_ns_;
  std::vector<double> activation_sparsity_;  // per step; < 0 when it reads no activation
  std::vector<Clock::time_point> go_time_;
  Clock::time_point origin_;
};

void Engine::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = e;
  }
  abort_.store(true);
  // Wake every waiter: they see the counters jump, then the abort flag.
  const int big = std::numeric_limits<int>::max() / 2;  // room for lanes_ready_ to grow
  for (std::size_t s = 0; s < plan_.steps.size(); ++s) publish(step_done_[s], big);
  for (std::size_t l = 0; l < plan_.lanes.size(); ++l) publish(lane_done_[l], big);
  publish(go_, big);
  publish(lanes_ready_, big);
}

void Engine::wait_for(Counter& c, int target) {
  // Lanes sit on their own cores, so a waiting lane spins: a futex sleep costs a wake-up of
  // hundreds of microseconds to milliseconds on a virtual machine (two-lane ResNet-18 here:
  // 22 ms of its 67 ms were hand-offs with a 1 ms spin, 5 ms with 50 ms), more than most
  // operators take. After kSpinBudget it sleeps on the futex, so that a lane waiting on a
  // long operator of another lane does not burn its core forever; the spin yields now and
  // then in case another thread needs this core.
  constexpr auto kSpinBudget = std::chrono::microseconds(50000);
  const auto start = std::chrono::steady_clock::now();
  for (std::uint32_t spin = 1; c.load(std::memory_order_acquire) < target; ++spin) {
    cpu_relax();
    if (spin % 256 == 0) {
      if (abort_.load(std::memory_order_acquire)) break;
      if (std::chrono::steady_clock::now() - start > kSpinBudget) break;
      if (spin % 4096 == 0) sched_yield();
    }
  }
  for (;;) {
    const int v = c.load(std::memory_order_acquire);
    if (v >= target || abort_.load(std::memory_order_acquire)) break;
    c.wait(v, std::memory_order_acquire);
  }
  if (abort_.load(std::memory_order_acquire)) throw Aborted{};
}

void Engine::bind_views() {
  const graph::Graph& g = *o_.graph;
  buffers_.reserve(plan_.buffers.size());
  for (const auto& b : plan_.buffers) buffers_.emplace_back(b.bytes);
  std::vector<TensorView> slot_views(plan_.slots.size());
  for (std::size_t i = 0; i < plan_.slots.size(); ++i) {
    const Slot& s = plan_.slots[i];
    TensorView v{s.dtype, s.shape, nullptr};
    switch (s.kind) {
      case SlotKind::weight: v = weight_view(g.tensor(s.tensor)); break;
      case SlotKind::input: {
        auto it = o_.inputs.find(s.tensor);
        if (it == o_.inputs.end()) throw Error("input '" + s.tensor + "'", "not given");
        check_input(g, s.tensor, it->second);
        v.data = it->second.data;
        break;
      }
      case SlotKind::activation:
      case SlotKind::output: v.data = buffers_[std::size_t(s.buffer)].data(); break;
    }
    slot_views[i] = v;
  }
  for (const auto& name : g.input_names()) {
    if (!plan_.input_slots.count(name)) continue;
    if (!o_.inputs.count(name)) throw Error("input '" + name + "'", "not given");
  }
  for (const auto& [name, v] : o_.inputs) {
    if (!plan_.input_slots.count(name)) throw Error("input '" + name + "'", "the model has no such input");
  }
  in_views_.resize(plan_.steps.size());
  out_views_.resize(plan_.steps.size());
  for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
    for (int i : plan_.steps[s].inputs) in_views_[s].push_back(i < 0 ? TensorView{} : slot_views[std::size_t(i)]);
    for (int i : plan_.steps[s].outputs) out_views_[s].push_back(slot_views[std::size_t(i)]);
  }
}

void Engine::run_step(std::size_t s) {
  const PlanStep& step = plan_.steps[s];
  if (step.kind == StepKind::transfer) {
    // Host memory domains: a plain copy. Devices with their own memory bring their own copy.
    std::memcpy(out_views_[s][0].data, in_views_[s][0].data, out_views_[s][0].size_bytes());
    return;
  }
  kernels_[s]->run(in_views_[s], out_views_[s]);
}

void Engine::lane_main(std::size_t l) {
  try {
    const PlanLane& lane = plan_.lanes[l];
    LaneReport& report = lane_reports_[l];
    report.pinning = pin_current_thread(lane.cpus);
    omp_set_num_threads(int(lane.cpus.size()));
    // The OpenMP team is created by this thread, so its threads inherit this thread's
    // affinity mask: record what each of them sees, for the test that lanes stay on their cores.
    std::vector<std::vector<int>> seen(lane.cpus.size());
    int team = 0;
#pragma omp parallel
    {
      const int t = omp_get_thread_num();
#pragma omp single
      team = omp_get_num_threads();
      if (std::size_t(t) < seen.size()) seen[std::size_t(t)] = current_thread_cpus();
    }
    std::set<int> all;
    for (const auto& v : seen) all.insert(v.begin(), v.end());
    report.observed_cpus.assign(all.begin(), all.end());
    report.omp_threads = team;
    // Kernels are created here, on the lane's thread: oneDNN sizes its primitives by this
    // thread's OpenMP team.
    for (std::size_t s : lane.steps) {
      const PlanStep& step = plan_.steps[s];
      if (step.kind != StepKind::op) continue;
      KernelContext ctx;
      ctx.graph = o_.graph;
      ctx.group = step.group;
      ctx.kernel = step.kernel;
      ctx.threads = int(lane.cpus.size());
      kernels_[s] = make_cpu_kernel(ctx);
    }
    lanes_ready_.fetch_add(1, std::memory_order_acq_rel);
    lanes_ready_.notify_all();
    const std::size_t n = plan_.steps.size();
    for (int it = 0; it < total_; ++it) {
      wait_for(go_, it);
      const bool measured = it >= warmup_;
      for (std::size_t s : lane.steps) {
        for (std::size_t w : plan_.steps[s].waits) wait_for(step_done_[w], it);
        const auto t0 = Clock::now();
        run_step(s);
        const auto t1 = Clock::now();
        if (measured) {
          const std::size_t k = std::size_t(it - warmup_) * n + s;
          start_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t0 - origin_).count();
          end_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - origin_).count();
        }
        if (it == 0 && plan_.steps[s].kind == StepKind::op) {
          // The inputs are still intact right after the step: count their zeros now.
          double zeros = 0, elements = 0;
          for (std::size_t i = 0; i < in_views_[s].size(); ++i) {
            const int slot = plan_.steps[s].inputs[i];
            if (slot < 0 || plan_.slots[std::size_t(slot)].kind == SlotKind::weight) continue;
            const double e = double(in_views_[s][i].elements());
            zeros += zero_fraction(in_views_[s][i]) * e;
            elements += e;
          }
          activation_sparsity_[s] = elements > 0 ? zeros / elements : -1;
        }
        publish(step_done_[s], it);
      }
      publish(lane_done_[l], it);
    }
  } catch (const Aborted&) {
  } catch (...) {
    fail(std::current_exception());
  }
}

ReplayResult Engine::run() {
  warmup_ = std::max(1, o_.warmup);
  if (o_.iterations < 1) throw Error("replay", "at least one measured iteration is needed");
  total_ = warmup_ + o_.iterations;
  bind_views();
  const std::size_t n = plan_.steps.size();
  kernels_.resize(n);
  step_done_ = std::make_unique<Counter[]>(n);
  lane_done_ = std::make_unique<Counter[]>(plan_.lanes.size());
  for (std::size_t s = 0; s < n; ++s) step_done_[s].store(-1);
  for (std::size_t l = 0; l < plan_.lanes.size(); ++l) lane_done_[l].store(-1);
  lane_reports_.resize(plan_.lanes.size());
  for (std::size_t l = 0; l < plan_.lanes.size(); ++l) {
    lane_reports_[l].id = plan_.lanes[l].id;
    lane_reports_[l].cpus = plan_.lanes[l].cpus;
  }
  start_ns_.assign(std::size_t(o_.iterations) * n, 0);
  end_ns_.assign(std::size_t(o_.iterations) * n, 0);
  activation_sparsity_.assign(n, -1);
  go_time_.resize(std::size_t(total_));

  std::vector<std::thread> threads;
  threads.reserve(plan_.lanes.size());
  for (std::size_t l = 0; l < plan_.lanes.size(); ++l) threads.emplace_back([this, l] { lane_main(l); });
  auto join_all = [&] {
    for (auto& t : threads) t.join();
  };
  try {
    wait_for(lanes_ready_, int(plan_.lanes.size()));
    for (int it = 0; it < total_; ++it) {
      if (it == warmup_) origin_ = Clock::now();
      go_time_[std::size_t(it)] = Clock::now();
      publish(go_, it);
      for (std::size_t l = 0; l < plan_.lanes.size(); ++l) wait_for(lane_done_[l], it);
    }
  } catch (const Aborted&) {
  }
  join_all();
  if (error_) std::rethrow_exception(error_);

  const graph::Graph& g = *o_.graph;
  ReplayResult r;
  r.lanes = lane_reports_;
  r.buffer_bytes = plan_.buffer_bytes();
  r.unshared_bytes = plan_.unshared_bytes();
  r.window_begin_s = std::chrono::duration<double>(origin_.time_since_epoch()).count();
  for (int it = 0; it < o_.iterations; ++it) {
    const auto go = go_time_[std::size_t(warmup_ + it)];
    const double go_ns = double(std::chrono::duration_cast<std::chrono::nanoseconds>(go - origin_).count());
    double last = go_ns;
    for (std::size_t s = 0; s < n; ++s) last = std::max(last, double(end_ns_[std::size_t(it) * n + s]));
    r.latencies_us.push_back((last - go_ns) / 1e3);
    r.window_end_s = r.window_begin_s + last / 1e9;
  }
  for (std::size_t s = 0; s < n; ++s) {
    const PlanStep& step = plan_.steps[s];
    if (step.kind != StepKind::op) continue;
    const std::string name = step.op_name(g);
    r.implementations[name] = kernels_[s]->implementation();
    if (activation_sparsity_[s] >= 0) r.activation_sparsity[name] = activation_sparsity_[s];
  }
  r.trace.records.reserve(std::size_t(o_.iterations) * n);
  for (int it = 0; it < o_.iterations; ++it) {
    for (std::size_t s = 0; s < n; ++s) {
      const PlanStep& step = plan_.steps[s];
      const PlanLane& lane = plan_.lanes[step.lane];
      traces::Record rec;
      rec.source = traces::Source::hw;
      rec.run_id = o_.run_id;
      rec.batch_id = it;
      rec.iteration = it;
      rec.record = step.kind == StepKind::op ? traces::RecordKind::op : traces::RecordKind::transfer;
      rec.op = step.op_name(g);
      rec.device = lane.device;
      rec.lane = lane.id;
      if (step.kind == StepKind::op) {
        rec.kernel = std::string(to_string(step.kernel));
        if (step.group.fused()) rec.fused_group = step.group.name;
        const auto& f = g.op(step.group.root).features;
        rec.args["type"] = g.op(step.group.root).type;
        rec.args["flops"] = f.flops;
        rec.args["bytes"] = f.bytes;
        rec.args["implementation"] = r.implementations[rec.op];
        if (activation_sparsity_[s] >= 0) rec.args["activation_sparsity"] = activation_sparsity_[s];
      } else {
        rec.args["bytes"] = double(plan_.slots[std::size_t(step.outputs[0])].bytes);
      }
      const std::size_t k = std::size_t(it) * n + s;
      rec.start_us = double(start_ns_[k]) / 1e3;
      rec.end_us = double(end_ns_[k]) / 1e3;
      r.trace.records.push_back(std::move(rec));
    }
  }
  for (const auto& [name, slot] : plan_.output_slots) {
    const Slot& s = plan_.slots[std::size_t(slot)];
    HostTensor out(s.dtype, s.shape);
    const void* src = nullptr;
    if (s.kind == SlotKind::weight) {
      src = weight_view(g.tensor(name)).data;
    } else if (s.kind == SlotKind::input) {
      src = o_.inputs.at(name).data;
    } else {
      src = buffers_[std::size_t(s.buffer)].data();
    }
    std::memcpy(out.view().data, src, out.size_bytes());
    r.outputs.emplace(name, std::move(out));
  }
  return r;
}

}  // namespace

void apply_activation_sparsity(graph::Graph& g, const std::map<std::string, double>& sparsity,
                               graph::SparsityProvenance provenance) {
  for (auto& op : g.operators()) {
    auto it = sparsity.find(op.name);
    if (it == sparsity.end()) continue;
    op.features.activation_sparsity = it->second;
    op.features.activation_provenance = provenance;
  }
}

ReplayResult replay(const ReplayOptions& o) {
  if (o.graph == nullptr || o.platform == nullptr || o.schedule == nullptr) {
    throw Error("replay", "no model, platform or schedule given");
  }
  const HostMachine machine = describe_host();
  const auto lane_cpus = bind_lanes(*o.platform, machine);
  Engine engine(o, make_plan(*o.graph, *o.platform, *o.schedule, o.schedule_origin, lane_cpus));
  return engine.run();
}

}  // namespace sparoa::hw
