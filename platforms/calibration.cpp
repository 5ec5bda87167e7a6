#include "platforms/calibration.hpp"

#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>

#include "support/date.hpp"
#include "support/error.hpp"

namespace sparoa::platforms {

namespace {

// A row reduced to what the roofline needs: seconds of compute and of memory traffic at
// efficiency 1 (compute also at batch exponent 0), the traffic split at the cache size being
// tried, and the measured seconds.
struct Terms {
  double compute_s = 0;  // FLOPs (a sparse kernel's non-zeros only) / the lane's peak
  double bytes = 0;      // traffic (CSR weights for a sparse kernel)
  double bandwidth_Bps = 0;
  double cached_s = 0;   // its first cache_MB / bandwidth
  double dram_s = 0;     // the rest / bandwidth
  double batch = 1;
  double measured_s = 0;
};

void split_at(std::vector<Terms>& rows, double cache_bytes) {
  for (Terms& t : rows) {
    const double cached = std::min(t.bytes, cache_bytes);
    t.cached_s = cached / t.bandwidth_Bps;
    t.dram_s = (t.bytes - cached) / t.bandwidth_Bps;
  }
}

// The parameters, as the linear model sees them: overhead, and the reciprocals of the
// efficiencies. Bounds: overhead >= 0, compute and DRAM efficiency <= 1, cache efficiency
// <= kMaxCacheEfficiency.
enum Param { kOverhead, kCompute, kCache, kDram, kParams };
using Params = std::array<double, kParams>;
constexpr Params kBound = {0, 1, 1 / kMaxCacheEfficiency, 1};

double compute_time(const Params& p, const Terms& t, double exponent) {
  return t.compute_s * p[kCompute] / std::pow(t.batch, exponent);
}
double memory_time(const Params& p, const Terms& t) { return t.cached_s * p[kCache] + t.dram_s * p[kDram]; }
double predict(const Params& p, const Terms& t, double exponent) {
  return p[kOverhead] + std::max(compute_time(p, t, exponent), memory_time(p, t));
}

double objective(const Params& p, const std::vector<Terms>& rows, double exponent) {
  double sum = 0;
  for (const Terms& t : rows) {
    const double r = predict(p, t, exponent) / t.measured_s - 1;
    sum += r * r;
  }
  return sum;
}

struct Solution {
  Params params{};
  double objective = 0;
  bool converged = false;
  int iterations = 0;
  std::array<std::string, kParams> status;
};

// Bounded linear least squares on relative error for one assignment of rows to bounds:
// every subset of the identifiable parameters is solved free with the others at their bound
// and the best feasible solution wins (at most 16 small solves).
Params solve_assignment(const std::vector<Terms>& rows, const std::vector<char>& compute_bound, double exponent,
                        const Params& start, const std::array<bool, kParams>& identifiable,
                        std::array<std::string, kParams>& status) {
  double best = std::numeric_limits<double>::infinity();
  Params best_params = start;
  for (int mask = 0; mask < (1 << kParams); ++mask) {
    std::array<bool, kParams> free{};
    bool skip = false;
    int n_free = 0;
    for (int k = 0; k < kParams; ++k) {
      free[k] = (mask >> k) & 1;
      if (free[k] && !identifiable[k]) skip = true;
      n_free += free[k] ? 1 : 0;
    }
    if (skip) continue;
    // Identifiable parameters that are not free sit at their bound; the others keep their
    // base value (no row tells anything about them).
    Params fixed = start;
    for (int k = 0; k < kParams; ++k) {
      if (identifiable[k] && !free[k]) fixed[k] = kBound[k];
    }
    Eigen::MatrixXd a(rows.size(), std::max(n_free, 1));
    Eigen::VectorXd b(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Terms& t = rows[i];
      // The row's linear model under its assignment: coefficient of each parameter.
      std::array<double, kParams> coef{};
      coef[kOverhead] = 1;
      if (compute_bound[i]) {
        coef[kCompute] = t.compute_s / std::pow(t.batch, exponent);
      } else {
        coef[kCache] = t.cached_s;
        coef[kDram] = t.dram_s;
      }
      double rhs = t.measured_s;
      int col = 0;
      for (int k = 0; k < kParams; ++k) {
        if (free[k]) {
          a(Eigen::Index(i), col++) = coef[k] / t.measured_s;
        } else {
          rhs -= coef[k] * fixed[k];
        }
      }
      if (n_free == 0) a(Eigen::Index(i), 0) = 0;
      b(Eigen::Index(i)) = rhs / t.measured_s;
    }
    Params p = fixed;
    if (n_free > 0) {
      const Eigen::VectorXd x = a.colPivHouseholderQr().solve(b);
      int col = 0;
      bool feasible = true;
      for (int k = 0; k < kParams; ++k) {
        if (!free[k]) continue;
        p[k] = x(col++);
        if (!std::isfinite(p[k]) || !(p[k] >= kBound[k])) feasible = false;
      }
      if (!feasible) continue;
    }
    // The surrogate objective: the assignment's own linear model.
    double sse = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Terms& t = rows[i];
      const double pred = p[kOverhead] + (compute_bound[i] ? compute_time(p, t, exponent) : memory_time(p, t));
      const double r = pred / t.measured_s - 1;
      sse += r * r;
    }
    if (sse < best) {
      best = sse;
      best_params = p;
      for (int k = 0; k < kParams; ++k) {
        if (identifiable[k]) status[k] = free[k] ? "fitted" : "at bound";
      }
    }
  }
  return best_params;
}

Solution solve(const std::vector<Terms>& rows, double exponent, const Params& start, int max_iterations) {
  Solution best;
  best.objective = std::numeric_limits<double>::infinity();
  Params p = start;
  std::vector<char> assignment, previous;
  std::set<std::vector<char>> seen;
  for (int it = 1; it <= max_iterations; ++it) {
    assignment.assign(rows.size(), 0);
    std::size_t n_compute = 0, n_cached = 0, n_dram = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Terms& t = rows[i];
      assignment[i] = compute_time(p, t, exponent) >= memory_time(p, t);
      n_compute += assignment[i] ? 1 : 0;
      n_cached += !assignment[i] && t.cached_s > 0 ? 1 : 0;
      n_dram += !assignment[i] && t.dram_s > 0 ? 1 : 0;
    }
    if (assignment == previous) {
      best.converged = true;
      best.iterations = it - 1;
      break;
    }
    if (!seen.insert(assignment).second) {
      // A cycle: the alternation has no fixed point here, but it has visited every assignment
      // it can reach; the best of their fits (by the true objective) is the answer.
      best.converged = true;
      best.iterations = it - 1;
      break;
    }
    previous = assignment;
    std::array<std::string, kParams> status = {"fitted", "kept: no row is compute-bound",
                                               "kept: no memory-bound row fits in the cache",
                                               "kept: no memory-bound row exceeds the cache"};
    const std::array<bool, kParams> identifiable = {true, n_compute > 0, n_cached > 0, n_dram > 0};
    // Parameters no row tells anything about go back to their base value.
    Params base = p;
    for (int k = 0; k < kParams; ++k) {
      if (!identifiable[k]) base[k] = start[k];
    }
    p = solve_assignment(rows, assignment, exponent, base, identifiable, status);
    const double obj = objective(p, rows, exponent);
    if (obj < best.objective) {
      best.params = p;
      best.objective = obj;
      best.status = status;
    }
    best.iterations = it;
  }
  return best;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct ErrorStats {
  double median_abs = 0;
  double rms_log = 0;
};

ErrorStats error_stats(const CostModel& model, const std::vector<const ProfileRow*>& rows) {
  std::vector<double> abs_errors;
  double sum_log = 0;
  for (const ProfileRow* r : rows) {
    const double ratio = predict_profile_row_s(model, *r) / (r->median_us * 1e-6);
    abs_errors.push_back(std::abs(ratio - 1));
    sum_log += std::log(ratio) * std::log(ratio);
  }
  ErrorStats s;
  s.median_abs = median(abs_errors);
  s.rms_log = rows.empty() ? 0 : std::sqrt(sum_log / double(rows.size()));
  return s;
}

// The compute and memory seconds (efficiency 1) of a row on the platform it was measured on.
struct RowPlace {
  double peak_flops = 0;
  double bandwidth_Bps = 0;
  DeviceKind kind = DeviceKind::cpu;
  std::string domain;
};

RowPlace place_of(const Platform& p, const ProfileRow& r, const CostModel& model) {
  const Lane* lane = p.find_lane(r.lane);
  const Device* device = p.device_of_lane(r.lane);
  const PowerMode& mode = p.initial_mode();
  const PowerModeDevice& md = p.mode_device(mode, device->id);
  RowPlace place;
  place.peak_flops = model.lane_peak_flops(*lane, *device, md.pstate, md.online_units);
  place.bandwidth_Bps = p.bandwidth_GBps(device->memory_domain, mode) * 1e9;
  place.kind = device->kind;
  place.domain = device->memory_domain;
  return place;
}

Terms terms_of(const ProfileRow& r, const RowPlace& place, double index_bytes_per_nonzero) {
  Terms t;
  t.batch = double(r.batch);
  t.measured_s = r.median_us * 1e-6;
  t.bandwidth_Bps = place.bandwidth_Bps;
  if (r.kernel == "dense") {
    t.compute_s = r.flops / place.peak_flops;
    t.bytes = r.bytes;
  } else {
    const double nonzero = std::clamp(1.0 - r.weight_sparsity, 0.0, 1.0);
    const double weights = r.weight_bytes * nonzero * (4.0 + index_bytes_per_nonzero) / 4.0;
    t.compute_s = r.flops * nonzero / place.peak_flops;
    t.bytes = r.bytes - r.weight_bytes + weights;
  }
  return t;
}

// Cache sizes calibration tries (MB): none, then powers of two from 64 kB to 64 MB.
constexpr std::array<double, 12> kCacheScanMB = {0, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64};

std::string percent(double v) { return fmt::format("{:.1f}%", 100 * v); }

}  // namespace

namespace {

// The cost model's work for a row, at the batch it was measured at.
Work work_of(const CostModel& model, const ProfileRow& r, DeviceKind kind) {
  OpDemand d;
  if (!parse_op_class(r.op_class, d.op_class)) throw Error(r.op, "unknown operator class '" + r.op_class + "'");
  d.flops = r.flops;
  d.bytes = r.bytes;
  d.weight_bytes = r.weight_bytes;
  d.weight_sparsity = r.weight_sparsity;
  d.sparse_capable = r.kernel == "sparse";
  Kernel kernel{};
  parse_kernel(r.kernel, kernel);
  return model.work(d, kind, kernel, r.batch, r.batch);
}

}  // namespace

double predict_profile_row_s(const CostModel& model, const ProfileRow& r) {
  const Platform& p = model.platform();
  const RowPlace place = place_of(p, r, model);
  const Work w = work_of(model, r, place.kind);
  const double compute_s = w.effective_flops / place.peak_flops;
  double memory_s = w.effective_bytes / place.bandwidth_Bps;
  if (r.corun) memory_s *= 1 + p.memory_domain(place.domain).contention;
  return w.overhead_s + std::max(compute_s, memory_s);
}

CalibrationResult calibrate(const Platform& base, const std::vector<Profile>& profiles, const CalibrationOptions& o) {
  if (profiles.empty()) throw Error("calibrate", "no profile given");
  const std::string base_where = base.origin.empty() ? "platform '" + base.name + "'" : base.origin;

  // The profiles must come from this platform, in its power mode, on one machine.
  for (const Profile& pr : profiles) {
    if (pr.header.platform != base.name) {
      throw Error(pr.origin, fmt::format("was measured with platform '{}', not '{}' ({}): profile with the platform you calibrate",
                                         pr.header.platform, base.name, base_where));
    }
    if (pr.header.power_mode != base.power_mode) {
      throw Error(pr.origin, fmt::format("was measured in power mode '{}', but {} is in power mode '{}': calibrating "
                                         "against another power mode is refused (profile the board in '{}')",
                                         pr.header.power_mode, base_where, base.power_mode, base.power_mode));
    }
    if (pr.header.timing != profiles.front().header.timing) {
      throw Error(pr.origin, fmt::format("was timed {}, but {} {}: one calibration, one way of timing", pr.header.timing,
                                         profiles.front().origin, profiles.front().header.timing));
    }
    if (pr.header.cpu_model != profiles.front().header.cpu_model) {
      throw Error(pr.origin, fmt::format("was measured on '{}', but {} on '{}': one calibration, one machine",
                                         pr.header.cpu_model, profiles.front().origin, profiles.front().header.cpu_model));
    }
  }

  const CostModel base_model(base);
  struct Row {
    const ProfileRow* row;
    std::string where;
    RowPlace place;
  };
  std::vector<Row> solo, corun;
  for (const Profile& pr : profiles) {
    for (std::size_t i = 0; i < pr.rows.size(); ++i) {
      const ProfileRow& r = pr.rows[i];
      const std::string where = fmt::format("{}: row {} ({})", pr.origin, i + 1, r.op);
      const Device* device = base.device_of_lane(r.lane);
      if (device == nullptr) throw Error(where, "lane '" + r.lane + "' is not a lane of " + base_where);
      if (device->id != r.device) {
        throw Error(where, fmt::format("lane '{}' belongs to device '{}', not '{}'", r.lane, device->id, r.device));
      }
      (r.corun ? corun : solo).push_back({&r, where, place_of(base, r, base_model)});
    }
  }
  if (solo.empty()) {
    throw Error(profiles.front().origin, "every row was measured with --corun: the cost model is fitted on rows "
                                         "measured alone (profile once without --corun)");
  }

  CalibrationResult result;
  result.fitted = base;
  Platform& fitted = result.fitted;
  fitted.origin.clear();
  fitted.sha256.clear();

  // Groups: (kind, kernel) -> class -> rows. "default" gets every row of its kind and kernel.
  using Key = std::pair<std::string, std::string>;
  std::map<Key, std::map<std::string, std::vector<const Row*>>> groups;
  for (const Row& r : solo) {
    const Key key{std::string(to_string(r.place.kind)), r.row->kernel};
    groups[key][r.row->op_class].push_back(&r);
    groups[key]["default"].push_back(&r);
  }

  auto find_entry = [&](const std::string& cls, const std::string& kind, const std::string& kernel) -> int {
    for (std::size_t i = 0; i < fitted.cost_model.entries.size(); ++i) {
      const CostEntry& e = fitted.cost_model.entries[i];
      if (e.op_class == cls && e.device_kind == kind && e.kernel == kernel) return int(i);
    }
    return -1;
  };

  std::vector<CostEntry> new_entries;
  std::set<int> removed_entries;
  for (const auto& [key, classes] : groups) {
    const auto& [kind, kernel] = key;
    for (const auto& [cls, rows] : classes) {
      const bool is_default = cls == "default";
      const std::string name = fmt::format("cost_model {} {} {}", cls, kind, kernel);
      if (rows.size() < o.min_rows) {
        if (is_default) {
          std::set<std::string> cls_names;
          for (const Row* r : rows) cls_names.insert(r->row->op_class);
          throw Error(base_where, fmt::format("{}: only {} profile row(s) (classes {}); fitting overhead_us, "
                                              "compute_efficiency and memory_efficiency needs at least {}: profile "
                                              "more operators, models or batch sizes",
                                              name, rows.size(), fmt::join(cls_names, ", "), o.min_rows));
        }
        const int own = find_entry(cls, kind, kernel);
        if (own >= 0) {
          removed_entries.insert(own);
          result.removed.push_back(fmt::format("{} ({} row(s): uses the fitted default)", name, rows.size()));
        }
        continue;
      }
      // Start from the entry the base uses for this class (its own or the default).
      CostEntry start;
      const int own = find_entry(cls, kind, kernel);
      if (own >= 0) {
        start = base.cost_model.entries[std::size_t(own)];
      } else if (const int def = find_entry("default", kind, kernel); def >= 0) {
        start = base.cost_model.entries[std::size_t(def)];
        start.op_class = cls;
      } else {
        start = CostEntry{cls, kind, kernel, 0.5, 0.5, 0, 0.5, 0, 0, 1, kernel == "sparse" ? 4.0 : 0.0, "fitted", ""};
      }

      std::vector<Terms> terms;
      std::set<double> batches;
      std::set<std::string> models;
      for (const Row* r : rows) {
        terms.push_back(terms_of(*r->row, r->place, start.index_bytes_per_nonzero));
        batches.insert(double(r->row->batch));
        models.insert(r->row->model);
      }
      const double start_cache_eff = start.cache_efficiency > 0 ? start.cache_efficiency : start.memory_efficiency;
      const Params start_params{start.overhead_us * 1e-6, 1 / start.compute_efficiency, 1 / start_cache_eff,
                                1 / start.memory_efficiency};

      // Scans: the cache size (log steps; 0 = no cache term) and, when several batch sizes
      // were profiled, the batch exponent. Inside, the linear parameters are least squares.
      const bool scan_exponent = batches.size() >= 2;
      Solution sol;
      sol.objective = std::numeric_limits<double>::infinity();
      double exponent = start.batch_exponent, cache_MB = 0;
      for (double c : kCacheScanMB) {
        split_at(terms, c * 1e6);
        for (int k = 0; k <= (scan_exponent ? 50 : 0); ++k) {
          const double e = scan_exponent ? 0.02 * k : start.batch_exponent;
          Solution trial = solve(terms, e, start_params, o.max_iterations);
          // Ties keep the simpler model (smaller cache, smaller exponent): scans go upwards.
          if (trial.converged && trial.objective < sol.objective * (1 - 1e-9) - 1e-15) {
            sol = trial;
            exponent = e;
            cache_MB = c;
          }
        }
      }
      if (!sol.converged) {
        throw Error(base_where, fmt::format("{}: the fit did not converge ({} rows; the rows' assignment to the compute "
                                            "and memory bounds keeps changing after {} iterations)",
                                            name, rows.size(), o.max_iterations));
      }
      std::string exponent_status = scan_exponent ? "fitted" : "kept: one batch size profiled";
      if (scan_exponent && sol.status[kCompute].rfind("kept", 0) == 0) {
        exponent = start.batch_exponent;
        exponent_status = "kept: no row is compute-bound";
      }
      // A cache term no memory-bound row falls into is no cache term.
      const bool cache_used = cache_MB > 0 && sol.status[kCache].rfind("kept", 0) != 0;
      if (!cache_used) cache_MB = 0;

      CostEntry e = start;
      e.overhead_us = sol.params[kOverhead] * 1e6;
      e.compute_efficiency = 1 / sol.params[kCompute];
      e.batch_exponent = exponent;
      if (exponent_status == "fitted") {
        e.compute_efficiency_max = std::min(1.0, e.compute_efficiency * std::pow(*batches.rbegin(), exponent));
      } else {
        // Keep the base's headroom above the batch-1 efficiency.
        const double headroom = start.compute_efficiency_max / start.compute_efficiency;
        e.compute_efficiency_max = std::clamp(e.compute_efficiency * headroom, e.compute_efficiency, 1.0);
      }
      e.memory_efficiency = 1 / sol.params[kDram];
      e.cache_MB = cache_MB;
      e.cache_efficiency = cache_used ? 1 / sol.params[kCache] : 0;
      e.source = "fitted";

      EntryFit fit;
      fit.op_class = cls;
      fit.device_kind = kind;
      fit.kernel = kernel;
      fit.rows = rows.size();
      fit.models.assign(models.begin(), models.end());
      fit.iterations = sol.iterations;
      fit.parameters = {
          {"overhead_us", start.overhead_us, e.overhead_us, sol.status[kOverhead]},
          {"compute_efficiency", start.compute_efficiency, e.compute_efficiency, sol.status[kCompute]},
          {"memory_efficiency", start.memory_efficiency, e.memory_efficiency, sol.status[kDram]},
          {"batch_exponent", start.batch_exponent, e.batch_exponent, exponent_status},
          {"cache_MB", start.cache_MB, e.cache_MB, cache_used ? "fitted" : "kept: no cache term"},
          {"cache_efficiency", start.cache_efficiency, e.cache_efficiency, cache_used ? sol.status[kCache] : "kept: no cache term"}};
      for (const ParameterFit& p : fit.parameters) {
        if (p.status == "fitted" || p.status == "at bound") ++result.parameters;
      }
      if (own >= 0) {
        fitted.cost_model.entries[std::size_t(own)] = e;
      } else {
        new_entries.push_back(e);
      }
      result.entries.push_back(fit);
    }
  }
  // Drop the base's entries of classes with too few rows (they fall back to the fitted
  // default), then add the classes the base had no entry for.
  std::vector<CostEntry> kept;
  for (std::size_t i = 0; i < fitted.cost_model.entries.size(); ++i) {
    if (!removed_entries.count(int(i))) kept.push_back(fitted.cost_model.entries[i]);
  }
  kept.insert(kept.end(), new_entries.begin(), new_entries.end());
  fitted.cost_model.entries = std::move(kept);
  fitted.cost_model.source = "fitted";

  // Before/after errors of each entry's rows, and the notes that say where each came from.
  {
    const CostModel after(fitted);
    for (EntryFit& fit : result.entries) {
      std::vector<const ProfileRow*> rows;
      for (const Row* r : groups[{fit.device_kind, fit.kernel}][fit.op_class]) rows.push_back(r->row);
      const ErrorStats b = error_stats(base_model, rows), a = error_stats(after, rows);
      fit.median_error_before = b.median_abs;
      fit.median_error_after = a.median_abs;
      fit.rms_log_before = b.rms_log;
      fit.rms_log_after = a.rms_log;
      const int idx = find_entry(fit.op_class, fit.device_kind, fit.kernel);
      if (idx >= 0) {
        fitted.cost_model.entries[std::size_t(idx)].note =
            fmt::format("fitted on {} rows of {}; median error {} -> {}", fit.rows, fmt::join(fit.models, ", "),
                        percent(b.median_abs), percent(a.median_abs));
      }
    }
  }

  // The contention factor of each memory domain, from the rows measured co-running.
  std::map<std::string, std::vector<const Row*>> corun_by_domain;
  for (const Row& r : corun) corun_by_domain[r.place.domain].push_back(&r);
  for (const auto& [domain, rows] : corun_by_domain) {
    const std::string key = fmt::format("memory_domains[{}].contention", domain);
    MemoryDomain* dom = nullptr;
    for (auto& m : fitted.memory_domains) {
      if (m.id == domain) dom = &m;
    }
    // Compute and memory seconds by the fitted model, contention aside.
    const CostModel model(fitted);
    std::vector<std::array<double, 3>> terms;  // overhead, compute, memory
    std::size_t memory_bound = 0;
    for (const Row* r : rows) {
      const Work w = work_of(model, *r->row, r->place.kind);
      const double c = w.effective_flops / r->place.peak_flops, m = w.effective_bytes / r->place.bandwidth_Bps;
      terms.push_back({w.overhead_s, c, m});
      if (2 * m > c) ++memory_bound;
    }
    if (memory_bound < o.min_rows) {
      throw Error(base_where, fmt::format("{}: only {} of the {} --corun rows are memory-bound by the fitted model, "
                                          "at least {} are needed to fit it (profile memory-bound operators with --corun)",
                                          key, memory_bound, rows.size(), o.min_rows));
    }
    // The binding as a plain reference: clang 14 (the fuzz build) cannot capture a structured binding.
    const auto& corun_rows = rows;
    auto sse = [&](double k) {
      double s = 0;
      for (std::size_t i = 0; i < corun_rows.size(); ++i) {
        const double pred = terms[i][0] + std::max(terms[i][1], (1 + k) * terms[i][2]);
        const double r = pred / (corun_rows[i]->row->median_us * 1e-6) - 1;
        s += r * r;
      }
      return s;
    };
    double best_k = 0, best = std::numeric_limits<double>::infinity();
    for (int i = 0; i <= 1000; ++i) {
      const double k = i / 1000.0;
      const double s = sse(k);
      if (s < best) {
        best = s;
        best_k = k;
      }
    }
    EntryFit fit;
    fit.op_class = domain;
    fit.rows = rows.size();
    std::set<std::string> models;
    std::vector<const ProfileRow*> prow;
    for (const Row* r : rows) {
      models.insert(r->row->model);
      prow.push_back(r->row);
    }
    fit.models.assign(models.begin(), models.end());
    const ErrorStats before = error_stats(model, prow);
    const double old = dom->contention;
    dom->contention = best_k;
    const ErrorStats after = error_stats(CostModel(fitted), prow);
    fit.parameters = {{"contention", old, best_k, best_k == 0 || best_k == 1 ? "at bound" : "fitted"}};
    fit.median_error_before = before.median_abs;
    fit.median_error_after = after.median_abs;
    fit.rms_log_before = before.rms_log;
    fit.rms_log_after = after.rms_log;
    dom->note += fmt::format("{}contention fitted on {} --corun rows ({} memory-bound); median error {} -> {}.",
                             dom->note.empty() ? "" : " ", rows.size(), memory_bound, percent(before.median_abs),
                             percent(after.median_abs));
    ++result.parameters;
    result.contention.push_back(fit);
  }

  // Provenance: what was fitted, from which measurements, where.
  std::set<std::string> models;
  std::vector<std::string> files;
  for (const Profile& pr : profiles) {
    files.push_back(fmt::format("{} (sha256 {})", pr.origin, pr.sha256.substr(0, 16)));
    for (const auto& r : pr.rows) models.insert(r.model);
  }
  const ProfileHeader& h = profiles.front().header;
  fitted.provenance.source = SourceLabel::fitted;
  fitted.provenance.date = o.date.empty() ? utc_date_today() : o.date;
  fitted.provenance.document = fmt::format("sparoa calibrate from {} profile rows of {} measured on {} ({})",
                                           solo.size() + corun.size(), fmt::join(models, ", "), h.machine, h.cpu_model);
  fitted.provenance.notes = fmt::format("base: {}{}; power mode {}; clocks {}; operators timed {}; profiles: {}", base_where,
                                        base.sha256.empty() ? "" : " (sha256 " + base.sha256.substr(0, 16) + ")",
                                        base.power_mode, h.clocks.empty() ? "not readable" : h.clocks, h.timing,
                                        fmt::join(files, "; "));
  validate_platform(fitted);

  std::vector<const ProfileRow*> all;
  for (const Row& r : solo) all.push_back(r.row);
  result.median_error_before = error_stats(base_model, all).median_abs;
  result.median_error_after = error_stats(CostModel(fitted), all).median_abs;
  result.rows = solo.size() + corun.size();
  return result;
}

}  // namespace sparoa::platforms
