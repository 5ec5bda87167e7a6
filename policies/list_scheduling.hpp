#pragma once
// List scheduling on an abstract task graph: the upward ranks and the insertion-based
// earliest-finish-time rule of HEFT (Topcuoglu, Hariri and Wu, IEEE TPDS 2002). Abstract so
// that the paper's worked example can be checked exactly (tests) and the same code places
// operators on lanes for every planner here.
#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

namespace sparoa::policies {

inline constexpr double kNotAllowed = std::numeric_limits<double>::infinity();

struct TaskGraph {
  std::size_t processors = 0;
  // cost[t][p]: time of task t on processor p; kNotAllowed where it may not run.
  std::vector<std::vector<double>> cost;
  // successors[t]: the tasks that consume t's result. Tasks must be numbered in a
  // topological order (every edge goes from a lower to a higher number).
  std::vector<std::vector<std::size_t>> successors;
  // Time to move t's result to its successor s when t runs on p and s on q (0 when p == q
  // is assumed by the caller's function, which may also return 0 for p != q).
  std::function<double(std::size_t t, std::size_t s, std::size_t p, std::size_t q)> comm;

  std::size_t tasks() const { return cost.size(); }
};

struct ListSchedule {
  std::vector<std::size_t> processor;  // per task
  std::vector<double> start, finish;   // per task
  double makespan = 0;
  // Tasks of each processor by start time (ties: lower task number first).
  std::vector<std::vector<std::size_t>> order;
};

// rank_u(t) = mean cost over allowed processors + max over successors of (mean comm over
// allowed processor pairs p != q + rank_u(s)). Throws sparoa::Error when a task may run nowhere.
std::vector<double> upward_ranks(const TaskGraph& g);

// Places tasks in `priority` order (a topological order), each on the allowed processor
// where it finishes earliest; with `insertion`, a task may fill an idle gap between tasks
// already on a processor. Equal finish times go to the lower processor number.
ListSchedule list_schedule(const TaskGraph& g, const std::vector<std::size_t>& priority, bool insertion = true);

// HEFT: list_schedule in decreasing upward rank (ties: lower task number first).
ListSchedule heft(const TaskGraph& g);

// Decreasing upward rank, ties by task number: HEFT's priority list.
std::vector<std::size_t> rank_order(const std::vector<double>& ranks);

}  // namespace sparoa::policies
