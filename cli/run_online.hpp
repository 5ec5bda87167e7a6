#pragma once
// `sparoa run` in online mode, also used by `sparoa validate` for its measured half.
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "cli/online_args.hpp"
#include "graph/schedule.hpp"
#include "hw/online_engine.hpp"

namespace sparoa::cli {

struct OnlineHwRun {
  hw::OnlineResult result;                           // trace with provenance and power samples
  std::vector<std::pair<std::string, double>> energy;  // per rail over the run, J (< 0: not covered)
  std::vector<std::string> meter_notes;
};

// Runs on this machine; schedule (with its origin) or the policy of `a`. Throws sparoa::Error.
OnlineHwRun run_online_hw(const OnlineArgs& a, const ModelSource& model, const platforms::Platform& platform,
                          const graph::Schedule* schedule, const std::string& schedule_origin, std::uint64_t seed,
                          const std::string& run_id, OnlineSetup& setup);
void print_online_hw(std::ostream& out, const OnlineArgs& a, const OnlineHwRun& run, const OnlineSetup& setup,
                     const platforms::Platform& platform);
// --csv, --trace and --summary, each written atomically.
void write_online_outputs(const OnlineArgs& a, const OnlineHwRun& run, const OnlineSetup& setup, const platforms::Platform& platform,
                          const std::string& csv, const std::string& trace);

}  // namespace sparoa::cli
