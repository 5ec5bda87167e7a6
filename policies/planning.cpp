#include "policies/planning.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "support/error.hpp"

namespace sparoa::policies {
namespace {

constexpr std::size_t kKernels = 2;
std::size_t kernel_index(Kernel k) { return k == Kernel::dense ? 0 : 1; }

}  // namespace

PlanningModel::PlanningModel(const PolicyContext& ctx) : ctx_(&ctx) {
  if (ctx.graph == nullptr || ctx.platform == nullptr || ctx.cost == nullptr) {
    throw Error("policy", "no model, platform or cost model given");
  }
  const graph::Graph& g = ctx.g();
  const platforms::Platform& p = ctx.p();
  if (!g.finalized()) throw Error(g.name.empty() ? "graph" : g.name, "the graph was not finalized");
  topo_ = g.topological_order();
  task_of_.assign(g.operators().size(), 0);
  for (std::size_t t = 0; t < topo_.size(); ++t) task_of_[topo_[t]] = t;
  succ_.assign(topo_.size(), {});
  pred_.assign(topo_.size(), {});
  for (std::size_t t = 0; t < topo_.size(); ++t) {
    for (graph::OpId s : g.successors(topo_[t])) succ_[t].push_back(task_of_[s]);
    std::sort(succ_[t].begin(), succ_[t].end());
    for (std::size_t s : succ_[t]) pred_[s].push_back(t);
  }
  const std::string& host = p.host_device().id;
  for (const platforms::Device& d : p.devices) {
    if (d.id == host) host_ = device_ids_.size();
    for (const platforms::Lane& l : d.lanes) {
      lane_ids_.push_back(l.id);
      lane_device_.push_back(device_ids_.size());
    }
    device_ids_.push_back(d.id);
    device_kind_.push_back(d.kind);
  }
  if (lane_ids_.empty()) throw Error("platform " + p.name, "has no lane");

  const std::vector<platforms::OpDemand> all = platforms::op_demands(g);
  const auto& outputs = g.output_names();
  for (std::size_t t = 0; t < topo_.size(); ++t) {
    const graph::Operator& op = g.op(topo_[t]);
    demand_.push_back(all[topo_[t]]);
    double out = 0, graph_out = 0, graph_in = 0;
    for (const std::string& name : op.outputs) {
      if (name.empty()) continue;
      const double b = double(g.tensor(name).size_bytes());
      out += b;
      if (std::find(outputs.begin(), outputs.end(), name) != outputs.end()) graph_out += b;
    }
    for (const std::string& name : op.inputs) {
      if (name.empty()) continue;
      const graph::Tensor& tensor = g.tensor(name);
      if (tensor.role == graph::TensorRole::input) graph_in += double(tensor.size_bytes());
    }
    output_bytes_.push_back(out);
    graph_output_bytes_.push_back(graph_out);
    graph_input_bytes_.push_back(graph_in);
  }

  const std::size_t n = topo_.size(), L = lane_ids_.size(), D = device_ids_.size();
  time_.assign(n * L * kKernels, kNotAllowed);
  exec_.assign(n * L, kNotAllowed);
  launch_.assign(n, kNotAllowed);
  best_kernel_.assign(n * D, Kernel::dense);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t l = 0; l < L; ++l) {
      const std::size_t d = lane_device_[l];
      const double io = io_transfer(t, d);
      for (Kernel k : {Kernel::dense, Kernel::sparse}) {
        if (k == Kernel::sparse && !demand_[t].sparse_capable) continue;
        const double alone = ctx.cm().predict_s(demand_[t], lane_ids_[l], k, g.batch, g.batch);
        time_[(t * L + l) * kKernels + kernel_index(k)] = alone + io;
        const double launch = device_kind_[d] == platforms::DeviceKind::gpu
                                  ? ctx.cm().work(demand_[t], device_kind_[d], k, g.batch, g.batch).overhead_s
                                  : 0.0;
        exec_[t * L + l] = std::min(exec_[t * L + l], alone - launch);
        if (device_kind_[d] == platforms::DeviceKind::gpu) launch_[t] = std::min(launch_[t], launch);
      }
    }
    for (std::size_t d = 0; d < D; ++d) {
      // The kernel is a property of the operator on the device: judged on its first lane.
      std::size_t lane = L;
      for (std::size_t l = 0; l < L && lane == L; ++l) {
        if (lane_device_[l] == d) lane = l;
      }
      if (lane == L) continue;
      if (demand_[t].sparse_capable && time(t, lane, Kernel::sparse) < time(t, lane, Kernel::dense)) {
        best_kernel_[t * D + d] = Kernel::sparse;
      }
    }
  }
}

double PlanningModel::transfer_bytes_s(double bytes, std::size_t from, std::size_t to) const {
  if (bytes <= 0 || from == to) return 0;
  return ctx_->cm().transfer_s(bytes, device_ids_[from], device_ids_[to]);
}

double PlanningModel::io_transfer(std::size_t task, std::size_t device) const {
  return transfer_bytes_s(graph_input_bytes_[task], host_, device) +
         transfer_bytes_s(graph_output_bytes_[task], device, host_);
}

const graph::Features& PlanningModel::features(std::size_t task) const { return ctx_->g().op(topo_[task]).features; }

std::size_t PlanningModel::first_device(platforms::DeviceKind kind) const {
  for (std::size_t d = 0; d < device_ids_.size(); ++d) {
    if (device_kind_[d] == kind) return d;
  }
  return device_ids_.size();
}

double PlanningModel::time(std::size_t task, std::size_t lane, Kernel kernel) const {
  return time_[(task * lanes() + lane) * kKernels + kernel_index(kernel)];
}

double PlanningModel::best_device_time(std::size_t task, std::size_t device) const {
  double best = kNotAllowed;
  for (std::size_t l = 0; l < lanes(); ++l) {
    if (lane_device_[l] == device) best = std::min(best, best_time(task, l));
  }
  return best;
}

double PlanningModel::transfer(std::size_t task, std::size_t from_device, std::size_t to_device) const {
  return transfer_bytes_s(output_bytes_[task], from_device, to_device);
}

TaskGraph PlanningModel::task_graph(const std::vector<std::vector<std::size_t>>& allowed,
                                    const std::vector<std::vector<Kernel>>& kernel) const {
  TaskGraph tg;
  tg.processors = lanes();
  tg.successors = succ_;
  tg.cost.assign(ops(), std::vector<double>(lanes(), kNotAllowed));
  for (std::size_t t = 0; t < ops(); ++t) {
    for (std::size_t l = 0; l < lanes(); ++l) {
      const std::size_t d = lane_device_[l];
      if (!allowed.empty() && std::find(allowed[t].begin(), allowed[t].end(), d) == allowed[t].end()) continue;
      const Kernel k = kernel.empty() || kernel[t].empty() ? best_kernel(t, d) : kernel[t][d];
      tg.cost[t][l] = time(t, l, k);
    }
  }
  tg.comm = [this](std::size_t t, std::size_t, std::size_t p, std::size_t q) {
    return transfer(t, lane_device_[p], lane_device_[q]);
  };
  return tg;
}

graph::Schedule empty_schedule(const PolicyContext& ctx) {
  graph::Schedule s;
  s.model_path = ctx.g().source_path;
  s.model_sha256 = ctx.g().model_sha256;
  s.platform_name = ctx.p().name;
  s.platform_power_mode = ctx.p().power_mode;
  s.batch = ctx.g().batch;
  return s;
}

graph::Schedule to_schedule(const PlanningModel& m, const ListSchedule& ls, const std::vector<Kernel>& kernel) {
  graph::Schedule s = empty_schedule(m.context());
  s.entries.resize(m.ops());
  for (std::size_t l = 0; l < ls.order.size(); ++l) {
    for (std::size_t k = 0; k < ls.order[l].size(); ++k) {
      const std::size_t t = ls.order[l][k];
      s.entries[t] = {m.context().g().op(m.op(t)).name, m.lane_id(l), std::string(platforms::to_string(kernel[t])),
                      std::int64_t(k), {}};
    }
  }
  return s;
}

graph::Schedule schedule_from_choices(const PlanningModel& m, const std::vector<DeviceChoice>& choice) {
  if (choice.size() != m.ops()) throw Error("policy", "a device choice is missing for some operator");
  std::vector<std::vector<std::size_t>> allowed(m.ops());
  std::vector<std::vector<Kernel>> kernels(m.ops(), std::vector<Kernel>(m.devices(), Kernel::dense));
  std::vector<Kernel> kernel(m.ops());
  for (std::size_t t = 0; t < m.ops(); ++t) {
    if (choice[t].kernel == Kernel::sparse && !m.sparse_capable(t)) {
      throw Error("policy", "operator '" + m.context().g().op(m.op(t)).name + "' has no sparse kernel");
    }
    allowed[t] = {choice[t].device};
    kernels[t][choice[t].device] = choice[t].kernel;
    kernel[t] = choice[t].kernel;
  }
  const TaskGraph tg = m.task_graph(allowed, kernels);
  return to_schedule(m, heft(tg), kernel);
}

double predicted_makespan(const PlanningModel& m, const graph::Schedule& s) {
  std::map<std::string, std::size_t> lane_index;
  for (std::size_t l = 0; l < m.lanes(); ++l) lane_index[m.lane_id(l)] = l;
  std::vector<std::size_t> lane(m.ops());
  std::vector<Kernel> kernel(m.ops());
  std::vector<std::vector<std::pair<std::int64_t, std::size_t>>> queue(m.lanes());
  for (const auto& e : s.entries) {
    const auto id = m.context().g().find_op(e.op);
    if (!id) throw Error("schedule", "unknown operator '" + e.op + "'");
    const std::size_t t = m.task_of(*id);
    lane[t] = lane_index.at(e.lane);
    platforms::parse_kernel(e.kernel, kernel[t]);
    queue[lane[t]].push_back({e.order, t});
  }
  for (auto& q : queue) std::sort(q.begin(), q.end());
  // Event-free evaluation: repeatedly run the lane heads whose predecessors are done.
  std::vector<double> finish(m.ops(), -1);
  std::vector<std::size_t> head(m.lanes(), 0);
  std::vector<double> lane_free(m.lanes(), 0);
  std::size_t done = 0;
  double makespan = 0;
  while (done < m.ops()) {
    bool progress = false;
    for (std::size_t l = 0; l < m.lanes(); ++l) {
      while (head[l] < queue[l].size()) {
        const std::size_t t = queue[l][head[l]].second;
        double ready = lane_free[l];
        bool ok = true;
        for (std::size_t p : m.predecessors()[t]) {
          if (finish[p] < 0) {
            ok = false;
            break;
          }
          ready = std::max(ready, finish[p] + m.transfer(p, m.device_of_lane(lane[p]), m.device_of_lane(l)));
        }
        if (!ok) break;
        finish[t] = ready + m.time(t, l, kernel[t]);
        lane_free[l] = finish[t];
        makespan = std::max(makespan, finish[t]);
        ++head[l];
        ++done;
        progress = true;
      }
    }
    if (!progress) throw Error("schedule", "lane orders deadlock");
  }
  return makespan;
}

OperatingPoint operating_point(const platforms::Platform& p, const platforms::PowerMode& mode,
                               const platforms::Device& dev, const platforms::DeviceState* state) {
  const auto& md = p.mode_device(mode, dev.id);
  OperatingPoint op{md.pstate, md.online_units, 0};
  if (state == nullptr) return op;
  op.units = state->online_units > 0 ? state->online_units : op.units;
  op.background = std::clamp(state->background_load, 0.0, 0.95);
  double nearest = std::numeric_limits<double>::infinity();
  for (std::size_t k = 0; k < dev.pstates.size(); ++k) {
    const double gap = std::abs(dev.pstates[k].freq_MHz - state->freq_MHz);
    if (gap < nearest) nearest = gap, op.pstate = k;
  }
  return op;
}

const platforms::PowerMode& observed_mode(const platforms::Platform& p, const platforms::Observation& obs) {
  for (const auto& pm : p.power_modes) {
    if (pm.name == obs.power_mode) return pm;
  }
  return p.initial_mode();
}

}  // namespace sparoa::policies
