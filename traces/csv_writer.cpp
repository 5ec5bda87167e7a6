#include <sstream>
#include <string>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "traces/csv_format.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

using detail::append_field;
using detail::format_number;

void write_header(std::ostream& out, std::span<const std::string_view> columns) {
  out << detail::join_fields(columns) << '\n';
}

void write_provenance(std::ostream& out, const Provenance& p) {
  auto line = [&out](std::string_view key, const std::string& value) {
    // No trailing blank when the value is empty, so that files stay diff-clean.
    out << "# " << key << ':';
    if (!value.empty()) out << ' ' << value;
    out << '\n';
  };
  line("model_sha256", p.model_sha256);
  line("platform_sha256", p.platform_sha256);
  line("schedule_sha256", p.schedule_sha256);
  line("seed", p.seed ? std::to_string(*p.seed) : std::string());
  line("git_revision", p.git_revision);
  line("simgrid_version", p.simgrid_version);
  line("onednn_version", p.onednn_version);
  line("cuda_version", p.cuda_version);
  line("power_mode", p.power_mode);
  line("clocks", p.clocks);
  for (const auto& [key, value] : p.extra) line(key, value);
}

std::string record_row(const Record& r) {
  std::string row;
  row.reserve(160);
  auto field = [&row](std::string_view value) {
    if (!row.empty()) row += ',';
    append_field(row, value);
  };
  field(std::to_string(r.schema_version));
  field(to_string(r.source));
  field(r.run_id);
  field(format_number(r.request_id));
  field(format_number(r.batch_id));
  field(format_number(r.iteration));
  field(to_string(r.record));
  field(r.op);
  field(r.device);
  field(r.lane);
  field(r.kernel);
  field(r.fused_group);
  field(format_number(r.start_us));
  field(format_number(r.end_us));
  field(format_number(r.energy_J));
  field(to_string(r.energy_method));
  row += '\n';
  return row;
}

template <typename Sample, typename Row>
void write_samples(std::ostream& out, std::span<const Sample> samples, const std::string& name,
                   std::span<const std::string_view> columns, Row row) {
  // Check everything first: a stream cannot take back what was already written to it.
  for (std::size_t i = 0; i < samples.size(); ++i) {
    validate(samples[i], name + ": sample " + std::to_string(i));
  }
  write_header(out, columns);
  for (const Sample& s : samples) out << row(s);
}

std::string power_row(const PowerSample& s) {
  std::string row;
  append_field(row, s.run_id);
  row += ',' + format_number(s.time_us) + ',';
  append_field(row, s.rail);
  row += ',' + format_number(s.watts) + '\n';
  return row;
}

std::string state_row(const StateSample& s) {
  std::string row;
  append_field(row, s.run_id);
  row += ',' + format_number(s.time_us) + ',';
  append_field(row, s.device);
  row += ',';
  append_field(row, s.key);
  row += ',' + format_number(s.value) + '\n';
  return row;
}

template <typename Write>
void write_atomically(const std::filesystem::path& path, Write write) {
  AtomicFile file(path);
  write(file.stream());
  file.commit();
}

}  // namespace

void write_trace_csv(std::ostream& out, const Trace& trace, const std::string& name) {
  validate(trace.provenance, name + ": provenance");
  for (std::size_t i = 0; i < trace.records.size(); ++i) {
    validate(trace.records[i], name + ": record " + std::to_string(i));
  }
  write_provenance(out, trace.provenance);
  write_header(out, kRecordColumns);
  for (const Record& r : trace.records) out << record_row(r);
}

void write_trace_csv(const std::filesystem::path& path, const Trace& trace) {
  write_atomically(path, [&](std::ostream& out) { write_trace_csv(out, trace, path.string()); });
}

void write_power_csv(std::ostream& out, std::span<const PowerSample> samples,
                     const std::string& name) {
  write_samples(out, samples, name, kPowerColumns, power_row);
}

void write_power_csv(const std::filesystem::path& path, std::span<const PowerSample> samples) {
  write_atomically(path, [&](std::ostream& out) { write_power_csv(out, samples, path.string()); });
}

void write_state_csv(std::ostream& out, std::span<const StateSample> samples,
                     const std::string& name) {
  write_samples(out, samples, name, kStateColumns, state_row);
}

void write_state_csv(const std::filesystem::path& path, std::span<const StateSample> samples) {
  write_atomically(path, [&](std::ostream& out) { write_state_csv(out, samples, path.string()); });
}

TraceFiles trace_files(const std::filesystem::path& records_csv) {
  const std::filesystem::path dir = records_csv.parent_path();
  const std::string stem = records_csv.extension() == ".csv" ? records_csv.stem().string()
                                                             : records_csv.filename().string();
  return {records_csv, dir / (stem + ".power.csv"), dir / (stem + ".state.csv")};
}

void write_trace_files(const std::filesystem::path& records_csv, const Trace& trace) {
  const TraceFiles files = trace_files(records_csv);
  // Render all three before writing any, so that bad input leaves no file of the set behind.
  std::ostringstream records, power, state;
  write_trace_csv(records, trace, files.records.string());
  write_power_csv(power, trace.power, files.power.string());
  write_state_csv(state, trace.state, files.state.string());
  write_file_atomically(files.records, records.view());
  write_file_atomically(files.power, power.view());
  write_file_atomically(files.state, state.view());
}

}  // namespace sparoa::traces
