#include "traces/chrome_trace.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/error.hpp"
#include "trace_fixtures.hpp"

namespace sparoa::traces {
namespace {

using nlohmann::json;
using testing::make_record;
using testing::slurp;
using testing::sample_trace;
using testing::ScratchDir;

// A minimal reader of what the writer produced: the parsed document and its events by kind.
struct ChromeDoc {
  json doc;
  std::vector<json> events(const std::string& ph) const {
    std::vector<json> out;
    for (const json& e : doc.at("traceEvents")) {
      if (e.at("ph") == ph) out.push_back(e);
    }
    return out;
  }
  std::map<std::int64_t, std::string> process_names() const {
    std::map<std::int64_t, std::string> names;
    for (const json& e : events("M")) {
      if (e.at("name") == "process_name") {
        EXPECT_TRUE(names.emplace(e.at("pid"), e.at("args").at("name")).second) << "duplicate pid";
      }
    }
    return names;
  }
  std::map<std::pair<std::int64_t, std::int64_t>, std::string> thread_names() const {
    std::map<std::pair<std::int64_t, std::int64_t>, std::string> names;
    for (const json& e : events("M")) {
      if (e.at("name") == "thread_name") names[{e.at("pid"), e.at("tid")}] = e.at("args").at("name");
    }
    return names;
  }
  std::int64_t pid_named(const std::string& name) const {
    for (const auto& [pid, n] : process_names()) {
      if (n == name) return pid;
    }
    ADD_FAILURE() << "no process " << name;
    return -1;
  }
  const json& slice_named(const std::string& name) const {
    for (const json& e : doc.at("traceEvents")) {
      if (e.at("ph") == "X" && e.at("name") == name) return e;
    }
    throw std::runtime_error("no slice " + name);
  }
};

ChromeDoc to_doc(const std::string& text) { return {json::parse(text)}; }

ChromeDoc write_doc(const Trace& t) {
  std::ostringstream out;
  write_chrome_trace(out, t);
  return to_doc(out.str());
}


// Slices of one (pid, tid) must nest or be disjoint: partial overlaps break every viewer.
void expect_nested_or_disjoint(const ChromeDoc& d) {
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::pair<double, double>>> by_thread;
  for (const json& e : d.events("X")) {
    const double ts = e.at("ts");
    by_thread[{e.at("pid"), e.at("tid")}].push_back({ts, ts + e.at("dur").get<double>()});
  }
  for (const auto& [thread, spans] : by_thread) {
    for (std::size_t i = 0; i < spans.size(); ++i) {
      for (std::size_t j = i + 1; j < spans.size(); ++j) {
        auto [a0, a1] = spans[i];
        auto [b0, b1] = spans[j];
        const bool disjoint = a1 <= b0 || b1 <= a0;
        const bool nested = (a0 <= b0 && b1 <= a1) || (b0 <= a0 && a1 <= b1);
        EXPECT_TRUE(disjoint || nested) << "tid " << thread.second << ": [" << a0 << "," << a1
                                        << ") vs [" << b0 << "," << b1 << ")";
      }
    }
  }
}

TEST(ChromeTrace, TimesAreMicroseconds) {
  const ChromeDoc d = write_doc(sample_trace());
  const json& conv = d.slice_named("conv1");  // 1000 us .. 2500 us: a 1.5 ms operator
  EXPECT_EQ(conv.at("ph"), "X");
  EXPECT_DOUBLE_EQ(conv.at("ts").get<double>(), 1000);
  EXPECT_DOUBLE_EQ(conv.at("dur").get<double>(), 1500);
  EXPECT_DOUBLE_EQ(d.slice_named("add1").at("dur").get<double>(), 50.5);
  EXPECT_DOUBLE_EQ(d.slice_named("reorder gemm1").at("dur").get<double>(), 0);
}

TEST(ChromeTrace, OneSlicePerRecordWithColumnsAndFeaturesInArgs) {
  const Trace t = sample_trace();
  const ChromeDoc d = write_doc(t);
  EXPECT_EQ(d.events("X").size(), t.records.size());
  const json& args = d.slice_named("conv1").at("args");
  EXPECT_EQ(args.at("FLOPs").get<double>(), 1.25e9);
  EXPECT_EQ(args.at("type"), "Conv");
  EXPECT_EQ(args.at("kernel"), "dense");
  EXPECT_EQ(args.at("record"), "op");
  EXPECT_EQ(args.at("run_id"), "run-1");
  EXPECT_EQ(args.at("source"), "sim");
  EXPECT_EQ(args.at("energy_J").get<double>(), 0.003);
  EXPECT_EQ(args.at("energy_method"), "attributed");
  EXPECT_EQ(args.at("request_id"), 0);
  EXPECT_EQ(d.slice_named("transfer conv1").at("args").at("bytes").get<double>(), 802816.0);
  EXPECT_EQ(d.slice_named("transfer conv1").at("cat"), "transfer");
  EXPECT_EQ(d.slice_named("add1").at("args").at("fused_group"), "gemm1+add1");
  EXPECT_EQ(d.slice_named("idle").at("args").at("request_id"), -1);
}

TEST(ChromeTrace, ProcessesAreDevicesAndThreadsAreLanes) {
  const ChromeDoc d = write_doc(sample_trace());
  const auto processes = d.process_names();
  const auto threads = d.thread_names();
  std::set<std::string> process_set;
  for (const auto& [pid, name] : processes) process_set.insert(name);
  EXPECT_EQ(process_set, (std::set<std::string>{"cpu", "gpu", "power"}));
  std::set<std::int64_t> tids;
  for (const auto& [key, name] : threads) {
    EXPECT_TRUE(tids.insert(key.second).second) << "tid " << key.second << " reused";
    EXPECT_FALSE(processes.contains(key.second)) << "tid equal to a pid";
  }
  // Every slice sits on the process of its device and the thread of its lane.
  for (const json& e : d.events("X")) {
    const json& args = e.at("args");
    EXPECT_EQ(processes.at(e.at("pid")), args.at("device"));
    const std::string lane = args.at("lane");
    EXPECT_EQ(threads.at({e.at("pid"), e.at("tid")}), lane.empty() ? "(whole device)" : lane);
  }
  // Two lanes of one device overlap in time: they must be two threads.
  EXPECT_EQ(d.slice_named("conv1").at("pid"), d.slice_named("relu0").at("pid"));
  EXPECT_NE(d.slice_named("conv1").at("tid"), d.slice_named("relu0").at("tid"));
}

TEST(ChromeTrace, SlicesOnOneThreadNestOrAreDisjoint) {
  const ChromeDoc d = write_doc(sample_trace());
  expect_nested_or_disjoint(d);
  for (const auto& [key, name] : d.thread_names()) {
    EXPECT_EQ(name.find("overlap"), std::string::npos) << "a well-formed trace needs no extra thread";
  }
}

TEST(ChromeTrace, PartialOverlapGoesToAnOverlapThread) {
  Trace t;
  t.records = {make_record(RecordKind::op, "a", "cpu", "l0", 0, 10),
               make_record(RecordKind::op, "b", "cpu", "l0", 5, 15),   // partially overlaps a
               make_record(RecordKind::op, "c", "cpu", "l0", 12, 14),  // after a: back on l0
               make_record(RecordKind::op, "d", "cpu", "l0", 2, 3),    // nested in a
               make_record(RecordKind::op, "f", "cpu", "l0", 20, 25),  // nested in e, same start
               make_record(RecordKind::op, "e", "cpu", "l0", 20, 30)};
  const ChromeDoc d = write_doc(t);
  expect_nested_or_disjoint(d);
  const auto threads = d.thread_names();
  auto thread_of = [&](const std::string& op) {
    const json& s = d.slice_named(op);
    return threads.at({s.at("pid"), s.at("tid")});
  };
  EXPECT_EQ(thread_of("a"), "l0");
  EXPECT_EQ(thread_of("b"), "l0 (overlap 1)");
  EXPECT_EQ(thread_of("c"), "l0");
  EXPECT_EQ(thread_of("d"), "l0");
  EXPECT_EQ(thread_of("e"), "l0");
  EXPECT_EQ(thread_of("f"), "l0");
  // At equal starts the enclosing slice must come first, or viewers see f close before e.
  const auto slices = d.events("X");
  auto position = [&](const std::string& op) {
    return std::find_if(slices.begin(), slices.end(), [&](const json& x) { return x.at("name") == op; });
  };
  EXPECT_LT(position("e"), position("f"));
}

TEST(ChromeTrace, FlowsPairUpAndBindToTheirSlices) {
  const ChromeDoc d = write_doc(sample_trace());
  const auto starts = d.events("s");
  const auto finishes = d.events("f");
  ASSERT_EQ(starts.size(), 2u);  // one transfer with a producer, one launch
  std::map<std::int64_t, json> start_by_id;
  for (const json& s : starts) EXPECT_TRUE(start_by_id.emplace(s.at("id"), s).second) << "id reused";
  std::set<std::int64_t> finished;
  for (const json& f : finishes) {
    const std::int64_t id = f.at("id");
    ASSERT_TRUE(start_by_id.contains(id)) << "f without s: " << id;
    EXPECT_TRUE(finished.insert(id).second) << "two f for id " << id;
    const json& s = start_by_id.at(id);
    EXPECT_GE(f.at("ts").get<double>(), s.at("ts").get<double>());
    EXPECT_EQ(f.at("bp"), "e");
    EXPECT_EQ(f.at("name"), s.at("name"));
    EXPECT_EQ(f.at("cat"), s.at("cat"));
  }
  EXPECT_EQ(finished.size(), starts.size());

  // Each end lies on the thread of the slice it links, inside that slice.
  auto endpoint_on = [&](const json& event, const std::string& slice) {
    const json& x = d.slice_named(slice);
    const double ts = event.at("ts");
    const double start = x.at("ts");
    const double dur = x.at("dur");
    // Viewers close a slice at its end, so an end point there would bind to nothing.
    const bool inside = start <= ts && (ts < start + dur || (dur == 0 && ts == start));
    return event.at("pid") == x.at("pid") && event.at("tid") == x.at("tid") && inside;
  };
  for (const json& s : starts) {
    const json& f = *std::find_if(finishes.begin(), finishes.end(),
                                  [&](const json& e) { return e.at("id") == s.at("id"); });
    if (s.at("name") == "launch") {
      EXPECT_TRUE(endpoint_on(s, "launch gemm1")) << s;
      EXPECT_TRUE(endpoint_on(f, "gemm1")) << f;
    } else {
      EXPECT_EQ(s.at("name"), "transfer");
      EXPECT_TRUE(endpoint_on(s, "conv1")) << s;  // from the source lane
      EXPECT_TRUE(endpoint_on(f, "transfer conv1")) << f;  // to the destination lane
      EXPECT_NE(s.at("tid"), f.at("tid"));
    }
  }
}

TEST(ChromeTrace, CountersCarryPowerAndFrequency) {
  const ChromeDoc d = write_doc(sample_trace());
  const std::int64_t power = d.pid_named("power");
  const std::int64_t gpu = d.pid_named("gpu");
  std::map<std::string, std::vector<std::pair<double, double>>> series;  // "pid/name" -> (ts, value)
  for (const json& c : d.events("C")) {
    const json& args = c.at("args");
    ASSERT_EQ(args.size(), 1u);
    series[std::to_string(c.at("pid").get<std::int64_t>()) + "/" + c.at("name").get<std::string>()]
        .push_back({c.at("ts"), args.begin()->get<double>()});
    if (c.at("pid") == power) {
      EXPECT_TRUE(args.contains("W"));
    }
  }
  using Series = std::vector<std::pair<double, double>>;
  EXPECT_EQ(series[std::to_string(power) + "/VDD_CPU"], (Series{{0, 1.5}, {1000, 2.25}, {2000, 1.75}}));
  EXPECT_EQ(series[std::to_string(power) + "/VDD_GPU"], (Series{{0, 0.5}, {1000, 4.125}}));
  EXPECT_EQ(series[std::to_string(gpu) + "/freq_MHz"], (Series{{0, 624.75}, {1000, 1300.5}}));
  EXPECT_EQ(series[std::to_string(d.pid_named("cpu")) + "/busy_fraction"], (Series{{500, 0.5}}));
  EXPECT_EQ(series.size(), 4u);
}

TEST(ChromeTrace, MergedRunsGetSeparateProcesses) {
  const Trace sim = sample_trace(Source::sim);
  Trace hw = sample_trace(Source::hw);
  for (Record& r : hw.records) {
    r.start_us *= 1.1;
    r.end_us *= 1.1;
  }
  hw.provenance.seed.reset();
  hw.provenance.cuda_version = "12.2";
  std::ostringstream out;
  write_merged_chrome_trace(out, sim, hw);
  const ChromeDoc d = to_doc(out.str());

  std::set<std::string> names;
  for (const auto& [pid, name] : d.process_names()) names.insert(name);
  EXPECT_EQ(names, (std::set<std::string>{"sim:cpu", "sim:gpu", "sim:power", "hw:cpu", "hw:gpu",
                                          "hw:power"}));
  std::map<std::string, std::set<std::int64_t>> pids_of;
  for (const json& e : d.events("X")) {
    const std::string source = e.at("args").at("source");
    pids_of[source].insert(e.at("pid").get<std::int64_t>());
    EXPECT_EQ(d.process_names().at(e.at("pid")), source + ":" + e.at("args").at("device").get<std::string>());
  }
  ASSERT_EQ(pids_of.size(), 2u);
  for (std::int64_t pid : pids_of["sim"]) EXPECT_FALSE(pids_of["hw"].contains(pid));
  EXPECT_EQ(d.events("X").size(), sim.records.size() + hw.records.size());

  std::set<std::int64_t> ids;
  for (const json& s : d.events("s")) EXPECT_TRUE(ids.insert(s.at("id").get<std::int64_t>()).second);
  EXPECT_EQ(ids.size(), 4u);
  EXPECT_EQ(d.events("f").size(), 4u);
  std::set<std::int64_t> tids;
  for (const auto& [key, name] : d.thread_names()) EXPECT_TRUE(tids.insert(key.second).second);

  const json& other = d.doc.at("otherData");
  EXPECT_EQ(other.at("sim:seed"), "42");
  EXPECT_EQ(other.at("hw:seed"), "");
  EXPECT_EQ(other.at("hw:cuda_version"), "12.2");
}

TEST(ChromeTrace, OutputIsDeterministic) {
  ScratchDir dir;
  std::ostringstream a, b;
  write_chrome_trace(a, sample_trace());
  write_chrome_trace(b, sample_trace());
  EXPECT_EQ(a.str(), b.str());
  write_chrome_trace(dir / "t.json", sample_trace());
  EXPECT_EQ(slurp(dir / "t.json"), a.str());
  std::ostringstream m1, m2;
  write_merged_chrome_trace(m1, sample_trace(Source::sim), sample_trace(Source::hw));
  write_merged_chrome_trace(m2, sample_trace(Source::sim), sample_trace(Source::hw));
  EXPECT_EQ(m1.str(), m2.str());
}

TEST(ChromeTrace, WriterFailureLeavesNoPartialFile) {
  ScratchDir dir;
  EXPECT_THROW(write_chrome_trace(dir / "missing" / "t.json", sample_trace()), Error);
  EXPECT_THROW(write_merged_chrome_trace(dir / "missing" / "m.json", sample_trace(), sample_trace()),
               Error);
  EXPECT_EQ(dir.entry_count(), 0u);

  Trace bad = sample_trace();
  bad.records[6].op = "add\xff";  // not UTF-8: JSON cannot carry it
  EXPECT_THROW(write_chrome_trace(dir / "t.json", bad), Error);
  bad = sample_trace();
  bad.records[2].end_us = -1;
  try {
    write_chrome_trace(dir / "t.json", bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), (dir / "t.json").string() + ": record 2");
  }
  EXPECT_EQ(dir.entry_count(), 0u);
}

TEST(ChromeTrace, RefusesAmbiguousParts) {
  const Trace t = sample_trace();
  const ChromeTracePart same_label[] = {{"run", &t}, {"run", &t}};
  std::ostringstream out;
  EXPECT_THROW(write_chrome_trace(out, same_label), Error);
  const ChromeTracePart null_part[] = {{"run", nullptr}};
  EXPECT_THROW(write_chrome_trace(out, null_part), Error);
}

}  // namespace
}  // namespace sparoa::traces
