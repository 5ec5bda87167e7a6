#pragma once
// The policy interface (DESIGN.md: policies decide placements; they see the graph, the
// platform's cost model and, online, the observation; never the simulator or the hardware).
//
// Every policy makes a static schedule (graph, platform -> schedule), which the simulator
// runs and the hardware backend replays as a schedule file. An online policy also makes a
// platforms::OnlinePolicy that the simulator asks at every ready operator; its static
// schedule is its decisions on an idle board, frozen.
//
// A new policy is one class registered by name with SPAROA_REGISTER_POLICY in its own .cpp
// file under policies/ (see policies/README.md and example_policy.cpp); nothing else changes.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/features.hpp"
#include "graph/graph.hpp"
#include "graph/schedule.hpp"
#include "platforms/cost_model.hpp"
#include "platforms/observation.hpp"
#include "platforms/platform.hpp"

namespace sparoa::policies {

// What a policy may look at. The graph and platform outlive every policy object made from
// the context (online policies keep pointers to them).
struct PolicyContext {
  const graph::Graph* graph = nullptr;  // features computed, bound to the batch size
  const platforms::Platform* platform = nullptr;
  const platforms::CostModel* cost = nullptr;
  std::uint64_t seed = 1;                        // for policies that draw (random)
  std::optional<graph::Thresholds> thresholds;   // given, searched or predicted; else the policy's default
  graph::RhoSource rho_source = graph::RhoSource::default_rule;
  // Policy-specific settings as "key" -> "value" (e.g. the threshold policy's mixed=cost).
  // A key the policy does not know is an error naming it.
  std::map<std::string, std::string> options;

  const graph::Graph& g() const { return *graph; }
  const platforms::Platform& p() const { return *platform; }
  const platforms::CostModel& cm() const { return *cost; }
};

class Policy {
 public:
  virtual ~Policy() = default;
  // A complete schedule for ctx's graph and platform; throws sparoa::Error naming the
  // policy when it cannot make one (e.g. no GPU on the platform).
  virtual graph::Schedule schedule(const PolicyContext& ctx) const = 0;
  // The online form, or nullptr for a static policy.
  virtual std::unique_ptr<platforms::OnlinePolicy> online(const PolicyContext&) const { return nullptr; }
};

struct PolicyInfo {
  std::string name;         // what --policy takes
  std::string description;  // one line
  int display_rank = 100;   // order in listings and in `sparoa compare` (then by name)
  std::vector<std::string> option_keys;  // the PolicyContext::options it reads
  bool uses_thresholds = false;          // reads PolicyContext::thresholds
  bool online = false;                   // online() returns a policy
  // An option without which the policy cannot run (rl: its agent file); `sparoa compare`
  // leaves the policy out unless it is given or the policy is named.
  std::string requires_option;
  std::function<std::unique_ptr<Policy>()> make;
};

// Registers at static-initialisation time; a duplicate name is a fatal programming error
// reported on stderr.
bool register_policy(PolicyInfo info);
template <class T>
bool register_policy_class(PolicyInfo info) {
  info.make = [] { return std::make_unique<T>(); };
  return register_policy(std::move(info));
}
// Every registered policy, by (display_rank, name).
std::vector<PolicyInfo> registered_policies();
const PolicyInfo& policy_info(const std::string& name);  // throws sparoa::Error listing the names
std::unique_ptr<Policy> make_policy(const std::string& name);

// Checks ctx.options against the policy's option_keys; throws naming an unknown key.
void check_options(const PolicyContext& ctx, const PolicyInfo& info);

}  // namespace sparoa::policies

// Registers `Class` (default-constructible, derived from Policy) with the PolicyInfo fields
// given as designated initialisers: SPAROA_REGISTER_POLICY(Heft, .name = "heft", ...).
// (Fields left out keep their defaults; GCC would warn about each.)
#define SPAROA_REGISTER_POLICY(Class, ...)                                                     \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"") \
  namespace {                                                                                   \
  [[maybe_unused]] const bool sparoa_registered_##Class =                                       \
      ::sparoa::policies::register_policy_class<Class>(::sparoa::policies::PolicyInfo{__VA_ARGS__}); \
  }                                                                                             \
  _Pragma("GCC diagnostic pop")
