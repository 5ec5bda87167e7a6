// greedy-eft, the co-execution baseline: online, each ready operator goes where its predicted
// finish is earliest given the current state. It reads only the observation (the same the
// RL agent gets) and the cost model: the lanes' queues, each device's frequency, online
// units and background load, and where it put the operator's producers (for transfers).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "policies/planning.hpp"
#include "support/error.hpp"

namespace sparoa::policies {
namespace {

class GreedyEftOnline final : public platforms::OnlinePolicy {
 public:
  explicit GreedyEftOnline(const PolicyContext& ctx)
      : ctx_(std::make_unique<PolicyContext>(ctx)), m_(std::make_unique<PlanningModel>(*ctx_)) {
    lane_free_.assign(m_->lanes(), 0.0);
    placed_device_.assign(m_->ops(), m_->host_device());
    for (std::size_t l = 0; l < m_->lanes(); ++l) lane_index_.emplace_back(m_->lane_id(l));
  }

  std::string name() const override { return "greedy-eft"; }

  platforms::Placement place(const platforms::Observation& obs) override {
    const platforms::Platform& p = ctx_->p();
    const std::size_t task = m_->task_of(obs.op_index);
    const platforms::PowerMode* mode = &observed_mode(p, obs);
    double best_finish = kNotAllowed;
    std::size_t best_lane = 0;
    Kernel best_kernel = Kernel::dense;
    for (std::size_t l = 0; l < m_->lanes(); ++l) {
      const std::size_t d = m_->device_of_lane(l);
      const platforms::Device& dev = p.device(m_->device_id(d));
      const platforms::DeviceState* state = nullptr;
      const platforms::LaneState* lane_state = nullptr;
      for (const auto& ds : obs.devices) {
        if (ds.id != dev.id) continue;
        state = &ds;
        for (const auto& ls : ds.lanes) {
          if (ls.id == lane_index_[l]) lane_state = &ls;
        }
      }
      const OperatingPoint at = operating_point(p, *mode, dev, state);
      const bool idle = lane_state != nullptr && lane_state->queue_depth == 0;
      const double free_at = idle ? obs.time_s : std::max(obs.time_s, lane_free_[l]);
      double ready = obs.time_s + m_->io_transfer(task, d);
      for (std::size_t pred : m_->predecessors()[task]) {
        ready = std::max(ready, obs.time_s + m_->transfer(pred, placed_device_[pred], d));
      }
      for (const std::string& kname : obs.kernels) {
        Kernel k;
        if (!platforms::parse_kernel(kname, k)) continue;
        if (k == Kernel::sparse && !m_->sparse_capable(task)) continue;
        const platforms::Work w = ctx_->cm().work(m_->demand(task), dev.kind, k, obs.batch, ctx_->g().batch);
        const double run = ctx_->cm().predict_s(w, lane_index_[l], at.pstate, at.units,
                                                p.bandwidth_GBps(dev.memory_domain, *mode)) /
                           (1.0 - at.background);
        const double finish = std::max(free_at, ready) + run;
        if (finish < best_finish) best_finish = finish, best_lane = l, best_kernel = k;
      }
    }
    lane_free_[best_lane] = best_finish;
    placed_device_[task] = m_->device_of_lane(best_lane);
    return platforms::Placement{lane_index_[best_lane], "", std::string(platforms::to_string(best_kernel))};
  }

 private:
  std::unique_ptr<PolicyContext> ctx_;  // owned copy: the model points into it
  std::unique_ptr<PlanningModel> m_;
  std::vector<std::string> lane_index_;
  std::vector<double> lane_free_;            // predicted time each lane runs dry
  std::vector<std::size_t> placed_device_;   // where each operator was last placed
};

class GreedyEft final : public Policy {
 public:
  // Its decisions on an idle board by the cost model: operators in topological order, each
  // where it finishes earliest, appended to its lane (no insertion).
  graph::Schedule schedule(const PolicyContext& ctx) const override {
    const PlanningModel m(ctx);
    std::vector<std::size_t> topo(m.ops());
    for (std::size_t t = 0; t < m.ops(); ++t) topo[t] = t;
    const ListSchedule ls = list_schedule(m.task_graph(), topo, false);
    std::vector<Kernel> kernel(m.ops());
    for (std::size_t t = 0; t < m.ops(); ++t) kernel[t] = m.best_kernel(t, m.device_of_lane(ls.processor[t]));
    return to_schedule(m, ls, kernel);
  }
  std::unique_ptr<platforms::OnlinePolicy> online(const PolicyContext& ctx) const override {
    return std::make_unique<GreedyEftOnline>(ctx);
  }
};

}  // namespace
}  // namespace sparoa::policies

using sparoa::policies::GreedyEft;
SPAROA_REGISTER_POLICY(GreedyEft, .name = "greedy-eft",
                       .description = "online co-execution: each ready operator where its predicted finish is earliest "
                                      "given the observed state",
                       .display_rank = 30, .online = true)
