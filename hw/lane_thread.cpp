#include "hw/lane_thread.hpp"

#include <omp.h>

#include <set>

#include "hw/host_machine.hpp"

namespace sparoa::hw {

LaneReport prepare_cpu_lane_thread(const std::string& lane_id, const std::vector<int>& cpus) {
  LaneReport report;
  report.id = lane_id;
  report.cpus = cpus;
  report.pinning = pin_current_thread(cpus);
  omp_set_num_threads(int(cpus.size()));
  std::vector<std::vector<int>> seen(cpus.size());
  int team = 0;
#pragma omp parallel
  {
    const int t = omp_get_thread_num();
#pragma omp single
    team = omp_get_num_threads();
    if (std::size_t(t) < seen.size()) seen[std::size_t(t)] = current_thread_cpus();
  }
  std::set<int> all;
  for (const auto& v : seen) all.insert(v.begin(), v.end());
  report.observed_cpus.assign(all.begin(), all.end());
  report.omp_threads = team;
  return report;
}

}  // namespace sparoa::hw
