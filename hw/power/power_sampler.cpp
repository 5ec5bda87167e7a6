#include "hw/power/power_sampler.hpp"

#include <algorithm>
#include <map>

#include "support/error.hpp"

namespace sparoa::hw {

namespace {

// integrate_energy_J() on points known to be in time order (the sampler's own), so that a
// query costs a binary search and the window rather than a pass over the whole run.
std::optional<double> integrate_sorted(std::span<const PowerPoint> points, double t_begin_s, double t_end_s) {
  if (t_end_s < t_begin_s) {
    throw Error("energy window", "ends (" + std::to_string(t_end_s) + " s) before it begins (" +
                                     std::to_string(t_begin_s) + " s)");
  }
  if (points.size() < 2 || points.front().time_s > t_begin_s || points.back().time_s < t_end_s) return std::nullopt;

  // Power on segment [a, b] at time t, by linear interpolation.
  const auto at = [](const PowerPoint& a, const PowerPoint& b, double t) {
    return a.watts + (b.watts - a.watts) * ((t - a.time_s) / (b.time_s - a.time_s));
  };
  // The segment that contains the window's start; those before it contribute nothing.
  const auto first = std::lower_bound(points.begin(), points.end(), t_begin_s,
                                      [](const PowerPoint& p, double t) { return p.time_s < t; });
  std::size_t i = first == points.begin() ? 0 : static_cast<std::size_t>(first - points.begin()) - 1;
  double energy = 0;
  for (; i + 1 < points.size() && points[i].time_s < t_end_s; ++i) {
    const PowerPoint& a = points[i];
    const PowerPoint& b = points[i + 1];
    const double lo = std::max(a.time_s, t_begin_s);
    const double hi = std::min(b.time_s, t_end_s);
    // Zero-length segments (two samples at one instant) contribute nothing and would divide by 0.
    if (hi <= lo) continue;
    const double p_lo = lo == a.time_s ? a.watts : at(a, b, lo);
    const double p_hi = hi == b.time_s ? b.watts : at(a, b, hi);
    energy += 0.5 * (p_lo + p_hi) * (hi - lo);
  }
  return energy;
}

}  // namespace

std::optional<double> integrate_energy_J(std::span<const PowerPoint> points, double t_begin_s, double t_end_s) {
  for (std::size_t i = 1; i < points.size(); ++i) {
    if (points[i].time_s < points[i - 1].time_s) {
      throw Error("power samples", "not in time order at sample " + std::to_string(i));
    }
  }
  return integrate_sorted(points, t_begin_s, t_end_s);
}

PowerSampler::PowerSampler(std::vector<std::unique_ptr<PowerMeter>> meters, std::chrono::microseconds period,
                           std::chrono::seconds reserve_for)
    : period_(period) {
  if (period < std::chrono::milliseconds(1)) {
    throw Error("power sampler", "period of " + std::to_string(period.count()) + " us is below the 1 ms minimum");
  }
  std::map<std::string, int> occurrences;
  for (const auto& m : meters) {
    if (!m) throw Error("power sampler", "null meter");
    for (const auto& r : m->rails()) ++occurrences[r];
  }
  std::map<std::string, int> taken;
  for (auto& m : meters) {
    MeterSlot slot;
    slot.first_rail = rails_.size();
    slot.buffer.assign(m->rails().size(), 0.0);
    for (const auto& r : m->rails()) {
      std::string name = occurrences[r] > 1 ? m->name() + "-" + r : r;
      // Two meters with one name and one rail name: number them rather than merge them.
      if (const int n = taken[name]++; n > 0) name.append(1, '#').append(std::to_string(n + 1));
      rails_.push_back(std::move(name));
    }
    slot.meter = std::move(m);
    slots_.push_back(std::move(slot));
  }
  reserve_per_rail_ =
      static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::microseconds>(reserve_for) / period) + 2;
  points_.resize(rails_.size());
  for (const auto& slot : slots_) {
    // Interval averages are steps: two points per reading.
    const std::size_t n = reserve_per_rail_ * (slot.meter->reports_interval_average() ? 2 : 1);
    for (std::size_t i = 0; i < slot.buffer.size(); ++i) points_[slot.first_rail + i].reserve(n);
  }
}

PowerSampler::~PowerSampler() { halt(); }

void PowerSampler::start() {
  std::unique_lock lock(mutex_);
  if (running_) throw Error("power sampler", "already running");
  stop_requested_ = false;
  primed_ = false;
  priming_failed_ = false;
  error_ = nullptr;
  ticks_ = 0;
  running_ = true;
  thread_ = std::thread([this] { run(); });
  // Wait for the first reading, so that a window that begins after start() returns is
  // covered from its beginning.
  primed_cv_.wait(lock, [this] { return primed_; });
  // Only the first reading's error: a later one, from a reading the thread may already have
  // taken by now, is for stop() to report.
  if (priming_failed_) {
    lock.unlock();
    stop();  // joins the thread and rethrows the first reading's error
  }
}

void PowerSampler::halt() noexcept {
  {
    std::lock_guard lock(mutex_);
    if (!running_ && !thread_.joinable()) return;
    stop_requested_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  running_ = false;
}

void PowerSampler::stop() {
  halt();
  std::exception_ptr error;
  {
    std::lock_guard lock(mutex_);
    std::swap(error, error_);
  }
  if (error) std::rethrow_exception(error);
}

bool PowerSampler::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

const std::vector<std::string>& PowerSampler::rails() const { return rails_; }

void PowerSampler::read_all(bool priming) {
  for (auto& slot : slots_) {
    const double before = steady_clock_seconds();
    slot.meter->read_watts_into(slot.buffer);
    const double after = steady_clock_seconds();
    const double read_s = 0.5 * (before + after);
    const bool average = slot.meter->reports_interval_average();
    const double since_s = slot.previous_read_s;
    slot.previous_read_s = read_s;
    // An interval average is only a start on the priming read.
    if (priming && average) continue;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < slot.buffer.size(); ++i) {
      auto& points = points_[slot.first_rail + i];
      // An interval average is recorded as a step over its interval, so that integrating the
      // samples gives back exactly the energy the counter counted.
      if (average) points.push_back({since_s, slot.buffer[i]});
      points.push_back({read_s, slot.buffer[i]});
    }
  }
  const double now = steady_clock_seconds();
  std::lock_guard lock(mutex_);
  if (ticks_ == 0) first_tick_s_ = now;
  last_tick_s_ = now;
  ++ticks_;
}

void PowerSampler::run() {
  using clock = std::chrono::steady_clock;
  try {
    read_all(true);
    {
      std::lock_guard lock(mutex_);
      primed_ = true;
    }
    primed_cv_.notify_all();
    auto next = clock::now() + period_;
    while (true) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_until(lock, next, [this] { return stop_requested_; })) break;
      }
      read_all(false);
      next += period_;
      // After a stall (a slow read, a descheduled thread) continue from now instead of
      // catching up with a burst of back-to-back reads.
      if (const auto now = clock::now(); next < now) next = now + period_;
    }
    // A last reading, so that the window up to stop() is covered.
    read_all(false);
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      if (!primed_) priming_failed_ = true;
      primed_ = true;  // start() must not wait for a reading that will never come
    }
    primed_cv_.notify_all();
  }
}

std::vector<RailSample> PowerSampler::samples() const {
  std::lock_guard lock(mutex_);
  std::vector<RailSample> out;
  std::size_t total = 0;
  for (const auto& p : points_) total += p.size();
  out.reserve(total);
  for (std::size_t r = 0; r < points_.size(); ++r) {
    for (const auto& p : points_[r]) out.push_back({p.time_s, r, p.watts});
  }
  std::stable_sort(out.begin(), out.end(), [](const RailSample& a, const RailSample& b) {
    return a.time_s < b.time_s || (a.time_s == b.time_s && a.rail < b.rail);
  });
  return out;
}

std::vector<PowerPoint> PowerSampler::rail_points(std::size_t rail) const {
  if (rail >= rails_.size()) {
    throw Error("power sampler", "rail " + std::to_string(rail) + " out of range (" + std::to_string(rails_.size()) +
                                     " rails)");
  }
  std::lock_guard lock(mutex_);
  return points_[rail];
}

std::optional<double> PowerSampler::energy_J(std::size_t rail, double t_begin_s, double t_end_s) const {
  if (rail >= rails_.size()) {
    throw Error("power sampler", "rail " + std::to_string(rail) + " out of range (" + std::to_string(rails_.size()) +
                                     " rails)");
  }
  std::lock_guard lock(mutex_);
  return integrate_sorted(points_[rail], t_begin_s, t_end_s);
}

double PowerSampler::achieved_rate_hz() const {
  std::lock_guard lock(mutex_);
  if (ticks_ < 2 || last_tick_s_ <= first_tick_s_) return 0;
  return static_cast<double>(ticks_ - 1) / (last_tick_s_ - first_tick_s_);
}

}  // namespace sparoa::hw
