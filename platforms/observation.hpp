#pragma once
// What an online policy sees when it places one ready operator (DESIGN.md's observation).
// The simulator fills it from its model, the hardware engine from the machine; policies/
// reads it and never sees either.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/features.hpp"
#include "platforms/op_class.hpp"

namespace sparoa::platforms {

struct LaneState {
  std::string id;
  int queue_depth = 0;  // operators placed on the lane and not finished (running included)
  bool busy = false;    // running something now
};

struct DeviceState {
  std::string id;
  double busy_fraction = 0;    // share of its lanes busy, exponentially averaged (window below)
  double freq_MHz = 0;         // current pstate
  int online_units = 0;        // cores / SM groups on in the current power mode
  double background_load = 0;  // fraction of its compute taken by other work (0..1)
  std::vector<LaneState> lanes;
};

struct DomainState {
  std::string id;
  double dram_utilisation = 0;  // bandwidth in use now / bandwidth (0..1)
  double background_load = 0;   // share of the bandwidth other work asks for
};

struct Observation {
  double time_s = 0;  // simulated (or wall) time since the start of the run
  double window_s = 0;  // averaging window of busy_fraction
  // Energy the whole board used since the start of the run (devices, idle and static power
  // included); 0 where nothing measures it.
  double energy_J = 0;
  std::string power_mode;
  std::vector<DeviceState> devices;
  std::vector<DomainState> memory_domains;
  // The operator to place.
  std::string op;
  std::size_t op_index = 0;  // into the graph's operators()
  std::string op_type;
  OpClass op_class = OpClass::elementwise;
  graph::Features features;
  std::vector<std::string> kernels;  // kernels it may use ("dense", maybe "sparse")
  std::int64_t batch = 1;            // requests in the batch it belongs to
  std::int64_t batch_id = 0;         // which batch (0, 1, ... in the order batches start)
  int depth = 0;                     // longest path from a graph input, in operators
  double remaining_critical_path_s = 0;  // by the cost model, best device per operator, this op included
  std::optional<graph::Thresholds> thresholds;  // when a predictor is in use
};

// A policy's answer: a lane (or only a device: the engine then takes that device's lane free
// earliest, ties to the lowest lane id) and a kernel.
struct Placement {
  std::string lane;    // empty when only `device` is given
  std::string device;  // ignored when lane is set
  std::string kernel = "dense";
};

// Told to an online policy when a batch has finished (a learning policy closes its episode).
struct BatchDone {
  std::int64_t batch_id = 0;
  std::int64_t requests = 0;
  double time_s = 0;          // when its last output arrived
  double latency_mean_s = 0;  // over its requests, from arrival
  double energy_J = 0;        // the board's energy since the start of the run, as in Observation
};

class OnlinePolicy {
 public:
  virtual ~OnlinePolicy() = default;
  virtual std::string name() const = 0;
  virtual Placement place(const Observation& obs) = 0;
  virtual void batch_done(const BatchDone&) {}
};

}  // namespace sparoa::platforms
