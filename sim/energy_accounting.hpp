#pragma once
// Attributes device energy to the activities that caused it (SimGrid's plugin has no
// per-activity figure). In SimGrid's host energy model a unit draws idle power when it runs
// nothing, epsilon when it runs activities that compute nothing, and up to full power with
// its load. So an activity's attributed energy is, per unit it uses:
//   (full - epsilon) x its FLOPs on that unit / the unit's speed        (exact, contention or not)
// + (epsilon - idle) x its share of the time the unit was not idle       (shared equally among
//                                                                         the activities on it)
// Idle power is not attributed: the summary reports it per device. The pstate is the one the
// activity started in (a DVFS change during an activity is not split).
#include <cstddef>
#include <vector>

#include "sim/board.hpp"

namespace sparoa::sim {

class EnergyAccounting {
 public:
  void init(const Board& board);
  // Returns the activity's mark, to hand back to finish().
  double start(std::size_t device, const std::vector<int>& units, double t);
  double finish(std::size_t device, const std::vector<int>& units, double t, double mark,
                std::size_t pstate, double flops_per_unit);

 private:
  void advance(std::size_t device, const std::vector<int>& units, double t);

  struct Unit {
    int running = 0;
    double share = 0;  // integral of 1/running over the time running > 0
    double last = 0;
  };
  const Board* board_ = nullptr;
  std::vector<std::vector<Unit>> units_;
};

}  // namespace sparoa::sim
