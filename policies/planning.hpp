#pragma once
// The cost model's view of one graph on one platform, as planners need it: operators in
// topological order, each operator's predicted time on each lane with the best kernel of
// the lane's device, transfer times, and the step from per-operator device choices to a
// complete schedule (lanes and orders by insertion-based earliest finish time).
#include <cstddef>
#include <string>
#include <vector>

#include "graph/schedule.hpp"
#include "platforms/cost_model.hpp"
#include "policies/list_scheduling.hpp"
#include "policies/policy.hpp"

namespace sparoa::policies {

using platforms::Kernel;

class PlanningModel {
 public:
  explicit PlanningModel(const PolicyContext& ctx);  // throws sparoa::Error on a bad context

  const PolicyContext& context() const { return *ctx_; }
  std::size_t ops() const { return topo_.size(); }
  // Task t is operator topo(t) of the graph.
  graph::OpId op(std::size_t task) const { return topo_[task]; }
  std::size_t task_of(graph::OpId id) const { return task_of_[id]; }
  const std::vector<std::vector<std::size_t>>& successors() const { return succ_; }
  const std::vector<std::vector<std::size_t>>& predecessors() const { return pred_; }

  // Devices and lanes of the platform, in file order.
  std::size_t devices() const { return device_ids_.size(); }
  const std::string& device_id(std::size_t d) const { return device_ids_[d]; }
  platforms::DeviceKind device_kind(std::size_t d) const { return device_kind_[d]; }
  std::size_t lanes() const { return lane_ids_.size(); }
  const std::string& lane_id(std::size_t l) const { return lane_ids_[l]; }
  std::size_t device_of_lane(std::size_t l) const { return lane_device_[l]; }
  // The first device of a kind, or devices() when the platform has none.
  std::size_t first_device(platforms::DeviceKind kind) const;
  std::size_t host_device() const { return host_; }

  const platforms::OpDemand& demand(std::size_t task) const { return demand_[task]; }
  const graph::Features& features(std::size_t task) const;
  bool sparse_capable(std::size_t task) const { return demand_[task].sparse_capable; }
  // Predicted time alone on a lane with a kernel (sparse only where the operator has one),
  // plus moving graph inputs in from the host device and graph outputs back to it.
  double time(std::size_t task, std::size_t lane, Kernel kernel) const;
  // The kernel predicted fastest for the operator on a device, and its time on a lane.
  Kernel best_kernel(std::size_t task, std::size_t device) const { return best_kernel_[task * devices() + device]; }
  double best_time(std::size_t task, std::size_t lane) const {
    return time(task, lane, best_kernel(task, device_of_lane(lane)));
  }
  double best_device_time(std::size_t task, std::size_t device) const;  // over the device's lanes
  // What no run can beat on a lane: the roofline time alone, without the GPU launch (it
  // overlaps earlier work) and without transfers (the simulator may move bytes faster than
  // the cost model's copy when DRAM contention is below 1). The basis of lower bounds.
  double min_exec_time(std::size_t task, std::size_t lane) const { return exec_[task * lanes() + lane]; }
  // The least CPU time of a GPU placement: the kernel launch its launch lane pays (infinite
  // without a GPU).
  double min_launch_time(std::size_t task) const { return launch_[task]; }
  // Moving the graph inputs task t reads from the host device to `device`, and its graph
  // outputs back.
  double io_transfer(std::size_t task, std::size_t device) const;
  // Moving task t's outputs from device a to device b.
  double transfer(std::size_t task, std::size_t from_device, std::size_t to_device) const;

  // The abstract task graph with every operator allowed on the lanes of `allowed[t]` devices
  // (empty: every device), each with the kernel `kernel[t]` when given, else its best one.
  TaskGraph task_graph(const std::vector<std::vector<std::size_t>>& allowed = {},
                       const std::vector<std::vector<Kernel>>& kernel = {}) const;

 private:
  double transfer_bytes_s(double bytes, std::size_t from, std::size_t to) const;

  const PolicyContext* ctx_;
  std::vector<graph::OpId> topo_;
  std::vector<std::size_t> task_of_;
  std::vector<std::vector<std::size_t>> succ_, pred_;
  std::vector<std::string> device_ids_, lane_ids_;
  std::vector<platforms::DeviceKind> device_kind_;
  std::vector<std::size_t> lane_device_;
  std::size_t host_ = 0;
  std::vector<platforms::OpDemand> demand_;
  std::vector<double> output_bytes_, graph_input_bytes_, graph_output_bytes_;
  std::vector<double> time_;  // [task][lane][kernel]
  std::vector<double> exec_;  // [task][lane], best over kernels
  std::vector<double> launch_;  // [task]
  std::vector<Kernel> best_kernel_;
};

// A device's operating point as an online policy reads it from the observation: the pstate
// nearest the observed frequency, the online units and the background load (capped at
// 0.95); where the observation says nothing about the device, the figures of `mode`.
struct OperatingPoint {
  std::size_t pstate = 0;
  int units = 1;
  double background = 0;
};
OperatingPoint operating_point(const platforms::Platform& p, const platforms::PowerMode& mode,
                               const platforms::Device& dev, const platforms::DeviceState* state);
// The power mode the observation names, or the platform's initial one.
const platforms::PowerMode& observed_mode(const platforms::Platform& p, const platforms::Observation& obs);

// Per-operator choice of a planner: a device and a kernel.
struct DeviceChoice {
  std::size_t device = 0;
  Kernel kernel = Kernel::dense;
};

// The schedule that puts each operator on its chosen device and kernel, on the device's lane
// where it finishes earliest by the cost model, in decreasing upward rank (insertion-based
// list scheduling); lane orders by start time.
graph::Schedule schedule_from_choices(const PlanningModel& m, const std::vector<DeviceChoice>& choice);

// A finished list schedule of m's task graph as a schedule file, with `kernel` per task.
graph::Schedule to_schedule(const PlanningModel& m, const ListSchedule& ls, const std::vector<Kernel>& kernel);

// A schedule with the header fields (model, platform, batch) filled and no entries.
graph::Schedule empty_schedule(const PolicyContext& ctx);

// Makespan of a schedule by the cost model alone: lane orders as given, transfers between
// devices, no contention. What planners compare quickly before the simulator decides.
double predicted_makespan(const PlanningModel& m, const graph::Schedule& s);

}  // namespace sparoa::policies
