// Tests of hw/power: each sysfs layout from a fixture folder under fixtures/sysfs/ (copied to a
// temporary folder where a test rewrites a counter), the energy integration on hand-worked
// numbers, and the sampler. Nothing here asserts on wall-clock time or on how many samples a
// run took.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hw/power/power_meter.hpp"
#include "hw/power/power_sampler.hpp"
#include "hw/power/sysfs_file.hpp"
#include "support/error.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sparoa::hw;

fs::path fixture(const std::string& name) {
  return fs::path(SPAROA_SOURCE_DIR) / "tests/hw/power/fixtures/sysfs" / name;
}

// A fresh folder under the test temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::path(testing::TempDir()) / "sparoa-power-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A copy of a fixture that a test may modify.
fs::path copy_fixture(const std::string& name, const TempDir& tmp) {
  const fs::path dst = tmp.path() / name;
  fs::copy(fixture(name), dst, fs::copy_options::recursive);
  return dst;
}

// Rewrites a file in place (same inode), as the kernel does with a sysfs value.
void rewrite(const fs::path& file, const std::string& content) {
  std::ofstream out(file, std::ios::trunc);
  out << content << "\n";
  ASSERT_TRUE(out.good()) << file;
}

PowerMeterSearch search_in(const fs::path& root) {
  PowerMeterOptions options;
  options.sysfs_root = root;
  options.nvml = false;
  return find_power_meters(options);
}

bool has_note(const PowerMeterSearch& s, const std::string& part) {
  return std::any_of(s.notes.begin(), s.notes.end(),
                     [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

std::string all_notes(const PowerMeterSearch& s) {
  std::string out;
  for (const auto& n : s.notes) out += "  " + n + "\n";
  return out;
}

// --- detection and watts per layout ---------------------------------------------------------

TEST(PowerMeters, JetPack5Ina3221) {
  const auto s = search_in(fixture("jetpack5"));
  ASSERT_EQ(s.meters.size(), 2u) << all_notes(s);
  EXPECT_EQ(s.meters[0]->name(), "ina3221 (JetPack 5+) 1-0040");
  EXPECT_EQ(s.meters[0]->rails(), (std::vector<std::string>{"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0"}));
  EXPECT_EQ(s.meters[1]->name(), "ina3221 (JetPack 5+) 1-0041");
  EXPECT_EQ(s.meters[1]->rails(), (std::vector<std::string>{"VDDQ_VDD2_1V8AO"}));
  // mV x mA / 1e6.
  const auto w0 = s.meters[0]->read_watts();
  ASSERT_EQ(w0.size(), 3u);
  EXPECT_DOUBLE_EQ(w0[0], 5080.0 * 1200.0 / 1e6);  // 6.096 W
  EXPECT_DOUBLE_EQ(w0[1], 5084.0 * 500.0 / 1e6);   // 2.542 W
  EXPECT_DOUBLE_EQ(w0[2], 4960.0 * 800.0 / 1e6);   // 3.968 W
  const auto w1 = s.meters[1]->read_watts();
  ASSERT_EQ(w1.size(), 1u);
  EXPECT_DOUBLE_EQ(w1[0], 4984.0 * 250.0 / 1e6);
  // The two NC channels of 1-0041 are skipped with a note; the sum-of-shunts channel 7 is not a rail.
  EXPECT_TRUE(has_note(s, "1-0041 channel 1: not connected (label NC)")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "1-0041 channel 3: not connected (label NC)")) << all_notes(s);
  EXPECT_FALSE(has_note(s, "1-0040")) << all_notes(s);
  EXPECT_FALSE(s.meters[0]->reports_interval_average());
  EXPECT_EQ(energy_status(s), "energy: measured by ina3221 (JetPack 5+) 1-0040, ina3221 (JetPack 5+) 1-0041");
}

TEST(PowerMeters, JetPack4Ina3221x) {
  const auto s = search_in(fixture("jetpack4"));
  ASSERT_EQ(s.meters.size(), 1u) << all_notes(s);
  EXPECT_EQ(s.meters[0]->name(), "ina3221x (JetPack 4) 1-0040");
  EXPECT_EQ(s.meters[0]->rails(), (std::vector<std::string>{"GPU", "CPU", "SOC"}));
  // in_power<N>_input is in milliwatts.
  const auto w = s.meters[0]->read_watts();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_DOUBLE_EQ(w[0], 1.532);
  EXPECT_DOUBLE_EQ(w[1], 0.459);
  EXPECT_DOUBLE_EQ(w[2], 1.226);
  EXPECT_TRUE(has_note(s, "ina3221 (JetPack 5+): no ")) << all_notes(s);
}

TEST(PowerMeters, JetPack5ReadsFollowTheFiles) {
  TempDir tmp;
  const fs::path root = copy_fixture("jetpack5", tmp);
  auto s = search_in(root);
  ASSERT_EQ(s.meters.size(), 2u) << all_notes(s);
  const fs::path hwmon = root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1";
  rewrite(hwmon / "in1_input", "5000");
  rewrite(hwmon / "curr1_input", "2000");
  std::vector<double> w(3);
  s.meters[0]->read_watts_into(w);
  EXPECT_DOUBLE_EQ(w[0], 10.0);
  EXPECT_DOUBLE_EQ(w[1], 2.542);
}

// A fake clock: counter meters divide by the time between reads, which a test must control.
struct FakeClock {
  std::shared_ptr<double> now = std::make_shared<double>(100.0);
  std::function<double()> fn() const {
    auto p = now;
    return [p] { return *p; };
  }
};

TEST(PowerMeters, RaplPackageAndSubZone) {
  TempDir tmp;
  const fs::path root = copy_fixture("rapl", tmp);
  FakeClock clock;
  PowerMeterOptions options;
  options.sysfs_root = root;
  options.nvml = false;
  options.clock = clock.fn();
  auto s = find_power_meters(options);
  ASSERT_EQ(s.meters.size(), 1u) << all_notes(s);
  PowerMeter& m = *s.meters[0];
  EXPECT_EQ(m.name(), "rapl package-0");
  EXPECT_EQ(m.rails(), (std::vector<std::string>{"package-0", "package-0/core"}));
  EXPECT_TRUE(m.reports_interval_average());

  const fs::path zones = root / "sys/class/powercap";
  // 0.5 s later: the package counted 2 J (2'000'000 uJ) -> 4 W. The core counter was
  // 328'850 uJ below its range of 262'143'328'850 and wrapped to 671'150: 1 J -> 2 W.
  *clock.now = 100.5;
  rewrite(zones / "intel-rapl:0/energy_uj", "3000000");
  rewrite(zones / "intel-rapl:0:0/energy_uj", "671150");
  auto w = m.read_watts();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_DOUBLE_EQ(w[0], 4.0);
  EXPECT_DOUBLE_EQ(w[1], 2.0);

  // 0.25 s later: +0.5 J on the package, nothing on the core.
  *clock.now = 100.75;
  rewrite(zones / "intel-rapl:0/energy_uj", "3500000");
  w = m.read_watts();
  EXPECT_DOUBLE_EQ(w[0], 2.0);
  EXPECT_DOUBLE_EQ(w[1], 0.0);

  // Two reads at the same instant keep the last power rather than divide by zero.
  w = m.read_watts();
  EXPECT_DOUBLE_EQ(w[0], 2.0);
}

TEST(PowerMeters, RaplCounterOutsideItsRangeIsAnErrorNamingTheFile) {
  TempDir tmp;
  const fs::path root = copy_fixture("rapl", tmp);
  FakeClock clock;
  PowerMeterOptions options;
  options.sysfs_root = root;
  options.nvml = false;
  options.clock = clock.fn();
  auto s = find_power_meters(options);
  ASSERT_EQ(s.meters.size(), 1u) << all_notes(s);
  *clock.now = 101;
  rewrite(root / "sys/class/powercap/intel-rapl:0/energy_uj", "999999999999999");
  try {
    s.meters[0]->read_watts();
    FAIL() << "expected an error";
  } catch (const sparoa::Error& e) {
    EXPECT_NE(std::string(e.what()).find("intel-rapl:0/energy_uj"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("max_energy_range_uj"), std::string::npos) << e.what();
  }
}

TEST(PowerMeters, RaplUnreadableEnergyIsANote) {
  EXPECT_EQ(sparoa::hw::power_detail::describe_errno(EACCES), "permission denied; run as root");
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
  TempDir tmp;
  const fs::path root = copy_fixture("rapl", tmp);
  fs::permissions(root / "sys/class/powercap/intel-rapl:0/energy_uj", fs::perms::none);
  const auto s = search_in(root);
  EXPECT_TRUE(s.meters.empty());
  EXPECT_TRUE(has_note(s, "powercap intel-rapl:0: energy_uj not readable (permission denied; run as root)"))
      << all_notes(s);
}

// --- malformed layouts ----------------------------------------------------------------------

TEST(PowerMeters, GarbageIsANoteNamingTheFile) {
  const auto s = search_in(fixture("broken"));
  EXPECT_TRUE(s.meters.empty());
  EXPECT_TRUE(has_note(s, "channel 1 (VDD_IN): in1_input not an integer: 'garbage'")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "channel 2 (VDD_CPU): curr2_input not readable")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "channel 3: no in3_label")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "1-0040: no readable channel")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "powercap intel-rapl:0: energy_uj not an integer: '12abc'")) << all_notes(s);
  EXPECT_EQ(energy_status(s), "energy: not measured (no power meter found)");
}

TEST(PowerMeters, GarbageWhenReadingIsAnErrorNamingTheFile) {
  TempDir tmp;
  const fs::path root = copy_fixture("jetpack5", tmp);
  auto s = search_in(root);
  ASSERT_FALSE(s.meters.empty());
  rewrite(root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr2_input", "oops");
  try {
    s.meters[0]->read_watts();
    FAIL() << "expected an error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(fs::path(e.where()).filename(), "curr2_input") << e.what();
    EXPECT_NE(std::string(e.what()).find("not an integer: 'oops'"), std::string::npos) << e.what();
  }
  rewrite(root / "sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon1/curr2_input", "");
  EXPECT_THROW(s.meters[0]->read_watts(), sparoa::Error);
}

TEST(PowerMeters, EmptyRootHasNoMeterAndSaysWhy) {
  TempDir tmp;
  const auto s = search_in(tmp.path());
  EXPECT_TRUE(s.meters.empty());
  EXPECT_TRUE(has_note(s, "ina3221 (JetPack 5+): no ")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "ina3221x (JetPack 4): no ")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "powercap: no intel-rapl:* zone")) << all_notes(s);
  EXPECT_TRUE(has_note(s, "nvml: not tried")) << all_notes(s);
  EXPECT_EQ(s.notes.back(), "no power meter found");
  EXPECT_EQ(energy_status(s), "energy: not measured (no power meter found)");
}

TEST(PowerMeters, NvmlIsAMeterOrANote) {
  // Whatever this machine has: GPUs through NVML, or a note saying why not; never a crash.
  TempDir tmp;
  PowerMeterOptions options;
  options.sysfs_root = tmp.path();
  const auto s = find_power_meters(options);
  if (s.meters.empty()) {
    EXPECT_TRUE(has_note(s, "nvml")) << all_notes(s);
    return;
  }
  for (const auto& m : s.meters) {
    EXPECT_EQ(m->name().rfind("nvml GPU ", 0), 0u) << m->name();
    const auto w = m->read_watts();
    ASSERT_EQ(w.size(), 1u);
    EXPECT_TRUE(std::isfinite(w[0]) && w[0] >= 0) << w[0];
  }
}

TEST(PowerMeters, ParseInt) {
  using sparoa::hw::power_detail::parse_int;
  std::int64_t v = 0;
  EXPECT_TRUE(parse_int(" 42\n", v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(parse_int("-7", v));
  EXPECT_EQ(v, -7);
  EXPECT_FALSE(parse_int("", v));
  EXPECT_FALSE(parse_int("4 2", v));
  EXPECT_FALSE(parse_int("12abc", v));
  EXPECT_FALSE(parse_int("99999999999999999999999", v));
}

// --- energy integration ---------------------------------------------------------------------

TEST(EnergyIntegration, TrapezoidsOnHandWorkedNumbers) {
  // 2 W at 0 s, 4 W at 1 s, 8 W at 2 s.
  const std::vector<PowerPoint> p{{0, 2}, {1, 4}, {2, 8}};
  // (2+4)/2 x 1 + (4+8)/2 x 1 = 3 + 6.
  EXPECT_EQ(integrate_energy_J(p, 0, 2), 9.0);
  EXPECT_EQ(integrate_energy_J(p, 0, 1), 3.0);
  // Edges interpolated: 3 W at 0.5 s, 6 W at 1.5 s: (3+4)/2 x 0.5 + (4+6)/2 x 0.5 = 1.75 + 2.5.
  EXPECT_EQ(integrate_energy_J(p, 0.5, 1.5), 4.25);
  // Inside one segment: 2.5 W at 0.25 s, 3.5 W at 0.75 s: 3 x 0.5.
  EXPECT_EQ(integrate_energy_J(p, 0.25, 0.75), 1.5);
  // An empty window on a covered instant.
  EXPECT_EQ(integrate_energy_J(p, 1, 1), 0.0);
  // A step: two samples at one instant.
  const std::vector<PowerPoint> step{{0, 1}, {1, 1}, {1, 3}, {2, 3}};
  EXPECT_EQ(integrate_energy_J(step, 0, 2), 4.0);
  EXPECT_EQ(integrate_energy_J(step, 0.5, 1.5), 2.0);
}

TEST(EnergyIntegration, WindowNotCoveredIsNullopt) {
  const std::vector<PowerPoint> p{{0, 2}, {1, 4}, {2, 8}};
  EXPECT_EQ(integrate_energy_J(p, -0.5, 1), std::nullopt);
  EXPECT_EQ(integrate_energy_J(p, 1, 2.5), std::nullopt);
  EXPECT_EQ(integrate_energy_J(p, -1, 3), std::nullopt);
  const std::vector<PowerPoint> one{{0, 2}};
  EXPECT_EQ(integrate_energy_J(one, 0, 0), std::nullopt);
  EXPECT_EQ(integrate_energy_J(std::vector<PowerPoint>{}, 0, 0), std::nullopt);
}

TEST(EnergyIntegration, BadInputIsAnError) {
  const std::vector<PowerPoint> unordered{{0, 2}, {2, 4}, {1, 8}};
  EXPECT_THROW(integrate_energy_J(unordered, 0, 1), sparoa::Error);
  const std::vector<PowerPoint> p{{0, 2}, {1, 4}};
  EXPECT_THROW(integrate_energy_J(p, 1, 0), sparoa::Error);
}

// --- sampler --------------------------------------------------------------------------------

// Waits (without asserting on time) until the rail has `n` samples; false after a generous
// deadline, so that a broken sampler fails the test instead of hanging it.
bool wait_for_samples(const PowerSampler& sampler, std::size_t rail, std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (sampler.rail_points(rail).size() < n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(PowerSampler, SamplesAreTimeOrderedWithTheFixtureWatts) {
  auto s = search_in(fixture("jetpack5"));
  ASSERT_EQ(s.meters.size(), 2u) << all_notes(s);
  PowerSampler sampler(std::move(s.meters), std::chrono::milliseconds(1));
  EXPECT_EQ(sampler.rails(),
            (std::vector<std::string>{"VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"}));
  sampler.start();
  const double after_start = steady_clock_seconds();
  EXPECT_TRUE(sampler.running());
  EXPECT_THROW(sampler.start(), sparoa::Error);
  ASSERT_TRUE(wait_for_samples(sampler, 3, 3));
  const double before_stop = steady_clock_seconds();
  sampler.stop();
  EXPECT_FALSE(sampler.running());

  const std::vector<double> expected{6.096, 2.542, 3.968, 1.246};
  const auto samples = sampler.samples();
  ASSERT_GE(samples.size(), 4u * 3u);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    ASSERT_LT(samples[i].rail, 4u);
    EXPECT_DOUBLE_EQ(samples[i].watts, expected[samples[i].rail]);
    if (i > 0) {
      EXPECT_LE(samples[i - 1].time_s, samples[i].time_s);
    }
  }
  // Constant power: the energy of a covered window is power x duration.
  const auto points = sampler.rail_points(0);
  ASSERT_GE(points.size(), 3u);
  const double t0 = points.front().time_s, t1 = points.back().time_s;
  const auto e = sampler.energy_J(0, t0, t1);
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(*e, 6.096 * (t1 - t0), 1e-9 * 6.096 * (t1 - t0) + 1e-12);
  EXPECT_EQ(sampler.energy_J(0, t0 - 1, t1), std::nullopt);
  EXPECT_EQ(sampler.energy_J(0, t0, t1 + 1), std::nullopt);
  EXPECT_THROW(sampler.energy_J(4, t0, t1), sparoa::Error);
  // Any window between start() and stop() is covered.
  const auto e_run = sampler.energy_J(3, after_start, before_stop);
  ASSERT_TRUE(e_run.has_value());
  EXPECT_NEAR(*e_run, 1.246 * (before_stop - after_start), 1e-9);
  EXPECT_GT(sampler.achieved_rate_hz(), 0.0);
  sampler.stop();  // a second stop is harmless
}

TEST(PowerSampler, IntervalAverageMetersAreSampledToo) {
  auto s = search_in(fixture("rapl"));
  ASSERT_EQ(s.meters.size(), 1u) << all_notes(s);
  PowerSampler sampler(std::move(s.meters), std::chrono::milliseconds(1));
  sampler.start();
  ASSERT_TRUE(wait_for_samples(sampler, 1, 2));
  sampler.stop();
  const auto samples = sampler.samples();
  ASSERT_GE(samples.size(), 4u);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].watts, 0.0);  // the fixture's counters do not move
    if (i > 0) {
      EXPECT_LE(samples[i - 1].time_s, samples[i].time_s);
    }
  }
}

// A meter of constant watts, for rail naming and error handling.
class FakeMeter : public PowerMeter {
 public:
  FakeMeter(std::string name, std::vector<std::string> rails, int fail_from_read = 0, bool interval_average = false)
      : name_(std::move(name)),
        rails_(std::move(rails)),
        fail_from_read_(fail_from_read),
        interval_average_(interval_average) {}
  std::string name() const override { return name_; }
  const std::vector<std::string>& rails() const override { return rails_; }
  bool reports_interval_average() const override { return interval_average_; }
  std::vector<double> read_watts() override {
    if (fail_from_read_ > 0 && ++reads_ >= fail_from_read_) throw sparoa::Error("fake/file", "went bad");
    return std::vector<double>(rails_.size(), 2.5);
  }

 private:
  std::string name_;
  std::vector<std::string> rails_;
  int fail_from_read_;
  bool interval_average_;
  std::atomic<int> reads_{0};
};

TEST(PowerSampler, IntervalAveragesAreStepsCoveringFromStart) {
  std::vector<std::unique_ptr<PowerMeter>> meters;
  meters.push_back(std::make_unique<FakeMeter>("counter", std::vector<std::string>{"r"}, 0, true));
  PowerSampler sampler(std::move(meters), std::chrono::milliseconds(1));
  sampler.start();
  const double after_start = steady_clock_seconds();
  ASSERT_TRUE(wait_for_samples(sampler, 0, 4));
  const double before_stop = steady_clock_seconds();
  sampler.stop();
  const auto points = sampler.rail_points(0);
  // One step per reading: (start of its interval, W), (end of its interval, W), and each
  // interval starts where the previous one ended.
  ASSERT_EQ(points.size() % 2, 0u);
  for (std::size_t i = 0; i < points.size(); i += 2) {
    EXPECT_EQ(points[i].watts, 2.5);
    EXPECT_EQ(points[i + 1].watts, 2.5);
    EXPECT_LE(points[i].time_s, points[i + 1].time_s);
    if (i > 0) {
      EXPECT_EQ(points[i].time_s, points[i - 1].time_s);
    }
  }
  // Any window between start() and stop() is covered.
  const auto e = sampler.energy_J(0, after_start, before_stop);
  ASSERT_TRUE(e.has_value());
  EXPECT_NEAR(*e, 2.5 * (before_stop - after_start), 1e-9);
}

TEST(PowerSampler, AFirstReadingErrorIsThrownByStart) {
  std::vector<std::unique_ptr<PowerMeter>> meters;
  meters.push_back(std::make_unique<FakeMeter>("f", std::vector<std::string>{"r"}, 1));
  PowerSampler sampler(std::move(meters));
  EXPECT_THROW(sampler.start(), sparoa::Error);
  EXPECT_FALSE(sampler.running());
}

TEST(PowerSampler, RepeatedRailNamesAreQualifiedWithTheMeter) {
  std::vector<std::unique_ptr<PowerMeter>> meters;
  meters.push_back(std::make_unique<FakeMeter>("a", std::vector<std::string>{"x", "y"}));
  meters.push_back(std::make_unique<FakeMeter>("b", std::vector<std::string>{"x"}));
  meters.push_back(std::make_unique<FakeMeter>("b", std::vector<std::string>{"x", "z"}));
  PowerSampler sampler(std::move(meters));
  EXPECT_EQ(sampler.rails(), (std::vector<std::string>{"a-x", "y", "b-x", "b-x#2", "z"}));
  EXPECT_EQ(sampler.samples().size(), 0u);
  EXPECT_EQ(sampler.achieved_rate_hz(), 0.0);
}

TEST(PowerSampler, AMeterErrorStopsSamplingAndIsRethrownByStop) {
  std::vector<std::unique_ptr<PowerMeter>> meters;
  // Read 1 primes, read 2 is in the loop; read 3 (the loop's next or stop's last) fails.
  meters.push_back(std::make_unique<FakeMeter>("f", std::vector<std::string>{"r"}, 3));
  PowerSampler sampler(std::move(meters), std::chrono::milliseconds(1));
  sampler.start();
  ASSERT_TRUE(wait_for_samples(sampler, 0, 2));
  try {
    sampler.stop();
    FAIL() << "expected the meter's error";
  } catch (const sparoa::Error& e) {
    EXPECT_EQ(e.where(), "fake/file");
  }
  EXPECT_NO_THROW(sampler.stop());
}

TEST(PowerSampler, PeriodBelowOneMillisecondIsRefused) {
  EXPECT_THROW(PowerSampler({}, std::chrono::microseconds(999)), sparoa::Error);
  EXPECT_NO_THROW(PowerSampler({}, std::chrono::milliseconds(1)));
}

}  // namespace
