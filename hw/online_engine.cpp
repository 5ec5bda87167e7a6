#include "hw/online_engine.hpp"

#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "graph/schedule.hpp"
#include "hw/background_work.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/cpu/fusion.hpp"
#include "hw/host_machine.hpp"
#include "hw/lane_thread.hpp"
#include "hw/machine_state.hpp"
#include "hw/reference_run.hpp"
#include "platforms/cost_model.hpp"
#include "platforms/op_context.hpp"
#include "support/error.hpp"

namespace sparoa::hw {
// Internals in a namespace of their own: unity builds put this file in one translation unit
// with replay.cpp, whose file-local helpers have the same names.
namespace online_impl {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Arrival and timeout comparisons: the steady clock resolves nanoseconds.
constexpr double kTimeEpsilon = 1e-9;

double clock_s(clockid_t c) {
  timespec ts{};
  if (clock_gettime(c, &ts) != 0) return 0;
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

struct Aborted {};

struct Batch {
  std::int64_t id = 0;
  std::int64_t size = 0;
  std::vector<std::int64_t> requests;
  std::vector<double> arrivals;  // seconds since the run's origin (scheduled, not observed)
  std::vector<int> preds_left;   // predecessors not finished
  std::vector<int> lane;
  std::vector<KernelChoice> kernel;
  int ops_left = 0;
  std::int64_t seq = 0;  // online: placement order
  std::vector<void*> data;        // per activation tensor: its buffer while live
  std::vector<int> readers_left;  // per activation tensor: consumers not finished
};

struct Item {
  Batch* batch = nullptr;
  int op = -1;
  std::int64_t key = 0;  // order within the batch on the lane: schedule order or placement order
};

struct OpViews {
  std::vector<TensorView> in, out;
};

struct Lane {
  std::string id;
  std::size_t device = 0;  // index into the platform's devices
  std::vector<int> cpus;
  std::deque<Item> queue;  // ordered by (batch, key): FIFO across batches
  bool busy = false;
  int depth = 0;  // placed and not finished
  double predicted_end_s = 0;
  std::atomic<int> wake{0};
  // kernels[size - 1][op][kernel]: built on the lane's own thread.
  std::vector<std::vector<std::array<std::unique_ptr<CpuKernel>, 2>>> kernels;
  LaneReport report;
  std::vector<clockid_t> clocks;  // CPU-time clocks of the lane's thread and its OpenMP team
  std::int64_t executions = 0;
  std::thread thread;
};

std::size_t kernel_index(KernelChoice k) { return k == KernelChoice::sparse ? 1 : 0; }

class OnlineEngine {
 public:
  explicit OnlineEngine(const OnlineOptions& o);
  OnlineResult run();

 private:
  const graph::Graph& g() const { return *o_.graphs.back(); }
  std::int64_t max_batch() const { return std::int64_t(o_.graphs.size()); }
  double now_s() const { return std::chrono::duration<double>(Clock::now() - origin_).count(); }

  void check_graphs();
  void resolve_lanes();
  void resolve_static();
  void allocate();

  void lane_main(std::size_t l);
  void build_kernels(Lane& lane);
  void warm_up(Lane& lane);
  void wait_work(Lane& lane, int seen);

  // Serving; every one of these runs under m_.
  void arrive(double t);
  void form_batches(double now);
  void start_batch(double now);
  void place(Batch* b, int op, double now);
  void push(Batch* b, int op, int lane, KernelChoice k, std::int64_t key);
  void complete(Lane& lane, const Item& it, double start, double end);
  void finish_batch(Batch* b, double now);
  platforms::Observation observe(Batch* b, int op, double now);
  void busy_changed(std::size_t device, int delta, double now);
  double predict_s(int lane, const Batch* b, int op, KernelChoice k) const;
  void wake_lanes();
  void wake(int lane);
  void fail(std::exception_ptr e);

  const OnlineOptions& o_;
  const platforms::Platform& p_;
  platforms::CostModel cost_;
  std::vector<platforms::OpDemand> demands_;
  std::vector<platforms::OpContext> contexts_;
  std::vector<std::vector<int>> preds_, succs_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::map<std::string, int> lane_index_;
  // Static schedules: lane, kernel and order of every operator.
  std::vector<int> static_lane_;
  std::vector<KernelChoice> static_kernel_;
  std::vector<std::int64_t> static_order_;
  // Activations (every operator output): index by name, bytes at the largest batch, distinct
  // consumer operators, graph outputs. Per operator, its inputs' and outputs' activation
  // indices (-1: a weight, a graph input or omitted).
  std::map<std::string, int> activation_;
  std::vector<std::size_t> activation_bytes_;
  std::vector<int> activation_readers_;
  std::vector<std::uint8_t> activation_is_output_;
  std::vector<std::vector<int>> op_in_act_, op_out_act_;
  // Views per batch size and operator with every address but the activations' filled in.
  std::vector<std::vector<OpViews>> templates_;  // [size - 1][op]
  // Activation buffers are pooled and handed out when an operator starts, most recently freed
  // first: the engine touches few buffers, likely still in cache, as the replay's reuse by
  // liveness does, instead of a fresh buffer per tensor. The warm-up's buffers (one per
  // tensor) seed the pool.
  std::deque<HostTensor> storage_;
  std::unordered_map<void*, std::size_t> capacity_;
  std::vector<std::pair<std::size_t, void*>> free_;  // (capacity, address)
  std::vector<std::vector<void*>> warm_data_;         // [size - 1]: warm-up addresses per activation
  void* take_buffer(std::size_t bytes);
  void release(Batch* b, int act);
  void views_for(const Batch* b, int op, OpViews& v) const;  // assigns into v (keeps its capacity)

  std::unique_ptr<MachineState> machine_;
  std::unique_ptr<BackgroundWork> background_;

  std::mutex m_;
  std::condition_variable cv_;  // the arrival thread: something finished, or time passed
  Clock::time_point origin_;
  std::atomic<bool> done_{false}, abort_{false};
  std::exception_ptr error_;
  std::atomic<int> warm_turn_{0};

  // Requests and batches (under m_).
  std::unique_ptr<platforms::OpenArrivals> open_;
  double next_arrival_ = kInf;
  std::int64_t issued_ = 0, completed_ = 0, batches_formed_ = 0, partial_ = 0;
  std::deque<std::pair<std::int64_t, double>> waiting_;
  std::vector<std::unique_ptr<Batch>> inflight_;
  std::vector<double> latencies_;
  double first_arrival_ = kInf, last_completion_ = 0;
  // Observation state (under m_).
  std::vector<int> busy_lanes_;
  std::vector<double> busy_ewma_, ewma_updated_;
  std::vector<int> lanes_on_device_;
  // Figures.
  std::int64_t decisions_ = 0;
  double decision_total_us_ = 0, decision_max_us_ = 0, observe_total_us_ = 0;
  double arrival_delay_total_us_ = 0, arrival_delay_max_us_ = 0;
  std::int64_t arrivals_timed_ = 0;
  std::vector<traces::Record> records_;
  std::vector<traces::StateSample> state_;
};

OnlineEngine::OnlineEngine(const OnlineOptions& o) : o_(o), p_(*o.platform), cost_(p_) {
  if (o.graphs.empty() || o.platform == nullptr) throw Error("online engine", "needs the model and the platform");
  if ((o.schedule == nullptr) == (o.policy == nullptr)) throw Error("online engine", "needs either a schedule or an online policy");
  if (o.requests <= 0) throw Error("--requests", "must be positive");
  if (o.max_inflight_batches < 1) throw Error("--inflight", "must be at least 1");
  check_graphs();
  if (o.policy && (p_.cost_model.entries.empty() || p_.power_modes.empty())) {
    throw Error("platform '" + p_.name + "'", "has no cost model or power modes (the default platform describes this machine for "
                                              "replays): an online policy needs a platform file, e.g. -p host-2core-2lanes or "
                                              "one fitted by sparoa calibrate");
  }
  demands_ = platforms::op_demands(g());
  // Graph context and predictions serve policies only (a static schedule needs no cost model).
  if (o.policy) contexts_ = platforms::op_contexts(g(), cost_, demands_);
  const std::size_t n = g().operators().size();
  preds_.resize(n);
  succs_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (auto pr : g().predecessors(i)) preds_[i].push_back(int(pr));
    for (auto s : g().successors(i)) succs_[i].push_back(int(s));
  }
  resolve_lanes();
  if (o.schedule) resolve_static();
}

void OnlineEngine::check_graphs() {
  for (std::size_t k = 0; k < o_.graphs.size(); ++k) {
    const graph::Graph* gk = o_.graphs[k];
    if (gk == nullptr || gk->batch != std::int64_t(k + 1)) {
      throw Error("online engine", "internal: graph " + std::to_string(k) + " is not bound to batch " + std::to_string(k + 1));
    }
    if (gk->operators().size() != g().operators().size()) throw Error("online engine", "internal: the graphs differ");
    for (std::size_t i = 0; i < gk->operators().size(); ++i) {
      if (gk->op(i).name != g().op(i).name) throw Error("online engine", "internal: the graphs differ at " + g().op(i).name);
    }
  }
}

void OnlineEngine::resolve_lanes() {
  const HostMachine machine = describe_host();
  const auto cpus = bind_lanes(p_, machine);
  for (std::size_t d = 0; d < p_.devices.size(); ++d) {
    const platforms::Device& dev = p_.devices[d];
    for (const auto& l : dev.lanes) {
      if (dev.kind == platforms::DeviceKind::gpu) {
        throw Error(p_.name, "lane '" + l.id + "' is a GPU lane: the online engine runs CPU lanes only so far (replay a static "
                             "schedule on GPU lanes with `sparoa run -s` without --arrivals)");
      }
      auto lane = std::make_unique<Lane>();
      lane->id = l.id;
      lane->device = d;
      lane->cpus = cpus.at(l.id);
      lane_index_[l.id] = int(lanes_.size());
      lanes_.push_back(std::move(lane));
    }
  }
  busy_lanes_.assign(p_.devices.size(), 0);
  busy_ewma_.assign(p_.devices.size(), 0);
  ewma_updated_.assign(p_.devices.size(), 0);
  lanes_on_device_.assign(p_.devices.size(), 0);
  for (const auto& l : lanes_) ++lanes_on_device_[l->device];
}

void OnlineEngine::resolve_static() {
  const graph::Schedule& s = *o_.schedule;
  graph::validate_schedule(s, g(), o_.schedule_origin);
  if (s.batch != max_batch()) {
    throw Error(o_.schedule_origin, "batch " + std::to_string(s.batch) + " but the model is bound to " + std::to_string(max_batch()));
  }
  const std::size_t n = g().operators().size();
  static_lane_.assign(n, -1);
  static_kernel_.assign(n, KernelChoice::dense);
  static_order_.assign(n, 0);
  for (const auto& e : s.entries) {
    if (e.fuse_with) {
      throw Error(o_.schedule_origin, "operator '" + e.op + "' is fused (fuse_with): online runs take unfused schedules, as the simulator does");
    }
    const auto id = *g().find_op(e.op);
    static_lane_[id] = lane_index_.at(e.lane);
    static_kernel_[id] = e.kernel == "sparse" ? KernelChoice::sparse : KernelChoice::dense;
    static_order_[id] = e.order;
  }
}

void OnlineEngine::allocate() {
  const graph::Graph& gb = g();
  const std::size_t n = gb.operators().size();
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& t : gb.op(i).outputs) {
      if (t.empty() || activation_.count(t)) continue;
      activation_[t] = int(activation_bytes_.size());
      activation_bytes_.push_back(std::size_t(gb.tensor(t).size_bytes()));
    }
  }
  activation_readers_.assign(activation_bytes_.size(), 0);
  activation_is_output_.assign(activation_bytes_.size(), 0);
  for (const auto& t : gb.output_names()) {
    if (auto it = activation_.find(t); it != activation_.end()) activation_is_output_[std::size_t(it->second)] = 1;
  }
  op_in_act_.resize(n);
  op_out_act_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<int> distinct;
    for (const auto& t : gb.op(i).inputs) {
      auto it = t.empty() ? activation_.end() : activation_.find(t);
      const int a = it == activation_.end() ? -1 : it->second;
      op_in_act_[i].push_back(a);
      if (a >= 0 && std::find(distinct.begin(), distinct.end(), a) == distinct.end()) distinct.push_back(a);
    }
    for (int a : distinct) ++activation_readers_[std::size_t(a)];
    for (const auto& t : gb.op(i).outputs) op_out_act_[i].push_back(t.empty() ? -1 : activation_.at(t));
  }
  for (const auto& name : gb.input_names()) {
    auto it = o_.inputs.find(name);
    if (it == o_.inputs.end()) throw Error("input '" + name + "'", "not given");
    check_input(gb, name, it->second);
  }
  for (const auto& [name, v] : o_.inputs) {
    const auto in = gb.input_names();
    if (std::find(in.begin(), in.end(), name) == in.end()) throw Error("input '" + name + "'", "the model has no such input");
  }
  templates_.resize(o_.graphs.size());
  for (std::size_t k = 0; k < o_.graphs.size(); ++k) {
    const graph::Graph& gk = *o_.graphs[k];
    templates_[k].resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto view = [&](const std::string& name) -> TensorView {
        if (name.empty()) return {};
        const graph::Tensor& t = gk.tensor(name);
        if (t.data) return weight_view(t);
        if (activation_.count(name)) return TensorView{t.dtype, t.shape, nullptr};
        // A graph input: a batch of k reads the first k samples of the caller's batch.
        return TensorView{t.dtype, t.shape, o_.inputs.at(name).data};
      };
      for (const auto& t : gk.op(i).inputs) templates_[k][i].in.push_back(view(t));
      for (const auto& t : gk.op(i).outputs) templates_[k][i].out.push_back(view(t));
    }
  }
  // Warm-up buffers: one per activation (zero-filled), later the pool's first buffers.
  warm_data_.assign(o_.graphs.size(), std::vector<void*>(activation_bytes_.size()));
  for (std::size_t a = 0; a < activation_bytes_.size(); ++a) {
    storage_.emplace_back(graph::DType::u8, graph::Shape{std::int64_t(std::max<std::size_t>(activation_bytes_[a], 1))});
    capacity_[storage_.back().view().data] = storage_.back().size_bytes();
    for (auto& d : warm_data_) d[a] = storage_.back().view().data;
  }
}

void* OnlineEngine::take_buffer(std::size_t bytes) {
  // Most recently freed first, among buffers not more than twice the size asked for.
  for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
    if (it->first >= bytes && it->first <= 2 * bytes + 4096) {
      void* p = it->second;
      free_.erase(std::next(it).base());
      return p;
    }
  }
  storage_.emplace_back(graph::DType::u8, graph::Shape{std::int64_t(std::max<std::size_t>(bytes, 1))});
  capacity_[storage_.back().view().data] = storage_.back().size_bytes();
  return storage_.back().view().data;
}

void OnlineEngine::release(Batch* b, int a) {
  void*& p = b->data[std::size_t(a)];
  if (p == nullptr) return;
  free_.emplace_back(capacity_.at(p), p);
  p = nullptr;
}

void OnlineEngine::views_for(const Batch* b, int op, OpViews& v) const {
  const OpViews& t = templates_[std::size_t(b->size - 1)][std::size_t(op)];
  v.in.assign(t.in.begin(), t.in.end());
  v.out.assign(t.out.begin(), t.out.end());
  for (std::size_t i = 0; i < v.in.size(); ++i) {
    const int a = op_in_act_[std::size_t(op)][i];
    if (a >= 0) v.in[i].data = b->data[std::size_t(a)];
  }
  for (std::size_t i = 0; i < v.out.size(); ++i) {
    const int a = op_out_act_[std::size_t(op)][i];
    if (a >= 0) v.out[i].data = b->data[std::size_t(a)];
  }
}

// ---------------------------------------------------------------------------------------
// Lanes

void OnlineEngine::build_kernels(Lane& lane) {
  const std::size_t n = g().operators().size();
  const int l = lane_index_.at(lane.id);
  lane.kernels.resize(o_.graphs.size());
  for (std::size_t k = 0; k < o_.graphs.size(); ++k) {
    lane.kernels[k].resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::vector<KernelChoice> choices;
      if (o_.schedule) {
        if (static_lane_[i] == l) choices.push_back(static_kernel_[i]);
      } else {
        for (const auto& name : contexts_[i].kernels) choices.push_back(name == "sparse" ? KernelChoice::sparse : KernelChoice::dense);
      }
      for (KernelChoice c : choices) {
        KernelContext ctx;
        ctx.graph = o_.graphs[k];
        ctx.group = single_op_group(*o_.graphs[k], i);
        ctx.kernel = c;
        ctx.threads = int(lane.cpus.size());
        lane.kernels[k][i][kernel_index(c)] = make_cpu_kernel(ctx);
      }
    }
  }
}

void OnlineEngine::warm_up(Lane& lane) {
  // Every kernel once per warm-up pass, in topological order, on the warm-up buffers
  // (zero-filled at first: indices read as 0, always in range). Lanes take turns so that no
  // two write the same buffers at once.
  for (std::size_t k = 0; k < o_.graphs.size(); ++k) {
    for (int w = 0; w < o_.warmup_batches; ++w) {
      for (auto id : g().topological_order()) {
        OpViews v = templates_[k][id];
        for (std::size_t i = 0; i < v.in.size(); ++i) {
          if (op_in_act_[id][i] >= 0) v.in[i].data = warm_data_[k][std::size_t(op_in_act_[id][i])];
        }
        for (std::size_t i = 0; i < v.out.size(); ++i) {
          if (op_out_act_[id][i] >= 0) v.out[i].data = warm_data_[k][std::size_t(op_out_act_[id][i])];
        }
        for (auto& kernel : lane.kernels[k][id]) {
          if (kernel) kernel->run(v.in, v.out);
        }
      }
    }
  }
}

void OnlineEngine::wait_work(Lane& lane, int seen) {
  // Spin first: lanes own their cores, and a futex wake-up costs far more than most
  // operators on a virtual machine (see replay.cpp). Then sleep on the futex.
  constexpr auto kSpinBudget = std::chrono::microseconds(50000);
  const auto start = Clock::now();
  for (std::uint32_t spin = 1; lane.wake.load(std::memory_order_acquire) == seen; ++spin) {
    cpu_relax();
    if (spin % 256 == 0) {
      if (abort_.load(std::memory_order_acquire) || done_.load(std::memory_order_acquire)) return;
      if (Clock::now() - start > kSpinBudget) break;
      if (spin % 4096 == 0) sched_yield();
    }
  }
  lane.wake.wait(seen, std::memory_order_acquire);
}

void OnlineEngine::lane_main(std::size_t l) {
  Lane& lane = *lanes_[l];
  try {
    lane.report = prepare_cpu_lane_thread(lane.id, lane.cpus);
    // The team's threads persist between parallel regions: their CPU clocks tell the
    // engine's own share of the lane's cores from other work (the observation's background).
    std::vector<clockid_t> clocks(lane.cpus.size(), clockid_t{});
    std::vector<std::uint8_t> have(lane.cpus.size(), 0);
#pragma omp parallel
    {
      const auto t = std::size_t(omp_get_thread_num());
      clockid_t c{};
      if (t < clocks.size() && pthread_getcpuclockid(pthread_self(), &c) == 0) {
        clocks[t] = c;
        have[t] = 1;
      }
    }
    for (std::size_t t = 0; t < clocks.size(); ++t) {
      if (have[t]) lane.clocks.push_back(clocks[t]);
    }
    build_kernels(lane);
    // Warm-up in turns (on the warm-up buffers, which no batch uses before every lane is done).
    while (warm_turn_.load(std::memory_order_acquire) != int(l)) {
      if (abort_.load()) throw Aborted{};
      warm_turn_.wait(warm_turn_.load(std::memory_order_acquire), std::memory_order_acquire);
    }
    warm_up(lane);
    warm_turn_.fetch_add(1, std::memory_order_acq_rel);
    warm_turn_.notify_all();
    OpViews v;  // reused: no allocation per operator once it has grown
    for (;;) {
      const int seen = lane.wake.load(std::memory_order_acquire);
      std::optional<Item> item;
      KernelChoice kc = KernelChoice::dense;
      {
        std::lock_guard<std::mutex> lock(m_);
        if (abort_.load() || done_.load()) break;
        if (!lane.queue.empty() && lane.queue.front().batch->preds_left[std::size_t(lane.queue.front().op)] == 0) {
          item = lane.queue.front();
          lane.queue.pop_front();
          kc = item->batch->kernel[std::size_t(item->op)];
          for (int a : op_out_act_[std::size_t(item->op)]) {
            if (a >= 0) item->batch->data[std::size_t(a)] = take_buffer(activation_bytes_[std::size_t(a)]);
          }
          views_for(item->batch, item->op, v);
          const double now = now_s();
          lane.busy = true;
          busy_changed(lane.device, +1, now);
          if (o_.policy) lane.predicted_end_s = now + predict_s(int(l), item->batch, item->op, kc);
        }
      }
      if (!item) {
        wait_work(lane, seen);
        continue;
      }
      const auto size = std::size_t(item->batch->size - 1);
      const double t0 = now_s();
      lane.kernels[size][std::size_t(item->op)][kernel_index(kc)]->run(v.in, v.out);
      const double t1 = now_s();
      std::lock_guard<std::mutex> lock(m_);
      complete(lane, *item, t0, t1);
    }
  } catch (const Aborted&) {
  } catch (...) {
    fail(std::current_exception());
  }
}

void OnlineEngine::fail(std::exception_ptr e) {
  {
    std::lock_guard<std::mutex> lock(m_);
    if (!error_) error_ = e;
    abort_.store(true);
  }
  warm_turn_.store(std::numeric_limits<int>::max() / 2);
  warm_turn_.notify_all();
  wake_lanes();
  cv_.notify_all();
}

// Only lanes that have something new are woken: a woken lane spins again for its whole spin
// budget, burning a core that background work or the arrival thread could use.
void OnlineEngine::wake(int lane) {
  Lane& l = *lanes_[std::size_t(lane)];
  l.wake.fetch_add(1, std::memory_order_acq_rel);
  l.wake.notify_all();
}

void OnlineEngine::wake_lanes() {
  for (auto& l : lanes_) {
    l->wake.fetch_add(1, std::memory_order_acq_rel);
    l->wake.notify_all();
  }
}

// ---------------------------------------------------------------------------------------
// Requests and batches (the simulator's rules, sim/executor.cpp)

void OnlineEngine::arrive(double t) {
  if (issued_ == 0) first_arrival_ = t;
  waiting_.emplace_back(issued_, t);
  ++issued_;
}

void OnlineEngine::form_batches(double now) {
  for (;;) {
    if (waiting_.empty() || std::int64_t(inflight_.size()) >= o_.max_inflight_batches) return;
    const bool full = std::int64_t(waiting_.size()) >= max_batch();
    const bool last = issued_ >= o_.requests;  // no more requests will come
    const bool timed_out = now - waiting_.front().second >= o_.batch_timeout_s - kTimeEpsilon;
    if (!full && !last && !timed_out) return;
    start_batch(now);
  }
}

void OnlineEngine::start_batch(double now) {
  auto owned = std::make_unique<Batch>();
  Batch* b = owned.get();
  b->id = batches_formed_++;
  while (!waiting_.empty() && std::int64_t(b->requests.size()) < max_batch()) {
    b->requests.push_back(waiting_.front().first);
    b->arrivals.push_back(waiting_.front().second);
    waiting_.pop_front();
  }
  b->size = std::int64_t(b->requests.size());
  if (b->size < max_batch()) ++partial_;
  const std::size_t n = g().operators().size();
  b->preds_left.resize(n);
  for (std::size_t i = 0; i < n; ++i) b->preds_left[i] = int(preds_[i].size());
  b->lane.assign(n, -1);
  b->kernel.assign(n, KernelChoice::dense);
  b->ops_left = int(n);
  b->data.assign(activation_bytes_.size(), nullptr);
  b->readers_left = activation_readers_;
  inflight_.push_back(std::move(owned));
  if (o_.schedule) {
    for (std::size_t i = 0; i < n; ++i) push(b, int(i), static_lane_[i], static_kernel_[i], static_order_[i]);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      if (b->preds_left[i] == 0) place(b, int(i), now);
    }
  }
}

void OnlineEngine::push(Batch* b, int op, int lane, KernelChoice k, std::int64_t key) {
  b->lane[std::size_t(op)] = lane;
  b->kernel[std::size_t(op)] = k;
  Lane& ls = *lanes_[std::size_t(lane)];
  auto pos = ls.queue.end();
  while (pos != ls.queue.begin()) {
    const Item& prev = *std::prev(pos);
    if (prev.batch->id < b->id || (prev.batch->id == b->id && prev.key <= key)) break;
    --pos;
  }
  ls.queue.insert(pos, Item{b, op, key});
  ++ls.depth;
  wake(lane);
}

double OnlineEngine::predict_s(int lane, const Batch* b, int op, KernelChoice k) const {
  return cost_.predict_s(demands_[std::size_t(op)], lanes_[std::size_t(lane)]->id,
                         k == KernelChoice::sparse ? platforms::Kernel::sparse : platforms::Kernel::dense, b->size, max_batch());
}

void OnlineEngine::place(Batch* b, int op, double now) {
  const auto t0 = Clock::now();
  const platforms::Observation obs = observe(b, op, now);
  const auto t1 = Clock::now();
  const platforms::Placement pl = o_.policy->place(obs);
  const auto t2 = Clock::now();
  const std::string where = "policy " + o_.policy->name() + ", operator '" + g().op(std::size_t(op)).name + "'";
  int lane = -1;
  if (!pl.lane.empty()) {
    auto it = lane_index_.find(pl.lane);
    if (it == lane_index_.end()) throw Error(where, "placed on lane '" + pl.lane + "', which platform " + p_.name + " does not have");
    lane = it->second;
  } else {
    if (p_.find_device(pl.device) == nullptr) {
      throw Error(where, "placed on device '" + pl.device + "', which platform " + p_.name + " does not have");
    }
    // Only a device: its lane predicted to be free earliest (DESIGN.md), ties to the lowest id.
    double best_free = kInf;
    std::string best_id;
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      const Lane& ls = *lanes_[l];
      if (p_.devices[ls.device].id != pl.device) continue;
      double free_at = ls.busy ? std::max(now, ls.predicted_end_s) : now;
      for (const Item& it : ls.queue) free_at += predict_s(int(l), it.batch, it.op, it.batch->kernel[std::size_t(it.op)]);
      if (free_at < best_free || (free_at == best_free && ls.id < best_id)) {
        best_free = free_at;
        best_id = ls.id;
        lane = int(l);
      }
    }
  }
  const auto& allowed = contexts_[std::size_t(op)].kernels;
  if (std::find(allowed.begin(), allowed.end(), pl.kernel) == allowed.end()) {
    throw Error(where, "kernel '" + pl.kernel + "' does not exist for this operator");
  }
  push(b, op, lane, pl.kernel == "sparse" ? KernelChoice::sparse : KernelChoice::dense, b->seq++);
  const double observe_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  const double decision_us = std::chrono::duration<double, std::micro>(t2 - t0).count();
  ++decisions_;
  observe_total_us_ += observe_us;
  decision_total_us_ += decision_us;
  decision_max_us_ = std::max(decision_max_us_, decision_us);
}

platforms::Observation OnlineEngine::observe(Batch* b, int op, double now) {
  platforms::Observation obs;
  obs.time_s = now;
  obs.window_s = o_.busy_window_s;
  obs.power_mode = p_.power_mode;
  const std::uint64_t before = machine_->refreshes();
  const auto& readings = machine_->read(Clock::now());
  if (machine_->refreshes() != before) {
    // A fresh reading: kept as state samples (the trace's .state.csv), so that what the
    // policies saw can be set against the state trace that caused it.
    for (const auto& r : readings) {
      if (!r.load_known) continue;
      state_.push_back({o_.run_id, now * 1e6, r.device, "background_load", r.other_load});
      state_.push_back({o_.run_id, now * 1e6, r.device, "load", r.load});
    }
  }
  const platforms::PowerMode& mode = p_.initial_mode();
  for (std::size_t d = 0; d < p_.devices.size(); ++d) {
    const platforms::Device& dev = p_.devices[d];
    platforms::DeviceState ds;
    ds.id = dev.id;
    busy_changed(d, 0, now);
    ds.busy_fraction = busy_ewma_[d];
    const platforms::PowerModeDevice& md = p_.mode_device(mode, dev.id);
    ds.freq_MHz = dev.pstates[md.pstate].freq_MHz;
    ds.online_units = md.online_units;
    for (const auto& r : readings) {
      if (r.device != dev.id) continue;
      if (r.freq_MHz > 0) ds.freq_MHz = r.freq_MHz;
      ds.background_load = r.other_load;
    }
    for (const auto& l : lanes_) {
      if (l->device == d) ds.lanes.push_back({l->id, l->depth, l->busy});
    }
    obs.devices.push_back(std::move(ds));
  }
  for (const auto& dom : p_.memory_domains) {
    platforms::DomainState st;
    st.id = dom.id;
    // No DRAM counter is readable on a host; the engine's own background streaming is known.
    st.background_load = background_ ? background_->load(dom.id) : 0;
    obs.memory_domains.push_back(st);
  }
  const graph::Operator& o = g().op(std::size_t(op));
  obs.op = o.name;
  obs.op_index = std::size_t(op);
  obs.op_type = o.type;
  obs.op_class = demands_[std::size_t(op)].op_class;
  obs.features = o.features;
  obs.kernels = contexts_[std::size_t(op)].kernels;
  obs.batch = b->size;
  obs.batch_id = b->id;
  obs.depth = contexts_[std::size_t(op)].depth;
  obs.remaining_critical_path_s = contexts_[std::size_t(op)].remaining_critical_path_s;
  return obs;
}

void OnlineEngine::busy_changed(std::size_t device, int delta, double now) {
  // The simulator's exponentially averaged share of the device's lanes that are busy.
  const double x = double(busy_lanes_[device]) / double(std::max(1, lanes_on_device_[device]));
  const double dt = now - ewma_updated_[device];
  if (dt > 0) {
    const double a = std::exp(-dt / o_.busy_window_s);
    busy_ewma_[device] = busy_ewma_[device] * a + x * (1 - a);
    ewma_updated_[device] = now;
  }
  busy_lanes_[device] += delta;
}

void OnlineEngine::complete(Lane& lane, const Item& it, double start, double end) {
  Batch* b = it.batch;
  const auto op = std::size_t(it.op);
  lane.busy = false;
  busy_changed(lane.device, -1, end);
  --lane.depth;
  ++lane.executions;
  traces::Record r;
  r.source = traces::Source::hw;
  r.run_id = o_.run_id;
  r.request_id = b->requests.front();
  r.batch_id = b->id;
  r.iteration = b->id;
  r.record = traces::RecordKind::op;
  r.op = g().op(op).name;
  r.device = p_.devices[lane.device].id;
  r.lane = lane.id;
  r.kernel = std::string(to_string(b->kernel[op]));
  r.start_us = start * 1e6;
  r.end_us = end * 1e6;
  records_.push_back(std::move(r));
  // Inputs whose last reader this was, and outputs nobody reads, go back to the pool (graph
  // outputs stay until the batch ends).
  for (std::size_t i = 0; i < op_in_act_[op].size(); ++i) {
    const int a = op_in_act_[op][i];
    if (a < 0 || std::find(op_in_act_[op].begin(), op_in_act_[op].begin() + std::ptrdiff_t(i), a) != op_in_act_[op].begin() + std::ptrdiff_t(i)) continue;
    if (--b->readers_left[std::size_t(a)] == 0 && !activation_is_output_[std::size_t(a)]) release(b, a);
  }
  for (int a : op_out_act_[op]) {
    if (a >= 0 && activation_readers_[std::size_t(a)] == 0 && !activation_is_output_[std::size_t(a)]) release(b, a);
  }
  for (int s : succs_[op]) {
    if (--b->preds_left[std::size_t(s)] != 0) continue;
    if (o_.policy) {
      place(b, s, end);  // queues it and wakes its lane
    } else if (b->lane[std::size_t(s)] != lane_index_.at(lane.id)) {
      wake(b->lane[std::size_t(s)]);  // its head may be ready now
    }
  }
  if (--b->ops_left == 0) finish_batch(b, end);
}

void OnlineEngine::finish_batch(Batch* b, double now) {
  double latency_sum = 0;
  for (std::size_t r = 0; r < b->requests.size(); ++r) {
    latencies_[std::size_t(b->requests[r])] = now - b->arrivals[r];
    latency_sum += now - b->arrivals[r];
  }
  completed_ += b->size;
  last_completion_ = now;
  if (o_.policy) {
    platforms::BatchDone done;
    done.batch_id = b->id;
    done.requests = b->size;
    done.time_s = now;
    done.latency_mean_s = latency_sum / double(b->requests.size());
    o_.policy->batch_done(done);
  }
  if (o_.arrivals.kind == platforms::ArrivalSpec::Kind::closed) {
    for (std::int64_t r = 0; r < b->size && issued_ < o_.requests; ++r) arrive(now);
  }
  for (std::size_t a = 0; a < b->data.size(); ++a) release(b, int(a));
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
    if (it->get() == b) {
      inflight_.erase(it);
      break;
    }
  }
  form_batches(now);
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------

OnlineResult OnlineEngine::run() {
  OnlineResult result;
  const auto setup_start = Clock::now();
  allocate();
  latencies_.assign(std::size_t(o_.requests), 0);
  if (o_.arrivals.kind != platforms::ArrivalSpec::Kind::closed) {
    open_ = std::make_unique<platforms::OpenArrivals>(o_.arrivals, o_.seed);
    if (o_.arrivals.kind == platforms::ArrivalSpec::Kind::file && std::int64_t(open_->file_size()) < o_.requests) {
      throw Error(o_.arrivals.text, "the arrivals file lists " + std::to_string(open_->file_size()) +
                                        " requests, fewer than --requests " + std::to_string(o_.requests));
    }
  }
  std::map<std::string, std::vector<int>> device_cpus;
  std::vector<CpuGroup> groups;
  for (const auto& l : lanes_) {
    auto& v = device_cpus[p_.devices[l->device].id];
    v.insert(v.end(), l->cpus.begin(), l->cpus.end());
  }
  for (auto& [dev, v] : device_cpus) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    groups.push_back({dev, v});
  }
  if (o_.state) background_ = std::make_unique<BackgroundWork>(*o_.state, p_, device_cpus);
  for (std::size_t l = 0; l < lanes_.size(); ++l) lanes_[l]->thread = std::thread([this, l] { lane_main(l); });
  // Wait for every lane to have built and warmed its kernels.
  for (;;) {
    const int turn = warm_turn_.load(std::memory_order_acquire);
    if (turn >= int(lanes_.size())) break;
    warm_turn_.wait(turn, std::memory_order_acquire);
  }
  result.setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();
  if (o_.policy && !abort_) {
    // Own CPU time per device: the clocks of its lanes' threads (known once they are warm).
    std::vector<std::vector<clockid_t>> clocks(groups.size());
    for (const auto& l : lanes_) {
      for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        if (groups[gi].device == p_.devices[l->device].id) clocks[gi].insert(clocks[gi].end(), l->clocks.begin(), l->clocks.end());
      }
    }
    MachineStateOptions mo;
    mo.own_cpu_s = [clocks] {
      std::vector<double> s(clocks.size(), 0);
      for (std::size_t gi = 0; gi < clocks.size(); ++gi) {
        for (clockid_t c : clocks[gi]) s[gi] += clock_s(c);
      }
      return s;
    };
    machine_ = std::make_unique<MachineState>(groups, mo);
  }

  {
    std::unique_lock<std::mutex> lock(m_);
    if (!abort_) {
      origin_ = Clock::now();
      if (background_) background_->start(origin_);
      if (machine_) machine_->refresh(origin_);
      if (!open_) {
        const std::int64_t clients = o_.arrivals.clients > 0 ? o_.arrivals.clients : max_batch();
        for (std::int64_t c = 0; c < clients && issued_ < o_.requests; ++c) arrive(0);
      } else {
        next_arrival_ = open_->next().value_or(kInf);
      }
    }
    try {
      while (!abort_ && completed_ < o_.requests) {
        const double now = now_s();
        while (open_ && next_arrival_ <= now + kTimeEpsilon && issued_ < o_.requests) {
          const double late_us = (now - next_arrival_) * 1e6;
          arrival_delay_total_us_ += late_us;
          arrival_delay_max_us_ = std::max(arrival_delay_max_us_, late_us);
          ++arrivals_timed_;
          arrive(next_arrival_);
          next_arrival_ = issued_ < o_.requests ? open_->next().value_or(kInf) : kInf;
        }
        if (open_ && next_arrival_ == kInf && issued_ < o_.requests) {
          throw Error(o_.arrivals.text, "the arrivals file lists " + std::to_string(open_->file_size()) +
                                            " requests, fewer than --requests " + std::to_string(o_.requests));
        }
        form_batches(now);
        if (completed_ >= o_.requests) break;
        double wake = open_ && issued_ < o_.requests ? next_arrival_ : kInf;
        if (!waiting_.empty() && std::int64_t(inflight_.size()) < o_.max_inflight_batches) {
          wake = std::min(wake, waiting_.front().second + o_.batch_timeout_s);
        }
        if (wake == kInf) {
          cv_.wait(lock);
        } else {
          cv_.wait_until(lock, origin_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wake)));
        }
      }
    } catch (...) {
      if (!error_) error_ = std::current_exception();
      abort_.store(true);
    }
    done_.store(true);
  }
  const auto end = Clock::now();
  wake_lanes();
  warm_turn_.store(std::numeric_limits<int>::max() / 2);
  warm_turn_.notify_all();
  for (auto& l : lanes_) l->thread.join();
  if (background_) background_->stop();
  if (error_) std::rethrow_exception(error_);

  result.window_begin_s = std::chrono::duration<double>(origin_.time_since_epoch()).count();
  result.window_end_s = std::chrono::duration<double>(end.time_since_epoch()).count();
  result.latencies_s = latencies_;
  result.batches = batches_formed_;
  result.partial_batches = partial_;
  result.makespan_s = last_completion_ - (first_arrival_ == kInf ? 0 : first_arrival_);
  result.throughput_rps = result.makespan_s > 0 ? double(completed_) / result.makespan_s : 0;
  result.decisions = decisions_;
  if (decisions_ > 0) {
    result.decision_mean_us = decision_total_us_ / double(decisions_);
    result.observe_mean_us = observe_total_us_ / double(decisions_);
  }
  result.decision_max_us = decision_max_us_;
  if (machine_) {
    result.machine_refreshes = machine_->refreshes();
    result.notes = machine_->notes();
  }
  if (arrivals_timed_ > 0) {
    result.arrival_delay_mean_us = arrival_delay_total_us_ / double(arrivals_timed_);
    result.arrival_delay_max_us = arrival_delay_max_us_;
  }
  for (const auto& l : lanes_) {
    result.lanes.push_back(l->report);
    result.executions_by_lane[l->id] = l->executions;
    for (const auto& by_size : l->kernels) {
      for (const auto& pair : by_size) result.kernels_built += std::int64_t(bool(pair[0])) + std::int64_t(bool(pair[1]));
    }
  }
  if (background_) result.stream_GBps = background_->stream_GBps();
  std::stable_sort(records_.begin(), records_.end(), [](const traces::Record& a, const traces::Record& b) {
    return a.start_us < b.start_us;
  });
  result.trace.records = std::move(records_);
  result.trace.state = std::move(state_);
  return result;
}

}  // namespace
}  // namespace online_impl

OnlineResult run_online(const OnlineOptions& options) {
  online_impl::OnlineEngine engine(options);
  return engine.run();
}

}  // namespace sparoa::hw
