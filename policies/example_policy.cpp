// The worked example of policies/README.md: a whole policy in one file. Each operator goes
// to the device where the cost model predicts it runs fastest alone (with that device's
// faster kernel), ignoring transfers and queues; schedule_from_choices picks lanes and
// orders. Registered as `fastest-device`; nothing outside this file knows about it.
#include "policies/planning.hpp"

namespace {

class FastestDevice final : public sparoa::policies::Policy {
 public:
  sparoa::graph::Schedule schedule(const sparoa::policies::PolicyContext& ctx) const override {
    const sparoa::policies::PlanningModel m(ctx);
    std::vector<sparoa::policies::DeviceChoice> choice(m.ops());
    for (std::size_t t = 0; t < m.ops(); ++t) {
      for (std::size_t d = 1; d < m.devices(); ++d) {
        if (m.best_device_time(t, d) < m.best_device_time(t, choice[t].device)) choice[t].device = d;
      }
      choice[t].kernel = m.best_kernel(t, choice[t].device);
    }
    return sparoa::policies::schedule_from_choices(m, choice);
  }
};

}  // namespace

SPAROA_REGISTER_POLICY(FastestDevice, .name = "fastest-device",
                       .description = "example: each operator on the device predicted fastest for it alone",
                       .display_rank = 80)
