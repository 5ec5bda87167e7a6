#include "traces/trace_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/error.hpp"
#include "trace_fixtures.hpp"
#include "traces/chrome_trace.hpp"
#include "traces/links.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

using nlohmann::json;
using testing::make_record;
using testing::slurp;
using testing::without_args;
using testing::sample_trace;
using testing::ScratchDir;


bool any_exists(const TraceFiles& f) {
  return std::filesystem::exists(f.records) || std::filesystem::exists(f.power) ||
         std::filesystem::exists(f.state);
}

void stream_trace(const std::filesystem::path& path, const Trace& t) {
  TraceCsvStream stream(path, t.provenance);
  // Interleaved, as a simulator produces them: the order within each file is what counts.
  const std::size_t n = std::max({t.records.size(), t.power.size(), t.state.size()});
  for (std::size_t i = 0; i < n; ++i) {
    if (i < t.records.size()) stream.record(t.records[i]);
    if (i < t.power.size()) stream.power(t.power[i]);
    if (i < t.state.size()) stream.state(t.state[i]);
  }
  EXPECT_EQ(stream.records_written(), t.records.size());
  stream.commit();
}

// Fields that need quoting, provenance extras, an empty trace: every path of the formatting.
std::vector<Trace> csv_cases() {
  std::vector<Trace> cases = {sample_trace(Source::sim), sample_trace(Source::hw), Trace{}};
  Trace quoted = sample_trace();
  quoted.provenance.extra = {{"board", "orin, 64GB"}, {"jetpack", "6.0"}};
  quoted.provenance.seed.reset();
  quoted.records[0].op = "conv \"1\", fused";
  quoted.records[0].fused_group = "a,b";
  quoted.records[1].start_us = 0.1;
  quoted.records[1].end_us = 1e-7 + 1e6;
  quoted.power[0].rail = "VDD,\"CPU\"";
  quoted.state[0].key = "freq,MHz";
  cases.push_back(quoted);
  return cases;
}


// ----- TraceCsvStream -------------------------------------------------------------------

TEST(TraceCsvStream, BytesEqualWriteTraceFiles) {
  for (const Trace& t : csv_cases()) {
    ScratchDir dir;
    write_trace_files(dir / "whole.csv", t);
    stream_trace(dir / "streamed.csv", t);
    const TraceFiles whole = trace_files(dir / "whole.csv");
    const TraceFiles streamed = trace_files(dir / "streamed.csv");
    EXPECT_EQ(slurp(streamed.records), slurp(whole.records));
    EXPECT_EQ(slurp(streamed.power), slurp(whole.power));
    EXPECT_EQ(slurp(streamed.state), slurp(whole.state));
    EXPECT_EQ(dir.entry_count(), 6u);  // no temporary file left behind
  }
}

TEST(TraceCsvStream, ReadsBackAsWritten) {
  for (const Trace& t : csv_cases()) {
    if (t.records.empty()) continue;  // sample files need records to check their run_id
    ScratchDir dir;
    stream_trace(dir / "run.csv", t);
    EXPECT_EQ(read_trace_files(dir / "run.csv"), without_args(t));  // args are not CSV columns
  }
}

TEST(TraceCsvStream, NothingAppearsBeforeCommitNorWithoutIt) {
  ScratchDir dir;
  const Trace t = sample_trace();
  const TraceFiles files = trace_files(dir / "run.csv");
  {
    TraceCsvStream stream(files.records, t.provenance);
    for (const Record& r : t.records) stream.record(r);
    for (const PowerSample& s : t.power) stream.power(s);
    for (const StateSample& s : t.state) stream.state(s);
    EXPECT_FALSE(any_exists(files));
  }
  EXPECT_FALSE(any_exists(files));
  EXPECT_EQ(dir.entry_count(), 0u);  // the temporary files are gone too

  TraceCsvStream stream(files.records, t.provenance);
  stream.record(t.records[0]);
  EXPECT_FALSE(any_exists(files));
  stream.commit();
  EXPECT_TRUE(std::filesystem::exists(files.records));
  EXPECT_TRUE(std::filesystem::exists(files.power));
  EXPECT_TRUE(std::filesystem::exists(files.state));
  EXPECT_EQ(dir.entry_count(), 3u);
}

TEST(TraceCsvStream, InvalidRowThrowsAndTheStreamGoesOn) {
  ScratchDir dir;
  const Trace t = sample_trace();
  const TraceFiles files = trace_files(dir / "run.csv");
  TraceCsvStream stream(files.records, t.provenance);
  stream.record(t.records[0]);
  Record bad = t.records[1];
  bad.end_us = bad.start_us - 1;
  try {
    stream.record(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    // Where and message as write_trace_files gives them.
    EXPECT_EQ(e.where(), files.records.string() + ": record 1");
    EXPECT_NE(std::string(e.what()).find("column 'end_us': ends before start_us"),
              std::string::npos);
  }
  PowerSample bad_power = t.power[0];
  bad_power.watts = -1;
  try {
    stream.power(bad_power);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), files.power.string() + ": sample 0");
  }
  StateSample bad_state = t.state[0];
  bad_state.key.clear();
  EXPECT_THROW(stream.state(bad_state), Error);
  EXPECT_EQ(stream.records_written(), 1u);
  for (std::size_t i = 1; i < t.records.size(); ++i) stream.record(t.records[i]);
  for (const PowerSample& s : t.power) stream.power(s);
  for (const StateSample& s : t.state) stream.state(s);
  stream.commit();
  // The refused rows left no trace: the files equal those of the valid rows alone.
  write_trace_files(dir / "whole.csv", t);
  const TraceFiles whole = trace_files(dir / "whole.csv");
  EXPECT_EQ(slurp(files.records), slurp(whole.records));
  EXPECT_EQ(slurp(files.power), slurp(whole.power));
  EXPECT_EQ(slurp(files.state), slurp(whole.state));
}

TEST(TraceCsvStream, InvalidProvenanceCreatesNothing) {
  ScratchDir dir;
  Provenance p;
  p.model_sha256 = "not a hash";
  EXPECT_THROW(TraceCsvStream(dir / "run.csv", p), Error);
  EXPECT_EQ(dir.entry_count(), 0u);
  EXPECT_THROW(TraceCsvStream(dir / "missing" / "run.csv", Provenance{}), Error);
  EXPECT_EQ(dir.entry_count(), 0u);
}

TEST(TraceCsvStream, ClosedAfterCommit) {
  ScratchDir dir;
  const Trace t = sample_trace();
  TraceCsvStream stream(dir / "run.csv", t.provenance);
  stream.commit();
  EXPECT_THROW(stream.record(t.records[0]), Error);
  EXPECT_THROW(stream.power(t.power[0]), Error);
  EXPECT_THROW(stream.commit(), Error);
}

TEST(TraceCsvStream, FailedCommitLeavesNoMixedSet) {
  ScratchDir dir;
  const Trace t = sample_trace();
  const TraceFiles files = trace_files(dir / "run.csv");
  // A folder where the records file should go: its rename fails, after the sample files'.
  std::filesystem::create_directory(files.records);
  TraceCsvStream stream(files.records, t.provenance);
  for (const PowerSample& s : t.power) stream.power(s);
  for (const StateSample& s : t.state) stream.state(s);
  EXPECT_THROW(stream.commit(), Error);
  EXPECT_FALSE(std::filesystem::exists(files.power));
  EXPECT_FALSE(std::filesystem::exists(files.state));
  EXPECT_EQ(dir.entry_count(), 1u);  // the folder alone
}

// ----- ChromeTraceStream ----------------------------------------------------------------

struct Doc {
  json doc;
  const json& events() const { return doc.at("traceEvents"); }
  std::vector<json> of(const std::string& ph) const {
    std::vector<json> out;
    for (const json& e : events()) {
      if (e.at("ph") == ph) out.push_back(e);
    }
    return out;
  }
  std::vector<json> metadata(const std::string& name) const {
    std::vector<json> out;
    for (const json& e : of("M")) {
      if (e.at("name") == name) out.push_back(e);
    }
    return out;
  }
  std::int64_t pid_named(const std::string& name) const {
    for (const json& e : metadata("process_name")) {
      if (e.at("args").at("name") == name) return e.at("pid");
    }
    ADD_FAILURE() << "no process " << name;
    return -1;
  }
  std::string thread_name(std::int64_t pid, std::int64_t tid) const {
    for (const json& e : metadata("thread_name")) {
      if (e.at("pid") == pid && e.at("tid") == tid) return e.at("args").at("name");
    }
    ADD_FAILURE() << "no thread " << pid << "/" << tid;
    return {};
  }
  const json& slice_named(const std::string& name) const {
    for (const json& e : events()) {
      if (e.at("ph") == "X" && e.at("name") == name) return e;
    }
    throw std::runtime_error("no slice " + name);
  }
};

Doc parse_file(const std::filesystem::path& p) { return {json::parse(slurp(p))}; }

// The sample trace as a simulator would stream it: slices in record order, then the flows
// of its links, then the samples as counters.
void stream_chrome(ChromeTraceStream& stream, const Trace& t) {
  std::vector<ChromeTraceStream::SliceRef> refs;
  for (const Record& r : t.records) refs.push_back(stream.slice(r));
  for (const Link& link : find_links(t)) stream.flow(link.kind, refs[link.from], refs[link.to]);
  for (const PowerSample& s : t.power) stream.counter("power", s.rail, s.time_us, s.watts);
  for (const StateSample& s : t.state) stream.counter(s.device, s.key, s.time_us, s.value);
}

Doc streamed_doc(const Trace& t, const std::string& label = {}) {
  ScratchDir dir;
  ChromeTraceStream stream(dir / "trace.json", label);
  stream_chrome(stream, t);
  stream.commit();
  return parse_file(dir / "trace.json");
}

TEST(ChromeTraceStream, SlicesMatchTheWholeTraceWriter) {
  const Trace t = sample_trace();
  const Doc d = streamed_doc(t);
  std::ostringstream whole_out;
  write_chrome_trace(whole_out, t);
  const Doc whole{json::parse(whole_out.str())};

  ASSERT_EQ(d.of("X").size(), t.records.size());
  for (const Record& r : t.records) {
    const std::string name =
        r.record == RecordKind::op ? r.op
                                   : std::string(to_string(r.record)) + (r.op.empty() ? "" : " " + r.op);
    const json& x = d.slice_named(name);
    const json& w = whole.slice_named(name);
    for (const char* key : {"ph", "name", "cat", "ts", "dur", "args"}) {
      EXPECT_EQ(x.at(key), w.at(key)) << name << ": " << key;
    }
    EXPECT_EQ(x.at("ts").get<double>(), r.start_us);
    EXPECT_EQ(x.at("dur").get<double>(), r.end_us - r.start_us);
    // On the process of its device and the thread of its lane ("device" without a lane).
    EXPECT_EQ(d.pid_named(r.device), x.at("pid")) << name;
    EXPECT_EQ(d.thread_name(x.at("pid"), x.at("tid")), r.lane.empty() ? "device" : r.lane);
  }
  EXPECT_EQ(d.slice_named("conv1").at("args").at("FLOPs").get<double>(), 1.25e9);
  EXPECT_EQ(d.slice_named("conv1").at("args").at("type"), "Conv");
  EXPECT_EQ(d.slice_named("transfer conv1").at("cat"), "transfer");
  // Two lanes of one device: one process, two threads.
  EXPECT_EQ(d.slice_named("conv1").at("pid"), d.slice_named("relu0").at("pid"));
  EXPECT_NE(d.slice_named("conv1").at("tid"), d.slice_named("relu0").at("tid"));
  EXPECT_EQ(d.doc.at("otherData").at("trace_schema_version"),
            whole.doc.at("otherData").at("trace_schema_version"));
}

TEST(ChromeTraceStream, MetadataOncePerProcessAndThreadBeforeItsFirstUse) {
  const Doc d = streamed_doc(sample_trace());
  std::map<std::int64_t, std::string> processes;
  for (const json& e : d.metadata("process_name")) {
    EXPECT_TRUE(processes.emplace(e.at("pid"), e.at("args").at("name")).second) << e;
  }
  std::set<std::string> names;
  for (const auto& [pid, name] : processes) EXPECT_TRUE(names.insert(name).second) << name;
  EXPECT_EQ(names, (std::set<std::string>{"cpu", "gpu", "power"}));
  EXPECT_EQ(d.metadata("process_sort_index").size(), processes.size());

  std::set<std::pair<std::int64_t, std::string>> threads;
  std::set<std::int64_t> tids;
  for (const json& e : d.metadata("thread_name")) {
    EXPECT_TRUE(threads.emplace(e.at("pid"), e.at("args").at("name")).second) << e;
    const auto tid = e.at("tid").get<std::int64_t>();
    EXPECT_TRUE(tids.insert(tid).second) << "tid reused: " << e;
    EXPECT_FALSE(processes.contains(tid)) << "tid equal to a pid: " << e;
    EXPECT_TRUE(processes.contains(e.at("pid").get<std::int64_t>())) << e;
  }
  EXPECT_EQ(threads.size(), 4u);  // cpu.l0, cpu.l1, gpu.s0, gpu's "device" (idle)
  EXPECT_EQ(d.metadata("thread_sort_index").size(), threads.size());

  // Ids in order of first use: cpu (conv1 comes first) before gpu before power.
  EXPECT_LT(d.pid_named("cpu"), d.pid_named("gpu"));
  EXPECT_LT(d.pid_named("gpu"), d.pid_named("power"));

  // Every event comes after the metadata of its process and thread.
  std::set<std::int64_t> seen_pids, seen_tids;
  for (const json& e : d.events()) {
    if (e.at("ph") == "M") {
      if (e.at("name") == "process_name") seen_pids.insert(e.at("pid").get<std::int64_t>());
      if (e.at("name") == "thread_name") seen_tids.insert(e.at("tid").get<std::int64_t>());
      continue;
    }
    EXPECT_TRUE(seen_pids.contains(e.at("pid").get<std::int64_t>())) << e;
    if (e.contains("tid")) {
      EXPECT_TRUE(seen_tids.contains(e.at("tid").get<std::int64_t>())) << e;
    }
  }
}

TEST(ChromeTraceStream, FlowEndsShareAnIdAndSitOnTheirThreads) {
  const Trace t = sample_trace();
  const Doc d = streamed_doc(t);
  const auto starts = d.of("s");
  const auto finishes = d.of("f");
  ASSERT_EQ(starts.size(), find_links(t).size());
  ASSERT_EQ(finishes.size(), starts.size());
  std::set<std::int64_t> ids;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const json& s = starts[i];
    const json& f = finishes[i];
    EXPECT_EQ(s.at("id"), f.at("id"));
    EXPECT_TRUE(ids.insert(s.at("id").get<std::int64_t>()).second) << "id reused";
    EXPECT_EQ(f.at("bp"), "e");
    EXPECT_EQ(s.at("name"), s.at("cat"));
    EXPECT_EQ(f.at("name"), s.at("name"));
    EXPECT_EQ(f.at("cat"), s.at("cat"));
  }
  auto on = [&](const json& end, const std::string& slice) {
    const json& x = d.slice_named(slice);
    return end.at("pid") == x.at("pid") && end.at("tid") == x.at("tid") && end.at("ts") == x.at("ts");
  };
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (starts[i].at("name") == "launch") {
      EXPECT_TRUE(on(starts[i], "launch gemm1")) << starts[i];
      EXPECT_TRUE(on(finishes[i], "gemm1")) << finishes[i];
    } else {
      EXPECT_EQ(starts[i].at("name"), "transfer");
      EXPECT_TRUE(on(starts[i], "conv1")) << starts[i];
      EXPECT_TRUE(on(finishes[i], "transfer conv1")) << finishes[i];
    }
  }
}

TEST(ChromeTraceStream, CountersAsTheWholeTraceWriterWritesThem) {
  const Doc d = streamed_doc(sample_trace());
  std::map<std::string, std::vector<std::pair<double, double>>> series;
  const std::int64_t power = d.pid_named("power");
  for (const json& c : d.of("C")) {
    const json& args = c.at("args");
    ASSERT_EQ(args.size(), 1u);
    EXPECT_TRUE(args.contains(c.at("pid") == power ? "W" : "value")) << c;
    series[std::to_string(c.at("pid").get<std::int64_t>()) + "/" + c.at("name").get<std::string>()]
        .push_back({c.at("ts"), args.begin()->get<double>()});
  }
  using Series = std::vector<std::pair<double, double>>;
  EXPECT_EQ(series[std::to_string(power) + "/VDD_CPU"], (Series{{0, 1.5}, {1000, 2.25}, {2000, 1.75}}));
  EXPECT_EQ(series[std::to_string(power) + "/VDD_GPU"], (Series{{0, 0.5}, {1000, 4.125}}));
  EXPECT_EQ(series[std::to_string(d.pid_named("gpu")) + "/freq_MHz"],
            (Series{{0, 624.75}, {1000, 1300.5}}));
  EXPECT_EQ(series[std::to_string(d.pid_named("cpu")) + "/busy_fraction"], (Series{{500, 0.5}}));
  EXPECT_EQ(series.size(), 4u);
}

TEST(ChromeTraceStream, LabelPrefixesEveryProcess) {
  const Doc d = streamed_doc(sample_trace(), "sim");
  std::set<std::string> names;
  for (const json& e : d.metadata("process_name")) names.insert(e.at("args").at("name"));
  EXPECT_EQ(names, (std::set<std::string>{"sim:cpu", "sim:gpu", "sim:power"}));
}

TEST(ChromeTraceStream, ExplicitThreadAndOneLinePerEvent) {
  ScratchDir dir;
  ChromeTraceStream stream(dir / "t.json");
  const Record a = make_record(RecordKind::transfer, "x", "gpu", "gpu.s0", 0, 10);
  const Record b = make_record(RecordKind::transfer, "y", "gpu", "gpu.s0", 5, 15);
  const auto ra = stream.slice(a, "copy 0");
  const auto rb = stream.slice(b, "copy 1");  // overlaps a: the caller puts it elsewhere
  EXPECT_EQ(ra.pid, rb.pid);
  EXPECT_NE(ra.tid, rb.tid);
  EXPECT_EQ(rb.ts_us, 5);
  stream.commit();
  const std::string text = slurp(dir / "t.json");
  EXPECT_TRUE(text.starts_with("{\"traceEvents\":[\n"));
  EXPECT_TRUE(text.ends_with("}\n"));
  const Doc d{json::parse(text)};
  EXPECT_EQ(d.thread_name(ra.pid, ra.tid), "copy 0");
  EXPECT_EQ(d.thread_name(rb.pid, rb.tid), "copy 1");
  // One event per line between the brackets.
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  std::size_t events = 0;
  while (std::getline(lines, line) && line != "],") {
    if (!line.empty() && line.back() == ',') line.pop_back();
    json event;
    EXPECT_NO_THROW(event = json::parse(line)) << line;
    ++events;
  }
  EXPECT_EQ(events, d.events().size());
}

TEST(ChromeTraceStream, NothingAppearsBeforeCommitNorWithoutIt) {
  ScratchDir dir;
  const Trace t = sample_trace();
  {
    ChromeTraceStream stream(dir / "trace.json");
    stream_chrome(stream, t);
    EXPECT_FALSE(std::filesystem::exists(dir / "trace.json"));
  }
  EXPECT_EQ(dir.entry_count(), 0u);
  ChromeTraceStream stream(dir / "trace.json");
  stream_chrome(stream, t);
  EXPECT_FALSE(std::filesystem::exists(dir / "trace.json"));
  stream.commit();
  EXPECT_TRUE(std::filesystem::exists(dir / "trace.json"));
  EXPECT_EQ(dir.entry_count(), 1u);
  EXPECT_THROW(stream.slice(t.records[0]), Error);
  EXPECT_THROW(stream.commit(), Error);
}

TEST(ChromeTraceStream, EmptyStreamIsAValidTrace) {
  ScratchDir dir;
  ChromeTraceStream stream(dir / "trace.json");
  stream.commit();
  const Doc d = parse_file(dir / "trace.json");
  EXPECT_TRUE(d.events().is_array());
  EXPECT_TRUE(d.events().empty());
  EXPECT_EQ(d.doc.at("otherData").at("trace_schema_version"), std::to_string(kTraceSchemaVersion));
}

TEST(ChromeTraceStream, OutputIsDeterministic) {
  ScratchDir dir;
  for (const char* name : {"a.json", "b.json"}) {
    ChromeTraceStream stream(dir / name, "hw");
    stream_chrome(stream, sample_trace());
    stream.commit();
  }
  EXPECT_EQ(slurp(dir / "a.json"), slurp(dir / "b.json"));
}

TEST(ChromeTraceStream, BadInputThrowsAndLeavesTheStreamUsable) {
  ScratchDir dir;
  const Trace t = sample_trace();
  ChromeTraceStream stream(dir / "trace.json");
  const auto first = stream.slice(t.records[0]);

  Record bad = t.records[1];
  bad.end_us = bad.start_us - 1;
  EXPECT_THROW(stream.slice(bad), Error);
  // Not UTF-8: JSON cannot hold it. Its new device and thread must not appear either.
  Record not_utf8 = make_record(RecordKind::op, "op\xff", "npu", "npu.0", 0, 1);
  try {
    stream.slice(not_utf8);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write as JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(stream.slice(t.records[1], "lane\xfe"), Error);
  EXPECT_THROW(stream.counter("npu", "c\xff", 0, 1), Error);
  EXPECT_THROW(stream.counter("npu\xff", "c", 0, 1), Error);
  EXPECT_THROW(stream.counter("npu", "c", 0, std::nan("")), Error);
  EXPECT_THROW(stream.counter("", "c", 0, 1), Error);
  EXPECT_THROW(stream.flow(LinkKind::launch, first, ChromeTraceStream::SliceRef{}), Error);
  EXPECT_THROW(stream.flow(LinkKind::launch, first, {first.tid, first.pid, 0}), Error);

  const auto second = stream.slice(t.records[1]);
  stream.flow(LinkKind::launch, first, second);
  stream.commit();
  const Doc d = parse_file(dir / "trace.json");
  EXPECT_EQ(d.of("X").size(), 2u);
  EXPECT_EQ(d.metadata("process_name").size(), 1u);  // cpu only: no "npu"
  EXPECT_EQ(d.metadata("thread_name").size(), 2u);   // cpu.l0, cpu.l1
  EXPECT_EQ(d.of("s").size(), 1u);
  EXPECT_EQ(d.of("f").size(), 1u);
  EXPECT_EQ(d.of("C").size(), 0u);
}

TEST(ChromeTraceStream, EscapesStrings) {
  ScratchDir dir;
  ChromeTraceStream stream(dir / "trace.json");
  Record r = make_record(RecordKind::op, "a \"quoted\" \\ op\t\x01", "gpu", "s\"0", 0, 1);
  r.args = {{"note", std::string("line\x7f \u00e9")}};
  stream.slice(r);
  stream.commit();
  const Doc d = parse_file(dir / "trace.json");
  const json& x = d.slice_named(r.op);
  EXPECT_EQ(x.at("args").at("note"), "line\x7f \u00e9");
  EXPECT_EQ(d.thread_name(x.at("pid"), x.at("tid")), "s\"0");
}

}  // namespace
}  // namespace sparoa::traces
