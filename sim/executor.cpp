#include "sim/executor.hpp"

#include <simgrid/s4u.hpp>
#include <simgrid/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <optional>

#include "platforms/cost_model.hpp"
#include "platforms/op_context.hpp"
#include "platforms/arrivals.hpp"
#include "sim/board.hpp"
#include "sim/energy_accounting.hpp"
#include "support/error.hpp"
#include "traces/trace_stream.hpp"

namespace sg4 = simgrid::s4u;

namespace sparoa::sim::detail {
namespace {

using platforms::DeviceKind;
using platforms::Kernel;
constexpr double kInf = std::numeric_limits<double>::infinity();
// SimGrid resolves time to about a nanosecond (its timing precision): a timer closer than
// that to the clock is due now, or waiting for it would not advance the clock at all.
constexpr double kTimeEpsilon = 1e-9;

// ---------------------------------------------------------------------------------------
// The workload, resolved once.

struct Output {
  std::vector<int> consumers;  // operators reading this op's outputs (distinct)
};

struct OpInfo {
  std::string name;
  std::int64_t topo = 0;  // position in the topological order
  std::vector<int> preds, succs;
  platforms::OpDemand demand;
  graph::Features features;
  std::vector<std::string> kernels;
  double output_bytes = 0;        // all its outputs, at the graph batch
  double graph_output_bytes = 0;  // of those, graph outputs (delivered to the host device)
  double graph_input_bytes = 0;   // graph inputs it reads
  // Static placement (schedule); -1 in online mode.
  int lane = -1;
  Kernel kernel = Kernel::dense;
  int depth = 0;
  double remaining_critical_path_s = 0;
};

struct LaneInfo {
  const platforms::Lane* spec = nullptr;
  std::size_t device = 0;
  bool gpu = false;
  int launch_lane = -1;          // GPU lanes
  std::vector<int> static_order;  // static schedules: this lane's operators in order
  std::vector<int> served_gpu_lanes;  // CPU lanes: the GPU lanes they launch for
};

// ---------------------------------------------------------------------------------------
// Per batch state.

struct Batch {
  std::int64_t id = 0;
  std::int64_t size = 0;
  std::vector<std::int64_t> requests;
  std::vector<double> arrivals;
  std::vector<int> preds_left;        // predecessors not finished
  std::vector<int> inputs_left;       // transfers into the op not finished
  std::vector<int> launch_blockers;   // static: CPU preds not finished + GPU preds not launched
  std::vector<std::uint8_t> launched, launch_started, finished, placed;
  std::vector<int> lane;              // placement
  std::vector<Kernel> kernel;
  // Transfers out of an op to a device: issued once per (op, device).
  std::vector<std::uint64_t> transfer_issued;  // bitmask over devices per op
  std::vector<traces::ChromeTraceStream::SliceRef> slices;  // chrome only
  int ops_left = 0;
  int outputs_left = 0;  // output deliveries (transfers to the host device) not finished
  std::int64_t seq = 0;  // online: placement sequence
  std::vector<std::int64_t> order_key;  // online: placement sequence per op
  // Online: predecessors not yet issued (a CPU one issues when it finishes, a GPU one when
  // its kernel is launched); the operator is placed when this reaches 0.
  std::vector<int> unissued;
  // Online: consumers placed on another device before the producer finished, per producer:
  // (device, consumers) whose transfer starts when it finishes.
  std::vector<std::vector<std::pair<std::size_t, std::vector<int>>>> deferred;
};

struct Item {
  Batch* batch = nullptr;
  int op = -1;
};

struct LaneState {
  std::deque<Item> queue;     // kernel/operator order
  // GPU lanes, static schedules: queue[0..launch_pos) are launched or launching. Online
  // placements insert an earlier batch's operator before a later batch's, so there the next
  // launch is found by a scan for the first item not yet started (Batch::launch_started).
  std::size_t launch_pos = 0;
  bool busy = false;           // running an operator (CPU: dispatch+op; GPU: kernel)
  bool launching = false;      // CPU lanes: running a launch
  int depth = 0;               // placed and not finished
  double predicted_end = 0;    // online: when the running operator should end (cost model)
};

enum class Phase { dispatch, op, launch, transfer, background };

struct Pending {
  Phase phase = Phase::op;
  Batch* batch = nullptr;
  int op = -1;
  int lane = -1;
  std::size_t device = 0;
  std::vector<int> units;
  double start_s = 0;
  double record_start_s = 0;
  double flops_per_unit = 0;
  std::size_t pstate = 0;
  // transfers
  std::size_t dst_device = 0;
  int dst_lane = -1;
  int copy_slot = -1;
  std::vector<int> consumers;  // ops waiting on this transfer (count each once)
  bool output_delivery = false;
  bool graph_input = false;
  std::string tensor;  // graph input name (record op)
  double mark = 0;       // energy accounting
  double carried_J = 0;  // dispatch energy carried into the operator's record
};

class Executor {
 public:
  Executor(const SimulationOptions& o, Board& board, EnergyAccounting& energy)
      : o_(o), g_(*o.graph), p_(*o.platform), board_(board), cost_(p_), energy_(energy) {}

  Summary run(double wall_start);

 private:
  // setup
  void resolve_workload();
  void resolve_lanes();
  void resolve_static_schedule();
  void open_outputs();

  // requests and batches
  void arrive(double t);
  bool try_form_batch();
  void start_batch(std::vector<std::int64_t> ids, std::vector<double> arrivals);
  void finish_batch(Batch* b);
  double board_energy_J() const {
    double joules = board_.static_energy_J();
    for (std::size_t d = 0; d < board_.devices().size(); ++d) joules += board_.consumed_energy_J(d);
    return joules;
  }

  // the lanes
  void pump();
  bool try_start_cpu_lane(int lane);
  std::size_t next_launch(const LaneState& ls) const;
  bool try_start_gpu_kernel(int lane);
  bool cpu_item_ready(const Item& it) const;
  Pending pending_for(Phase phase, const Item& it, int lane, std::size_t device) const;
  bool launch_ready(const Item& it) const;
  void start_dispatch_or_op(int lane, const Item& it);
  void start_op(Pending p);
  void start_launch(int launch_lane, int gpu_lane, const Item& it);
  void start_transfer(Batch* b, int producer, std::size_t src_dev, std::size_t dst_dev, int dst_lane,
                      double bytes, std::vector<int> consumers, bool output_delivery,
                      const std::string& input_name);
  void issue_transfers_after(Batch* b, int op);
  void issue_input_transfers(Batch* b, int op);

  // online decisions
  void place(Batch* b, int op);
  // Online: `op` was issued (finished on a CPU lane, launched on a GPU lane); successors
  // whose every predecessor is issued get placed.
  void issue_to_successors(Batch* b, int op);
  platforms::Observation observe(Batch* b, int op);
  int lane_index(const std::string& id) const;

  // completions
  void on_complete(Pending p);
  void complete_op(const Pending& p);
  void op_ready_checks(Batch* b, int op);

  // outputs
  traces::Record record(const Pending& p, traces::RecordKind kind, const std::string& op, std::size_t device, int lane,
                        double end_s) const;
  void emit(traces::Record& r, const Pending& p, const std::string& thread = {});
  void sample(double t);

  using Work = platforms::Work;
  void add_activity(sg4::ExecPtr exec, Pending p);
  void dram_use_changes() const;
  Work work_for(Batch* b, int op, std::size_t device, Kernel k) const;
  double predict_on(int lane, Batch* b, int op) const;  // cost model, current board state
  void busy_changed(std::size_t device, int delta);

  const SimulationOptions& o_;
  const graph::Graph& g_;
  const platforms::Platform& p_;
  Board& board_;
  platforms::CostModel cost_;
  std::vector<OpInfo> ops_;
  std::vector<LaneInfo> lanes_;
  std::vector<LaneState> lane_state_;
  std::size_t host_device_ = 0;
  bool online_ = false;
  std::int64_t graph_batch_ = 1;

  std::vector<sg4::ActivityPtr> running_;
  std::vector<Pending> pending_;

  // requests
  std::deque<std::pair<std::int64_t, double>> waiting_;  // (request id, arrival)
  std::int64_t issued_ = 0, completed_ = 0;
  std::unique_ptr<platforms::OpenArrivals> open_;
  double next_arrival_ = kInf;
  std::int64_t batches_formed_ = 0;
  std::deque<std::unique_ptr<Batch>> inflight_;
  std::vector<double> latencies_;

  // accounting
  EnergyAccounting& energy_;
  std::vector<double> energy_attributed_;
  std::vector<int> busy_lanes_;      // per device
  std::vector<double> busy_since_;   // per device, when busy_lanes_ became > 0
  std::vector<double> busy_total_;   // per device
  std::vector<double> busy_ewma_;    // per device (online observation)
  std::vector<double> ewma_updated_;
  std::vector<std::int64_t> executions_;
  std::vector<std::vector<int>> copy_slots_;  // per device: slot busy flags
  std::int64_t op_execs_ = 0, transfers_ = 0, launches_ = 0, activities_ = 0;
  double static_J_ = 0, static_since_ = 0;
  double last_completion_ = 0;
  double first_arrival_ = 0;
  int dram_users_ = 0;  // operators and transfers running (all move bytes through DRAM)

  // outputs
  std::unique_ptr<traces::TraceCsvStream> csv_;
  std::unique_ptr<traces::ChromeTraceStream> chrome_;
  double next_sample_ = kInf;
  std::vector<double> sampled_energy_;
  double sampled_at_ = 0;
  std::vector<double> last_freq_;
  std::vector<int> last_online_;
  std::string power_mode_sampled_;
};

// ---------------------------------------------------------------------------------------
// Setup

void Executor::resolve_workload() {
  const auto demands = platforms::op_demands(g_);
  const auto& topo = g_.topological_order();
  ops_.resize(g_.operators().size());
  for (std::size_t i = 0; i < topo.size(); ++i) ops_[topo[i]].topo = std::int64_t(i);
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    const graph::Operator& op = g_.op(i);
    OpInfo& info = ops_[i];
    info.name = op.name;
    info.demand = demands[i];
    info.features = op.features;
    for (auto pr : g_.predecessors(i)) info.preds.push_back(int(pr));
    for (auto s : g_.successors(i)) info.succs.push_back(int(s));
    const auto& outs = g_.output_names();
    for (const auto& t : op.outputs) {
      if (t.empty()) continue;
      const double bytes = double(g_.tensor(t).size_bytes());
      info.output_bytes += bytes;
      if (std::find(outs.begin(), outs.end(), t) != outs.end()) info.graph_output_bytes += bytes;
    }
    std::vector<std::string> seen;
    for (const auto& t : op.inputs) {
      if (t.empty() || std::find(seen.begin(), seen.end(), t) != seen.end()) continue;
      seen.push_back(t);
      const graph::Tensor& tensor = g_.tensor(t);
      if (tensor.role == graph::TensorRole::input) info.graph_input_bytes += double(tensor.size_bytes());
    }
  }
  // Depth, remaining critical path and kernels: the same computation the hardware engine uses.
  const auto contexts = platforms::op_contexts(g_, cost_, demands);
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    ops_[i].kernels = contexts[i].kernels;
    ops_[i].depth = contexts[i].depth;
    ops_[i].remaining_critical_path_s = contexts[i].remaining_critical_path_s;
  }
}

int Executor::lane_index(const std::string& id) const {
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    if (lanes_[i].spec->id == id) return int(i);
  }
  return -1;
}

void Executor::resolve_lanes() {
  for (std::size_t d = 0; d < p_.devices.size(); ++d) {
    for (const auto& lane : p_.devices[d].lanes) {
      LaneInfo info;
      info.spec = &lane;
      info.device = d;
      info.gpu = p_.devices[d].kind == DeviceKind::gpu;
      lanes_.push_back(info);
    }
  }
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    if (!lanes_[i].gpu) continue;
    lanes_[i].launch_lane = lane_index(lanes_[i].spec->launch_lane);
    if (lanes_[i].launch_lane < 0) throw Error(p_.origin, "lane '" + lanes_[i].spec->id + "': unknown launch_lane");
    lanes_[std::size_t(lanes_[i].launch_lane)].served_gpu_lanes.push_back(int(i));
  }
  lane_state_.resize(lanes_.size());
  host_device_ = board_.device_index(p_.host_device().id);
}

void Executor::resolve_static_schedule() {
  const graph::Schedule& s = *o_.schedule;
  const std::string& origin = o_.schedule_origin;
  if (!s.platform_name.empty() && s.platform_name != p_.name) {
    throw Error(origin + ": platform", "the schedule was made for platform '" + s.platform_name + "', not '" + p_.name + "'");
  }
  for (const auto& e : s.entries) {
    if (e.fuse_with) {
      throw Error(origin + ": entry '" + e.op + "'",
                  "declares fuse_with; the simulator does not model fused operators yet: remove the fusion");
    }
    const auto id = g_.find_op(e.op);
    if (!id) throw Error(origin + ": entry '" + e.op + "'", "no such operator in model " + g_.name);
    const int lane = lane_index(e.lane);
    if (lane < 0) throw Error(origin + ": entry '" + e.op + "'", "lane '" + e.lane + "' is not on platform " + p_.name);
    OpInfo& info = ops_[*id];
    info.lane = lane;
    if (!platforms::parse_kernel(e.kernel, info.kernel)) {
      throw Error(origin + ": entry '" + e.op + "'", "unknown kernel '" + e.kernel + "'");
    }
  }
  // Lane orders.
  std::vector<std::vector<std::pair<std::int64_t, int>>> orders(lanes_.size());
  for (const auto& e : s.entries) {
    const int id = int(*g_.find_op(e.op));
    orders[std::size_t(ops_[std::size_t(id)].lane)].emplace_back(e.order, id);
  }
  for (std::size_t l = 0; l < lanes_.size(); ++l) {
    std::sort(orders[l].begin(), orders[l].end());
    for (const auto& [order, id] : orders[l]) lanes_[l].static_order.push_back(id);
  }
}

void Executor::open_outputs() {
  if (!o_.csv.empty()) {
    traces::Provenance prov = o_.provenance;
    prov.seed = o_.seed;
    prov.simgrid_version = std::to_string(SIMGRID_VERSION_MAJOR) + "." + std::to_string(SIMGRID_VERSION_MINOR);
    if (SIMGRID_VERSION_PATCH > 0) prov.simgrid_version += "." + std::to_string(SIMGRID_VERSION_PATCH);
    prov.power_mode = board_.power_mode();
    csv_ = std::make_unique<traces::TraceCsvStream>(o_.csv, prov);
  }
  if (!o_.chrome.empty()) chrome_ = std::make_unique<traces::ChromeTraceStream>(o_.chrome, "sim");
  if (csv_ || chrome_) {
    next_sample_ = 0;
    sampled_energy_.assign(board_.devices().size(), 0);
    last_freq_.assign(board_.devices().size(), -1);
    last_online_.assign(board_.devices().size(), -1);
  }
}

// ---------------------------------------------------------------------------------------
// Requests and batches

void Executor::arrive(double t) {
  if (issued_ == 0) first_arrival_ = t;
  waiting_.emplace_back(issued_, t);
  ++issued_;
}

bool Executor::try_form_batch() {
  if (waiting_.empty() || std::int64_t(inflight_.size()) >= o_.max_inflight_batches) return false;
  const double now = sg4::Engine::get_clock();
  const bool full = std::int64_t(waiting_.size()) >= graph_batch_;
  // No more requests will come: a partial batch need not wait.
  const bool last = issued_ >= o_.requests && next_arrival_ == kInf;
  const bool timed_out = now - waiting_.front().second >= o_.batch_timeout_s - kTimeEpsilon;
  if (!full && !last && !timed_out) return false;
  std::vector<std::int64_t> ids;
  std::vector<double> arrivals;
  while (!waiting_.empty() && std::int64_t(ids.size()) < graph_batch_) {
    ids.push_back(waiting_.front().first);
    arrivals.push_back(waiting_.front().second);
    waiting_.pop_front();
  }
  start_batch(std::move(ids), std::move(arrivals));
  return true;
}

void Executor::start_batch(std::vector<std::int64_t> ids, std::vector<double> arrivals) {
  auto owned = std::make_unique<Batch>();
  Batch* b = owned.get();
  inflight_.push_back(std::move(owned));
  b->id = batches_formed_++;
  b->size = std::int64_t(ids.size());
  b->requests = std::move(ids);
  b->arrivals = std::move(arrivals);
  const std::size_t n = ops_.size();
  b->preds_left.resize(n);
  b->inputs_left.assign(n, 0);
  b->launch_blockers.assign(n, 0);
  b->launched.assign(n, 0);
  b->launch_started.assign(n, 0);
  b->finished.assign(n, 0);
  b->placed.assign(n, 0);
  b->lane.assign(n, -1);
  b->kernel.assign(n, Kernel::dense);
  b->transfer_issued.assign(n, 0);
  b->order_key.assign(n, 0);
  if (chrome_) b->slices.resize(n);
  b->ops_left = int(n);
  for (std::size_t i = 0; i < n; ++i) b->preds_left[i] = int(ops_[i].preds.size());

  if (!online_) {
    for (std::size_t i = 0; i < n; ++i) {
      b->lane[i] = ops_[i].lane;
      b->kernel[i] = ops_[i].kernel;
      b->placed[i] = 1;
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!lanes_[std::size_t(b->lane[i])].gpu) continue;
      // Each predecessor unblocks the launch once: a CPU one when it finishes, a GPU one
      // when it is launched.
      b->launch_blockers[i] = int(ops_[i].preds.size());
    }
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      for (int op : lanes_[l].static_order) {
        lane_state_[l].queue.push_back({b, op});
        ++lane_state_[l].depth;
      }
    }
    for (std::size_t i = 0; i < n; ++i) issue_input_transfers(b, int(i));
  } else {
    b->unissued = b->preds_left;
    b->deferred.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (b->preds_left[i] == 0) place(b, int(i));
    }
  }
}

void Executor::finish_batch(Batch* b) {
  const double now = sg4::Engine::get_clock();
  double latency_sum = 0;
  for (std::size_t r = 0; r < b->requests.size(); ++r) {
    latencies_.push_back(now - b->arrivals[r]);
    latency_sum += now - b->arrivals[r];
  }
  completed_ += b->size;
  last_completion_ = now;
  if (online_) {
    platforms::BatchDone done;
    done.batch_id = b->id;
    done.requests = b->size;
    done.time_s = now;
    done.latency_mean_s = b->requests.empty() ? 0 : latency_sum / double(b->requests.size());
    done.energy_J = board_energy_J();
    o_.policy->batch_done(done);
  }
  // Closed loop: each answered client sends its next request now.
  if (o_.arrivals.kind == platforms::ArrivalSpec::Kind::closed) {
    for (std::int64_t r = 0; r < b->size && issued_ < o_.requests; ++r) arrive(now);
  }
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
    if (it->get() == b) {
      inflight_.erase(it);
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Placement (online)

platforms::Observation Executor::observe(Batch* b, int op) {
  platforms::Observation obs;
  const double now = sg4::Engine::get_clock();
  obs.time_s = now;
  obs.window_s = o_.busy_window_s;
  obs.energy_J = board_energy_J();
  obs.power_mode = board_.power_mode();
  for (std::size_t d = 0; d < board_.devices().size(); ++d) {
    const DeviceRuntime& rt = board_.devices()[d];
    platforms::DeviceState ds;
    ds.id = rt.spec->id;
    busy_changed(d, 0);  // bring the average up to now
    ds.busy_fraction = busy_ewma_[d];
    ds.freq_MHz = rt.spec->pstates[rt.pstate].freq_MHz;
    ds.online_units = rt.online_units;
    ds.background_load = rt.background_load;
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      if (lanes_[l].device != d) continue;
      const LaneState& ls = lane_state_[l];
      ds.lanes.push_back({lanes_[l].spec->id, ls.depth, ls.busy || ls.launching});
    }
    obs.devices.push_back(std::move(ds));
  }
  for (const auto& dom : board_.domains()) {
    platforms::DomainState st;
    st.id = dom.spec->id;
    // Against the link's capacity, not the domain's bandwidth: with ports (contention < 1)
    // one operator alone uses (1 + contention) / 2 of it and only co-running streams of
    // several devices fill it, so 1 still means "no more DRAM to be had".
    st.dram_utilisation =
        dom.dram_capacity_Bps > 0 ? std::min(1.0, dom.dram->get_usage() / dom.dram_capacity_Bps) : 0;
    st.background_load = dom.background_load;
    obs.memory_domains.push_back(st);
  }
  const OpInfo& info = ops_[std::size_t(op)];
  obs.op = info.name;
  obs.op_index = std::size_t(op);
  obs.op_type = g_.op(std::size_t(op)).type;
  obs.op_class = info.demand.op_class;
  obs.features = info.features;
  obs.kernels = info.kernels;
  obs.batch = b->size;
  obs.batch_id = b->id;
  obs.depth = info.depth;
  obs.remaining_critical_path_s = info.remaining_critical_path_s;
  return obs;
}

void Executor::place(Batch* b, int op) {
  const platforms::Placement pl = o_.policy->place(observe(b, op));
  const std::string where = "policy " + o_.policy->name() + ", operator '" + ops_[std::size_t(op)].name + "'";
  int lane = -1;
  if (!pl.lane.empty()) {
    lane = lane_index(pl.lane);
    if (lane < 0) throw Error(where, "placed on lane '" + pl.lane + "', which platform " + p_.name + " does not have");
  } else {
    // Only a device: its lane predicted to be free earliest (DESIGN.md), ties to the lowest
    // lane id. Free at: the running operator's predicted end, plus the cost model's time for
    // every operator queued behind it, in the board's current state.
    const platforms::Device* dev = p_.find_device(pl.device);
    if (dev == nullptr) throw Error(where, "placed on device '" + pl.device + "', which platform " + p_.name + " does not have");
    const double now = sg4::Engine::get_clock();
    std::string best_id;
    double best_free = kInf;
    for (std::size_t l = 0; l < lanes_.size(); ++l) {
      if (p_.devices[lanes_[l].device].id != pl.device) continue;
      const LaneState& ls = lane_state_[l];
      double free_at = ls.busy ? std::max(now, ls.predicted_end) : now;
      for (const Item& it : ls.queue) free_at += predict_on(int(l), it.batch, it.op);
      if (free_at < best_free || (free_at == best_free && lanes_[l].spec->id < best_id)) {
        best_free = free_at;
        best_id = lanes_[l].spec->id;
        lane = int(l);
      }
    }
  }
  Kernel kernel = Kernel::dense;
  if (!platforms::parse_kernel(pl.kernel, kernel) ||
      std::find(ops_[std::size_t(op)].kernels.begin(), ops_[std::size_t(op)].kernels.end(), pl.kernel) ==
          ops_[std::size_t(op)].kernels.end()) {
    throw Error(where, "kernel '" + pl.kernel + "' does not exist for this operator");
  }
  b->lane[std::size_t(op)] = lane;
  b->kernel[std::size_t(op)] = kernel;
  b->placed[std::size_t(op)] = 1;
  b->order_key[std::size_t(op)] = b->seq++;
  // Keep the lane's queue ordered by (batch, placement order): FIFO across batches.
  LaneState& ls = lane_state_[std::size_t(lane)];
  auto pos = ls.queue.end();
  while (pos != ls.queue.begin() && std::prev(pos)->batch->id > b->id) --pos;
  ls.queue.insert(pos, Item{b, op});
  ++ls.depth;
  issue_input_transfers(b, op);
  // Transfers from finished producers on other devices start now that the device is known.
  const std::size_t dev = lanes_[std::size_t(lane)].device;
  for (int pr : ops_[std::size_t(op)].preds) {
    const std::size_t pdev = lanes_[std::size_t(b->lane[std::size_t(pr)])].device;
    if (pdev == dev) continue;
    const std::uint64_t bit = std::uint64_t(1) << dev;
    if (!b->finished[std::size_t(pr)]) {
      // A GPU producer launched but still running: its outputs move when it finishes.
      auto& waiting = b->deferred[std::size_t(pr)];
      auto it = std::find_if(waiting.begin(), waiting.end(), [&](const auto& e) { return e.first == dev; });
      if (it == waiting.end()) {
        waiting.push_back({dev, {op}});
      } else {
        it->second.push_back(op);
      }
      b->transfer_issued[std::size_t(pr)] |= bit;
      ++b->inputs_left[std::size_t(op)];
      continue;
    }
    if (b->transfer_issued[std::size_t(pr)] & bit) {
      // Already moving (or moved) for another consumer on this device: wait for it if still running.
      for (auto& pend : pending_) {
        if (pend.phase == Phase::transfer && pend.batch == b && pend.op == pr && pend.dst_device == dev) {
          pend.consumers.push_back(op);
          ++b->inputs_left[std::size_t(op)];
        }
      }
      continue;
    }
    b->transfer_issued[std::size_t(pr)] |= bit;
    start_transfer(b, pr, pdev, dev, lane, ops_[std::size_t(pr)].output_bytes, {op}, false, {});
    ++b->inputs_left[std::size_t(op)];
  }
}

void Executor::issue_to_successors(Batch* b, int op) {
  for (int s : ops_[std::size_t(op)].succs) {
    if (--b->unissued[std::size_t(s)] == 0 && !b->placed[std::size_t(s)]) place(b, s);
  }
}

// ---------------------------------------------------------------------------------------
// Transfers

double Executor::predict_on(int lane, Batch* b, int op) const {
  const std::size_t dev = lanes_[std::size_t(lane)].device;
  const DeviceRuntime& rt = board_.devices()[dev];
  const Work w = work_for(b, op, dev, b->kernel[std::size_t(op)]);
  return cost_.predict_s(w, lanes_[std::size_t(lane)].spec->id, rt.pstate, rt.online_units,
                         board_.domains()[rt.domain].bandwidth_Bps / 1e9);
}

platforms::Work Executor::work_for(Batch* b, int op, std::size_t device, Kernel k) const {
  return cost_.work(ops_[std::size_t(op)].demand, p_.devices[device].kind, k, b->size, graph_batch_);
}

void Executor::issue_input_transfers(Batch* b, int op) {
  const OpInfo& info = ops_[std::size_t(op)];
  if (info.graph_input_bytes <= 0) return;
  const std::size_t dev = lanes_[std::size_t(b->lane[std::size_t(op)])].device;
  if (dev == host_device_) return;
  ++b->inputs_left[std::size_t(op)];
  start_transfer(b, op, host_device_, dev, b->lane[std::size_t(op)], info.graph_input_bytes, {op}, false,
                 "input of " + info.name);
}

void Executor::issue_transfers_after(Batch* b, int op) {
  const std::size_t src = lanes_[std::size_t(b->lane[std::size_t(op)])].device;
  const OpInfo& info = ops_[std::size_t(op)];
  if (!online_) {
    // Static: every device with a consumer gets the outputs as soon as they exist.
    std::vector<std::pair<std::size_t, std::vector<int>>> by_device;
    for (int s : info.succs) {
      const std::size_t dev = lanes_[std::size_t(b->lane[std::size_t(s)])].device;
      if (dev == src) continue;
      auto it = std::find_if(by_device.begin(), by_device.end(), [&](const auto& e) { return e.first == dev; });
      if (it == by_device.end()) {
        by_device.push_back({dev, {s}});
      } else {
        it->second.push_back(s);
      }
    }
    for (auto& [dev, consumers] : by_device) {
      b->transfer_issued[std::size_t(op)] |= std::uint64_t(1) << dev;
      // The destination lane shown in the trace: the first consumer's.
      const int dst_lane = b->lane[std::size_t(consumers.front())];
      for (int c : consumers) ++b->inputs_left[std::size_t(c)];
      start_transfer(b, op, src, dev, dst_lane, info.output_bytes, consumers, false, {});
    }
  } else {
    // Consumers placed elsewhere while this operator ran (their inputs_left already count it).
    for (auto& [dev, consumers] : b->deferred[std::size_t(op)]) {
      start_transfer(b, op, src, dev, b->lane[std::size_t(consumers.front())], info.output_bytes, consumers, false, {});
    }
    b->deferred[std::size_t(op)].clear();
  }
  if (info.graph_output_bytes > 0 && src != host_device_) {
    ++b->outputs_left;
    const int host_lane = lane_index(p_.host_device().lanes.front().id);
    start_transfer(b, op, src, host_device_, host_lane, info.graph_output_bytes, {}, true, {});
  }
}

void Executor::start_transfer(Batch* b, int producer, std::size_t src_dev, std::size_t dst_dev, int dst_lane,
                              double bytes, std::vector<int> consumers, bool output_delivery,
                              const std::string& input_name) {
  const double scaled = bytes * double(b->size) / double(graph_batch_);
  const auto& src = board_.devices()[src_dev];
  const auto& dst = board_.devices()[dst_dev];
  double amount = scaled;
  if (src.domain == dst.domain) {
    // One domain: a copy reads and writes every byte; zero-copy moves none and pays the
    // synchronisation latency only (one byte keeps the route's latency in the model).
    amount = board_.domains()[src.domain].spec->transfer == platforms::SharedTransfer::copy ? 2 * scaled : 1;
  }
  Pending p;
  p.phase = Phase::transfer;
  p.batch = b;
  p.op = producer;
  p.device = src_dev;
  p.dst_device = dst_dev;
  p.dst_lane = dst_lane;
  p.consumers = std::move(consumers);
  p.output_delivery = output_delivery;
  p.graph_input = !input_name.empty();
  p.tensor = input_name;
  p.start_s = sg4::Engine::get_clock();
  p.record_start_s = p.start_s;
  if (chrome_) {
    auto& slots = copy_slots_[dst_dev];
    auto it = std::find(slots.begin(), slots.end(), 0);
    if (it == slots.end()) {
      slots.push_back(1);
      p.copy_slot = int(slots.size()) - 1;
    } else {
      *it = 1;
      p.copy_slot = int(it - slots.begin());
    }
  }
  sg4::ExecPtr exec = sg4::this_actor::exec_init({src.units[0], dst.units[0]}, {0, 0}, {0, amount, 0, 0});
  dram_use_changes();  // the copy changes the DRAM share of running operators
  ++dram_users_;
  add_activity(std::move(exec), std::move(p));
}

// ---------------------------------------------------------------------------------------
// Lanes

Pending Executor::pending_for(Phase phase, const Item& it, int lane, std::size_t device) const {
  Pending p;
  p.phase = phase;
  p.batch = it.batch;
  p.op = it.op;
  p.lane = lane;
  p.device = device;
  p.start_s = sg4::Engine::get_clock();
  p.record_start_s = p.start_s;
  return p;
}

bool Executor::cpu_item_ready(const Item& it) const {
  const auto i = std::size_t(it.op);
  return it.batch->preds_left[i] == 0 && it.batch->inputs_left[i] == 0;
}

bool Executor::launch_ready(const Item& it) const {
  if (online_) return true;  // placed only once every predecessor was issued
  return it.batch->launch_blockers[std::size_t(it.op)] == 0;
}

void Executor::pump() {
  // Repeat until nothing more starts: starting one thing never makes another startable in
  // the same instant except through launches, which are activities themselves.
  for (std::size_t l = 0; l < lanes_.size(); ++l) {
    if (lanes_[l].gpu) {
      try_start_gpu_kernel(int(l));
    } else {
      try_start_cpu_lane(int(l));
    }
  }
}

std::size_t Executor::next_launch(const LaneState& ls) const {
  if (!online_) return ls.launch_pos;
  std::size_t i = 0;
  while (i < ls.queue.size() && ls.queue[i].batch->launch_started[std::size_t(ls.queue[i].op)]) ++i;
  return i;
}

bool Executor::try_start_cpu_lane(int lane) {
  LaneState& ls = lane_state_[std::size_t(lane)];
  if (ls.busy || ls.launching) return false;
  // Candidates: this lane's next operator, and the next launch of each GPU lane it serves.
  const Item* best = nullptr;
  int best_gpu = -1;
  auto key = [&](const Item& it) { return std::pair(it.batch->id, online_ ? it.batch->order_key[std::size_t(it.op)] : ops_[std::size_t(it.op)].topo); };
  if (!ls.queue.empty() && cpu_item_ready(ls.queue.front())) best = &ls.queue.front();
  for (int gl : lanes_[std::size_t(lane)].served_gpu_lanes) {
    LaneState& gs = lane_state_[std::size_t(gl)];
    const std::size_t next = next_launch(gs);
    if (next >= gs.queue.size()) continue;
    const Item& it = gs.queue[next];
    if (!launch_ready(it)) continue;
    if (best == nullptr || key(it) < key(*best)) {
      best = &it;
      best_gpu = gl;
    }
  }
  if (best == nullptr) return false;
  if (best_gpu >= 0) {
    const Item it = *best;
    ++lane_state_[std::size_t(best_gpu)].launch_pos;
    it.batch->launch_started[std::size_t(it.op)] = 1;
    start_launch(lane, best_gpu, it);
  } else {
    const Item it = ls.queue.front();
    ls.queue.pop_front();
    start_dispatch_or_op(lane, it);
  }
  return true;
}

bool Executor::try_start_gpu_kernel(int lane) {
  LaneState& ls = lane_state_[std::size_t(lane)];
  if (ls.busy || ls.queue.empty()) return false;
  const Item it = ls.queue.front();
  const auto i = std::size_t(it.op);
  if (!it.batch->launched[i] || it.batch->preds_left[i] != 0 || it.batch->inputs_left[i] != 0) return false;
  ls.queue.pop_front();
  if (!online_) --ls.launch_pos;
  ls.busy = true;
  if (online_) ls.predicted_end = sg4::Engine::get_clock() + predict_on(lane, it.batch, it.op);
  const std::size_t dev = lanes_[std::size_t(lane)].device;
  busy_changed(dev, +1);
  start_op(pending_for(Phase::op, it, lane, dev));
  return true;
}

void Executor::start_dispatch_or_op(int lane, const Item& it) {
  LaneState& ls = lane_state_[std::size_t(lane)];
  ls.busy = true;
  if (online_) ls.predicted_end = sg4::Engine::get_clock() + predict_on(lane, it.batch, it.op);
  const std::size_t dev = lanes_[std::size_t(lane)].device;
  busy_changed(dev, +1);
  Pending p = pending_for(Phase::dispatch, it, lane, dev);
  const Work w = work_for(it.batch, it.op, dev, it.batch->kernel[std::size_t(it.op)]);
  if (w.overhead_s > 0) {
    // Dispatch: CPU time on the lane's first core before the kernel runs.
    const std::vector<int> units = board_.lane_units(dev, *lanes_[std::size_t(lane)].spec);
    const DeviceRuntime& rt = board_.devices()[dev];
    p.units = {units.front()};
    p.pstate = rt.pstate;
    p.flops_per_unit = w.overhead_s * rt.units[std::size_t(units.front())]->get_speed();
    board_.acquire(dev, p.units);
    p.mark = energy_.start(dev, p.units, p.start_s);
    sg4::ExecPtr exec = sg4::this_actor::exec_init({rt.units[std::size_t(units.front())]}, {p.flops_per_unit}, {0});
    add_activity(std::move(exec), std::move(p));
    return;
  }
  p.phase = Phase::op;
  start_op(std::move(p));
}

void Executor::start_op(Pending p) {
  const std::size_t dev = p.device;
  const DeviceRuntime& rt = board_.devices()[dev];
  const Work w = work_for(p.batch, p.op, dev, p.batch->kernel[std::size_t(p.op)]);
  p.phase = Phase::op;
  p.units = board_.lane_units(dev, *lanes_[std::size_t(p.lane)].spec);
  const std::size_t k = p.units.size();
  p.flops_per_unit = w.effective_flops / double(k);
  p.pstate = rt.pstate;
  p.start_s = sg4::Engine::get_clock();
  std::vector<sg4::Host*> hosts;
  hosts.reserve(k + 1);
  for (int u : p.units) hosts.push_back(rt.units[std::size_t(u)]);
  hosts.push_back(board_.domains()[rt.domain].memory_host);
  std::vector<double> flops(k + 1, p.flops_per_unit);
  flops[k] = 0;
  std::vector<double> bytes((k + 1) * (k + 1), 0.0);
  bytes[k] = w.effective_bytes;  // unit 0 -> memory host: the DRAM link
  board_.acquire(dev, p.units);
  board_.update_energy(dev, p.units);
  dram_use_changes();
  ++dram_users_;
  p.mark = energy_.start(dev, p.units, p.start_s);
  sg4::ExecPtr exec = sg4::this_actor::exec_init(hosts, flops, bytes);
  add_activity(std::move(exec), std::move(p));
}

void Executor::start_launch(int launch_lane, int gpu_lane, const Item& it) {
  LaneState& ls = lane_state_[std::size_t(launch_lane)];
  ls.launching = true;
  const std::size_t dev = lanes_[std::size_t(launch_lane)].device;
  busy_changed(dev, +1);
  const std::size_t gdev = lanes_[std::size_t(gpu_lane)].device;
  const Work w = work_for(it.batch, it.op, gdev, it.batch->kernel[std::size_t(it.op)]);
  const std::vector<int> units = board_.lane_units(dev, *lanes_[std::size_t(launch_lane)].spec);
  const DeviceRuntime& rt = board_.devices()[dev];
  Pending p = pending_for(Phase::launch, it, launch_lane, dev);
  p.dst_lane = gpu_lane;
  p.units = {units.front()};
  p.pstate = rt.pstate;
  p.flops_per_unit = w.overhead_s * rt.units[std::size_t(units.front())]->get_speed();
  board_.acquire(dev, p.units);
  p.mark = energy_.start(dev, p.units, p.start_s);
  sg4::ExecPtr exec = sg4::this_actor::exec_init({rt.units[std::size_t(units.front())]}, {p.flops_per_unit}, {0});
  add_activity(std::move(exec), std::move(p));
}

void Executor::dram_use_changes() const {
  // While other activities move bytes through DRAM, one starting or ending changes their
  // rates, and so their units' load: bill what ran so far at the old load. Alone, nothing
  // else's rate changes and the plugin's own updates suffice.
  if (dram_users_ > 0) board_.update_energy_of_busy_units();
}

void Executor::add_activity(sg4::ExecPtr exec, Pending p) {
  exec->start();
  ++activities_;
  running_.push_back(std::move(exec));
  pending_.push_back(std::move(p));
}

// ---------------------------------------------------------------------------------------
// Completions

void Executor::busy_changed(std::size_t device, int delta) {
  const double now = sg4::Engine::get_clock();
  const int lanes_on_device = int(std::count_if(lanes_.begin(), lanes_.end(), [&](const LaneInfo& l) { return l.device == device; }));
  if (online_) {
    const double x = double(busy_lanes_[device]) / double(std::max(1, lanes_on_device));
    const double dt = now - ewma_updated_[device];
    if (dt > 0) {
      const double a = std::exp(-dt / o_.busy_window_s);
      busy_ewma_[device] = busy_ewma_[device] * a + x * (1 - a);
      ewma_updated_[device] = now;
    }
  }
  if (delta == 0) return;
  if (busy_lanes_[device] == 0 && delta > 0) busy_since_[device] = now;
  busy_lanes_[device] += delta;
  if (busy_lanes_[device] == 0) busy_total_[device] += now - busy_since_[device];
}

traces::Record Executor::record(const Pending& p, traces::RecordKind kind, const std::string& op, std::size_t device,
                                int lane, double end_s) const {
  traces::Record r;
  r.run_id = o_.run_id;
  // A batch's records carry its first request; batch_id and iteration are the batch number.
  r.request_id = p.batch->requests.front();
  r.batch_id = p.batch->id;
  r.iteration = p.batch->id;
  r.record = kind;
  r.op = op;
  r.device = p_.devices[device].id;
  r.lane = lanes_[std::size_t(lane)].spec->id;
  r.start_us = p.record_start_s * 1e6;
  r.end_us = end_s * 1e6;
  return r;
}

void Executor::emit(traces::Record& r, const Pending& p, const std::string& thread) {
  if (csv_) csv_->record(r);
  if (chrome_) {
    const OpInfo& info = ops_[std::size_t(p.op)];
    if (r.record == traces::RecordKind::op) {
      r.args.emplace("op_type", g_.op(std::size_t(p.op)).type);
      r.args.emplace("op_class", std::string(platforms::to_string(info.demand.op_class)));
      const double scale = double(p.batch->size) / double(graph_batch_);
      r.args.emplace("flops", info.demand.flops * scale);
      r.args.emplace("bytes", (info.demand.bytes - info.demand.weight_bytes) * scale + info.demand.weight_bytes);
      r.args.emplace("intensity", info.features.intensity);
      r.args.emplace("weight_sparsity", info.features.weight_sparsity);
      r.args.emplace("batch_size", double(p.batch->size));
    }
    const auto ref = chrome_->slice(r, thread);
    // Flows: launch -> its kernel, producer -> each transfer of its outputs. A GPU operator's
    // slot holds its launch's slice until the kernel's replaces it.
    auto& slot = p.batch->slices[std::size_t(p.op)];
    if (r.record == traces::RecordKind::op) {
      if (lanes_[std::size_t(p.lane)].gpu) chrome_->flow(traces::LinkKind::launch, slot, ref);
      slot = ref;
    } else if (r.record == traces::RecordKind::transfer && !p.graph_input) {
      chrome_->flow(traces::LinkKind::transfer, slot, ref);
    } else if (r.record == traces::RecordKind::launch) {
      slot = ref;
    }
  }
}

void Executor::on_complete(Pending p) {
  const double now = sg4::Engine::get_clock();
  Batch* b = p.batch;
  const auto op = std::size_t(p.op);
  switch (p.phase) {
    case Phase::dispatch: {
      board_.release(p.device, p.units);
      Pending next = p;
      next.carried_J = energy_.finish(p.device, p.units, now, p.mark, p.pstate, p.flops_per_unit);
      next.units.clear();
      start_op(std::move(next));
      return;
    }
    case Phase::op: {
      board_.release(p.device, p.units);
      --dram_users_;
      dram_use_changes();
      const double joules = p.carried_J + energy_.finish(p.device, p.units, now, p.mark, p.pstate, p.flops_per_unit);
      LaneState& ls = lane_state_[std::size_t(p.lane)];
      ls.busy = false;
      --ls.depth;
      busy_changed(p.device, -1);
      ++executions_[p.device];
      ++op_execs_;
      if (csv_ || chrome_) {
        traces::Record r = record(p, traces::RecordKind::op, ops_[op].name, p.device, p.lane, now);
        r.kernel = platforms::to_string(b->kernel[op]);
        r.energy_J = joules;
        r.energy_method = traces::EnergyMethod::attributed;
        emit(r, p);
      }
      energy_attributed_[p.device] += joules;
      b->finished[op] = 1;
      --b->ops_left;
      const bool on_cpu = !lanes_[std::size_t(p.lane)].gpu;
      for (int s : ops_[op].succs) {
        const auto si = std::size_t(s);
        --b->preds_left[si];
        if (!online_ && on_cpu && lanes_[std::size_t(b->lane[si])].gpu) --b->launch_blockers[si];
      }
      // Transfers to consumers placed while it ran go first: a consumer placed below joins
      // them instead of starting its own.
      issue_transfers_after(b, p.op);
      if (online_ && on_cpu) issue_to_successors(b, p.op);
      break;
    }
    case Phase::launch: {
      board_.release(p.device, p.units);
      const double joules = energy_.finish(p.device, p.units, now, p.mark, p.pstate, p.flops_per_unit);
      LaneState& ls = lane_state_[std::size_t(p.lane)];
      ls.launching = false;
      busy_changed(p.device, -1);
      ++launches_;
      energy_attributed_[p.device] += joules;
      b->launched[op] = 1;
      if (online_) issue_to_successors(b, int(op));
      if (!online_) {
        for (int s : ops_[op].succs) {
          const auto si = std::size_t(s);
          if (lanes_[std::size_t(b->lane[si])].gpu) --b->launch_blockers[si];
        }
      }
      if (csv_ || chrome_) {
        traces::Record r = record(p, traces::RecordKind::launch, ops_[op].name, p.device, p.lane, now);
        r.kernel = platforms::to_string(b->kernel[op]);
        r.energy_J = joules;
        r.energy_method = traces::EnergyMethod::attributed;
        emit(r, p);
      }
      break;
    }
    case Phase::transfer: {
      --dram_users_;
      dram_use_changes();
      ++transfers_;
      if (p.copy_slot >= 0) copy_slots_[p.dst_device][std::size_t(p.copy_slot)] = 0;
      if (csv_ || chrome_) {
        traces::Record r = record(p, traces::RecordKind::transfer, p.graph_input ? p.tensor : ops_[op].name,
                                  p.dst_device, p.dst_lane, now);
        r.energy_method = traces::EnergyMethod::none;  // DRAM and link energy are not modelled
        emit(r, p, chrome_ ? r.device + " copy " + std::to_string(p.copy_slot) : std::string());
      }
      for (int c : p.consumers) --b->inputs_left[std::size_t(c)];
      if (p.output_delivery) --b->outputs_left;
      break;
    }
    case Phase::background:
      break;
  }
  if (b->ops_left == 0 && b->outputs_left == 0) finish_batch(b);
}

void Executor::sample(double t) {
  const double dt = t - sampled_at_;
  std::vector<std::pair<std::string, double>> rails;
  for (std::size_t d = 0; d < board_.devices().size(); ++d) {
    const DeviceRuntime& rt = board_.devices()[d];
    const double e = board_.consumed_energy_J(d);
    if (dt > 0) {
      const std::string rail = rt.spec->rail.empty() ? rt.spec->id : rt.spec->rail;
      const double watts = (e - sampled_energy_[d]) / dt;
      auto it = std::find_if(rails.begin(), rails.end(), [&](const auto& r) { return r.first == rail; });
      if (it == rails.end()) {
        rails.emplace_back(rail, watts);
      } else {
        it->second += watts;
      }
    }
    sampled_energy_[d] = e;
    const double freq = rt.spec->pstates[rt.pstate].freq_MHz;
    if (freq != last_freq_[d] || rt.online_units != last_online_[d]) {
      last_freq_[d] = freq;
      last_online_[d] = rt.online_units;
      if (csv_) {
        csv_->state({o_.run_id, t * 1e6, rt.spec->id, "freq_MHz", freq});
        csv_->state({o_.run_id, t * 1e6, rt.spec->id, "online_units", double(rt.online_units)});
      }
      if (chrome_) {
        chrome_->counter(rt.spec->id, "freq_MHz", t * 1e6, freq);
        chrome_->counter(rt.spec->id, "online_units", t * 1e6, double(rt.online_units));
      }
    }
  }
  // Power over the period that just ended, stamped at its start (a step function).
  for (const auto& [rail, watts] : rails) {
    if (csv_) csv_->power({o_.run_id, sampled_at_ * 1e6, rail, watts});
    if (chrome_) chrome_->counter("power", rail + " (W)", sampled_at_ * 1e6, watts);
  }
  sampled_at_ = t;
}

Summary Executor::run(double wall_start) {
  online_ = o_.policy != nullptr;
  graph_batch_ = g_.batch;
  if (o_.requests < 1) throw Error("--requests", "must be at least 1");
  if (o_.max_inflight_batches < 1) throw Error("--inflight", "must be at least 1");
  if (o_.busy_window_s <= 0) throw Error("busy window", "must be positive");
  if (p_.devices.size() > 64) throw Error(p_.origin, "the simulator handles at most 64 devices");
  resolve_lanes();
  resolve_workload();
  if (!online_) resolve_static_schedule();
  busy_lanes_.assign(p_.devices.size(), 0);
  busy_since_.assign(p_.devices.size(), 0);
  busy_total_.assign(p_.devices.size(), 0);
  busy_ewma_.assign(p_.devices.size(), 0);
  ewma_updated_.assign(p_.devices.size(), 0);
  executions_.assign(p_.devices.size(), 0);
  energy_attributed_.assign(p_.devices.size(), 0);
  copy_slots_.resize(p_.devices.size());
  open_outputs();
  latencies_.reserve(std::size_t(std::min<std::int64_t>(o_.requests, 10'000'000)));

  if (o_.arrivals.kind == platforms::ArrivalSpec::Kind::closed) {
    const std::int64_t clients = o_.arrivals.clients > 0 ? o_.arrivals.clients : graph_batch_;
    for (std::int64_t c = 0; c < clients && issued_ < o_.requests; ++c) arrive(0);
  } else {
    open_ = std::make_unique<platforms::OpenArrivals>(o_.arrivals, o_.seed);
    if (o_.arrivals.kind == platforms::ArrivalSpec::Kind::file && std::int64_t(open_->file_size()) < o_.requests) {
      throw Error(o_.arrivals.text, "the arrivals file lists " + std::to_string(open_->file_size()) +
                                        " requests, fewer than --requests " + std::to_string(o_.requests));
    }
    next_arrival_ = open_->next().value_or(kInf);
  }
  const std::string mode_start = board_.power_mode();

  for (;;) {
    double now = sg4::Engine::get_clock();
    while (next_arrival_ <= now + kTimeEpsilon) {
      arrive(next_arrival_);
      next_arrival_ = issued_ < o_.requests ? open_->next().value_or(kInf) : kInf;
    }
    if (issued_ < o_.requests && next_arrival_ == kInf && !open_ && waiting_.empty() && inflight_.empty()) {
      throw Error("simulator", "internal: closed loop with no request in flight");
    }
    if (open_ && next_arrival_ == kInf && issued_ < o_.requests) {
      throw Error(o_.arrivals.text, "the arrivals file lists " + std::to_string(open_->file_size()) +
                                        " requests, fewer than --requests " + std::to_string(o_.requests));
    }
    while (try_form_batch()) {
    }
    pump();
    if (completed_ >= o_.requests) break;
    if (next_sample_ <= now + kTimeEpsilon) {
      sample(now);
      next_sample_ = now + o_.sample_period_s;
    }
    double timer = next_arrival_;
    if (!waiting_.empty() && std::int64_t(inflight_.size()) < o_.max_inflight_batches) {
      timer = std::min(timer, waiting_.front().second + o_.batch_timeout_s);
    }
    if (running_.empty()) {
      // Every timer due now was handled above; one still due, or none at all (samples alone
      // make no progress), means no progress is possible.
      if (timer == kInf || timer <= now + kTimeEpsilon) {
        throw Error("simulator", "internal: nothing runs and nothing can start at " + std::to_string(now * 1e6) +
                                     " us (" + std::to_string(inflight_.size()) + " batches in flight, " +
                                     std::to_string(waiting_.size()) + " requests waiting)");
      }
      sg4::this_actor::sleep_until(std::max(std::min(timer, next_sample_), now + kTimeEpsilon));
      continue;
    }
    timer = std::min(timer, next_sample_);
    ssize_t i = timer == kInf ? sg4::Activity::wait_any(running_)
                              : sg4::Activity::wait_any_for(running_, std::max(kTimeEpsilon, timer - now));
    if (i < 0 || std::size_t(i) >= running_.size()) continue;  // a timer is due
    Pending p = std::move(pending_[std::size_t(i)]);
    running_[std::size_t(i)] = std::move(running_.back());
    running_.pop_back();
    pending_[std::size_t(i)] = std::move(pending_.back());
    pending_.pop_back();
    on_complete(std::move(p));
  }

  const double end = last_completion_;
  if (csv_ || chrome_) sample(sg4::Engine::get_clock());
  Summary s;
  s.model = g_.name;
  s.platform = p_.name;
  s.power_mode_start = mode_start;
  s.power_mode_end = board_.power_mode();
  s.placement = online_ ? "policy " + o_.policy->name() : "schedule";
  s.batch = graph_batch_;
  s.requests = completed_;
  s.batches = batches_formed_;
  s.makespan_s = end;
  std::sort(latencies_.begin(), latencies_.end());
  double sum = 0;
  for (double l : latencies_) sum += l;
  s.latency_mean_s = latencies_.empty() ? 0 : sum / double(latencies_.size());
  s.latency_p50_s = percentile(latencies_, 50);
  s.latency_p95_s = percentile(latencies_, 95);
  s.latency_p99_s = percentile(latencies_, 99);
  s.latency_max_s = latencies_.empty() ? 0 : latencies_.back();
  // Over the span the requests were served: from the first arrival to the last answer.
  s.throughput_rps = end > first_arrival_ ? double(completed_) / (end - first_arrival_) : 0;
  double total = 0;
  for (std::size_t d = 0; d < p_.devices.size(); ++d) {
    DeviceSummary ds;
    ds.id = p_.devices[d].id;
    if (busy_lanes_[d] > 0) busy_total_[d] += sg4::Engine::get_clock() - busy_since_[d];
    ds.utilisation = end > 0 ? std::min(1.0, busy_total_[d] / end) : 0;
    ds.energy_J = board_.consumed_energy_J(d);
    ds.attributed_J = energy_attributed_[d];
    ds.executions = executions_[d];
    total += ds.energy_J;
    s.devices.push_back(ds);
  }
  s.static_energy_J = board_.static_energy_J();
  s.energy_J = total + s.static_energy_J;
  s.energy_per_inference_J = completed_ > 0 ? s.energy_J / double(completed_) : 0;
  s.op_executions = op_execs_;
  s.transfers = transfers_;
  s.launches = launches_;
  s.simgrid_activities = activities_;
  if (csv_) {
    s.records_written = csv_->records_written();
    csv_->commit();
  }
  if (chrome_) chrome_->commit();
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count() - wall_start;
  return s;
}

}  // namespace

Summary run_executor(const SimulationOptions& options, Board& board, EnergyAccounting& energy, double wall_start) {
  Executor e(options, board, energy);
  return e.run(wall_start);
}

}  // namespace sparoa::sim::detail
