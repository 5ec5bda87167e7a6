#pragma once
// The SAC agent's view of one decision: the state vector it reads and the actions it may
// take, built from the observation (DESIGN.md) and the cost model alone, the same two things
// greedy-eft reads. Actions are (device slot x kernel): slot 0 and 1 are the platform's
// first and second devices in file order, kernel 0 dense and 1 sparse; an action the
// operator or the platform does not allow is masked out. Within the chosen device the agent
// takes the lane predicted to finish the operator first, as greedy-eft does.
//
// The state (kFeatures numbers, all of order 1):
//   operator class one-hot; log FLOPs, log bytes, log intensity, weight and activation
//   sparsity, has a sparse kernel; its (rho, I) quadrant under the thresholds in use;
//   per action: allowed, predicted finish relative to the best action (log ratio), predicted
//   finish and run time against the model's lower bound (log), transfer-in time, whether
//   its lane pays GPU kernel launches (work there delays every GPU operator behind it),
//   whether it is the plan's choice (HEFT by the cost model on an idle board: what a static
//   planner would do; the agent learns when to follow it and when the live state says not);
//   per device slot: busy fraction, queued operators, frequency and online units against
//   the maximum, background load; DRAM utilisation and background load (largest domain);
//   graph context: depth, remaining critical path against the lower bound and against the
//   whole, the share of its producers on slot 1, time since the request began.
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "policies/planning.hpp"

namespace sparoa::policies::rl {

inline constexpr int kDeviceSlots = 2;
inline constexpr int kKernels = 2;
inline constexpr int kActions = kDeviceSlots * kKernels;
inline constexpr int kPerAction = 7;
inline constexpr int kPerSlot = 5;
inline constexpr int kFeatures = int(platforms::kOpClassCount) + 6 + 2 + kActions * kPerAction + kDeviceSlots * kPerSlot + 2 + 5;
// Changes whenever the meaning of a feature changes: checkpoints record it.
inline constexpr int kFeatureVersion = 1;

using State = std::array<double, kFeatures>;
using Mask = std::array<bool, kActions>;

class FeatureBuilder {
 public:
  // Throws sparoa::Error when the platform has more than kDeviceSlots devices.
  explicit FeatureBuilder(const PolicyContext& ctx);

  // The state and the allowed actions for obs (at least one is allowed).
  void observe(const platforms::Observation& obs, State& state, Mask& mask);
  // The placement of `action` for the operator last observed; remembers it (where the
  // operator's outputs live, when the lane is predicted to run dry).
  platforms::Placement commit(int action);
  // The plan's action for the operator last observed (an allowed one).
  int plan_action() const { return plan_action_; }

  // Predicted finish of `action` for the operator last observed (infinite when not allowed).
  double predicted_finish(int action) const { return finish_[std::size_t(action)]; }
  // The graph context the simulator puts in the observation, by the same rule, per task.
  int depth(std::size_t task) const { return depth_[task]; }
  double remaining_critical_path_s(std::size_t task) const { return rcp_[task]; }
  double lower_bound_s() const { return lower_bound_s_; }
  const PlanningModel& model() const { return *m_; }

 private:
  std::unique_ptr<PolicyContext> ctx_;  // owned copy: the model points into it
  std::unique_ptr<PlanningModel> m_;
  double lower_bound_s_ = 0, critical_path_s_ = 0;
  int max_depth_ = 1;
  std::vector<int> depth_;
  std::vector<double> rcp_;
  graph::Thresholds thresholds_;
  std::vector<std::vector<std::size_t>> slot_lanes_;  // lanes of each device slot
  std::vector<double> lane_free_;                     // predicted time each lane runs dry
  std::vector<std::size_t> placed_device_;            // per task
  std::vector<bool> launch_lane_;
  std::vector<int> plan_;  // per task: the plan's action
  int plan_action_ = 0;                     // per lane: pays GPU launches
  std::vector<double> max_freq_MHz_;
  std::vector<int> max_units_;
  std::int64_t batch_id_ = -1;
  double batch_start_s_ = 0;
  // The last observation's per-action choice.
  std::size_t task_ = 0;
  std::array<std::size_t, kActions> lane_{};
  std::array<double, kActions> finish_{};
};

}  // namespace sparoa::policies::rl
