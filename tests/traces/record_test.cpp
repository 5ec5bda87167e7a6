#include "traces/record.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/error.hpp"
#include "trace_fixtures.hpp"

namespace sparoa::traces {
namespace {

using testing::make_record;
using testing::sample_trace;

TEST(RecordEnums, NamesRoundTrip) {
  for (auto k : {RecordKind::op, RecordKind::transfer, RecordKind::launch, RecordKind::reorder,
                 RecordKind::idle}) {
    EXPECT_EQ(parse_record_kind(to_string(k)), k);
  }
  for (auto s : {Source::sim, Source::hw}) EXPECT_EQ(parse_source(to_string(s)), s);
  for (auto m : {EnergyMethod::attributed, EnergyMethod::measured, EnergyMethod::none}) {
    EXPECT_EQ(parse_energy_method(to_string(m)), m);
  }
  EXPECT_EQ(to_string(RecordKind::transfer), "transfer");
  EXPECT_FALSE(parse_record_kind("OP"));
  EXPECT_FALSE(parse_source(""));
  EXPECT_FALSE(parse_energy_method("estimated"));
}

TEST(RecordEnums, ColumnOrderIsTheSchemas) {
  const std::string_view expected[] = {
      "schema_version", "source", "run_id", "request_id", "batch_id", "iteration",
      "record", "op", "device", "lane", "kernel", "fused_group", "start_us", "end_us",
      "energy_J", "energy_method"};
  ASSERT_EQ(kRecordColumns.size(), std::size(expected));
  for (std::size_t i = 0; i < kRecordColumns.size(); ++i) EXPECT_EQ(kRecordColumns[i], expected[i]);
}

TEST(RecordValidation, SampleTraceIsValid) {
  for (const Record& r : sample_trace().records) EXPECT_FALSE(find_problem(r)) << r.op;
  for (const PowerSample& s : sample_trace().power) EXPECT_FALSE(find_problem(s));
  for (const StateSample& s : sample_trace().state) EXPECT_FALSE(find_problem(s));
  EXPECT_FALSE(find_problem(sample_trace().provenance));
}

// Each broken record must be blamed on the right column.
TEST(RecordValidation, NamesTheOffendingColumn) {
  const Record good = make_record(RecordKind::op, "conv1", "cpu", "cpu.l0", 10, 20);
  struct Case {
    const char* column;
    void (*breaks)(Record&);
  };
  const Case cases[] = {
      {"schema_version", [](Record& r) { r.schema_version = 2; }},
      {"run_id", [](Record& r) { r.run_id.clear(); }},
      {"request_id", [](Record& r) { r.request_id = -2; }},
      {"batch_id", [](Record& r) { r.batch_id = -7; }},
      {"iteration", [](Record& r) { r.iteration = -2; }},
      {"op", [](Record& r) { r.op.clear(); }},
      {"op", [](Record& r) { r.op = "a\nb"; }},
      {"device", [](Record& r) { r.device.clear(); }},
      {"lane", [](Record& r) { r.lane.clear(); }},
      {"kernel", [](Record& r) { r.kernel = "fast"; }},
      {"kernel", [](Record& r) { r.kernel.clear(); }},
      {"fused_group", [](Record& r) { r.fused_group = "g\r"; }},
      {"start_us", [](Record& r) { r.start_us = std::nan(""); }},
      {"start_us", [](Record& r) { r.start_us = -1; }},
      {"end_us", [](Record& r) { r.end_us = std::numeric_limits<double>::infinity(); }},
      {"end_us", [](Record& r) { r.end_us = 9.999; }},
      {"energy_J", [](Record& r) { r.energy_J = -0.5; }},
      {"args", [](Record& r) { r.args["lane"] = 3.0; }},
      {"args", [](Record& r) { r.args["FLOPs"] = std::nan(""); }},
  };
  for (const Case& c : cases) {
    Record r = good;
    c.breaks(r);
    auto problem = find_problem(r);
    ASSERT_TRUE(problem) << c.column;
    EXPECT_EQ(problem->column, c.column) << problem->message;
  }
}

TEST(RecordValidation, IdleMayLackOperatorAndLane) {
  Record idle = make_record(RecordKind::idle, "", "gpu", "", 0, 5);
  idle.request_id = idle.batch_id = idle.iteration = kNoId;
  EXPECT_FALSE(find_problem(idle));
  Record transfer = make_record(RecordKind::transfer, "conv1", "gpu", "gpu.s0", 0, 5);
  EXPECT_FALSE(find_problem(transfer));  // no kernel needed
  transfer.lane.clear();
  EXPECT_EQ(find_problem(transfer)->column, "lane");
}

TEST(RecordValidation, ValidateThrowsErrorWithWhereAndColumn) {
  Record r = make_record(RecordKind::op, "conv1", "cpu", "cpu.l0", 10, 5);
  try {
    validate(r, "out.csv: record 3");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "out.csv: record 3");
    EXPECT_STREQ(e.what(), "out.csv: record 3: column 'end_us': ends before start_us");
  }
}

TEST(ProvenanceValidation, RejectsBadHashesAndKeys) {
  Provenance p;
  EXPECT_FALSE(find_problem(p));
  p.platform_sha256 = "ABC";
  EXPECT_EQ(find_problem(p)->column, "platform_sha256");
  p.platform_sha256 = std::string(64, 'F');  // must be lowercase
  EXPECT_EQ(find_problem(p)->column, "platform_sha256");
  p.platform_sha256 = std::string(64, 'f');
  EXPECT_FALSE(find_problem(p));
  p.extra = {{"board", "orin"}, {"board", "xavier"}};
  EXPECT_EQ(find_problem(p)->column, "board");
  p.extra = {{"seed", "1"}};  // would shadow a fixed key
  EXPECT_EQ(find_problem(p)->column, "seed");
  p.extra = {{"bad key", "1"}};
  EXPECT_EQ(find_problem(p)->column, "bad key");
  p.extra = {{"note", "two\nlines"}};
  EXPECT_EQ(find_problem(p)->column, "note");
  p.extra.clear();
  p.clocks = "a\nb";
  EXPECT_THROW(validate(p, "x"), Error);
}

TEST(SampleValidation, RejectsNonFiniteAndEmpty) {
  EXPECT_EQ(find_problem(PowerSample{"r", 0, "VDD_GPU", -1})->column, "watts");
  EXPECT_EQ(find_problem(PowerSample{"r", std::nan(""), "VDD_GPU", 1})->column, "time_us");
  EXPECT_EQ(find_problem(PowerSample{"r", 0, "", 1})->column, "rail");
  EXPECT_EQ(find_problem(PowerSample{"", 0, "VDD_GPU", 1})->column, "run_id");
  EXPECT_EQ(find_problem(StateSample{"r", 0, "gpu", "", 1})->column, "key");
  EXPECT_EQ(find_problem(StateSample{"r", 0, "", "freq_MHz", 1})->column, "device");
  EXPECT_EQ(find_problem(StateSample{"r", 0, "gpu", "freq_MHz", std::nan("")})->column, "value");
  EXPECT_FALSE(find_problem(StateSample{"r", -5, "gpu", "freq_MHz", -1}));  // before the run is fine
}

}  // namespace
}  // namespace sparoa::traces
