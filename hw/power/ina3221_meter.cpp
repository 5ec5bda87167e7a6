// The Jetson's INA3221 power monitors, in the two sysfs layouts Jetson Linux has used
// (README.md lists the sources):
// * JetPack 5+ (mainline hwmon driver `ina3221`):
//   sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmon<k>/in<N>_label, in<N>_input (mV),
//   curr<N>_input (mA), N = 1..3; unconnected channels are labelled "NC".
// * JetPack 4 (L4T iio driver `ina3221x`):
//   sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device<k>/rail_name_<N>,
//   in_power<N>_input (mW), N = 0..2.
#include <cctype>
#include <memory>
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

// The driver folder also holds bind, unbind, uevent and a `module` link; devices are named
// "<bus>-<4 hex digits of address>", e.g. "1-0040".
bool is_i2c_device_name(const std::string& name) {
  const auto dash = name.find('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == name.size()) return false;
  for (std::size_t i = 0; i < dash; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  for (std::size_t i = dash + 1; i < name.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  }
  return true;
}

std::vector<fs::path> i2c_devices(const fs::path& driver_dir) {
  std::vector<fs::path> out;
  for (auto& dir : subdirectories(driver_dir, "")) {
    if (is_i2c_device_name(dir.filename().string())) out.push_back(std::move(dir));
  }
  return out;
}

// JetPack 5+: watts = mV x mA / 1e6, each read from its own file.
class Ina3221HwmonMeter final : public PowerMeter {
 public:
  struct Channel {
    SysfsFile millivolts;
    SysfsFile milliamps;
  };

  Ina3221HwmonMeter(std::string name, std::vector<std::string> rails, std::vector<Channel> channels)
      : name_(std::move(name)), rails_(std::move(rails)), channels_(std::move(channels)) {}

  std::string name() const override { return name_; }
  const std::vector<std::string>& rails() const override { return rails_; }
  std::vector<double> read_watts() override {
    std::vector<double> out(rails_.size());
    read_watts_into(out);
    return out;
  }
  void read_watts_into(std::span<double> out) override {
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      const auto mv = static_cast<double>(channels_[i].millivolts.read_int());
      const auto ma = static_cast<double>(channels_[i].milliamps.read_int());
      out[i] = mv * ma / 1e6;
    }
  }

 private:
  std::string name_;
  std::vector<std::string> rails_;
  std::vector<Channel> channels_;
};

// JetPack 4: the driver computes the power itself, in milliwatts.
class Ina3221IioMeter final : public PowerMeter {
 public:
  Ina3221IioMeter(std::string name, std::vector<std::string> rails, std::vector<SysfsFile> milliwatts)
      : name_(std::move(name)), rails_(std::move(rails)), milliwatts_(std::move(milliwatts)) {}

  std::string name() const override { return name_; }
  const std::vector<std::string>& rails() const override { return rails_; }
  std::vector<double> read_watts() override {
    std::vector<double> out(rails_.size());
    read_watts_into(out);
    return out;
  }
  void read_watts_into(std::span<double> out) override {
    for (std::size_t i = 0; i < milliwatts_.size(); ++i) out[i] = static_cast<double>(milliwatts_[i].read_int()) / 1e3;
  }

 private:
  std::string name_;
  std::vector<std::string> rails_;
  std::vector<SysfsFile> milliwatts_;
};

// The channel's label, or an empty string (and a note) when it is to be skipped.
std::string channel_label(const fs::path& label_file, const std::string& what, PowerMeterSearch& search) {
  std::error_code ec;
  if (!fs::exists(label_file, ec)) {
    search.notes.push_back(what + ": no " + label_file.filename().string() + ", skipped");
    return {};
  }
  std::string label;
  try {
    label = read_label(label_file);
  } catch (const std::exception& e) {
    search.notes.push_back(what + ": " + label_file.filename().string() + " " + reason_of(e) + ", skipped");
    return {};
  }
  if (label == "NC") {
    search.notes.push_back(what + ": not connected (label NC), skipped");
    return {};
  }
  if (label.empty()) {
    search.notes.push_back(what + ": " + label_file.filename().string() + " is empty, skipped");
    return {};
  }
  return label;
}

// Opens a value file and reads it once, so that a broken channel is a note now rather than
// an error in the middle of a measurement.
bool open_value(const fs::path& file, const std::string& what, PowerMeterSearch& search, std::vector<SysfsFile>& out) {
  try {
    SysfsFile f(file);
    (void)f.read_int();
    out.push_back(std::move(f));
    return true;
  } catch (const std::exception& e) {
    search.notes.push_back(what + ": " + file.filename().string() + " " + reason_of(e) + " (" + file.string() +
                           "), skipped");
    return false;
  }
}

}  // namespace

void find_ina3221_meters(const PowerMeterOptions& options, PowerMeterSearch& search) {
  const std::string kind = "ina3221 (JetPack 5+)";
  const fs::path driver = options.sysfs_root / "sys/bus/i2c/drivers/ina3221";
  std::error_code ec;
  if (!fs::is_directory(driver, ec)) {
    search.notes.push_back(kind + ": no " + driver.string());
    return;
  }
  const auto devices = i2c_devices(driver);
  if (devices.empty()) search.notes.push_back(kind + ": no I2C device under " + driver.string());
  for (const auto& device : devices) {
    const std::string meter_name = kind + " " + device.filename().string();
    const auto hwmons = subdirectories(device / "hwmon", "hwmon");
    if (hwmons.empty()) search.notes.push_back(meter_name + ": no hwmon/hwmon* folder, skipped");
    for (const auto& hwmon : hwmons) {
      std::vector<std::string> rails;
      std::vector<Ina3221HwmonMeter::Channel> channels;
      for (int n = 1; n <= 3; ++n) {
        const std::string idx = std::to_string(n);
        const std::string what = meter_name + " channel " + idx;
        const std::string label = channel_label(hwmon / ("in" + idx + "_label"), what, search);
        if (label.empty()) continue;
        std::vector<SysfsFile> files;
        const std::string rail_what = what + " (" + label + ")";
        if (!open_value(hwmon / ("in" + idx + "_input"), rail_what, search, files)) continue;
        if (!open_value(hwmon / ("curr" + idx + "_input"), rail_what, search, files)) continue;
        rails.push_back(label);
        channels.push_back({std::move(files[0]), std::move(files[1])});
      }
      if (channels.empty()) {
        search.notes.push_back(meter_name + ": no readable channel in " + hwmon.string());
        continue;
      }
      search.meters.push_back(std::make_unique<Ina3221HwmonMeter>(meter_name, std::move(rails), std::move(channels)));
    }
  }
}

void find_ina3221x_meters(const PowerMeterOptions& options, PowerMeterSearch& search) {
  const std::string kind = "ina3221x (JetPack 4)";
  const fs::path driver = options.sysfs_root / "sys/bus/i2c/drivers/ina3221x";
  std::error_code ec;
  if (!fs::is_directory(driver, ec)) {
    search.notes.push_back(kind + ": no " + driver.string());
    return;
  }
  const auto devices = i2c_devices(driver);
  if (devices.empty()) search.notes.push_back(kind + ": no I2C device under " + driver.string());
  for (const auto& device : devices) {
    const std::string meter_name = kind + " " + device.filename().string();
    const auto iios = subdirectories(device, "iio:device");
    if (iios.empty()) search.notes.push_back(meter_name + ": no iio:device* folder, skipped");
    for (const auto& iio : iios) {
      std::vector<std::string> rails;
      std::vector<SysfsFile> milliwatts;
      for (int n = 0; n <= 2; ++n) {
        const std::string idx = std::to_string(n);
        const std::string what = meter_name + " channel " + idx;
        const std::string label = channel_label(iio / ("rail_name_" + idx), what, search);
        if (label.empty()) continue;
        if (!open_value(iio / ("in_power" + idx + "_input"), what + " (" + label + ")", search, milliwatts)) continue;
        rails.push_back(label);
      }
      if (milliwatts.empty()) {
        search.notes.push_back(meter_name + ": no readable channel in " + iio.string());
        continue;
      }
      search.meters.push_back(std::make_unique<Ina3221IioMeter>(meter_name, std::move(rails), std::move(milliwatts)));
    }
  }
}

}  // namespace sparoa::hw::power_detail
