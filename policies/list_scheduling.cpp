#include "policies/list_scheduling.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "support/error.hpp"

namespace sparoa::policies {
namespace {

void check(const TaskGraph& g) {
  if (g.successors.size() != g.tasks()) throw Error("task graph", "successor lists do not match the tasks");
  for (std::size_t t = 0; t < g.tasks(); ++t) {
    if (g.cost[t].size() != g.processors) throw Error("task graph", fmt::format("task {} has the wrong number of costs", t));
    if (std::none_of(g.cost[t].begin(), g.cost[t].end(), [](double c) { return std::isfinite(c); })) {
      throw Error("task graph", fmt::format("task {} may run on no processor", t));
    }
    for (std::size_t s : g.successors[t]) {
      if (s <= t || s >= g.tasks()) throw Error("task graph", fmt::format("edge {} -> {} is not in topological numbering", t, s));
    }
  }
}

}  // namespace

std::vector<double> upward_ranks(const TaskGraph& g) {
  check(g);
  const std::size_t n = g.tasks();
  std::vector<double> rank(n, 0.0);
  for (std::size_t t = n; t-- > 0;) {
    double sum = 0;
    int allowed = 0;
    for (double c : g.cost[t]) {
      if (std::isfinite(c)) sum += c, ++allowed;
    }
    double tail = 0;
    for (std::size_t s : g.successors[t]) {
      double comm = 0;
      int pairs = 0;
      for (std::size_t p = 0; p < g.processors; ++p) {
        if (!std::isfinite(g.cost[t][p])) continue;
        for (std::size_t q = 0; q < g.processors; ++q) {
          if (q == p || !std::isfinite(g.cost[s][q])) continue;
          comm += g.comm ? g.comm(t, s, p, q) : 0.0;
          ++pairs;
        }
      }
      tail = std::max(tail, (pairs > 0 ? comm / pairs : 0.0) + rank[s]);
    }
    rank[t] = sum / allowed + tail;
  }
  return rank;
}

std::vector<std::size_t> rank_order(const std::vector<double>& ranks) {
  std::vector<std::size_t> order(ranks.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ranks[a] > ranks[b]; });
  return order;
}

ListSchedule list_schedule(const TaskGraph& g, const std::vector<std::size_t>& priority, bool insertion) {
  check(g);
  const std::size_t n = g.tasks();
  if (priority.size() != n) throw Error("task graph", "the priority list does not hold every task once");
  std::vector<std::vector<std::size_t>> preds(n);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t s : g.successors[t]) preds[s].push_back(t);
  }
  ListSchedule out;
  out.processor.assign(n, 0);
  out.start.assign(n, 0);
  out.finish.assign(n, 0);
  out.order.assign(g.processors, {});
  std::vector<bool> placed(n, false);
  for (std::size_t t : priority) {
    if (t >= n || placed[t]) throw Error("task graph", "the priority list does not hold every task once");
    for (std::size_t p : preds[t]) {
      if (!placed[p]) throw Error("task graph", fmt::format("task {} comes before its predecessor {}", t, p));
    }
    double best_finish = kNotAllowed, best_start = 0;
    std::size_t best_proc = 0;
    for (std::size_t q = 0; q < g.processors; ++q) {
      const double w = g.cost[t][q];
      if (!std::isfinite(w)) continue;
      double ready = 0;
      for (std::size_t p : preds[t]) {
        const double c = out.processor[p] == q || !g.comm ? 0.0 : g.comm(p, t, out.processor[p], q);
        ready = std::max(ready, out.finish[p] + c);
      }
      // Earliest start on q: the first idle gap at or after `ready` that holds w (insertion),
      // or after the last task on q.
      const auto& on_q = out.order[q];
      double start = std::max(ready, on_q.empty() ? 0.0 : out.finish[on_q.back()]);
      if (insertion) {
        double gap_start = 0;
        for (std::size_t k = 0; k < on_q.size(); ++k) {
          const double s = std::max(ready, gap_start);
          if (s + w <= out.start[on_q[k]]) {
            start = s;
            break;
          }
          gap_start = out.finish[on_q[k]];
        }
      }
      if (start + w < best_finish) best_finish = start + w, best_start = start, best_proc = q;
    }
    out.processor[t] = best_proc;
    out.start[t] = best_start;
    out.finish[t] = best_finish;
    auto& on = out.order[best_proc];
    auto at = std::upper_bound(on.begin(), on.end(), t, [&](std::size_t a, std::size_t b) {
      return out.start[a] != out.start[b] ? out.start[a] < out.start[b] : a < b;
    });
    on.insert(at, t);
    placed[t] = true;
    out.makespan = std::max(out.makespan, best_finish);
  }
  return out;
}

ListSchedule heft(const TaskGraph& g) { return list_schedule(g, rank_order(upward_ranks(g)), true); }

}  // namespace sparoa::policies
