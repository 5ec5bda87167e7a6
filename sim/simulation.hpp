#pragma once
// One simulation: a model on a platform, served request by request under an arrival process
// with dynamic batching, placed by a static schedule or an online policy, under a hardware
// state trace. SimGrid allows one engine per process, so simulate() may run once per process
// (parallel runs are separate processes; see DESIGN.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "platforms/observation.hpp"
#include "platforms/platform.hpp"
#include "platforms/arrivals.hpp"
#include "platforms/state_trace.hpp"
#include "traces/record.hpp"

namespace sparoa::sim {

struct SimulationOptions {
  const graph::Graph* graph = nullptr;        // features computed, bound to the batch size
  const platforms::Platform* platform = nullptr;
  const graph::Schedule* schedule = nullptr;  // either a static schedule ...
  std::string schedule_origin = "schedule";  // its file, for messages
  platforms::OnlinePolicy* policy = nullptr;  // ... or an online policy
  platforms::ArrivalSpec arrivals;                       // default: closed loop, one client per batch slot
  std::int64_t requests = 100;
  double batch_timeout_s = 0;  // a partial batch leaves when its oldest request waited this long
  int max_inflight_batches = 2;  // batches in the lanes at once (pipelining depth)
  const platforms::StateTrace* state = nullptr;
  std::uint64_t seed = 1;
  std::filesystem::path csv;     // per-operator trace CSV (+ .power.csv, .state.csv); empty: none
  std::filesystem::path chrome;  // Chrome trace JSON; empty: none
  double sample_period_s = 1e-3;  // power and state samples in the outputs
  double busy_window_s = 10e-3;   // time constant of the observation's busy fraction
  std::string run_id = "sim";
  traces::Provenance provenance;  // written into the CSV header (seed and SimGrid version are filled in)
};

struct DeviceSummary {
  std::string id;
  double utilisation = 0;     // share of the run with at least one of its lanes busy
  double energy_J = 0;        // from SimGrid's energy plugin, idle included
  double attributed_J = 0;    // part attributed to operators and launches (above idle)
  std::int64_t executions = 0;  // operator executions on it
};

struct Summary {
  std::string model, platform, power_mode_start, power_mode_end, placement;
  std::int64_t batch = 1;
  std::int64_t requests = 0, batches = 0;
  double makespan_s = 0;
  double latency_mean_s = 0, latency_p50_s = 0, latency_p95_s = 0, latency_p99_s = 0, latency_max_s = 0;
  double throughput_rps = 0;
  double energy_J = 0;         // devices + static power
  double static_energy_J = 0;
  double energy_per_inference_J = 0;
  std::vector<DeviceSummary> devices;
  std::int64_t op_executions = 0, transfers = 0, launches = 0;
  std::int64_t simgrid_activities = 0;  // every Exec the run created (operators, dispatches,
                                        // launches, transfers, background)
  std::uint64_t records_written = 0;
  double wall_s = 0;
};

// Throws sparoa::Error for inconsistent input (schedule for another model, batch mismatch,
// fusions, a second call in one process).
Summary simulate(const SimulationOptions& options);

// Nearest-rank percentile of `sorted` (ascending), p in [0, 100].
double percentile(const std::vector<double>& sorted, double p);

}  // namespace sparoa::sim
