#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "support/error.hpp"
#include "traces/csv_format.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

using detail::CsvInput;
using detail::quoted_for_message;

// Column positions, named so that the parser below reads like the schema.
enum RecordColumn : std::size_t {
  kSchemaVersionCol, kSourceCol, kRunIdCol, kRequestIdCol, kBatchIdCol, kIterationCol,
  kRecordCol, kOpCol, kDeviceCol, kLaneCol, kKernelCol, kFusedGroupCol, kStartCol, kEndCol,
  kEnergyCol, kEnergyMethodCol
};

std::string one_of(std::span<const std::string_view> names) {
  std::string s;
  for (auto n : names) {
    if (!s.empty()) s += '|';
    s.append(n);
  }
  return s;
}

template <typename Enum>
Enum parse_enum_field(const CsvInput& in, std::size_t column,
                      std::optional<Enum> (*parse)(std::string_view),
                      std::initializer_list<std::string_view> names) {
  const std::string& t = in.text(column);
  auto v = parse(t);
  if (!v) {
    in.fail(column, quoted_for_message(t) + " is not one of " +
                        one_of(std::span(names.begin(), names.size())));
  }
  return *v;
}

Provenance parse_provenance(const CsvInput& in) {
  Provenance p;
  std::map<std::string, std::size_t, std::less<>> line_of;
  for (const auto& comment : in.comments()) {
    const std::string& text = comment.text;
    const std::size_t colon = text.find(':');
    if (!text.starts_with(' ') || colon == std::string::npos || colon < 2) {
      in.fail_at(comment.line, "provenance lines read '# key: value', not " +
                                   quoted_for_message("#" + text));
    }
    std::string key = text.substr(1, colon - 1);
    std::string value = text.substr(colon + 1);
    if (value.starts_with(' ')) value.erase(0, 1);
    if (!line_of.emplace(key, comment.line).second) {
      in.fail_at(comment.line, "key '" + key + "': given twice in the provenance block");
    }
    if (key == "model_sha256") p.model_sha256 = value;
    else if (key == "platform_sha256") p.platform_sha256 = value;
    else if (key == "schedule_sha256") p.schedule_sha256 = value;
    else if (key == "git_revision") p.git_revision = value;
    else if (key == "simgrid_version") p.simgrid_version = value;
    else if (key == "onednn_version") p.onednn_version = value;
    else if (key == "cuda_version") p.cuda_version = value;
    else if (key == "power_mode") p.power_mode = value;
    else if (key == "clocks") p.clocks = value;
    else if (key == "seed") {
      if (!value.empty()) {
        std::uint64_t seed = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seed);
        if (ec != std::errc() || end != value.data() + value.size()) {
          in.fail_at(comment.line,
                     "key 'seed': " + quoted_for_message(value) + " is not an unsigned integer");
        }
        p.seed = seed;
      }
    } else {
      p.extra.emplace_back(std::move(key), std::move(value));
    }
  }
  if (auto problem = find_problem(p)) {
    auto it = line_of.find(problem->column);
    in.fail_at(it != line_of.end() ? it->second : 1,
               "key '" + problem->column + "': " + problem->message);
  }
  return p;
}

Record parse_record(const CsvInput& in) {
  Record r;
  // The version comes first: a newer file must fail on its version, not on a renamed column.
  const std::int64_t version = in.integer(kSchemaVersionCol);
  if (version != kTraceSchemaVersion) {
    in.fail(kSchemaVersionCol, "unknown schema_version " + std::to_string(version) +
                                   " (this build reads " + std::to_string(kTraceSchemaVersion) +
                                   ")");
  }
  r.schema_version = static_cast<int>(version);
  r.source = parse_enum_field(in, kSourceCol, parse_source, {"sim", "hw"});
  r.run_id = in.text(kRunIdCol);
  r.request_id = in.integer(kRequestIdCol);
  r.batch_id = in.integer(kBatchIdCol);
  r.iteration = in.integer(kIterationCol);
  r.record = parse_enum_field(in, kRecordCol, parse_record_kind,
                              {"op", "transfer", "launch", "reorder", "idle"});
  r.op = in.text(kOpCol);
  r.device = in.text(kDeviceCol);
  r.lane = in.text(kLaneCol);
  r.kernel = in.text(kKernelCol);
  r.fused_group = in.text(kFusedGroupCol);
  r.start_us = in.number(kStartCol);
  r.end_us = in.number(kEndCol);
  r.energy_J = in.number(kEnergyCol);
  r.energy_method = parse_enum_field(in, kEnergyMethodCol, parse_energy_method,
                                     {"attributed", "measured", "none"});
  if (auto problem = find_problem(r)) in.fail(problem->column, problem->message);
  return r;
}

template <typename Sample>
void check_sample(const CsvInput& in, const Sample& s) {
  if (auto problem = find_problem(s)) in.fail(problem->column, problem->message);
}

std::ifstream open_for_reading(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path.string(), std::string("cannot open for reading: ") + std::strerror(errno));
  return in;
}

template <typename Sample>
void check_run_ids(const std::vector<Sample>& samples, const std::set<std::string>& runs,
                   const std::filesystem::path& path) {
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (!runs.contains(samples[i].run_id)) {
      throw Error(path.string() + ": sample " + std::to_string(i),
                  "column 'run_id': " + quoted_for_message(samples[i].run_id) +
                      " is not a run of the records CSV beside it");
    }
  }
}

}  // namespace

Trace read_trace_csv(std::istream& in, const std::string& name) {
  CsvInput csv(in, name, kRecordColumns);
  Trace trace;
  trace.provenance = parse_provenance(csv);
  while (csv.next_row()) trace.records.push_back(parse_record(csv));
  return trace;
}

Trace read_trace_csv(const std::filesystem::path& path) {
  std::ifstream in = open_for_reading(path);
  return read_trace_csv(in, path.string());
}

// Comment lines in the sample files are notes for people and carry no data.
std::vector<PowerSample> read_power_csv(std::istream& in, const std::string& name) {
  CsvInput csv(in, name, kPowerColumns);
  std::vector<PowerSample> samples;
  while (csv.next_row()) {
    PowerSample s{csv.text(0), csv.number(1), csv.text(2), csv.number(3)};
    check_sample(csv, s);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<PowerSample> read_power_csv(const std::filesystem::path& path) {
  std::ifstream in = open_for_reading(path);
  return read_power_csv(in, path.string());
}

std::vector<StateSample> read_state_csv(std::istream& in, const std::string& name) {
  CsvInput csv(in, name, kStateColumns);
  std::vector<StateSample> samples;
  while (csv.next_row()) {
    StateSample s{csv.text(0), csv.number(1), csv.text(2), csv.text(3), csv.number(4)};
    check_sample(csv, s);
    samples.push_back(std::move(s));
  }
  return samples;
}

std::vector<StateSample> read_state_csv(const std::filesystem::path& path) {
  std::ifstream in = open_for_reading(path);
  return read_state_csv(in, path.string());
}

Trace read_trace_files(const std::filesystem::path& records_csv) {
  const TraceFiles files = trace_files(records_csv);
  Trace trace = read_trace_csv(files.records);
  std::error_code ec;
  if (std::filesystem::exists(files.power, ec)) trace.power = read_power_csv(files.power);
  if (std::filesystem::exists(files.state, ec)) trace.state = read_state_csv(files.state);
  std::set<std::string> runs;
  for (const Record& r : trace.records) runs.insert(r.run_id);
  if (!runs.empty()) {
    check_run_ids(trace.power, runs, files.power);
    check_run_ids(trace.state, runs, files.state);
  }
  return trace;
}

}  // namespace sparoa::traces
