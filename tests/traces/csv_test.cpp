#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "support/error.hpp"
#include "trace_fixtures.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

using testing::make_record;
using testing::slurp;
using testing::without_args;
using testing::sample_trace;
using testing::ScratchDir;

const std::string kHeader =
    "schema_version,source,run_id,request_id,batch_id,iteration,record,op,device,lane,kernel,"
    "fused_group,start_us,end_us,energy_J,energy_method\n";
const std::vector<std::string> kGoodRow = {"1",     "sim",    "run-1", "0",     "0",    "0",
                                           "op",    "conv1",  "cpu",   "cpu.l0", "dense", "",
                                           "1000",  "2500",   "0.003", "attributed"};

std::string row_with(std::size_t column, const std::string& value) {
  std::vector<std::string> fields = kGoodRow;
  fields[column] = value;
  std::string line;
  for (std::size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + fields[i];
  return line + "\n";
}

std::string good_row() { return row_with(0, "1"); }

std::string write_to_string(const Trace& t) {
  std::ostringstream out;
  write_trace_csv(out, t);
  return out.str();
}

Trace read_from_string(const std::string& text) {
  std::istringstream in(text);
  return read_trace_csv(in, "t.csv");
}

// The reader must throw sparoa::Error on `text`; returns its message.
std::string read_error(const std::string& text) {
  try {
    read_from_string(text);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return {};
}


std::uint64_t bits(double v) { return std::bit_cast<std::uint64_t>(v); }


TEST(TraceCsv, RoundTripKeepsEveryColumn) {
  const Trace t = sample_trace();
  const Trace back = read_from_string(write_to_string(t));
  EXPECT_EQ(back.provenance, t.provenance);
  EXPECT_EQ(back.records, without_args(t).records);  // args are Chrome-trace only
  EXPECT_TRUE(back.power.empty());
  EXPECT_TRUE(back.state.empty());
}

TEST(TraceCsv, RoundTripIsBitExact) {
  const double values[] = {0.1,
                           0.1 + 0.2,
                           1.0 / 3.0,
                           123456789.123456789,
                           1e-300,
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           std::nextafter(1500.0, 2000.0),
                           -0.0,
                           0.0};
  Trace t;
  for (double v : values) {
    Record r = make_record(RecordKind::op, "op", "cpu", "cpu.l0", v, v);
    r.energy_J = v;
    r.energy_method = EnergyMethod::attributed;
    t.records.push_back(r);
    Record wide = make_record(RecordKind::op, "op", "cpu", "cpu.l0", 0, v);
    wide.energy_J = v;
    t.records.push_back(wide);
  }
  t.records.back().request_id = std::numeric_limits<std::int64_t>::max();
  const Trace back = read_from_string(write_to_string(t));
  ASSERT_EQ(back.records.size(), t.records.size());
  for (std::size_t i = 0; i < t.records.size(); ++i) {
    EXPECT_EQ(bits(back.records[i].start_us), bits(t.records[i].start_us)) << i;
    EXPECT_EQ(bits(back.records[i].end_us), bits(t.records[i].end_us)) << i;
    EXPECT_EQ(bits(back.records[i].energy_J), bits(t.records[i].energy_J)) << i;
  }
  EXPECT_EQ(back.records.back().request_id, std::numeric_limits<std::int64_t>::max());
}

TEST(TraceCsv, WritesTheSchemaHeaderAfterTheProvenanceBlock) {
  const std::string text = write_to_string(sample_trace());
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_GE(lines.size(), 11u);
  EXPECT_EQ(lines[0], "# model_sha256: " + std::string(64, 'a'));
  EXPECT_EQ(lines[1], "# platform_sha256:");  // unknown: no value, no trailing blank
  EXPECT_EQ(lines[3], "# seed: 42");
  EXPECT_EQ(lines[10], kHeader.substr(0, kHeader.size() - 1));
  EXPECT_EQ(lines[11], "1,sim,run-1,0,0,0,op,conv1,cpu,cpu.l0,dense,,1000,2500,0.003,attributed");
  EXPECT_EQ(text.back(), '\n');
}

TEST(TraceCsv, ProvenanceRoundTrip) {
  Trace t;
  Provenance& p = t.provenance;
  p.model_sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  p.platform_sha256 = std::string(64, 'b');
  p.schedule_sha256 = std::string(64, 'c');
  p.seed = std::numeric_limits<std::uint64_t>::max();
  p.git_revision = "deadbeef-dirty";
  p.simgrid_version = "3.32";
  p.onednn_version = "2.6.3";
  p.cuda_version = "12.2";
  p.power_mode = "MAXN";
  p.clocks = "cpu=2201.6MHz, gpu=1300.5MHz";  // commas and '=' are fine in the header
  p.extra = {{"jetpack", "6.0"}, {"note", "  leading blanks: and a colon"}, {"empty", ""}};
  const std::string text = write_to_string(t);
  EXPECT_NE(text.find("# clocks: cpu=2201.6MHz, gpu=1300.5MHz\n"), std::string::npos);
  EXPECT_NE(text.find("# note:   leading blanks: and a colon\n"), std::string::npos);
  EXPECT_EQ(read_from_string(text).provenance, p);

  // No seed and nothing known also round-trips.
  EXPECT_EQ(read_from_string(write_to_string(Trace{})).provenance, Provenance{});
  // A file without any provenance block is read as "nothing known".
  EXPECT_EQ(read_from_string(kHeader + good_row()).provenance, Provenance{});
}

TEST(TraceCsv, QuotesCommasAndQuotesPerRfc4180) {
  Trace t;
  Record r = make_record(RecordKind::op, "conv,1", "cpu", "cpu.l0", 0, 1);
  r.fused_group = "say \"hi\"";
  r.run_id = "\"";
  t.records.push_back(r);
  const std::string text = write_to_string(t);
  EXPECT_NE(text.find("1,sim,\"\"\"\",0,0,0,op,\"conv,1\",cpu,cpu.l0,dense,\"say \"\"hi\"\"\",0,1,0,none\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(read_from_string(text).records, t.records);
}

TEST(TraceCsv, OutputIsDeterministic) {
  const std::string first = write_to_string(sample_trace());
  EXPECT_EQ(write_to_string(sample_trace()), first);
  EXPECT_EQ(write_to_string(read_from_string(first)), first);
}

TEST(TraceCsv, AcceptsCrLfAndQuotedPlainFields) {
  std::string text = kHeader + good_row();
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_EQ(read_from_string(crlf).records, read_from_string(text).records);
  EXPECT_EQ(read_from_string(kHeader + row_with(7, "\"conv1\"")).records[0].op, "conv1");
}

// --- every way the reader must refuse a file, each naming file, line and column ---

TEST(TraceCsvErrors, WrongHeader) {
  std::string header = kHeader;
  header.replace(header.find("batch_id"), 8, "batch");
  EXPECT_EQ(read_error(header + good_row()),
            "t.csv:1: column 'batch_id': the header has 'batch' in its place, position 5 "
            "(expected header: " + kHeader.substr(0, kHeader.size() - 1) + ")");
  const std::string short_header = kHeader.substr(0, kHeader.find(",energy_method")) + "\n";
  EXPECT_EQ(read_error(short_header).rfind("t.csv:1: column 'energy_method': missing from the header", 0), 0u);
  const std::string long_header = kHeader.substr(0, kHeader.size() - 1) + ",args\n";
  EXPECT_EQ(read_error(long_header).rfind("t.csv:1: column 'args': not a column of this file", 0), 0u);
  // The header comes after the provenance block: its line number counts the comments.
  EXPECT_EQ(read_error("# seed: 1\n# clocks: x\n" + header).rfind("t.csv:3: column 'batch_id':", 0), 0u);
}

TEST(TraceCsvErrors, MissingHeader) {
  EXPECT_EQ(read_error("").rfind("t.csv:1: missing the header line", 0), 0u);
  EXPECT_EQ(read_error("# seed: 1\n").rfind("t.csv:2: missing the header line", 0), 0u);
}

TEST(TraceCsvErrors, BadEnumValues) {
  EXPECT_EQ(read_error(kHeader + row_with(1, "simulated")),
            "t.csv:2: column 'source': 'simulated' is not one of sim|hw");
  EXPECT_EQ(read_error(kHeader + row_with(6, "kernel_launch")),
            "t.csv:2: column 'record': 'kernel_launch' is not one of op|transfer|launch|reorder|idle");
  EXPECT_EQ(read_error(kHeader + row_with(15, "estimated")),
            "t.csv:2: column 'energy_method': 'estimated' is not one of attributed|measured|none");
  EXPECT_EQ(read_error(kHeader + row_with(10, "fast")),
            "t.csv:2: column 'kernel': 'fast' is not one of dense|sparse");
}

TEST(TraceCsvErrors, NonNumericTime) {
  EXPECT_EQ(read_error(kHeader + row_with(12, "12us")),
            "t.csv:2: column 'start_us': '12us' is not a number");
  EXPECT_EQ(read_error(kHeader + row_with(13, "")), "t.csv:2: column 'end_us': '' is not a number");
  EXPECT_EQ(read_error(kHeader + row_with(13, " 2500")),
            "t.csv:2: column 'end_us': ' 2500' is not a number");
  EXPECT_EQ(read_error(kHeader + row_with(12, "nan")),
            "t.csv:2: column 'start_us': 'nan' is not a finite number");
  EXPECT_EQ(read_error(kHeader + row_with(14, "inf")),
            "t.csv:2: column 'energy_J': 'inf' is not a finite number");
  EXPECT_EQ(read_error(kHeader + row_with(3, "1.5")),
            "t.csv:2: column 'request_id': '1.5' is not an integer");
}

TEST(TraceCsvErrors, EndBeforeStart) {
  EXPECT_EQ(read_error(kHeader + good_row() + row_with(13, "999.5")),
            "t.csv:3: column 'end_us': ends before start_us");
}

TEST(TraceCsvErrors, TruncatedLine) {
  const std::string row = good_row();
  std::size_t cut = 0;
  for (int commas = 0; commas < 10; ++cut) commas += row[cut] == ',';
  const std::string truncated = row.substr(0, cut - 1);  // 10 fields, no newline: a cut-off file
  EXPECT_EQ(read_error(kHeader + good_row() + truncated),
            "t.csv:3: column 'kernel': missing: the line has 10 of 16 fields (truncated line?)");
  EXPECT_EQ(read_error(kHeader + "1,sim,run-1,0,0,0,op,\"conv") ,
            "t.csv:2: column 'op': unterminated quoted field");
}

TEST(TraceCsvErrors, UnknownSchemaVersion) {
  EXPECT_EQ(read_error(kHeader + row_with(0, "2")),
            "t.csv:2: column 'schema_version': unknown schema_version 2 (this build reads 1)");
  EXPECT_EQ(read_error(kHeader + row_with(0, "v1")),
            "t.csv:2: column 'schema_version': 'v1' is not an integer");
}

TEST(TraceCsvErrors, MalformedLines) {
  EXPECT_EQ(read_error(kHeader + good_row().substr(0, good_row().size() - 1) + ",extra\n"),
            "t.csv:2: column 'energy_method': the line has 17 fields, the header 16 (unquoted comma?)");
  EXPECT_EQ(read_error(kHeader + good_row() + "\n" + good_row()), "t.csv:3: empty line");
  EXPECT_EQ(read_error(kHeader + row_with(7, "con\"v1")).rfind("t.csv:2: column 'op': a quote in an unquoted field", 0), 0u);
  EXPECT_EQ(read_error(kHeader + row_with(7, "\"conv\"1")),
            "t.csv:2: column 'op': text after the closing quote of a quoted field");
  EXPECT_EQ(read_error(kHeader + row_with(2, "")), "t.csv:2: column 'run_id': must not be empty");
}

TEST(TraceCsvErrors, BadProvenance) {
  EXPECT_EQ(read_error("#seed 1\n" + kHeader).rfind("t.csv:1: provenance lines read '# key: value'", 0), 0u);
  EXPECT_EQ(read_error("# seed: 1\n# seed: 2\n" + kHeader),
            "t.csv:2: key 'seed': given twice in the provenance block");
  EXPECT_EQ(read_error("# clocks: x\n# seed: -1\n" + kHeader),
            "t.csv:2: key 'seed': '-1' is not an unsigned integer");
  EXPECT_EQ(read_error("# clocks: x\n# model_sha256: abc\n" + kHeader),
            "t.csv:2: key 'model_sha256': 'abc' is not 64 lowercase hex digits");
}

TEST(TraceCsvErrors, LineNumbersCountTheProvenanceBlock) {
  const std::string text = write_to_string(sample_trace());  // 10 provenance lines + header
  EXPECT_EQ(read_error(text + row_with(1, "real")).rfind("t.csv:20: column 'source':", 0), 0u);
}

// --- sample CSVs ---

TEST(SampleCsv, PowerAndStateRoundTrip) {
  const Trace t = sample_trace();
  std::ostringstream power, state;
  write_power_csv(power, t.power);
  write_state_csv(state, t.state);
  EXPECT_EQ(power.str().substr(0, power.str().find('\n')), "run_id,time_us,rail,watts");
  EXPECT_EQ(state.str().substr(0, state.str().find('\n')), "run_id,time_us,device,key,value");
  std::istringstream power_in(power.str()), state_in(state.str());
  EXPECT_EQ(read_power_csv(power_in, "p.csv"), t.power);
  EXPECT_EQ(read_state_csv(state_in, "s.csv"), t.state);
}

TEST(SampleCsv, ReaderNamesLineAndColumn) {
  std::istringstream bad_power("run_id,time_us,rail,watts\nrun-1,0,VDD_GPU,1\nrun-1,10,VDD_GPU,-2\n");
  try {
    read_power_csv(bad_power, "p.csv");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "p.csv:3: column 'watts': must be a finite number >= 0");
  }
  std::istringstream bad_state("run_id,time_us,device,key\n");
  try {
    read_state_csv(bad_state, "s.csv");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("s.csv:1: column 'value': missing from the header", 0), 0u);
  }
}

// --- files ---

TEST(TraceFiles, AllThreeRoundTripBesideEachOther) {
  ScratchDir dir;
  const Trace t = sample_trace();
  write_trace_files(dir / "run.csv", t);
  const TraceFiles files = trace_files(dir / "run.csv");
  EXPECT_EQ(files.power, dir / "run.power.csv");
  EXPECT_EQ(files.state, dir / "run.state.csv");
  EXPECT_TRUE(std::filesystem::exists(files.power));
  EXPECT_EQ(dir.entry_count(), 3u);  // no temporary files left behind
  EXPECT_EQ(read_trace_files(dir / "run.csv"), without_args(t));
  // Byte-identical when written again.
  const std::string first = slurp(files.records);
  write_trace_files(dir / "run.csv", t);
  EXPECT_EQ(slurp(files.records), first);
}

TEST(TraceFiles, SamplesOfAnotherRunAreRefused) {
  ScratchDir dir;
  Trace t = sample_trace();
  t.state.push_back({"run-2", 0, "gpu", "freq_MHz", 1});
  write_trace_files(dir / "run.csv", t);
  try {
    read_trace_files(dir / "run.csv");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), (dir / "run.state.csv").string() + ": sample 3");
    EXPECT_NE(std::string(e.what()).find("column 'run_id': 'run-2' is not a run"), std::string::npos);
  }
}

TEST(TraceFiles, MissingFileIsAnErrorNamingIt) {
  ScratchDir dir;
  try {
    read_trace_csv(dir / "nope.csv");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), (dir / "nope.csv").string());
  }
}

TEST(TraceFiles, WriterFailureLeavesNoPartialFile) {
  ScratchDir dir;
  const auto missing = dir / "no-such-dir" / "run.csv";
  EXPECT_THROW(write_trace_csv(missing, sample_trace()), Error);
  EXPECT_THROW(write_trace_files(missing, sample_trace()), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "no-such-dir"));
  EXPECT_EQ(dir.entry_count(), 0u);

  // Invalid input: nothing is written, and an older file of that name stays as it was.
  write_trace_files(dir / "run.csv", sample_trace());
  const std::string before = slurp(dir / "run.csv");
  Trace bad = sample_trace();
  bad.records[3].end_us = bad.records[3].start_us - 1;
  try {
    write_trace_files(dir / "run.csv", bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), (dir / "run.csv").string() + ": record 3");
    EXPECT_NE(std::string(e.what()).find("column 'end_us': ends before start_us"), std::string::npos);
  }
  EXPECT_EQ(slurp(dir / "run.csv"), before);
  EXPECT_THROW(write_trace_csv(dir / "other.csv", bad), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "other.csv"));
  EXPECT_EQ(dir.entry_count(), 3u);
}

TEST(TraceFiles, StreamWriterRefusesBeforeWritingAnything) {
  Trace bad = sample_trace();
  bad.records.back().device.clear();
  std::ostringstream out;
  EXPECT_THROW(write_trace_csv(out, bad), Error);
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace sparoa::traces
