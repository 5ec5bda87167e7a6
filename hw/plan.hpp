#pragma once
// The execution plan of a schedule on a platform: for each lane, its steps in order (a fused
// group of operators, or a transfer of a tensor into the lane's memory domain), which steps of
// other lanes each must wait for, and where every tensor lives. Activations share buffers by
// liveness: a buffer passes to a new tensor only when every reader of its previous tenant
// happens-before the new tenant's producer (through data dependencies and lane order), so
// concurrently running lanes can never overwrite what another lane still reads.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "hw/cpu/cpu_kernel.hpp"
#include "hw/tensor.hpp"
#include "platforms/platform.hpp"

namespace sparoa::hw {

enum class StepKind { op, transfer };

struct PlanStep {
  StepKind kind = StepKind::op;
  std::size_t lane = 0;                     // index into Plan::lanes
  FusedGroup group;                         // op: the operators it runs
  KernelChoice kernel = KernelChoice::dense;
  std::vector<int> inputs;                  // one slot per group input (-1: omitted); transfer: {source}
  std::vector<int> outputs;                 // one slot per group output; transfer: {copy}
  std::string tensor;                       // transfer: the tensor it moves
  std::vector<std::size_t> waits;           // steps of other lanes it needs finished, ascending

  // The operator the trace names: the group's root, or the producer of a transferred tensor.
  std::string op_name(const graph::Graph& g) const;
};

enum class SlotKind { weight, input, activation, output };

struct Slot {
  std::string tensor;
  DType dtype = DType::undefined;
  Shape shape;
  std::size_t bytes = 0;
  SlotKind kind = SlotKind::activation;
  std::string domain;  // memory domain that holds it
  int buffer = -1;     // activation and output slots: index into Plan::buffers
  int producer = -1;   // step that writes it (-1 for weights and graph inputs)
  std::vector<std::size_t> readers;  // steps that read it
};

struct PlanBuffer {
  std::string domain;
  std::size_t bytes = 0;
};

struct PlanLane {
  std::string id;
  std::string device;
  std::string domain;
  std::vector<int> cpus;           // OS CPU ids it is pinned to
  std::vector<std::size_t> steps;  // in execution order
};

struct Plan {
  std::vector<PlanLane> lanes;     // lanes with at least one step, in platform order
  std::vector<PlanStep> steps;
  std::vector<Slot> slots;
  std::vector<PlanBuffer> buffers;
  std::map<std::string, int> input_slots;   // graph input -> slot
  std::map<std::string, int> output_slots;  // graph output -> slot
  std::int64_t batch = 1;

  std::size_t buffer_bytes() const;         // activations and outputs, with reuse
  std::size_t unshared_bytes() const;       // the same without reuse (one buffer per tensor)
};

// Throws sparoa::Error (naming the schedule, lane or operator) when the schedule does not fit
// the graph or the platform (validate_schedule runs first), or a lane is not in `lane_cpus`.
Plan make_plan(const graph::Graph& g, const platforms::Platform& p, const graph::Schedule& s, const std::string& schedule_origin,
               const std::map<std::string, std::vector<int>>& lane_cpus);

}  // namespace sparoa::hw
