#include <cstdint>
#include <sstream>
#include <string>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "traces/csv_format.hpp"
#include "traces/csv_rows.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace detail {

void append_header(std::string& line, std::span<const std::string_view> columns) {
  line += join_fields(columns);
  line += '\n';
}

void append_provenance(std::string& line, const Provenance& p) {
  auto put = [&line](std::string_view key, std::string_view value) {
    // No trailing blank when the value is empty, so that files stay diff-clean.
    line += "# ";
    line += key;
    line += ':';
    if (!value.empty()) {
      line += ' ';
      line += value;
    }
    line += '\n';
  };
  put("model_sha256", p.model_sha256);
  put("platform_sha256", p.platform_sha256);
  put("schedule_sha256", p.schedule_sha256);
  put("seed", p.seed ? std::to_string(*p.seed) : std::string());
  put("git_revision", p.git_revision);
  put("simgrid_version", p.simgrid_version);
  put("onednn_version", p.onednn_version);
  put("cuda_version", p.cuda_version);
  put("power_mode", p.power_mode);
  put("clocks", p.clocks);
  for (const auto& [key, value] : p.extra) put(key, value);
}

void append_row(std::string& line, const Record& r) {
  // Every field after the first starts with its separator.
  auto text = [&line](std::string_view value) {
    line += ',';
    append_field(line, value);
  };
  auto number = [&line](auto value) {
    line += ',';
    line += format_number(value);
  };
  line += std::to_string(r.schema_version);
  text(to_string(r.source));
  text(r.run_id);
  number(r.request_id);
  number(r.batch_id);
  number(r.iteration);
  text(to_string(r.record));
  text(r.op);
  text(r.device);
  text(r.lane);
  text(r.kernel);
  text(r.fused_group);
  number(r.start_us);
  number(r.end_us);
  number(r.energy_J);
  text(to_string(r.energy_method));
  line += '\n';
}

void append_row(std::string& line, const PowerSample& s) {
  append_field(line, s.run_id);
  line += ',';
  line += format_number(s.time_us);
  line += ',';
  append_field(line, s.rail);
  line += ',';
  line += format_number(s.watts);
  line += '\n';
}

void append_row(std::string& line, const StateSample& s) {
  append_field(line, s.run_id);
  line += ',';
  line += format_number(s.time_us);
  line += ',';
  append_field(line, s.device);
  line += ',';
  append_field(line, s.key);
  line += ',';
  line += format_number(s.value);
  line += '\n';
}

}  // namespace detail

namespace {

void write_line(std::ostream& out, const std::string& line) {
  out.write(line.data(), static_cast<std::streamsize>(line.size()));
}

template <typename Sample>
void write_samples(std::ostream& out, std::span<const Sample> samples, const std::string& name,
                   std::span<const std::string_view> columns) {
  // Check everything first: a stream cannot take back what was already written to it.
  for (std::size_t i = 0; i < samples.size(); ++i) {
    validate(samples[i], name + ": sample " + std::to_string(i));
  }
  std::string line;
  detail::append_header(line, columns);
  write_line(out, line);
  for (const Sample& s : samples) {
    line.clear();
    detail::append_row(line, s);
    write_line(out, line);
  }
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
  std::string line;
  detail::append_provenance(line, trace.provenance);
  detail::append_header(line, kRecordColumns);
  write_line(out, line);
  for (const Record& r : trace.records) {
    line.clear();
    detail::append_row(line, r);
    write_line(out, line);
  }
}

void write_trace_csv(const std::filesystem::path& path, const Trace& trace) {
  write_atomically(path, [&](std::ostream& out) { write_trace_csv(out, trace, path.string()); });
}

void write_power_csv(std::ostream& out, std::span<const PowerSample> samples,
                     const std::string& name) {
  write_samples(out, samples, name, kPowerColumns);
}

void write_power_csv(const std::filesystem::path& path, std::span<const PowerSample> samples) {
  write_atomically(path, [&](std::ostream& out) { write_power_csv(out, samples, path.string()); });
}

void write_state_csv(std::ostream& out, std::span<const StateSample> samples,
                     const std::string& name) {
  write_samples(out, samples, name, kStateColumns);
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
