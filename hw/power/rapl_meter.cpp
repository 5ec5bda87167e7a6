// Linux powercap energy counters (Intel RAPL; AMD CPUs since Linux 5.8 use the same
// intel-rapl control type): sys/class/powercap/intel-rapl:<p> is a package-level zone,
// intel-rapl:<p>:<s> its sub-zones (core, uncore, dram); each has `name`, `energy_uj` (a
// microjoule counter) and `max_energy_range_uj` (where the counter wraps to 0). One meter per
// package-level zone, its sub-zones as further rails. Since Linux 5.10 energy_uj is readable by
// root only (CVE-2020-8694), hence a note rather than an error when it cannot be opened.
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hw/power/meter_finders.hpp"
#include "hw/power/sysfs_file.hpp"
#include "support/error.hpp"

namespace sparoa::hw::power_detail {

namespace {

namespace fs = std::filesystem;

class RaplMeter final : public PowerMeter {
 public:
  struct Zone {
    std::string rail;
    SysfsFile energy_uj;
    std::int64_t range_uj = 0;
    std::int64_t previous_uj = 0;
  };

  RaplMeter(std::string name, std::vector<Zone> zones, std::function<double()> clock)
      : name_(std::move(name)), zones_(std::move(zones)), clock_(std::move(clock)), watts_(zones_.size(), 0.0) {
    for (const auto& z : zones_) rails_.push_back(z.rail);
    // The first read_watts() reports the average since now.
    previous_s_ = clock_();
    for (auto& z : zones_) z.previous_uj = read_energy(z);
  }

  std::string name() const override { return name_; }
  const std::vector<std::string>& rails() const override { return rails_; }
  bool reports_interval_average() const override { return true; }
  std::vector<double> read_watts() override {
    std::vector<double> out(rails_.size());
    read_watts_into(out);
    return out;
  }
  void read_watts_into(std::span<double> out) override {
    const double now = clock_();
    const double dt = now - previous_s_;
    for (std::size_t i = 0; i < zones_.size(); ++i) {
      Zone& z = zones_[i];
      const std::int64_t uj = read_energy(z);
      const auto delta = counter_delta(z.previous_uj, uj, z.range_uj);
      if (!delta) {
        throw Error(z.energy_uj.path().string(), "counter went from " + std::to_string(z.previous_uj) + " to " +
                                                     std::to_string(uj) + " but wraps at max_energy_range_uj " +
                                                     std::to_string(z.range_uj));
      }
      // Two reads at the same instant carry no new information: keep the last power.
      if (dt > 0) watts_[i] = static_cast<double>(*delta) * 1e-6 / dt;
      z.previous_uj = uj;
      out[i] = watts_[i];
    }
    if (dt > 0) previous_s_ = now;
  }

 private:
  static std::int64_t read_energy(const Zone& z) {
    const std::int64_t uj = z.energy_uj.read_int();
    if (uj < 0 || uj > z.range_uj) {
      throw Error(z.energy_uj.path().string(),
                  std::to_string(uj) + " is outside 0..max_energy_range_uj (" + std::to_string(z.range_uj) + ")");
    }
    return uj;
  }

  std::string name_;
  std::vector<std::string> rails_;
  std::vector<Zone> zones_;
  std::function<double()> clock_;
  std::vector<double> watts_;
  double previous_s_ = 0;
};

// "intel-rapl:0" -> {"0"}, "intel-rapl:0:1" -> {"0", "1"}; empty when not a zone name.
std::vector<std::string> zone_indices(const std::string& dir_name) {
  std::vector<std::string> out;
  std::string rest = dir_name.substr(std::string("intel-rapl:").size());
  std::size_t start = 0;
  while (true) {
    const auto colon = rest.find(':', start);
    std::string part = rest.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (part.empty()) return {};
    for (char c : part) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return {};
    }
    out.push_back(std::move(part));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// A zone's name, counter and range, or nullopt and a note.
std::optional<RaplMeter::Zone> open_zone(const fs::path& dir, const std::string& rail_prefix,
                                         PowerMeterSearch& search) {
  const std::string what = "powercap " + dir.filename().string();
  RaplMeter::Zone zone;
  const char* file = "name";
  try {
    zone.rail = read_label(dir / "name");
    if (zone.rail.empty()) {
      search.notes.push_back(what + ": empty name, skipped");
      return std::nullopt;
    }
    zone.rail = rail_prefix + zone.rail;
    file = "max_energy_range_uj";
    zone.range_uj = SysfsFile(dir / file).read_int();
    if (zone.range_uj <= 0) {
      search.notes.push_back(what + ": max_energy_range_uj is " + std::to_string(zone.range_uj) + ", skipped");
      return std::nullopt;
    }
    file = "energy_uj";
    zone.energy_uj = SysfsFile(dir / file);
    const std::int64_t uj = zone.energy_uj.read_int();
    if (uj < 0 || uj > zone.range_uj) {
      search.notes.push_back(what + ": energy_uj " + std::to_string(uj) +
                             " is outside 0..max_energy_range_uj, skipped");
      return std::nullopt;
    }
  } catch (const std::exception& e) {
    search.notes.push_back(what + ": " + file + " " + reason_of(e) + ", skipped");
    return std::nullopt;
  }
  return zone;
}

}  // namespace

void find_rapl_meters(const PowerMeterOptions& options, PowerMeterSearch& search) {
  const fs::path powercap = options.sysfs_root / "sys/class/powercap";
  // The class folder lists every zone, sub-zones included, as its own entry.
  std::vector<std::pair<std::string, fs::path>> packages;  // {"0", .../intel-rapl:0}, in name order
  std::map<std::string, std::vector<fs::path>> sub_zones;  // "0" -> {.../intel-rapl:0:0, ...}
  for (auto& dir : subdirectories(powercap, "intel-rapl:")) {
    const auto idx = zone_indices(dir.filename().string());
    if (idx.size() == 1) {
      packages.emplace_back(idx[0], std::move(dir));
    } else if (idx.size() == 2) {
      sub_zones[idx[0]].push_back(std::move(dir));
    }
  }
  if (packages.empty()) {
    search.notes.push_back("powercap: no intel-rapl:* zone under " + powercap.string());
    return;
  }
  for (const auto& [index, dir] : packages) {
    auto package = open_zone(dir, "", search);
    if (!package) continue;
    std::vector<RaplMeter::Zone> zones;
    const std::string package_name = package->rail;
    zones.push_back(std::move(*package));
    for (const auto& sub_dir : sub_zones[index]) {
      auto sub = open_zone(sub_dir, package_name + "/", search);
      if (sub) zones.push_back(std::move(*sub));
    }
    try {
      search.meters.push_back(std::make_unique<RaplMeter>("rapl " + package_name, std::move(zones), clock_of(options)));
    } catch (const std::exception& e) {
      search.notes.push_back("powercap " + dir.filename().string() + ": " + e.what() + ", skipped");
    }
  }
}

}  // namespace sparoa::hw::power_detail
