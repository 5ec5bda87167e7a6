#pragma once
// What happened in one run, exactly as DESIGN.md's normative trace schema: one Record per
// operator execution, transfer, launch, reorder or idle span, the provenance header block,
// and power and state samples. Simulator and hardware backend both produce these, so the
// comparison tools and the Chrome trace writer never care which side a trace came from.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sparoa::traces {

// Bump together with DESIGN.md and traces/README.md when a column changes meaning.
inline constexpr int kTraceSchemaVersion = 1;

// request_id, batch_id and iteration of a record that belongs to no request (e.g. idle).
inline constexpr std::int64_t kNoId = -1;

enum class RecordKind { op, transfer, launch, reorder, idle };
enum class Source { sim, hw };
enum class EnergyMethod { attributed, measured, none };

std::string_view to_string(RecordKind kind);
std::string_view to_string(Source source);
std::string_view to_string(EnergyMethod method);
std::optional<RecordKind> parse_record_kind(std::string_view text);
std::optional<Source> parse_source(std::string_view text);
std::optional<EnergyMethod> parse_energy_method(std::string_view text);

// Per-record features (FLOPs, bytes, rho, ...): the Chrome trace shows them in `args`; the
// CSV does not carry them. Ordered so that output is deterministic.
using ArgValue = std::variant<std::string, double>;
using Args = std::map<std::string, ArgValue, std::less<>>;

// The CSV columns, in schema order; the field names below match them one to one.
inline constexpr std::array<std::string_view, 16> kRecordColumns = {
    "schema_version", "source",  "run_id", "request_id",  "batch_id", "iteration",
    "record",         "op",      "device", "lane",        "kernel",   "fused_group",
    "start_us",       "end_us",  "energy_J", "energy_method"};

// Links between records are derived from the columns rather than stored in extra ones, so
// that a CSV round trip keeps them (see links.hpp):
//  * transfer: `op` is the operator whose output moves; `device`/`lane` are the destination
//    (the lane that queues the copy or waits for it). The source is the lane of that
//    operator's `op` record with the same run_id, request_id, batch_id and iteration.
//  * launch: `device`/`lane` are the CPU launch lane that pays for the launch; `op` is the
//    GPU operator launched, whose `op` record (same keys) is the kernel it links to.
struct Record {
  int schema_version = kTraceSchemaVersion;
  Source source = Source::sim;
  std::string run_id;
  std::int64_t request_id = kNoId;
  std::int64_t batch_id = kNoId;
  std::int64_t iteration = kNoId;
  RecordKind record = RecordKind::op;
  std::string op;           // empty only for idle
  std::string device;       // never empty
  std::string lane;         // empty only for idle (a whole device idle)
  std::string kernel;       // "dense" or "sparse" for op records; may be empty otherwise
  std::string fused_group;  // the fused group the operator ran in, or empty
  double start_us = 0;      // microseconds since the start of the run
  double end_us = 0;
  double energy_J = 0;      // 0 when energy_method is none
  EnergyMethod energy_method = EnergyMethod::none;
  Args args;                // not a CSV column

  bool operator==(const Record&) const = default;
};

// The header block of the records CSV. Empty strings (and no seed) mean "not known here",
// e.g. cuda_version in a simulated run or clocks on a host machine.
struct Provenance {
  std::string model_sha256;     // lowercase hex SHA-256 of the model file
  std::string platform_sha256;  // ... of the platform YAML
  std::string schedule_sha256;  // ... of the schedule YAML
  std::optional<std::uint64_t> seed;
  std::string git_revision;
  std::string simgrid_version;
  std::string onednn_version;
  std::string cuda_version;
  std::string power_mode;
  std::string clocks;
  // Anything else worth keeping (board serial, JetPack version, ...), in order. Keys are
  // [A-Za-z0-9_.-]+ and must not repeat each other or the fixed keys above.
  std::vector<std::pair<std::string, std::string>> extra;

  bool operator==(const Provenance&) const = default;
};

// The fixed provenance keys, in the order they are written.
inline constexpr std::array<std::string_view, 10> kProvenanceKeys = {
    "model_sha256",    "platform_sha256", "schedule_sha256", "seed",       "git_revision",
    "simgrid_version", "onednn_version",  "cuda_version",    "power_mode", "clocks"};

// One reading of one power rail (on a board: an INA3221 channel such as VDD_GPU_SOC; in the
// simulator: a device's rail from the platform).
struct PowerSample {
  std::string run_id;
  double time_us = 0;
  std::string rail;
  double watts = 0;

  bool operator==(const PowerSample&) const = default;
};
inline constexpr std::array<std::string_view, 4> kPowerColumns = {"run_id", "time_us", "rail",
                                                                  "watts"};

// One reading of the hardware state a policy observes: key is e.g. freq_MHz,
// busy_fraction, queue_depth, dram_util; the unit is part of the key where there is one.
struct StateSample {
  std::string run_id;
  double time_us = 0;
  std::string device;
  std::string key;
  double value = 0;

  bool operator==(const StateSample&) const = default;
};
inline constexpr std::array<std::string_view, 5> kStateColumns = {"run_id", "time_us", "device",
                                                                  "key", "value"};

struct Trace {
  Provenance provenance;
  std::vector<Record> records;
  std::vector<PowerSample> power;
  std::vector<StateSample> state;

  bool operator==(const Trace&) const = default;
};

// What is wrong with a value and in which column (for Provenance: which key); nullopt when
// it is valid.
struct FieldProblem {
  std::string column;
  std::string message;
};
std::optional<FieldProblem> find_problem(const Record& r);
std::optional<FieldProblem> find_problem(const PowerSample& s);
std::optional<FieldProblem> find_problem(const StateSample& s);
std::optional<FieldProblem> find_problem(const Provenance& p);

// Throw sparoa::Error(where, "column 'x': message") (Provenance: "key 'x': message") for the
// first problem found. Writers call
// them before writing so that nothing the readers would reject is ever written.
void validate(const Record& r, const std::string& where);
void validate(const PowerSample& s, const std::string& where);
void validate(const StateSample& s, const std::string& where);
void validate(const Provenance& p, const std::string& where);

}  // namespace sparoa::traces
