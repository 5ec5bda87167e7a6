#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "policies/policy.hpp"
#include "support/error.hpp"

namespace sparoa::policies {
namespace {

// A function-local static: registrations run during static initialisation of other files.
std::vector<PolicyInfo>& registry() {
  static std::vector<PolicyInfo> policies;
  return policies;
}

std::string names() {
  std::string out;
  for (const PolicyInfo& p : registered_policies()) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

}  // namespace

bool register_policy(PolicyInfo info) {
  auto& r = registry();
  if (info.name.empty() || !info.make ||
      std::any_of(r.begin(), r.end(), [&](const PolicyInfo& p) { return p.name == info.name; })) {
    std::fprintf(stderr, "sparoa: policy '%s' registered twice or without a name or factory\n", info.name.c_str());
    std::abort();  // a programming error in the build, never user input
  }
  r.push_back(std::move(info));
  return true;
}

std::vector<PolicyInfo> registered_policies() {
  std::vector<PolicyInfo> out = registry();
  std::sort(out.begin(), out.end(), [](const PolicyInfo& a, const PolicyInfo& b) {
    return a.display_rank != b.display_rank ? a.display_rank < b.display_rank : a.name < b.name;
  });
  return out;
}

const PolicyInfo& policy_info(const std::string& name) {
  for (const PolicyInfo& p : registry()) {
    if (p.name == name) return p;
  }
  throw Error("policy '" + name + "'", "unknown policy (policies: " + names() + ")");
}

std::unique_ptr<Policy> make_policy(const std::string& name) { return policy_info(name).make(); }

void check_options(const PolicyContext& ctx, const PolicyInfo& info) {
  for (const auto& [key, value] : ctx.options) {
    if (std::find(info.option_keys.begin(), info.option_keys.end(), key) == info.option_keys.end()) {
      std::string known;
      for (const auto& k : info.option_keys) known += (known.empty() ? "" : ", ") + k;
      throw Error("policy " + info.name, "unknown option '" + key + "'" +
                                             (known.empty() ? " (it takes none)" : " (options: " + known + ")"));
    }
  }
}

}  // namespace sparoa::policies
