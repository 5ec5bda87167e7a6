#include "hw/power/power_meter.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string_view>

#include "hw/power/meter_finders.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

void PowerMeter::read_watts_into(std::span<double> out) {
  const std::vector<double> watts = read_watts();
  if (watts.size() != out.size()) {
    throw Error(name(),
                "read " + std::to_string(watts.size()) + " values for " + std::to_string(out.size()) + " rails");
  }
  std::copy(watts.begin(), watts.end(), out.begin());
}

double steady_clock_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

PowerMeterSearch find_power_meters(const PowerMeterOptions& options) {
  PowerMeterSearch search;
  // Boards first: on a Jetson the INA3221 rails are the meters that matter.
  power_detail::find_ina3221_meters(options, search);
  power_detail::find_ina3221x_meters(options, search);
  power_detail::find_rapl_meters(options, search);
  power_detail::find_nvml_meters(options, search);
  if (search.meters.empty()) search.notes.push_back("no power meter found");
  return search;
}

std::string energy_status(const PowerMeterSearch& search) {
  if (search.meters.empty()) return "energy: not measured (no power meter found)";
  std::string out = "energy: measured by ";
  for (std::size_t i = 0; i < search.meters.size(); ++i) out += (i ? ", " : "") + search.meters[i]->name();
  return out;
}

namespace power_detail {

namespace {

// Orders "hwmon2" before "hwmon10": runs of digits compare as numbers.
bool natural_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      // Without leading zeros a longer run is a larger number.
      std::string_view na(a.data() + i, ie - i), nb(b.data() + j, je - j);
      while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

std::vector<std::filesystem::path> subdirectories(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::error_code dir_ec;
    // sysfs device entries are symbolic links to folders: follow them.
    if (std::filesystem::is_directory(it->path(), dir_ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return natural_less(a.filename().string(), b.filename().string());
  });
  return out;
}

std::function<double()> clock_of(const PowerMeterOptions& options) {
  if (options.clock) return options.clock;
  return &steady_clock_seconds;
}

std::optional<std::int64_t> counter_delta(std::int64_t before, std::int64_t after, std::int64_t range) {
  if (before < 0 || after < 0 || before > range || after > range) return std::nullopt;
  if (after >= before) return after - before;
  return (range - before) + after;
}

std::string reason_of(const std::exception& error) {
  const std::string what = error.what();
  if (const auto* e = dynamic_cast<const Error*>(&error); e != nullptr && !e->where().empty()) {
    const std::string prefix = e->where() + ": ";
    if (what.compare(0, prefix.size(), prefix) == 0) return what.substr(prefix.size());
  }
  return what;
}

}  // namespace power_detail

}  // namespace sparoa::hw
