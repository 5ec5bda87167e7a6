#pragma once
// The options of an online run (requests arriving, dynamic batching, a policy placing each
// operator, background work), shared by `sparoa run` on hardware and `sparoa validate`,
// with the simulator's meaning (`sparoa simulate` takes the same words).
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/model_source.hpp"
#include "cli/policy_args.hpp"
#include "graph/graph.hpp"
#include "hw/online_engine.hpp"
#include "hw/tensor.hpp"
#include "hw/tensor_io.hpp"
#include "platforms/cost_model.hpp"
#include "platforms/state_trace.hpp"

namespace sparoa::cli {

struct OnlineArgs {
  std::string arrivals = "closed";
  std::int64_t requests = 100;
  double batch_timeout_us = 0;
  int inflight = 2;
  std::string state;
  std::string policy;  // online policy name (cpu-only, gpu-only, greedy-eft, rl, ...)
  PolicyArgs policy_args;  // --agent, --option (the seed is the command's)
  std::string summary;  // one-row CSV, the simulator's columns
  std::vector<CLI::Option*> selectors;  // given: the run is online

  bool online() const;
};

// Adds --arrivals, --requests, --batch-timeout-us, --inflight, --state, --agent, --option,
// --summary (and --policy when `add_policy`; validate has its own).
void add_online_options(CLI::App& cmd, OnlineArgs& a, bool add_policy);

// The model bound to every batch size 1..source.batch: a partial batch runs on kernels of its
// own size, as the simulator scales its work.
std::vector<graph::Graph> load_model_sizes(const ModelSource& source);

// Everything an online hardware run needs that must outlive it.
struct OnlineSetup {
  std::vector<graph::Graph> graphs;
  std::optional<platforms::StateTrace> state;
  std::unique_ptr<platforms::CostModel> cost;
  policies::PolicyContext ctx;
  std::unique_ptr<platforms::OnlinePolicy> policy;
  std::vector<hw::NamedTensor> inputs;
  std::string placement;  // "schedule FILE" or "policy NAME", for reports
};

// Loads the model at every size, the state trace and the policy (when no schedule), and
// seeded random inputs; fills `o` (schedule left to the caller).
void prepare_online(const OnlineArgs& a, const ModelSource& model, const platforms::Platform& platform, std::uint64_t seed,
                    OnlineSetup& setup, hw::OnlineOptions& o);

// A fresh policy object of the same kind (validate runs one on hardware, one in the simulator).
std::unique_ptr<platforms::OnlinePolicy> make_policy_again(const OnlineArgs& a, OnlineSetup& setup);

// The summary line set: latency percentiles over requests, throughput, batches.
struct LatencyFigures {
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;  // seconds
};
LatencyFigures latency_figures(std::vector<double> latencies_s);

}  // namespace sparoa::cli
