#include "hw/profiler.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <set>
#include <map>
#include <thread>

#include "graph/schedule.hpp"
#include "hw/gpu/gpu_kernel.hpp"
#include "hw/gpu/gpu_runtime.hpp"
#include "hw/replay.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/cost_model.hpp"
#include "platforms/op_class.hpp"
#include "support/atomic_file.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

namespace {

using Clock = std::chrono::steady_clock;

double nearest_rank(const std::vector<double>& sorted, double q) {
  const auto rank = std::size_t(std::ceil(q * double(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Streams through three arrays (a = b + s * c) until told to stop: memory-bound work that
// competes for DRAM bandwidth with the operator being timed.
class CoRunner {
 public:
  CoRunner(const std::vector<int>& cpus, std::size_t bytes) {
    for (int cpu : cpus) {
      threads_.emplace_back([this, cpu, bytes, n = cpus.size()] {
        pin_current_thread({cpu});
        const std::size_t count = std::max<std::size_t>(1, bytes / n / 3 / sizeof(float));
        std::vector<float> a(count), b(count, 1.0f), c(count, 2.0f);
        started_.fetch_add(1);
        while (!stop_.load(std::memory_order_relaxed)) {
          for (std::size_t i = 0; i < count; ++i) a[i] = b[i] + 0.5f * c[i];
          std::swap(a, b);
        }
        sink_ += a[count / 2];
      });
    }
    // The operator is timed only once every streaming thread has its arrays and runs.
    while (started_.load() < int(threads_.size())) std::this_thread::yield();
  }
  ~CoRunner() {
    stop_.store(true);
    for (auto& t : threads_) t.join();
  }

 private:
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> started_{0};
  float sink_ = 0;
};

// Evicts the caches by writing then reading a buffer larger than the last-level cache.
class CacheFlusher {
 public:
  explicit CacheFlusher(std::size_t bytes) : buffer_(bytes / sizeof(std::uint64_t), 0) {}
  void flush() {
    ++round_;
    for (auto& v : buffer_) v = round_;
    std::uint64_t sum = 0;
    for (auto v : buffer_) sum += v;
    sink_ += sum;
  }

 private:
  std::vector<std::uint64_t> buffer_;
  std::uint64_t round_ = 0;
  std::uint64_t sink_ = 0;
};

// One profile row from an operator's timings (any order; at least one).
ProfileRow make_row(const graph::Graph& g, graph::OpId id, const platforms::OpDemand& demand, const ProfileLane& lane,
                    KernelChoice kernel, std::string implementation, std::vector<double> times, bool cold_cache,
                    bool corun) {
  const graph::Operator& op = g.op(id);
  std::sort(times.begin(), times.end());
  ProfileRow row;
  row.model = g.name;
  row.op = op.name;
  row.op_type = op.type;
  row.op_class = std::string(platforms::to_string(platforms::op_class(op, g)));
  row.kernel = std::string(to_string(kernel));
  row.implementation = std::move(implementation);
  row.batch = g.batch;
  row.lane = lane.id;
  row.device = lane.device;
  row.threads = int(lane.cpus.size());
  row.flops = op.features.flops;
  row.bytes = op.features.bytes;
  row.weight_bytes = demand.weight_bytes;
  row.weight_sparsity = op.features.weight_sparsity;
  row.cold_cache = cold_cache;
  row.corun = corun;
  row.repetitions = int(times.size());
  // A view the engine does not execute can take no measurable time; profiles hold positive times.
  const double floor_us = 0.001;
  row.median_us = std::max(floor_us, nearest_rank(times, 0.5));
  row.p10_us = std::max(floor_us, nearest_rank(times, 0.1));
  row.p90_us = std::max(floor_us, nearest_rank(times, 0.9));
  row.min_us = std::max(floor_us, times.front());
  return row;
}

// Inputs that no later operator reads are dropped, so a profile's memory stays near one
// operator's working set even for large models.
template <class Map> void drop_dead_inputs(const graph::Graph& g, graph::OpId id, Map& inputs) {
  for (const auto& name : g.op(id).inputs) {
    if (name.empty() || !inputs.count(name)) continue;
    const auto& readers = g.consumers(name);
    if (std::all_of(readers.begin(), readers.end(), [&](graph::OpId r) { return r <= id; })) inputs.erase(name);
  }
}

std::vector<ProfileRow> profile_gpu(const graph::Graph& g, const ProfileLane& lane, const ProfileOptions& o,
                                    const std::function<void(const ProfileRow&)>& progress) {
  if (o.cold_cache) throw Error("--cold-cache", "applies to CPU lanes only (lane '" + lane.id + "' is a GPU lane)");
  if (!o.corun_cpus.empty()) throw Error("--corun", "applies to CPU lanes only (lane '" + lane.id + "' is a GPU lane)");
  if (const std::string why = gpu::unavailable_reason(); !why.empty()) throw Error("lane '" + lane.id + "'", why);
  std::vector<ProfileRow> rows;
  const std::vector<platforms::OpDemand> demands = platforms::op_demands(g);
  std::exception_ptr error;
  // One host thread on the lane's cores, one stream: as the replay engine drives a GPU lane.
  std::thread worker([&] {
    try {
      pin_current_thread(lane.cpus);
      gpu::Stream stream(true, false);
      gpu::Event start, end;
      std::map<std::string, gpu::Buffer> inputs;  // activations (random) and weights, on the device
      std::uint64_t next_seed = o.seed;
      auto device_copy = [&](const graph::Tensor& t, const void* host) {
        gpu::Buffer b(gpu::MemoryKind::device, std::size_t(t.size_bytes()));
        gpu::copy(b.device(), host, std::size_t(t.size_bytes()));
        return b;
      };
      for (graph::OpId id : g.topological_order()) {
        const graph::Operator& op = g.op(id);
        const auto kinds = graph::kernels_for(g, op.name);
        for (KernelChoice kernel : o.kernels) {
          if (std::find(kinds.begin(), kinds.end(), std::string(to_string(kernel))) == kinds.end()) continue;
          KernelContext ctx;
          ctx.graph = &g;
          ctx.group = single_op_group(g, id);
          ctx.kernel = kernel;
          ctx.threads = 1;
          auto k = gpu::make_gpu_kernel(ctx, stream);
          std::vector<TensorView> in, out;
          std::vector<gpu::Buffer> outs;
          for (const auto& name : ctx.group.inputs) {
            if (name.empty()) {
              in.push_back({});
              continue;
            }
            const graph::Tensor& t = g.tensor(name);
            auto it = inputs.find(name);
            if (it == inputs.end()) {
              if (t.data) {
                it = inputs.emplace(name, device_copy(t, weight_view(t).data)).first;
              } else {
                const HostTensor h = random_tensor(t.dtype, t.shape, next_seed++);
                it = inputs.emplace(name, device_copy(t, h.view().data)).first;
              }
            }
            in.push_back({t.dtype, t.shape, it->second.device()});
          }
          for (const auto& name : ctx.group.outputs) {
            const graph::Tensor& t = g.tensor(name);
            outs.emplace_back(gpu::MemoryKind::device, std::size_t(t.size_bytes()));
            out.push_back({t.dtype, t.shape, outs.back().device()});
          }
          for (int w = 0; w < o.warmup; ++w) k->run(in, out);
          stream.synchronize();
          std::vector<double> times;
          for (int r = 0; r < o.repetitions; ++r) {
            stream.record(start);
            k->run(in, out);
            stream.record(end);
            end.synchronize();
            times.push_back(double(end.elapsed_ms_since(start)) * 1e3);
          }
          k->check_after_sync();
          ProfileRow row = make_row(g, id, demands[id], lane, kernel, k->implementation(), std::move(times), false, false);
          row.threads = 1;  // one host thread launches; no OpenMP team
          rows.push_back(row);
          if (progress) progress(row);
        }
        drop_dead_inputs(g, id, inputs);
        for (auto it = inputs.begin(); it != inputs.end();) {  // weights are read once
          const graph::Tensor& t = g.tensor(it->first);
          it = t.data ? inputs.erase(it) : std::next(it);
        }
      }
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
  return rows;
}

}  // namespace

std::vector<ProfileRow> profile_graph(const graph::Graph& g, const ProfileLane& lane, const ProfileOptions& o,
                                      const std::function<void(const ProfileRow&)>& progress) {
  if (lane.gpu) return profile_gpu(g, lane, o, progress);
  if (lane.cpus.empty()) throw Error("lane '" + lane.id + "'", "has no cores");
  if (o.repetitions < 1) throw Error("profile", "at least one repetition is needed");
  for (int c : o.corun_cpus) {
    if (std::find(lane.cpus.begin(), lane.cpus.end(), c) != lane.cpus.end()) {
      throw Error("--corun", "the co-running work would share core " + std::to_string(c) + " with lane '" + lane.id + "'");
    }
  }
  std::vector<ProfileRow> rows;
  const std::vector<platforms::OpDemand> demands = platforms::op_demands(g);
  std::exception_ptr error;
  // All work happens on one thread pinned to the lane's cores with their OpenMP team, as in
  // the replay engine, so that kernels are built and run exactly as there.
  std::thread worker([&] {
    try {
      const std::string pinning = pin_current_thread(lane.cpus);
      (void)pinning;
      omp_set_num_threads(int(lane.cpus.size()));
      std::map<std::string, HostTensor> inputs;
      std::uint64_t next_seed = o.seed;
      CacheFlusher flusher(o.cold_cache ? o.cold_cache_bytes : 0);
      // The co-running work streams for the whole profile: starting it per operator would
      // cost more than the operators themselves.
      std::unique_ptr<CoRunner> corun;
      if (!o.corun_cpus.empty()) corun = std::make_unique<CoRunner>(o.corun_cpus, o.corun_bytes);
      for (graph::OpId id : g.topological_order()) {
        const graph::Operator& op = g.op(id);
        const auto kinds = graph::kernels_for(g, op.name);
        for (KernelChoice kernel : o.kernels) {
          if (std::find(kinds.begin(), kinds.end(), std::string(to_string(kernel))) == kinds.end()) continue;
          KernelContext ctx;
          ctx.graph = &g;
          ctx.group = single_op_group(g, id);
          ctx.kernel = kernel;
          ctx.threads = int(lane.cpus.size());
          auto k = make_cpu_kernel(ctx);
          std::vector<TensorView> in, out;
          std::vector<HostTensor> outs;
          for (const auto& name : ctx.group.inputs) {
            if (name.empty()) {
              in.push_back({});
              continue;
            }
            const graph::Tensor& t = g.tensor(name);
            if (t.data) {
              in.push_back(weight_view(t));
              continue;
            }
            auto it = inputs.find(name);
            if (it == inputs.end()) it = inputs.emplace(name, random_tensor(t.dtype, t.shape, next_seed++)).first;
            in.push_back(it->second.view());
          }
          for (const auto& name : ctx.group.outputs) {
            const graph::Tensor& t = g.tensor(name);
            outs.emplace_back(t.dtype, t.shape);
          }
          for (const auto& t : outs) out.push_back(t.view());
          for (int w = 0; w < o.warmup; ++w) k->run(in, out);
          std::vector<double> times;
          for (int r = 0; r < o.repetitions; ++r) {
            if (o.cold_cache) flusher.flush();
            const auto t0 = Clock::now();
            k->run(in, out);
            const auto t1 = Clock::now();
            times.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
          }
          ProfileRow row = make_row(g, id, demands[id], lane, kernel, k->implementation(), std::move(times),
                                    o.cold_cache, !o.corun_cpus.empty());
          rows.push_back(row);
          if (progress) progress(row);
        }
        drop_dead_inputs(g, id, inputs);
      }
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
  return rows;
}

std::vector<ProfileRow> profile_graph_in_context(const graph::Graph& g, const platforms::Platform& platform,
                                                 const ProfileLane& lane, const ProfileOptions& o,
                                                 const std::function<void(const ProfileRow&)>& progress) {
  if (o.cold_cache) throw Error("--cold-cache", "cannot be combined with in-context timing");
  if (o.repetitions < 1) throw Error("profile", "at least one repetition is needed");
  const std::vector<platforms::OpDemand> demands = platforms::op_demands(g);
  std::map<std::string, HostTensor> inputs;
  std::uint64_t seed = o.seed;
  for (const auto& name : g.input_names()) {
    const graph::Tensor& t = g.tensor(name);
    inputs.emplace(name, random_tensor(t.dtype, t.shape, seed++));
  }
  std::unique_ptr<CoRunner> corun;
  if (!o.corun_cpus.empty()) corun = std::make_unique<CoRunner>(o.corun_cpus, o.corun_bytes);
  std::vector<ProfileRow> rows;
  for (KernelChoice kernel : o.kernels) {
    // Every operator on the lane in topological order, with this kernel where it has one.
    graph::Schedule s;
    s.model_sha256 = g.model_sha256;
    s.platform_name = platform.name;
    s.platform_power_mode = platform.power_mode;
    s.batch = g.batch;
    std::set<std::string> timed;
    std::int64_t order = 0;
    for (graph::OpId id : g.topological_order()) {
      const std::string& name = g.op(id).name;
      const auto kinds = graph::kernels_for(g, name);
      const bool has = std::find(kinds.begin(), kinds.end(), std::string(to_string(kernel))) != kinds.end();
      s.entries.push_back({name, lane.id, has ? std::string(to_string(kernel)) : "dense", order++, {}});
      if (has) timed.insert(name);
    }
    if (timed.empty()) continue;
    ReplayOptions ro;
    ro.graph = &g;
    ro.platform = &platform;
    ro.schedule = &s;
    ro.schedule_origin = "in-context profile";
    for (const auto& [name, t] : inputs) ro.inputs[name] = t.view();
    ro.warmup = std::max(1, o.warmup);
    ro.iterations = o.repetitions;
    const ReplayResult r = replay(ro);
    std::map<std::string, std::vector<double>> times;
    for (const auto& rec : r.trace.records) {
      if (rec.record == traces::RecordKind::op && timed.count(rec.op)) times[rec.op].push_back(rec.end_us - rec.start_us);
    }
    for (graph::OpId id : g.topological_order()) {
      const graph::Operator& op = g.op(id);
      auto it = times.find(op.name);
      if (it == times.end()) continue;
      const auto impl = r.implementations.find(op.name);
      ProfileRow row = make_row(g, id, demands[id], lane, kernel, impl == r.implementations.end() ? "" : impl->second,
                                std::move(it->second), false, corun != nullptr);
      rows.push_back(row);
      if (progress) progress(row);
    }
  }
  return rows;
}

std::string cpu_clocks(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) {
    std::ifstream f("/sys/devices/system/cpu/cpu" + std::to_string(c) + "/cpufreq/scaling_cur_freq");
    long khz = 0;
    if (!(f >> khz)) return "";
    out += (out.empty() ? "" : ",") + std::string("cpu") + std::to_string(c) + "=" + std::to_string(khz / 1000) + "MHz";
  }
  return out;
}

}  // namespace sparoa::hw
