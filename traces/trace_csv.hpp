#pragma once
// The trace CSVs of DESIGN.md: the records CSV (provenance as leading '# key: value' lines,
// then the column header, then one row per record) and the power and state sample CSVs that
// share its run_id. Writers to a path are atomic (the file appears whole or not at all) and
// refuse anything the readers would reject. Readers throw sparoa::Error with where() =
// "file:line" and a message "column 'x': ...".
#include <filesystem>
#include <istream>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "traces/record.hpp"

namespace sparoa::traces {

// Records CSV: trace.provenance and trace.records (power and state go to their own files).
// `name` only labels error messages.
void write_trace_csv(std::ostream& out, const Trace& trace, const std::string& name = "trace");
void write_trace_csv(const std::filesystem::path& path, const Trace& trace);
// Returns provenance and records; power and state stay empty.
Trace read_trace_csv(std::istream& in, const std::string& name);
Trace read_trace_csv(const std::filesystem::path& path);

void write_power_csv(std::ostream& out, std::span<const PowerSample> samples,
                     const std::string& name = "power");
void write_power_csv(const std::filesystem::path& path, std::span<const PowerSample> samples);
std::vector<PowerSample> read_power_csv(std::istream& in, const std::string& name);
std::vector<PowerSample> read_power_csv(const std::filesystem::path& path);

void write_state_csv(std::ostream& out, std::span<const StateSample> samples,
                     const std::string& name = "state");
void write_state_csv(const std::filesystem::path& path, std::span<const StateSample> samples);
std::vector<StateSample> read_state_csv(std::istream& in, const std::string& name);
std::vector<StateSample> read_state_csv(const std::filesystem::path& path);

// The three files of one trace, named after the records CSV: run.csv, run.power.csv,
// run.state.csv.
struct TraceFiles {
  std::filesystem::path records;
  std::filesystem::path power;
  std::filesystem::path state;
};
TraceFiles trace_files(const std::filesystem::path& records_csv);

// Writes all three files (the sample files even when empty, so that "no samples" is explicit).
void write_trace_files(const std::filesystem::path& records_csv, const Trace& trace);
// Reads the records CSV and whichever sample files exist beside it; a sample whose run_id is
// not one of the records' run_ids is an error (files of different runs mixed up).
Trace read_trace_files(const std::filesystem::path& records_csv);

}  // namespace sparoa::traces
