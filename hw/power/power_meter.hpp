#pragma once
// Power meters of the machine the hardware backend runs on: the INA3221 monitors of a Jetson
// (JetPack 5+ hwmon layout and JetPack 4 iio layout), Linux powercap/RAPL zones (Intel and
// AMD CPUs), and NVIDIA GPUs through NVML when libnvidia-ml.so.1 can be loaded. A machine
// without any of them gets no meter and the reason for each candidate in the notes, so that
// a report can say "energy: not measured" instead of inventing a number.
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sparoa::hw {

class PowerMeter {
 public:
  virtual ~PowerMeter() = default;
  // "ina3221 (JetPack 5+) 1-0040", "rapl package-0", "nvml GPU 0 (NVIDIA H100 80GB HBM3)".
  virtual std::string name() const = 0;
  // Rail names: "VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "package-0", "package-0/core", "gpu0".
  virtual const std::vector<std::string>& rails() const = 0;
  // Power of each rail in watts, one per rails() entry. Meters that only expose energy
  // counters (RAPL, NVML total energy) return the average power since their previous read
  // (the first read: since the meter was created), counter wrap-around included. Throws
  // sparoa::Error naming the file (or NVML call) when a value cannot be read or parsed.
  virtual std::vector<double> read_watts() = 0;
  // The same into a caller-owned buffer of rails().size() values, so that a sampling loop
  // does not allocate; the default goes through read_watts().
  virtual void read_watts_into(std::span<double> out);
  // True when read_watts() is the average over the interval since the previous read rather
  // than an instantaneous value: the sampler then records it as a step over that interval,
  // so that integrating the samples gives back the energy the counter counted.
  virtual bool reports_interval_average() const { return false; }
};

struct PowerMeterOptions {
  std::filesystem::path sysfs_root = "/";  // tests point this at a fixture folder
  bool nvml = true;                        // try libnvidia-ml.so.1 via dlopen
  // Seconds on a monotonic clock; counter meters (RAPL, NVML energy) divide the energy by
  // the time between two reads of it. Empty: std::chrono::steady_clock. Tests inject a
  // fake one so that derived watts are exact.
  std::function<double()> clock;
};

struct PowerMeterSearch {
  std::vector<std::unique_ptr<PowerMeter>> meters;
  // Why a candidate was skipped, e.g. "powercap intel-rapl:0: energy_uj not readable
  // (permission denied; run as root)", and one line per kind of meter that is absent.
  std::vector<std::string> notes;
};

// Looks for every kind of meter under options.sysfs_root (and NVML). Never throws for a
// missing or malformed meter: that becomes a note.
PowerMeterSearch find_power_meters(const PowerMeterOptions& options = {});

// One line for reports: "energy: measured by <meter>, <meter>" or
// "energy: not measured (no power meter found)".
std::string energy_status(const PowerMeterSearch& search);

// Seconds of std::chrono::steady_clock (time_since_epoch), the time base of the sampler.
double steady_clock_seconds();

}  // namespace sparoa::hw
