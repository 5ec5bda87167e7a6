#pragma once
// Samples power meters on a thread at a fixed period and integrates the samples into energy
// over any window of steady-clock time, e.g. one inference.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "hw/power/power_meter.hpp"

namespace sparoa::hw {

// One reading of one rail. time_s: steady-clock seconds (time_since_epoch), see
// steady_clock_seconds().
struct RailSample {
  double time_s;
  std::size_t rail;
  double watts;
};

struct PowerPoint {
  double time_s;
  double watts;
};

// Energy in joules between t_begin_s and t_end_s of the piecewise-linear power curve through
// `points` (trapezoidal rule; the curve is interpolated linearly at the window edges).
// nullopt when fewer than two points or when the points do not cover the whole window.
// Throws sparoa::Error when the points are not in time order or the window ends before it
// begins.
std::optional<double> integrate_energy_J(std::span<const PowerPoint> points, double t_begin_s, double t_end_s);

class PowerSampler {
 public:
  // Periods below 1 ms are refused (sysfs reads of a few rails take tens of microseconds
  // each; faster sampling would measure the sampler). `reserve_for` sizes the sample
  // buffers so that the loop does not reallocate during a run of that length.
  explicit PowerSampler(std::vector<std::unique_ptr<PowerMeter>> meters,
                        std::chrono::microseconds period = std::chrono::milliseconds(10),
                        std::chrono::seconds reserve_for = std::chrono::seconds(60));
  ~PowerSampler();  // stops the thread
  PowerSampler(const PowerSampler&) = delete;
  PowerSampler& operator=(const PowerSampler&) = delete;

  // Starts the sampling thread and returns once it has read every meter, so that energy_J()
  // covers any window that begins after start() returns and ends before stop() is called.
  // Throws when already running, and rethrows the error of that first reading.
  void start();
  // Takes a last reading, stops the thread, and rethrows the error that stopped sampling
  // early (a meter whose file became unreadable), if any. No-op when not running.
  void stop();
  bool running() const;

  // All meters' rails in meter order; a rail name that occurs more than once becomes
  // "<meter name>-<rail>".
  const std::vector<std::string>& rails() const;
  // Every sample so far in time order (ties by rail). Safe while running.
  std::vector<RailSample> samples() const;
  // Samples of one rail in time order. A meter that reports interval averages (RAPL, NVML
  // energy) gives two samples per reading, one at each end of its interval: a step.
  std::vector<PowerPoint> rail_points(std::size_t rail) const;
  // Energy of one rail between two steady-clock instants (seconds), integrate_energy_J() of
  // its samples; nullopt when the window is not covered by at least two samples.
  std::optional<double> energy_J(std::size_t rail, double t_begin_s, double t_end_s) const;
  // Sampling ticks per second actually achieved in the latest run (0 before two ticks).
  double achieved_rate_hz() const;
  std::chrono::microseconds period() const { return period_; }

 private:
  struct MeterSlot {
    std::unique_ptr<PowerMeter> meter;
    std::size_t first_rail = 0;
    std::vector<double> buffer;
    double previous_read_s = 0;  // for interval-average meters
  };
  void run();
  void read_all(bool priming);
  void halt() noexcept;

  std::vector<MeterSlot> slots_;
  std::vector<std::string> rails_;
  std::chrono::microseconds period_;
  std::size_t reserve_per_rail_ = 0;

  mutable std::mutex mutex_;  // guards everything below, and the flag the thread waits on
  std::condition_variable wake_;       // stop requested
  std::condition_variable primed_cv_;  // first reading taken
  bool stop_requested_ = false;
  bool primed_ = false;
  bool priming_failed_ = false;
  bool running_ = false;
  std::vector<std::vector<PowerPoint>> points_;  // per rail
  std::size_t ticks_ = 0;
  double first_tick_s_ = 0;
  double last_tick_s_ = 0;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace sparoa::hw
