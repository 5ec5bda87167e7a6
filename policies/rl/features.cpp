#include "policies/rl/features.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "policies/oracle.hpp"
#include "policies/threshold_policy.hpp"
#include "support/error.hpp"

namespace sparoa::policies::rl {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log10 of a positive quantity mapped to roughly [0, 1] over `decades` decades above `floor`.
double log_scale(double x, double floor, double decades) {
  return std::clamp(std::log10(std::max(x, floor) / floor) / decades, 0.0, 1.5);
}

}  // namespace

FeatureBuilder::FeatureBuilder(const PolicyContext& ctx)
    : ctx_(std::make_unique<PolicyContext>(ctx)), m_(std::make_unique<PlanningModel>(*ctx_)) {
  const platforms::Platform& p = ctx_->p();
  if (m_->devices() > std::size_t(kDeviceSlots)) {
    throw Error("platform " + p.name,
                fmt::format("the rl agent places on at most {} devices; this platform has {}", kDeviceSlots, m_->devices()));
  }
  thresholds_ = ctx_->thresholds.value_or(default_thresholds());
  lower_bound_s_ = std::max(policies::lower_bound_s(*m_), 1e-9);
  // Whole critical path and depth by the same rule the observation uses (best lane alone).
  std::vector<double>& rcp = rcp_;
  std::vector<int>& depth = depth_;
  rcp.assign(m_->ops(), 0);
  depth.assign(m_->ops(), 0);
  for (std::size_t t = 0; t < m_->ops(); ++t) {
    for (std::size_t pr : m_->predecessors()[t]) depth[t] = std::max(depth[t], depth[pr] + 1);
    max_depth_ = std::max(max_depth_, depth[t]);
  }
  for (std::size_t t = m_->ops(); t-- > 0;) {
    double best = kInf;
    for (std::size_t l = 0; l < m_->lanes(); ++l) best = std::min(best, m_->min_exec_time(t, l));
    double tail = 0;
    for (std::size_t s : m_->successors()[t]) tail = std::max(tail, rcp[s]);
    rcp[t] = best + tail;
    critical_path_s_ = std::max(critical_path_s_, rcp[t]);
  }
  critical_path_s_ = std::max(critical_path_s_, 1e-9);
  slot_lanes_.resize(m_->devices());
  for (std::size_t l = 0; l < m_->lanes(); ++l) slot_lanes_[m_->device_of_lane(l)].push_back(l);
  lane_free_.assign(m_->lanes(), 0);
  const ListSchedule plan = heft(m_->task_graph());
  plan_.resize(m_->ops());
  for (std::size_t t = 0; t < m_->ops(); ++t) {
    const std::size_t d = m_->device_of_lane(plan.processor[t]);
    plan_[t] = int(d) * kKernels + (m_->best_kernel(t, d) == Kernel::sparse ? 1 : 0);
  }
  launch_lane_.assign(m_->lanes(), false);
  for (const auto& dev : p.devices) {
    for (const auto& lane : dev.lanes) {
      for (std::size_t l = 0; l < m_->lanes(); ++l) {
        if (!lane.launch_lane.empty() && m_->lane_id(l) == lane.launch_lane) launch_lane_[l] = true;
      }
    }
  }
  placed_device_.assign(m_->ops(), m_->host_device());
  for (std::size_t d = 0; d < m_->devices(); ++d) {
    const platforms::Device& dev = p.device(m_->device_id(d));
    double f = 0;
    for (const auto& ps : dev.pstates) f = std::max(f, ps.freq_MHz);
    max_freq_MHz_.push_back(std::max(f, 1.0));
    max_units_.push_back(std::max(dev.units, 1));
  }
}

void FeatureBuilder::observe(const platforms::Observation& obs, State& state, Mask& mask) {
  const platforms::Platform& p = ctx_->p();
  const platforms::CostModel& cm = ctx_->cm();
  task_ = m_->task_of(obs.op_index);
  if (obs.batch_id != batch_id_) batch_id_ = obs.batch_id, batch_start_s_ = obs.time_s;
  const platforms::PowerMode* mode = &observed_mode(p, obs);
  state.fill(0);
  mask.fill(false);
  std::size_t f = 0;
  state[f + std::size_t(obs.op_class)] = 1;
  f += platforms::kOpClassCount;
  const graph::Features& ft = obs.features;
  state[f++] = log_scale(ft.flops, 1e3, 10);
  state[f++] = log_scale(ft.bytes, 1e3, 8);
  state[f++] = log_scale(ft.intensity, 1e-2, 5);
  state[f++] = ft.weight_sparsity;
  state[f++] = ft.activation_sparsity.value_or(0);
  const bool sparse_ok =
      m_->sparse_capable(task_) && std::find(obs.kernels.begin(), obs.kernels.end(), "sparse") != obs.kernels.end();
  state[f++] = sparse_ok ? 1 : 0;
  const graph::Thresholds th = obs.thresholds.value_or(thresholds_);
  state[f++] = ft.weight_sparsity >= th.rho ? 1 : 0;
  state[f++] = ft.intensity >= th.intensity ? 1 : 0;

  // Predicted finish of each action, as greedy-eft predicts it.
  std::array<double, kActions> run{}, transfer_in{};
  finish_.fill(kInf);
  for (std::size_t slot = 0; slot < m_->devices(); ++slot) {
    const platforms::Device& dev = p.device(m_->device_id(slot));
    const platforms::DeviceState* ds = nullptr;
    for (const auto& d : obs.devices) {
      if (d.id == dev.id) ds = &d;
    }
    const OperatingPoint at = operating_point(p, *mode, dev, ds);
    double ready = obs.time_s + m_->io_transfer(task_, slot);
    for (std::size_t pr : m_->predecessors()[task_]) {
      ready = std::max(ready, obs.time_s + m_->transfer(pr, placed_device_[pr], slot));
    }
    const double bandwidth = p.bandwidth_GBps(dev.memory_domain, *mode);
    for (int k = 0; k < kKernels; ++k) {
      const auto kernel = k == 0 ? Kernel::dense : Kernel::sparse;
      if (kernel == Kernel::sparse && !sparse_ok) continue;
      const std::size_t a = slot * kKernels + std::size_t(k);
      mask[a] = true;
      const platforms::Work w = cm.work(m_->demand(task_), dev.kind, kernel, obs.batch, ctx_->g().batch);
      for (std::size_t l : slot_lanes_[slot]) {
        const platforms::LaneState* ls = nullptr;
        if (ds != nullptr) {
          for (const auto& x : ds->lanes) {
            if (x.id == m_->lane_id(l)) ls = &x;
          }
        }
        const bool idle = ls != nullptr && ls->queue_depth == 0;
        const double free_at = idle ? obs.time_s : std::max(obs.time_s, lane_free_[l]);
        const double t_run = cm.predict_s(w, m_->lane_id(l), at.pstate, at.units, bandwidth) / (1.0 - at.background);
        const double fin = std::max(free_at, ready) + t_run;
        if (fin < finish_[a]) finish_[a] = fin, lane_[a] = l, run[a] = t_run, transfer_in[a] = ready - obs.time_s;
      }
    }
  }
  double best = kInf;
  for (int a = 0; a < kActions; ++a) best = std::min(best, finish_[std::size_t(a)]);
  const double best_span = std::max(best - obs.time_s, 1e-9);
  for (std::size_t a = 0; a < std::size_t(kActions); ++a) {
    if (!mask[a]) {
      f += kPerAction;
      continue;
    }
    const double span = std::max(finish_[a] - obs.time_s, 1e-9);
    state[f++] = 1;
    state[f++] = std::min(std::log(span / best_span), 4.0) / 4.0;
    state[f++] = log_scale(span / lower_bound_s_, 1e-4, 4);
    state[f++] = log_scale(run[a] / lower_bound_s_, 1e-4, 4);
    state[f++] = std::min(transfer_in[a] / lower_bound_s_ * 10, 2.0);
    state[f++] = launch_lane_[lane_[a]] ? 1 : 0;
    state[f++] = int(a) == plan_[task_] ? 1 : 0;
  }
  plan_action_ = mask[std::size_t(plan_[task_])] ? plan_[task_] : -1;
  for (int a = 0; plan_action_ < 0 && a < kActions; ++a) {
    if (mask[std::size_t(a)]) plan_action_ = a;
  }
  for (std::size_t slot = 0; slot < std::size_t(kDeviceSlots); ++slot) {
    if (slot >= m_->devices()) {
      f += kPerSlot;
      continue;
    }
    const platforms::DeviceState* ds = nullptr;
    for (const auto& d : obs.devices) {
      if (d.id == m_->device_id(slot)) ds = &d;
    }
    if (ds == nullptr) {
      f += kPerSlot;
      continue;
    }
    int queued = 0;
    for (const auto& ls : ds->lanes) queued += ls.queue_depth;
    state[f++] = ds->busy_fraction;
    state[f++] = std::min(queued / 8.0, 2.0);
    state[f++] = ds->freq_MHz / max_freq_MHz_[slot];
    state[f++] = double(ds->online_units) / max_units_[slot];
    state[f++] = ds->background_load;
  }
  double dram = 0, dram_bg = 0;
  for (const auto& d : obs.memory_domains) dram = std::max(dram, d.dram_utilisation), dram_bg = std::max(dram_bg, d.background_load);
  state[f++] = dram;
  state[f++] = dram_bg;
  state[f++] = double(obs.depth) / max_depth_;
  state[f++] = std::min(obs.remaining_critical_path_s / lower_bound_s_, 2.0);
  state[f++] = obs.remaining_critical_path_s / critical_path_s_;
  const auto& preds = m_->predecessors()[task_];
  if (!preds.empty()) {
    int on_second = 0;
    for (std::size_t pr : preds) on_second += placed_device_[pr] == 1 ? 1 : 0;
    state[f] = double(on_second) / double(preds.size());
  }
  ++f;
  state[f++] = std::min((obs.time_s - batch_start_s_) / lower_bound_s_, 10.0) / 5.0;
  if (f != std::size_t(kFeatures)) throw Error("rl features", fmt::format("built {} features, expected {}", f, kFeatures));
}

platforms::Placement FeatureBuilder::commit(int action) {
  const std::size_t a = std::size_t(action);
  const std::size_t slot = a / kKernels;
  if (action < 0 || action >= kActions || finish_[a] == kInf) {
    throw Error("rl agent", fmt::format("action {} is not allowed for operator {}", action, ctx_->g().op(m_->op(task_)).name));
  }
  lane_free_[lane_[a]] = finish_[a];
  placed_device_[task_] = slot;
  return platforms::Placement{m_->lane_id(lane_[a]), "", a % kKernels == 0 ? "dense" : "sparse"};
}

}  // namespace sparoa::policies::rl
