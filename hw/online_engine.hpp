#pragma once
// The online engine: serves requests on this machine's real kernels the way the simulator
// serves them (sim/simulation.hpp), so that tail latency under load, batching and policies
// that react to the board can be validated.
//
//  * Requests arrive in real time (closed loop, Poisson at a rate, or a file of times), are
//    batched with the simulator's rules (a batch leaves when full, when its oldest request
//    has waited the batch timeout, or when no more requests will come; at most
//    `max_inflight_batches` in the lanes at once), and each request's latency runs from its
//    scheduled arrival (an arrival thread that wakes late does not hide the delay).
//  * A static schedule queues every operator of a batch in its lane's order when the batch
//    starts. An online policy places each operator when its predecessors have finished,
//    through the same platforms::OnlinePolicy interface and the same Observation fields the
//    simulator fills; on this machine they come from /proc/stat and cpufreq (machine_state)
//    and from the engine's own lanes. The decision is made on the thread that finished the
//    last predecessor: no hand-off to a scheduler thread on the critical path.
//  * Lanes serve batches FIFO (DESIGN.md) and run their queue's head when its inputs are
//    ready. A partial batch runs on kernels built for its own size (one graph per size), as
//    the simulator scales its work; nothing is padded.
//  * A state trace starts real background work (background_work.hpp).
// CPU lanes only: a platform with GPU lanes is refused, naming the lane (the GPU path of the
// online engine is not built yet; the replay engine runs static schedules on GPU lanes).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "hw/replay.hpp"
#include "hw/tensor.hpp"
#include "platforms/arrivals.hpp"
#include "platforms/observation.hpp"
#include "platforms/platform.hpp"
#include "platforms/state_trace.hpp"
#include "traces/record.hpp"

namespace sparoa::hw {

struct OnlineOptions {
  // graphs[k - 1] is the model bound to batch size k, for k = 1 .. B (B = graphs.size(), the
  // largest batch); every one must be the same model.
  std::vector<const graph::Graph*> graphs;
  const platforms::Platform* platform = nullptr;
  const graph::Schedule* schedule = nullptr;  // either a static schedule (its batch is B) ...
  std::string schedule_origin = "schedule";
  platforms::OnlinePolicy* policy = nullptr;  // ... or an online policy
  platforms::ArrivalSpec arrivals;            // closed: C clients (0: B)
  std::int64_t requests = 100;
  double batch_timeout_s = 0;
  int max_inflight_batches = 2;
  const platforms::StateTrace* state = nullptr;
  std::map<std::string, TensorView> inputs;  // one per graph input, at batch B (a batch of k reads the first k)
  std::uint64_t seed = 1;                    // Poisson arrivals
  double busy_window_s = 10e-3;              // time constant of the observation's busy fraction
  int warmup_batches = 1;                    // per batch size, run before the first arrival (every kernel once)
  std::string run_id = "hw";
};

struct OnlineResult {
  // Op records (request_id = the batch's first request); online policies: state samples of
  // what the observation read off the machine per CPU device ("load", "background_load").
  traces::Trace trace;
  std::vector<double> latencies_s;     // per request, in request order
  std::int64_t batches = 0, partial_batches = 0;
  double makespan_s = 0;               // first arrival to last completion
  double throughput_rps = 0;
  // Steady-clock window of the run (seconds since its epoch), for integrating power samples.
  double window_begin_s = 0, window_end_s = 0;
  // Online policies: decisions taken, and host time per decision (observation + policy).
  std::int64_t decisions = 0;
  double decision_mean_us = 0, decision_max_us = 0, observe_mean_us = 0;
  std::uint64_t machine_refreshes = 0;
  // Open-loop arrivals: how late the arrival thread woke for them (its lateness is inside
  // the latencies, which run from the scheduled arrival), mean and max.
  double arrival_delay_mean_us = 0, arrival_delay_max_us = 0;
  std::int64_t kernels_built = 0;
  double setup_s = 0;
  std::vector<LaneReport> lanes;
  std::map<std::string, std::int64_t> executions_by_lane;
  std::map<std::string, double> stream_GBps;  // background memory streaming reached, by domain
  std::vector<std::string> notes;             // what the machine could not provide
};

// Throws sparoa::Error (one line naming the schedule, lane, operator, file or policy) for
// input that does not fit; nothing is written: the caller writes traces on success.
OnlineResult run_online(const OnlineOptions& options);

}  // namespace sparoa::hw
