// Tests of platforms/calibration.cpp and platforms/profile.cpp: profiles generated from a
// known "true" platform must give back its parameters; bad profiles are one clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "platforms/calibration.hpp"
#include "support/error.hpp"

namespace {

using namespace sparoa::platforms;

Platform host_one_lane() { return read_platform(resolve_platform_path("host-2core-1lane")); }

CostEntry& entry_of(Platform& p, const std::string& cls, const std::string& kind, const std::string& kernel) {
  for (auto& e : p.cost_model.entries) {
    if (e.op_class == cls && e.device_kind == kind && e.kernel == kernel) return e;
  }
  CostEntry e;
  e.op_class = cls;
  e.device_kind = kind;
  e.kernel = kernel;
  e.compute_efficiency = e.compute_efficiency_max = e.memory_efficiency = 0.5;
  e.overhead_us = 1;
  e.index_bytes_per_nonzero = kernel == "sparse" ? 4.0 : 0.0;
  e.source = "estimated";
  p.cost_model.entries.push_back(e);
  return p.cost_model.entries.back();
}

const CostEntry* find_entry(const Platform& p, const std::string& cls, const std::string& kind, const std::string& kernel) {
  for (const auto& e : p.cost_model.entries) {
    if (e.op_class == cls && e.device_kind == kind && e.kernel == kernel) return &e;
  }
  return nullptr;
}

ProfileHeader header_of(const Platform& p) {
  ProfileHeader h;
  h.machine = "testhost Test CPU 9000";
  h.cpu_model = "Test CPU 9000";
  h.date = "2026-12-03";
  h.platform = p.name;
  h.power_mode = p.power_mode;
  h.onednn_version = "2.6.3";
  h.model_sha256 = std::string(64, 'a');
  return h;
}

// Rows of one class spanning compute- and memory-bound shapes, timed by `truth`.
std::vector<ProfileRow> rows_for(const Platform& truth, const std::string& lane, const std::string& cls,
                                 const std::string& kernel, int count, std::int64_t batch, bool corun,
                                 double sparsity = 0, double intensity = 0.5) {
  const CostModel model(truth);
  std::vector<ProfileRow> rows;
  for (int i = 0; i < count; ++i) {
    ProfileRow r;
    r.model = "synthetic";
    r.op = cls + "_" + std::to_string(i) + "_b" + std::to_string(batch);
    r.op_type = "Conv";
    r.op_class = cls;
    r.kernel = kernel;
    r.implementation = "test";
    r.batch = batch;
    r.lane = lane;
    r.device = truth.device_of_lane(lane)->id;
    r.threads = 2;
    // Intensity from 0.5 to about 250 FLOP/B: both sides of the ridge.
    r.bytes = 2e5 * (1 + i % 5) * double(batch);
    r.flops = r.bytes * intensity * std::pow(1.6, i);
    r.weight_bytes = kernel == "sparse" ? r.bytes / 2 : r.bytes / 4;
    r.weight_sparsity = sparsity;
    r.corun = corun;
    r.repetitions = 5;
    r.median_us = predict_profile_row_s(model, r) * 1e6;
    r.min_us = r.p10_us = r.median_us;
    r.p90_us = r.median_us;
    rows.push_back(r);
  }
  return rows;
}

Profile profile_of(const Platform& p, std::vector<ProfileRow> rows, const std::string& origin = "synthetic.csv") {
  // Through the CSV text, so that the writer and the reader are exercised too.
  return parse_profile_csv(profile_csv_text(header_of(p), rows), origin);
}

TEST(Calibration, RecoversTheParametersThatGeneratedTheProfile) {
  const Platform base = host_one_lane();
  Platform truth = base;
  CostEntry& conv = entry_of(truth, "conv", "cpu", "dense");
  conv.compute_efficiency = 0.31;
  conv.compute_efficiency_max = 0.31;
  conv.batch_exponent = 0;
  conv.memory_efficiency = 0.42;
  conv.overhead_us = 7.5;
  CostEntry& pool = entry_of(truth, "pool", "cpu", "dense");
  pool.compute_efficiency = 0.05;
  pool.compute_efficiency_max = 0.05;
  pool.memory_efficiency = 0.27;
  pool.overhead_us = 1.25;
  std::vector<ProfileRow> rows = rows_for(truth, "cpu0", "conv", "dense", 12, 1, false);
  const auto more = rows_for(truth, "cpu0", "pool", "dense", 12, 1, false);
  rows.insert(rows.end(), more.begin(), more.end());

  const CalibrationResult r = calibrate(base, {profile_of(base, rows)}, {.date = "2026-12-03"});
  const CostEntry* c = find_entry(r.fitted, "conv", "cpu", "dense");
  ASSERT_NE(c, nullptr);
  EXPECT_NEAR(c->compute_efficiency, 0.31, 1e-9);
  EXPECT_NEAR(c->memory_efficiency, 0.42, 1e-9);
  EXPECT_NEAR(c->overhead_us, 7.5, 1e-6);
  EXPECT_EQ(c->source, "fitted");
  const CostEntry* p = find_entry(r.fitted, "pool", "cpu", "dense");
  ASSERT_NE(p, nullptr) << "a class with enough rows gets an entry of its own";
  EXPECT_NEAR(p->compute_efficiency, 0.05, 1e-9);
  EXPECT_NEAR(p->memory_efficiency, 0.27, 1e-9);
  EXPECT_NEAR(p->overhead_us, 1.25, 1e-6);
  EXPECT_LT(r.median_error_after, 1e-9);
  EXPECT_GT(r.median_error_before, 0.05);
  EXPECT_EQ(r.fitted.provenance.source, SourceLabel::fitted);
  EXPECT_NE(r.fitted.provenance.document.find("Test CPU 9000"), std::string::npos);
  EXPECT_NE(r.fitted.provenance.notes.find("synthetic.csv"), std::string::npos);
  // The class entries need no cache term (their truth has none): overhead, compute and memory
  // each; the default, fitted on both classes' rows, may add one. One batch size: no exponent.
  EXPECT_EQ(c->cache_MB, 0);
  EXPECT_EQ(p->cache_MB, 0);
  std::size_t counted = 0;
  for (const auto& e : r.entries) {
    for (const auto& q : e.parameters) counted += q.status == "fitted" || q.status == "at bound";
  }
  EXPECT_EQ(r.parameters, counted);
  EXPECT_GE(r.parameters, 9u);
  // The fitted file reads back to the same platform.
  const Platform back = parse_platform(platform_to_yaml(r.fitted), "fitted.yaml");
  Platform expected = r.fitted;
  expected.origin = back.origin;
  expected.sha256 = back.sha256;
  EXPECT_EQ(back, expected);
}

TEST(Calibration, FitsACacheTermWhenSmallOperatorsOutrunTheDram) {
  const Platform base = host_one_lane();
  Platform truth = base;
  CostEntry& pool = entry_of(truth, "pool", "cpu", "dense");
  pool.compute_efficiency = pool.compute_efficiency_max = 0.2;
  pool.memory_efficiency = 0.3;
  pool.cache_MB = 0.5;
  pool.cache_efficiency = 4;
  pool.overhead_us = 2;
  // Memory-bound throughout (intensity 0.001..0.4 FLOP/B), 0.2 to 1 MB of traffic.
  const auto rows = rows_for(truth, "cpu0", "pool", "dense", 15, 1, false, 0, 1e-3);
  const CalibrationResult r = calibrate(base, {profile_of(base, rows)}, {});
  const CostEntry* p = find_entry(r.fitted, "pool", "cpu", "dense");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->cache_MB, 0.5);
  EXPECT_NEAR(p->cache_efficiency, 4, 1e-6);
  EXPECT_NEAR(p->memory_efficiency, 0.3, 1e-9);
  EXPECT_NEAR(p->overhead_us, 2, 1e-6);
  EXPECT_LT(r.median_error_after, 1e-9);
}

TEST(Calibration, FitsTheBatchExponentFromSeveralBatchSizes) {
  const Platform base = host_one_lane();
  Platform truth = base;
  CostEntry& conv = entry_of(truth, "conv", "cpu", "dense");
  conv.compute_efficiency = 0.2;
  conv.compute_efficiency_max = 1;
  conv.batch_exponent = 0.3;
  conv.memory_efficiency = 0.5;
  conv.overhead_us = 4;
  std::vector<ProfileRow> rows;
  for (std::int64_t b : {1, 2, 4, 8}) {
    const auto part = rows_for(truth, "cpu0", "conv", "dense", 10, b, false);
    rows.insert(rows.end(), part.begin(), part.end());
  }
  const CalibrationResult r = calibrate(base, {profile_of(base, rows)}, {});
  const CostEntry* c = find_entry(r.fitted, "conv", "cpu", "dense");
  ASSERT_NE(c, nullptr);
  EXPECT_NEAR(c->batch_exponent, 0.3, 1e-9);
  EXPECT_NEAR(c->compute_efficiency, 0.2, 1e-6);
  EXPECT_NEAR(c->compute_efficiency_max, 0.2 * std::pow(8.0, 0.3), 1e-6);
}

TEST(Calibration, FitsSparseKernelsAndTheContentionFactor) {
  Platform base = read_platform(resolve_platform_path("host-2core-2lanes"));
  Platform truth = base;
  CostEntry& sparse = entry_of(truth, "default", "cpu", "sparse");
  sparse.compute_efficiency = 0.08;
  sparse.compute_efficiency_max = 0.08;
  sparse.memory_efficiency = 0.3;
  sparse.overhead_us = 6;
  truth.memory_domains[0].contention = 0.35;
  std::vector<ProfileRow> rows = rows_for(truth, "cpu0", "conv", "sparse", 12, 1, false, 0.8);
  const auto dense = rows_for(truth, "cpu0", "conv", "dense", 12, 1, false);
  rows.insert(rows.end(), dense.begin(), dense.end());
  const auto corun = rows_for(truth, "cpu0", "conv", "dense", 12, 1, true);
  const CalibrationResult r =
      calibrate(base, {profile_of(base, rows), profile_of(base, corun, "corun.csv")}, {});
  const CostEntry* s = find_entry(r.fitted, "conv", "cpu", "sparse");
  ASSERT_NE(s, nullptr);
  EXPECT_NEAR(s->compute_efficiency, 0.08, 1e-9);
  EXPECT_NEAR(s->memory_efficiency, 0.3, 1e-9);
  EXPECT_NEAR(r.fitted.memory_domains[0].contention, 0.35, 1e-9);
  ASSERT_EQ(r.contention.size(), 1u);
  EXPECT_EQ(r.contention[0].rows, 12u);
}

TEST(Calibration, ClassesWithTooFewRowsUseTheFittedDefault) {
  const Platform base = host_one_lane();  // has its own gemm entry
  ASSERT_NE(find_entry(base, "gemm", "cpu", "dense"), nullptr);
  std::vector<ProfileRow> rows = rows_for(base, "cpu0", "conv", "dense", 6, 1, false);
  const auto gemm = rows_for(base, "cpu0", "gemm", "dense", 2, 1, false);
  rows.insert(rows.end(), gemm.begin(), gemm.end());
  const CalibrationResult r = calibrate(base, {profile_of(base, rows)}, {});
  EXPECT_EQ(find_entry(r.fitted, "gemm", "cpu", "dense"), nullptr);
  ASSERT_EQ(r.removed.size(), 1u);
  EXPECT_NE(r.removed[0].find("gemm"), std::string::npos);
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const sparoa::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
  }
}

TEST(Calibration, RefusesProfilesOfAnotherPowerModePlatformOrMachine) {
  const Platform base = host_one_lane();
  const auto rows = rows_for(base, "cpu0", "conv", "dense", 6, 1, false);
  Profile p = profile_of(base, rows);
  p.header.power_mode = "MAXN";
  expect_error([&] { calibrate(base, {p}, {}); }, "power mode 'MAXN'");
  p = profile_of(base, rows);
  p.header.platform = "host-2core-2lanes";
  expect_error([&] { calibrate(base, {p}, {}); }, "platform 'host-2core-2lanes'");
  Profile q = profile_of(base, rows, "b.csv");
  q.header.cpu_model = "Other CPU";
  expect_error([&] { calibrate(base, {profile_of(base, rows), q}, {}); }, "b.csv: was measured on 'Other CPU'");
  auto bad_lane = rows;
  bad_lane[0].lane = "gpu0";
  expect_error([&] { calibrate(base, {profile_of(base, bad_lane)}, {}); }, "lane 'gpu0' is not a lane");
}

TEST(Calibration, TooFewRowsNameTheEntryOrParameter) {
  const Platform base = read_platform(resolve_platform_path("host-2core-2lanes"));
  auto rows = rows_for(base, "cpu0", "conv", "dense", 6, 1, false);
  const auto sparse = rows_for(base, "cpu0", "conv", "sparse", 2, 1, false, 0.5);
  rows.insert(rows.end(), sparse.begin(), sparse.end());
  expect_error([&] { calibrate(base, {profile_of(base, rows)}, {}); }, "cost_model default cpu sparse: only 2");
  // Co-running rows that are all compute-bound cannot tell the contention factor.
  auto solo = rows_for(base, "cpu0", "conv", "dense", 6, 1, false);
  auto corun = rows_for(base, "cpu0", "conv", "dense", 12, 1, true);
  for (auto& r : corun) {
    r.bytes = r.weight_bytes = 1;
    r.flops = 1e9;
  }
  expect_error([&] { calibrate(base, {profile_of(base, solo), profile_of(base, corun)}, {}); },
               "memory_domains[dram].contention");
  expect_error([&] { calibrate(base, {profile_of(base, corun)}, {}); }, "every row was measured with --corun");
}

TEST(ProfileCsv, RoundTripsAndNamesTheLineAndColumnOfABadValue) {
  const Platform base = host_one_lane();
  const auto rows = rows_for(base, "cpu0", "conv", "dense", 3, 2, false);
  const std::string text = profile_csv_text(header_of(base), rows);
  const Profile p = parse_profile_csv(text, "p.csv");
  EXPECT_EQ(p.rows, rows);
  EXPECT_EQ(p.header, header_of(base));
  EXPECT_EQ(p.sha256.size(), 64u);

  std::string bad = text;
  bad.replace(bad.rfind(",5,"), 3, ",x,");
  expect_error([&] { parse_profile_csv(bad, "p.csv"); }, "p.csv:15: column repetitions: 'x' is not an integer");
  std::string no_key = text;
  no_key.erase(no_key.find("# power_mode"), no_key.find('\n', no_key.find("# power_mode")) - no_key.find("# power_mode") + 1);
  expect_error([&] { parse_profile_csv(no_key, "p.csv"); }, "header key 'power_mode' is missing");
  expect_error([&] { parse_profile_csv("garbage\n", "p.csv"); }, "not a sparoa profile");
  std::string bad_timing = text;
  bad_timing.replace(bad_timing.find("# timing: isolated"), 18, "# timing: sometimes");
  expect_error([&] { parse_profile_csv(bad_timing, "p.csv"); }, "header key 'timing': 'sometimes'");
  std::string unknown_key = text;
  unknown_key.insert(unknown_key.find("# timing"), "# colour: blue\n");
  expect_error([&] { parse_profile_csv(unknown_key, "p.csv"); }, "unknown header key 'colour'");
  expect_error([&] { parse_profile_csv(text.substr(0, text.find("model,op")), "p.csv"); }, "no column row");
  std::string bad_class = text;
  bad_class.replace(bad_class.find(",conv,"), 6, ",convo,");
  expect_error([&] { parse_profile_csv(bad_class, "p.csv"); }, "unknown class 'convo'");
}

}  // namespace
