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
#include "hw/gpu/gpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/host_machine.hpp"
#include "hw/lane_thread.hpp"
#include "hw/reference_run.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

namespace {

using Clock = std::chrono::steady_clock;

// Thrown inside a lane when another lane failed: unwinds quietly, the first error wins.
struct Aborted {};

// A completion counter: the last iteration a step (or lane) finished, -1 before the first.
// int, not int64: a futex waits on 32 bits, so wait/notify need no proxy.
using Counter = std::atomic<int>;

class Engine {
 public:
  Engine(const ReplayOptions& o, Plan plan) : o_(o), plan_(std::move(plan)) {
    for (const auto& d : o.platform->devices) {
      for (const auto& l : d.lanes) launch_device_[l.id] = d.id;
    }
  }
  ReplayResult run();

 private:
  void bind_views();
  void lane_main(std::size_t lane);
  void gpu_lane_main(std::size_t lane);
  void run_step(std::size_t step, gpu::Stream* copies);
  void measure_sparsity(std::size_t step, bool on_gpu);
  bool on_gpu_lane(std::size_t step) const { return plan_.lanes[plan_.steps[step].lane].kind == LaneKind::gpu; }
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
  std::vector<gpu::Buffer> buffers_;  // one per plan buffer, of its domain's memory kind
  std::vector<gpu::Buffer> copies_;   // weights uploaded for GPU lanes, inputs staged in pinned/mapped memory
  std::vector<void*> slot_host_, slot_dev_;  // each slot's address for CPU and for GPU code
  std::vector<std::vector<TensorView>> in_views_, out_views_;
  std::vector<std::unique_ptr<CpuKernel>> kernels_;
  std::vector<std::unique_ptr<gpu::GpuKernel>> gpu_kernels_;
  // GPU lanes: per step a start and an end event (cross-lane waits use the end event).
  std::vector<std::unique_ptr<gpu::Event>> start_event_, end_event_;
  std::int64_t clock_half_width_ns_ = 0;  // largest anchor uncertainty seen (GPU lanes write it under error_mutex_)
  std::vector<std::int64_t> launch_start_ns_, launch_end_ns_;  // GPU op steps: host time spent enqueuing
  std::unique_ptr<Counter[]> step_done_;
  std::unique_ptr<Counter[]> lane_done_;
  Counter go_{-1};
  Counter lanes_ready_{0};
  std::atomic<bool> abort_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::vector<LaneReport> lane_reports_;
  std::map<std::string, std::string> launch_device_;  // lane id -> its device id
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
  for (const auto& b : plan_.buffers) buffers_.emplace_back(plan_.kind_of(b.domain), b.bytes);
  const std::size_t n_slots = plan_.slots.size();
  slot_host_.assign(n_slots, nullptr);
  slot_dev_.assign(n_slots, nullptr);
  // A constant or input copied into engine memory of its domain's kind (device, pinned or
  // mapped), once: GPU code cannot read the graph's mapping or the caller's pageable buffers.
  auto stage = [&](std::size_t i, const void* src, gpu::MemoryKind kind) {
    const Slot& s = plan_.slots[i];
    copies_.emplace_back(kind, s.bytes);
    gpu::copy(copies_.back().device() ? copies_.back().device() : copies_.back().host(), src, s.bytes);
    slot_host_[i] = copies_.back().host();
    slot_dev_[i] = copies_.back().device();
  };
  for (std::size_t i = 0; i < n_slots; ++i) {
    const Slot& s = plan_.slots[i];
    const gpu::MemoryKind kind = plan_.kind_of(s.domain);
    switch (s.kind) {
      case SlotKind::weight: {
        const void* data = weight_view(g.tensor(s.tensor)).data;
        if (kind == gpu::MemoryKind::host) {
          slot_host_[i] = const_cast<void*>(data);
        } else {
          stage(i, data, kind);
        }
        break;
      }
      case SlotKind::input: {
        auto it = o_.inputs.find(s.tensor);
        if (it == o_.inputs.end()) throw Error("input '" + s.tensor + "'", "not given");
        check_input(g, s.tensor, it->second);
        if (kind == gpu::MemoryKind::host) {
          slot_host_[i] = it->second.data;
        } else {
          stage(i, it->second.data, kind);
        }
        break;
      }
      case SlotKind::activation:
      case SlotKind::output:
        slot_host_[i] = buffers_[std::size_t(s.buffer)].host();
        slot_dev_[i] = buffers_[std::size_t(s.buffer)].device();
        break;
    }
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
    const PlanStep& step = plan_.steps[s];
    // GPU lanes use device addresses; CPU lanes host ones; a transfer whichever exists (the
    // copy goes through the CUDA runtime, which knows both).
    auto address = [&](int slot) -> void* {
      const auto i = std::size_t(slot);
      if (step.kind == StepKind::transfer) return slot_dev_[i] ? slot_dev_[i] : slot_host_[i];
      return on_gpu_lane(s) ? slot_dev_[i] : slot_host_[i];
    };
    auto view = [&](int slot) {
      if (slot < 0) return TensorView{};
      const Slot& sl = plan_.slots[std::size_t(slot)];
      return TensorView{sl.dtype, sl.shape, address(slot)};
    };
    for (int i : step.inputs) in_views_[s].push_back(view(i));
    for (int i : step.outputs) out_views_[s].push_back(view(i));
  }
}

void Engine::run_step(std::size_t s, gpu::Stream* copies) {
  const PlanStep& step = plan_.steps[s];
  if (step.kind == StepKind::transfer) {
    // Between host domains a plain copy; to or from GPU memory through this lane's copy stream.
    const std::size_t bytes = out_views_[s][0].size_bytes();
    if (copies) {
      copies->copy_async(out_views_[s][0].data, in_views_[s][0].data, bytes);
      copies->synchronize();
    } else {
      std::memcpy(out_views_[s][0].data, in_views_[s][0].data, bytes);
    }
    return;
  }
  kernels_[s]->run(in_views_[s], out_views_[s]);
}

void Engine::measure_sparsity(std::size_t s, bool on_gpu) {
  // The inputs are still intact right after the step: count their zeros now (a GPU lane has
  // synchronised its stream first and copies them back).
  double zeros = 0, elements = 0;
  for (std::size_t i = 0; i < in_views_[s].size(); ++i) {
    const int slot = plan_.steps[s].inputs[i];
    if (slot < 0 || plan_.slots[std::size_t(slot)].kind == SlotKind::weight) continue;
    const TensorView& v = in_views_[s][i];
    const double e = double(v.elements());
    if (on_gpu) {
      HostTensor h(v.dtype, v.shape);
      gpu::copy(h.view().data, v.data, h.size_bytes());
      zeros += zero_fraction(h.view()) * e;
    } else {
      zeros += zero_fraction(v) * e;
    }
    elements += e;
  }
  activation_sparsity_[s] = elements > 0 ? zeros / elements : -1;
}

void Engine::lane_main(std::size_t l) {
  if (plan_.lanes[l].kind == LaneKind::gpu) {
    gpu_lane_main(l);
    return;
  }
  try {
    const PlanLane& lane = plan_.lanes[l];
    lane_reports_[l] = prepare_cpu_lane_thread(lane.id, lane.cpus);
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
    // Copies to or from GPU memory go through a stream of this lane's own.
    std::unique_ptr<gpu::Stream> copies;
    for (std::size_t s : lane.steps) {
      const PlanStep& step = plan_.steps[s];
      if (step.kind != StepKind::transfer || copies) continue;
      const auto from = plan_.kind_of(plan_.slots[std::size_t(step.inputs[0])].domain);
      const auto to = plan_.kind_of(plan_.slots[std::size_t(step.outputs[0])].domain);
      if (from != gpu::MemoryKind::host || to != gpu::MemoryKind::host) copies = std::make_unique<gpu::Stream>(false, false);
    }
    lanes_ready_.fetch_add(1, std::memory_order_acq_rel);
    lanes_ready_.notify_all();
    const std::size_t n = plan_.steps.size();
    for (int it = 0; it < total_; ++it) {
      wait_for(go_, it);
      const bool measured = it >= warmup_;
      for (std::size_t s : lane.steps) {
        for (std::size_t w : plan_.steps[s].waits) {
          wait_for(step_done_[w], it);
          // A GPU lane publishes a step once enqueued; its end event says when it ran.
          if (on_gpu_lane(w)) end_event_[w]->synchronize();
        }
        const auto t0 = Clock::now();
        run_step(s, copies.get());
        const auto t1 = Clock::now();
        if (measured) {
          const std::size_t k = std::size_t(it - warmup_) * n + s;
          start_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t0 - origin_).count();
          end_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - origin_).count();
        }
        if (it == 0 && plan_.steps[s].kind == StepKind::op) measure_sparsity(s, false);
        publish(step_done_[s], it);
      }
      publish(lane_done_[l], it);
    }
  } catch (const Aborted&) {
  } catch (...) {
    fail(std::current_exception());
  }
}

// A GPU lane: a thread on its launch lane's cores enqueues the lane's steps on one CUDA
// stream. Waits on other GPU lanes are stream waits on their end events (no host wait);
// waits on CPU lanes are host waits before enqueuing. The thread synchronises with the
// stream once per iteration, then turns the iteration's event times into steady-clock times
// through the anchor event recorded (idle stream) just before the iteration.
void Engine::gpu_lane_main(std::size_t l) {
  try {
    const PlanLane& lane = plan_.lanes[l];
    LaneReport& report = lane_reports_[l];
    report.pinning = pin_current_thread(lane.cpus);
    report.observed_cpus = current_thread_cpus();
    gpu::Stream stream(true, o_.allow_tf32);
    gpu::Event anchor_event;
    for (std::size_t s : lane.steps) {
      start_event_[s] = std::make_unique<gpu::Event>();
      end_event_[s] = std::make_unique<gpu::Event>();
      const PlanStep& step = plan_.steps[s];
      if (step.kind != StepKind::op) continue;
      KernelContext ctx;
      ctx.graph = o_.graph;
      ctx.group = step.group;
      ctx.kernel = step.kernel;
      ctx.threads = 1;
      gpu_kernels_[s] = gpu::make_gpu_kernel(ctx, stream);
    }
    gpu::ClockAnchor anchor = stream.anchor(anchor_event);
    lanes_ready_.fetch_add(1, std::memory_order_acq_rel);
    lanes_ready_.notify_all();
    const std::size_t n = plan_.steps.size();
    std::int64_t widest = 0;
    for (int it = 0; it < total_; ++it) {
      wait_for(go_, it);
      const bool measured = it >= warmup_;
      for (std::size_t s : lane.steps) {
        const PlanStep& step = plan_.steps[s];
        for (std::size_t w : step.waits) {
          wait_for(step_done_[w], it);
          if (on_gpu_lane(w)) stream.wait(*end_event_[w]);
        }
        // The launch record covers what the launch lane pays per operator: both events and
        // the kernels' enqueuing.
        const auto t0 = Clock::now();
        stream.record(*start_event_[s]);
        if (step.kind == StepKind::transfer) {
          stream.copy_async(out_views_[s][0].data, in_views_[s][0].data, out_views_[s][0].size_bytes());
        } else {
          gpu_kernels_[s]->run(in_views_[s], out_views_[s]);
        }
        stream.record(*end_event_[s]);
        const auto t1 = Clock::now();
        if (measured) {
          const std::size_t k = std::size_t(it - warmup_) * n + s;
          launch_start_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t0 - origin_).count();
          launch_end_ns_[k] = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - origin_).count();
        }
        if (it == 0 && step.kind == StepKind::op) {
          stream.synchronize();
          measure_sparsity(s, true);
        }
        publish(step_done_[s], it);
      }
      stream.synchronize();
      for (std::size_t s : lane.steps) {
        if (gpu_kernels_[s]) gpu_kernels_[s]->check_after_sync();
      }
      if (measured) {
        const std::int64_t origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(origin_.time_since_epoch()).count();
        for (std::size_t s : lane.steps) {
          const std::size_t k = std::size_t(it - warmup_) * n + s;
          start_ns_[k] = gpu::to_host_ns(anchor, start_event_[s]->elapsed_ms_since(anchor_event)) - origin_ns;
          end_ns_[k] = gpu::to_host_ns(anchor, end_event_[s]->elapsed_ms_since(anchor_event)) - origin_ns;
        }
        widest = std::max(widest, anchor.half_width_ns());
      }
      // The next iteration's anchor, before this one is declared done (the stream is idle).
      if (it + 1 < total_) anchor = stream.anchor(anchor_event);
      publish(lane_done_[l], it);
    }
    std::lock_guard<std::mutex> lock(error_mutex_);
    clock_half_width_ns_ = std::max(clock_half_width_ns_, widest);
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
  gpu_kernels_.resize(n);
  start_event_.resize(n);
  end_event_.resize(n);
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
  launch_start_ns_.assign(std::size_t(o_.iterations) * n, 0);
  launch_end_ns_.assign(std::size_t(o_.iterations) * n, 0);
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
  r.gpu_clock_uncertainty_us = double(clock_half_width_ns_) / 1e3;
  for (const auto& [domain, kind] : plan_.domain_kinds) r.memory_kinds[domain] = gpu::to_string(kind);
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
    r.implementations[name] = kernels_[s] ? kernels_[s]->implementation() : gpu_kernels_[s]->implementation();
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
      if (lane.kind == LaneKind::gpu && step.kind == StepKind::op) {
        // The host time its launch took, on the lane that pays it (DESIGN.md: launch records).
        traces::Record launch = rec;
        launch.record = traces::RecordKind::launch;
        launch.lane = lane.launch_lane;
        launch.device = launch_device_.count(lane.launch_lane) ? launch_device_.at(lane.launch_lane) : "";
        launch.fused_group.clear();
        launch.args.clear();
        launch.start_us = double(launch_start_ns_[k]) / 1e3;
        launch.end_us = double(launch_end_ns_[k]) / 1e3;
        r.trace.records.push_back(std::move(rec));
        r.trace.records.push_back(std::move(launch));
        continue;
      }
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
      const auto& b = buffers_[std::size_t(s.buffer)];
      if (!b.host()) {  // GPU memory: copied back through the runtime
        gpu::copy(out.view().data, b.device(), out.size_bytes());
        r.outputs.emplace(name, std::move(out));
        continue;
      }
      src = b.host();
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
  Plan plan = make_plan(*o.graph, *o.platform, *o.schedule, o.schedule_origin, lane_cpus);
  for (const auto& lane : plan.lanes) {
    if (lane.kind != LaneKind::gpu) continue;
    const std::string reason = gpu::unavailable_reason();
    if (!reason.empty()) throw Error(o.schedule_origin, "lane '" + lane.id + "' is on GPU device '" + lane.device + "', but " + reason);
  }
  Engine engine(o, std::move(plan));
  return engine.run();
}

}  // namespace sparoa::hw
