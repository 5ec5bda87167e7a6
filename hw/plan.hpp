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
#include "hw/gpu/gpu_runtime.hpp"
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
  std::string domain;  // memory domain that holds it ("" for weights read in place by CPU lanes)
  int buffer = -1;     // activation and output slots: index into Plan::buffers
  int producer = -1;   // step that writes it (-1 for weights and graph inputs)
  std::vector<std::size_t> readers;  // steps that read it
};

struct PlanBuffer {
  std::string domain;
  std::size_t bytes = 0;
};

enum class LaneKind { cpu, gpu };

struct PlanLane {
  std::string id;
  std::string device;
  // Where its operators' outputs live. A GPU sharing its memory domain with the CPU keeps the
  // domain when the domain is zero_copy (mapped memory, no transfers) and gets a private one
  // ("<domain>/<device>") when it is copy, so that the copies the simulator models happen.
  std::string domain;
  std::vector<int> cpus;           // OS CPU ids it is pinned to (a GPU lane: its launch lane's)
  std::vector<std::size_t> steps;  // in execution order
  LaneKind kind = LaneKind::cpu;
  std::string launch_lane;         // GPU lane: the CPU lane that pays its launches
};

struct Plan {
  std::vector<PlanLane> lanes;     // lanes with at least one step, in platform order
  std::vector<PlanStep> steps;
  std::vector<Slot> slots;
  std::vector<PlanBuffer> buffers;
  std::map<std::string, int> input_slots;   // graph input -> slot
  std::map<std::string, int> output_slots;  // graph output -> slot
  std::int64_t batch = 1;
  // How each memory domain is allocated: host for CPU-only domains, pinned for host domains
  // that copies to or from a GPU touch, device for a GPU's own memory, mapped for a domain
  // that CPU and GPU lanes share zero-copy.
  std::map<std::string, gpu::MemoryKind> domain_kinds;

  bool has_gpu() const;
  gpu::MemoryKind kind_of(const std::string& domain) const;  // weights ("") and unknown: host

  std::size_t buffer_bytes() const;         // activations and outputs, with reuse
  std::size_t unshared_bytes() const;       // the same without reuse (one buffer per tensor)
};

// Throws sparoa::Error (naming the schedule, lane or operator) when the schedule does not fit
// the graph or the platform (validate_schedule runs first), or a lane is not in `lane_cpus`.
Plan make_plan(const graph::Graph& g, const platforms::Platform& p, const graph::Schedule& s, const std::string& schedule_origin,
               const std::map<std::string, std::vector<int>>& lane_cpus);

}  // namespace sparoa::hw
