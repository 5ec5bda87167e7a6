#pragma once
// Internal to hw/power: each kind of meter searches for itself; find_power_meters() calls
// them in turn. Each appends meters it can read and notes for what it had to skip.
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hw/power/power_meter.hpp"

namespace sparoa::hw::power_detail {

void find_ina3221_meters(const PowerMeterOptions& options, PowerMeterSearch& search);   // ina3221_meter.cpp
void find_ina3221x_meters(const PowerMeterOptions& options, PowerMeterSearch& search);  // ina3221_meter.cpp
void find_rapl_meters(const PowerMeterOptions& options, PowerMeterSearch& search);      // rapl_meter.cpp
void find_nvml_meters(const PowerMeterOptions& options, PowerMeterSearch& search);      // nvml_meter.cpp

// Subdirectories of `dir` whose name starts with `prefix`, sorted by name (numbers in names
// compared as numbers, so that hwmon10 follows hwmon9); empty when `dir` is absent.
std::vector<std::filesystem::path> subdirectories(const std::filesystem::path& dir, const std::string& prefix);

// options.clock, or steady_clock_seconds when it is empty.
std::function<double()> clock_of(const PowerMeterOptions& options);

// A counter that counts up to `range` and then wraps to 0: the amount it advanced from
// `before` to `after`, assuming it wrapped at most once between the two reads. nullopt when
// that cannot be (negative values, or a value above the range).
std::optional<std::int64_t> counter_delta(std::int64_t before, std::int64_t after, std::int64_t range);

// The reason part of a sparoa::Error ("not an integer: 'abc'"), without its `where`.
std::string reason_of(const std::exception& error);

}  // namespace sparoa::hw::power_detail
