#pragma once
// The `oracle` row: the best static schedule we can find, judged by the simulator (which is
// clairvoyant of the state trace: every candidate runs against the whole trace), and the
// lower bound no schedule can beat.
//
// Small graphs are searched exhaustively over device choices (each operator's kernel the
// best on its device, lanes and orders by earliest finish time), best-first by a lower
// bound so that candidates that cannot win are never run. Full models get a simulated
// annealing over device choices seeded with every other policy's schedule, reported as
// "best known", never as optimal. Either way the result is never worse than a seed.
#include <cstdint>
#include <string>
#include <vector>

#include "policies/planning.hpp"
#include "policies/search.hpp"

namespace sparoa::policies {

struct SeedSchedule {
  std::string origin;  // the policy that made it
  graph::Schedule schedule;
  platforms::Evaluation evaluation;  // already run in the same evaluator
};

struct OracleOptions {
  // Exhaustive search when devices^operators is at most this many assignments and the
  // best-first search needs at most exhaustive_max_runs simulations; else annealing.
  std::int64_t exhaustive_max_assignments = std::int64_t(1) << 20;
  std::int64_t exhaustive_max_runs = 4096;
  // Annealing: simulations to spend, and cost-model proposals ranked per simulation.
  std::int64_t anneal_runs = 240;
  int proposals = 16;
  std::uint64_t seed = 1;
  // Best-first pruning assumes no run is faster than the cost model alone in the initial
  // power mode: turn it off when a state trace may speed the board up.
  bool prune = true;
};

struct OracleResult {
  graph::Schedule schedule;
  platforms::Evaluation evaluation;
  std::string origin;       // "exhaustive", "annealing" or the seed policy that stayed best
  bool exhaustive = false;  // every assignment was run or bounded out: the best over device choices
  std::int64_t runs = 0;    // simulations the search spent (seeds not counted)
};

OracleResult find_oracle(const PlanningModel& m, platforms::Evaluator& evaluator, const std::vector<SeedSchedule>& seeds,
                         const Objective& objective, const OracleOptions& options = {});

// max(critical path with every operator at its fastest lane's min_exec_time,
//     total of those times / capacity), capacity = CPU lanes + GPU devices (the streams of
// one GPU share its units). Seconds, for one batch on an idle board.
double lower_bound_s(const PlanningModel& m);

}  // namespace sparoa::policies
