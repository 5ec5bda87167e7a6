#include "cli/online_args.hpp"

#include <algorithm>
#include <numeric>

#include "hw/tensor_io.hpp"
#include "platforms/arrivals.hpp"
#include "support/error.hpp"
#include "support/stats.hpp"

namespace sparoa::cli {

bool OnlineArgs::online() const {
  return std::any_of(selectors.begin(), selectors.end(), [](const CLI::Option* o) { return o->count() > 0; });
}

void add_online_options(CLI::App& cmd, OnlineArgs& a, bool add_policy) {
  a.selectors.push_back(cmd.add_option("--arrivals", a.arrivals,
                                       "online run: closed, closed:CLIENTS, poisson:RATE (per s) or a file of arrival times (us)")
                            ->capture_default_str());
  a.selectors.push_back(cmd.add_option("--requests", a.requests, "online run: requests to serve")
                            ->check(CLI::PositiveNumber)->capture_default_str());
  a.selectors.push_back(cmd.add_option("--batch-timeout-us", a.batch_timeout_us,
                                       "online run: a partial batch leaves when its oldest request waited this long")
                            ->check(CLI::NonNegativeNumber)->capture_default_str());
  a.selectors.push_back(cmd.add_option("--inflight", a.inflight, "online run: batches in the lanes at once")
                            ->check(CLI::Range(1, 64))->capture_default_str());
  a.selectors.push_back(cmd.add_option("--state", a.state,
                                       "online run: state trace (time_us,action,target,value); background work starts "
                                       "on this machine as the simulator applies it"));
  if (add_policy) {
    a.selectors.push_back(cmd.add_option("--policy", a.policy,
                                         "online run: online policy placing each operator (cpu-only, greedy-eft, rl, ...)"));
  }
  a.selectors.push_back(cmd.add_option("--agent", a.policy_args.agent, "online run: agent file of the rl policy (sparoa train rl)"));
  a.selectors.push_back(cmd.add_option("--option", a.policy_args.options, "online run: policy option key=value; repeatable"));
  cmd.add_option("--summary", a.summary, "online run: write the summary as a one-row CSV");
}

std::vector<graph::Graph> load_model_sizes(const ModelSource& source) {
  std::vector<graph::Graph> graphs;
  for (std::int64_t k = 1; k <= source.batch; ++k) {
    ModelSource s = source;
    s.batch = k;
    graphs.push_back(load_model(s));
  }
  return graphs;
}

void prepare_online(const OnlineArgs& a, const ModelSource& model, const platforms::Platform& platform, std::uint64_t seed,
                    OnlineSetup& setup, hw::OnlineOptions& o) {
  setup.graphs = load_model_sizes(model);
  setup.ctx.seed = seed;
  const graph::Graph& g = setup.graphs.back();
  if (!a.state.empty()) setup.state = platforms::read_state_trace(a.state, platform);
  setup.cost = std::make_unique<platforms::CostModel>(platform);
  setup.ctx.graph = &g;
  setup.ctx.platform = &platform;
  setup.ctx.cost = setup.cost.get();
  if (!a.policy.empty() || !a.policy_args.agent.empty()) {
    setup.policy = make_policy_again(a, setup);
    setup.placement = "policy " + setup.policy->name();
  }
  std::uint64_t k = 0;
  for (const auto& name : g.input_names()) {
    const graph::Tensor& t = g.tensor(name);
    setup.inputs.push_back({name, hw::random_tensor(t.dtype, t.shape, seed * 1000003ULL + k++)});
  }
  for (const auto& gk : setup.graphs) o.graphs.push_back(&gk);
  o.platform = &platform;
  o.policy = setup.policy.get();
  o.arrivals = platforms::parse_arrivals(a.arrivals);
  o.requests = a.requests;
  o.batch_timeout_s = a.batch_timeout_us * 1e-6;
  o.max_inflight_batches = a.inflight;
  o.state = setup.state ? &*setup.state : nullptr;
  o.seed = seed;
  for (const auto& t : setup.inputs) o.inputs[t.name] = t.tensor.view();
}

std::unique_ptr<platforms::OnlinePolicy> make_policy_again(const OnlineArgs& a, OnlineSetup& setup) {
  PolicyArgs pa = a.policy_args;
  pa.seed = setup.ctx.seed;
  return make_online_policy(a.policy, pa, setup.ctx);
}

LatencyFigures latency_figures(std::vector<double> v) {
  LatencyFigures f;
  if (v.empty()) return f;
  std::sort(v.begin(), v.end());
  f.mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  f.p50 = nearest_rank_percentile(v, 50);
  f.p95 = nearest_rank_percentile(v, 95);
  f.p99 = nearest_rank_percentile(v, 99);
  f.max = v.back();
  return f;
}

}  // namespace sparoa::cli
