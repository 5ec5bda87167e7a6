#include "policies/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "support/error.hpp"

namespace sparoa::policies {

Objective Objective::parse(const std::string& text) {
  if (text == "latency") return Objective{0};
  if (text == "energy") return Objective{1};
  if (text.rfind("mix:", 0) == 0) {
    try {
      std::size_t used = 0;
      const double w = std::stod(text.substr(4), &used);
      if (used == text.size() - 4 && w >= 0 && w <= 1) return Objective{w};
    } catch (const std::exception&) {
    }
  }
  throw Error("objective '" + text + "'", "expected latency, energy or mix:W with W in [0, 1] (the energy weight)");
}

std::string Objective::to_string() const {
  if (energy_weight == 0) return "latency";
  if (energy_weight == 1) return "energy";
  return fmt::format("mix:{}", energy_weight);
}

std::vector<double> scores(const std::vector<platforms::Evaluation>& e, const Objective& objective) {
  double best_latency = std::numeric_limits<double>::infinity(), best_energy = best_latency;
  for (const auto& x : e) {
    if (!x.ok()) continue;
    best_latency = std::min(best_latency, x.latency_mean_s);
    best_energy = std::min(best_energy, x.energy_per_inference_J);
  }
  std::vector<double> out;
  for (const auto& x : e) {
    if (!x.ok()) {
      out.push_back(std::numeric_limits<double>::infinity());
      continue;
    }
    const double w = objective.energy_weight;
    double s = 0;
    if (w < 1) s += (1 - w) * x.latency_mean_s / (best_latency > 0 ? best_latency : 1);
    if (w > 0) s += w * x.energy_per_inference_J / (best_energy > 0 ? best_energy : 1);
    out.push_back(s);
  }
  return out;
}

namespace {

std::vector<double> distinct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// One threshold per partition of sorted distinct values v (x counts as "at or above" t when
// x >= t): below every value, between each neighbouring pair, above every value.
std::vector<double> rho_candidates(const std::vector<double>& v) {
  std::vector<double> c{v.empty() ? 0.0 : std::min(0.0, v.front())};
  for (std::size_t k = 1; k < v.size(); ++k) c.push_back(0.5 * (v[k - 1] + v[k]));
  if (!v.empty()) c.push_back(v.back() + std::max(1e-3, 0.5 * (1.0 - v.back())));
  return c;
}
// The same in log scale (intensities span orders of magnitude); zero stays its own class.
std::vector<double> intensity_candidates(const std::vector<double>& v) {
  std::vector<double> c{v.empty() ? 0.0 : (v.front() > 0 ? 0.5 * v.front() : 0.0)};
  for (std::size_t k = 1; k < v.size(); ++k) c.push_back(v[k - 1] > 0 ? std::sqrt(v[k - 1] * v[k]) : 0.5 * v[k]);
  if (!v.empty()) c.push_back(v.back() > 0 ? 2.0 * v.back() : 1.0);
  return c;
}

std::string key_of(const std::vector<DeviceChoice>& c) {
  std::string k;
  k.reserve(c.size());
  for (const auto& x : c) k.push_back(char('a' + x.device * 2 + (x.kernel == Kernel::sparse ? 1 : 0)));
  return k;
}

}  // namespace

double score_at(const ThresholdSearch& s, const graph::Thresholds& t) {
  auto cell = [](const std::vector<double>& values, double x) {
    return std::size_t(std::lower_bound(values.begin(), values.end(), x) - values.begin());
  };
  const std::size_t I = s.intensity_candidates.size();
  const std::size_t r = std::min(cell(s.rho_values, t.rho), s.rho_candidates.size() - 1);
  const std::size_t i = std::min(cell(s.intensity_values, t.intensity), I - 1);
  return s.grid_score[r * I + i];
}

ThresholdSearch search_thresholds(const PolicyContext& ctx, ThresholdUse use, MixedRule mixed, bool best_kernel,
                                  platforms::Evaluator& evaluator, const Objective& objective) {
  const PlanningModel m(ctx);
  std::vector<double> rhos, intensities;
  for (std::size_t t = 0; t < m.ops(); ++t) {
    rhos.push_back(graph::rho(m.features(t), ctx.rho_source));
    intensities.push_back(m.features(t).intensity);
  }
  ThresholdSearch out;
  const graph::Thresholds fallback = ctx.thresholds.value_or(default_thresholds());
  const std::vector<double> rho_values = distinct(rhos), intensity_values = distinct(intensities);
  out.rho_values = use == ThresholdUse::intensity_only ? std::vector<double>{} : rho_values;
  out.intensity_values = use == ThresholdUse::sparsity_only ? std::vector<double>{} : intensity_values;
  out.rho_candidates = use == ThresholdUse::intensity_only ? std::vector<double>{fallback.rho}
                                                           : rho_candidates(rho_values);
  out.intensity_candidates = use == ThresholdUse::sparsity_only ? std::vector<double>{fallback.intensity}
                                                                : intensity_candidates(intensity_values);
  const std::size_t R = out.rho_candidates.size(), I = out.intensity_candidates.size();

  // Many cells give the same placement: run each distinct schedule once.
  std::map<std::string, std::size_t> schedule_of_key;
  std::vector<graph::Schedule> schedules;
  std::vector<std::size_t> cell_schedule(R * I);
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t i = 0; i < I; ++i) {
      const graph::Thresholds t{out.rho_candidates[r], out.intensity_candidates[i]};
      const auto choice = threshold_choices(m, t, use, mixed, best_kernel);
      const auto [it, fresh] = schedule_of_key.emplace(key_of(choice), schedules.size());
      if (fresh) schedules.push_back(schedule_from_choices(m, choice));
      cell_schedule[r * I + i] = it->second;
    }
  }
  const std::vector<platforms::Evaluation> runs = evaluator.evaluate(schedules);
  const std::vector<double> s = scores(runs, objective);
  out.distinct_schedules = std::int64_t(schedules.size());
  out.grid_score.resize(R * I);
  double best = std::numeric_limits<double>::infinity();
  for (std::size_t c = 0; c < R * I; ++c) {
    out.grid_score[c] = s[cell_schedule[c]];
    best = std::min(best, out.grid_score[c]);
  }
  if (!std::isfinite(best)) {
    throw Error("threshold search", "every candidate failed in the simulator: " + runs.front().error);
  }
  auto optimal = [&](std::size_t r, std::size_t i) { return same_score(out.grid_score[r * I + i], best); };
  for (std::size_t c = 0; c < R * I; ++c) out.optimal_cells += optimal(c / I, c % I) ? 1 : 0;

  // The label: the longest run of optimal cells along intensity (over all rho rows; ties to
  // the lower row, then the lower intensity), its centre in log intensity; then along rho
  // through that centre cell, its centre.
  std::size_t best_r = 0, run_a = 0, run_b = 0, best_len = 0;
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t i = 0; i < I;) {
      if (!optimal(r, i)) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j + 1 < I && optimal(r, j + 1)) ++j;
      if (j - i + 1 > best_len) best_len = j - i + 1, best_r = r, run_a = i, run_b = j;
      i = j + 1;
    }
  }
  const double lo = out.intensity_candidates[run_a], hi = out.intensity_candidates[run_b];
  out.best.intensity = lo > 0 && hi > 0 ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
  const std::size_t centre_i = (run_a + run_b) / 2;
  std::size_t ra = best_r, rb = best_r;
  while (ra > 0 && optimal(ra - 1, centre_i)) --ra;
  while (rb + 1 < R && optimal(rb + 1, centre_i)) ++rb;
  out.best.rho = 0.5 * (out.rho_candidates[ra] + out.rho_candidates[rb]);
  out.best_score = best;
  // The centre may fall in a cell that is not optimal (the rho run was taken through the
  // run's middle cell, not through the centre's own cell): then the middle cell's own
  // candidates are the label.
  auto cell = [](const std::vector<double>& values, double t) {
    return std::size_t(std::lower_bound(values.begin(), values.end(), t) - values.begin());
  };
  std::size_t label_r = use == ThresholdUse::intensity_only ? 0 : cell(rho_values, out.best.rho);
  std::size_t label_i = use == ThresholdUse::sparsity_only ? 0 : cell(intensity_values, out.best.intensity);
  if (label_r >= R || label_i >= I || !optimal(label_r, label_i)) {
    label_r = best_r;
    label_i = centre_i;
    out.best = graph::Thresholds{out.rho_candidates[label_r], out.intensity_candidates[label_i]};
  }
  out.best_evaluation = runs[cell_schedule[label_r * I + label_i]];
  return out;
}

}  // namespace sparoa::policies
