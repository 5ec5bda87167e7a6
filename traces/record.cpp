#include "traces/record.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "support/error.hpp"

namespace sparoa::traces {
namespace {

template <typename Enum, std::size_t N>
std::optional<Enum> parse_enum(std::string_view text, const std::array<Enum, N>& values) {
  for (Enum v : values) {
    if (to_string(v) == text) return v;
  }
  return std::nullopt;
}

constexpr std::array kAllKinds = {RecordKind::op, RecordKind::transfer, RecordKind::launch,
                                  RecordKind::reorder, RecordKind::idle};
constexpr std::array kAllSources = {Source::sim, Source::hw};
constexpr std::array kAllMethods = {EnergyMethod::attributed, EnergyMethod::measured,
                                    EnergyMethod::none};

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Line breaks would need multi-line CSV records; keeping one record per physical line lets
// the reader report exact line numbers, so they are simply not allowed.
std::optional<FieldProblem> check_text(std::string_view column, std::string_view value) {
  if (has_line_break(value)) return FieldProblem{std::string(column), "contains a line break"};
  return std::nullopt;
}

std::optional<FieldProblem> check_time(std::string_view column, double v) {
  if (!std::isfinite(v)) return FieldProblem{std::string(column), "must be a finite number"};
  return std::nullopt;
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool is_key(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

void throw_if(const std::optional<FieldProblem>& p, const std::string& where,
              std::string_view what = "column") {
  if (p) throw Error(where, std::string(what) + " '" + p->column + "': " + p->message);
}

}  // namespace

std::string_view to_string(RecordKind kind) {
  switch (kind) {
    case RecordKind::op: return "op";
    case RecordKind::transfer: return "transfer";
    case RecordKind::launch: return "launch";
    case RecordKind::reorder: return "reorder";
    case RecordKind::idle: return "idle";
  }
  return "?";
}

std::string_view to_string(Source source) {
  switch (source) {
    case Source::sim: return "sim";
    case Source::hw: return "hw";
  }
  return "?";
}

std::string_view to_string(EnergyMethod method) {
  switch (method) {
    case EnergyMethod::attributed: return "attributed";
    case EnergyMethod::measured: return "measured";
    case EnergyMethod::none: return "none";
  }
  return "?";
}

std::optional<RecordKind> parse_record_kind(std::string_view text) {
  return parse_enum(text, kAllKinds);
}
std::optional<Source> parse_source(std::string_view text) { return parse_enum(text, kAllSources); }
std::optional<EnergyMethod> parse_energy_method(std::string_view text) {
  return parse_enum(text, kAllMethods);
}

std::optional<FieldProblem> find_problem(const Record& r) {
  if (r.schema_version != kTraceSchemaVersion) {
    return FieldProblem{"schema_version", "unknown schema_version " +
                                              std::to_string(r.schema_version) +
                                              " (this build knows " +
                                              std::to_string(kTraceSchemaVersion) + ")"};
  }
  if (r.run_id.empty()) return FieldProblem{"run_id", "must not be empty"};
  for (auto [column, id] : {std::pair{"request_id", r.request_id}, std::pair{"batch_id", r.batch_id},
                            std::pair{"iteration", r.iteration}}) {
    if (id < kNoId) return FieldProblem{column, "must be >= 0, or -1 when not applicable"};
  }
  const bool idle = r.record == RecordKind::idle;
  if (r.op.empty() && !idle) {
    return FieldProblem{"op", "must name an operator for a " + std::string(to_string(r.record)) +
                                  " record"};
  }
  if (r.device.empty()) return FieldProblem{"device", "must not be empty"};
  if (r.lane.empty() && !idle) {
    return FieldProblem{"lane", "must not be empty for a " + std::string(to_string(r.record)) +
                                    " record"};
  }
  if (r.record == RecordKind::op) {
    if (r.kernel != "dense" && r.kernel != "sparse") {
      return FieldProblem{"kernel", "'" + r.kernel + "' is not one of dense|sparse"};
    }
  } else if (!r.kernel.empty() && r.kernel != "dense" && r.kernel != "sparse") {
    return FieldProblem{"kernel", "'" + r.kernel + "' is not one of dense|sparse or empty"};
  }
  for (auto [column, text] : {std::pair<const char*, const std::string&>{"run_id", r.run_id},
                              {"op", r.op},
                              {"device", r.device},
                              {"lane", r.lane},
                              {"fused_group", r.fused_group}}) {
    if (auto p = check_text(column, text)) return p;
  }
  if (auto p = check_time("start_us", r.start_us)) return p;
  if (r.start_us < 0) return FieldProblem{"start_us", "must be >= 0 (time since the run start)"};
  if (auto p = check_time("end_us", r.end_us)) return p;
  if (r.end_us < r.start_us) return FieldProblem{"end_us", "ends before start_us"};
  if (!std::isfinite(r.energy_J) || r.energy_J < 0) {
    return FieldProblem{"energy_J", "must be a finite number >= 0"};
  }
  for (const auto& [key, value] : r.args) {
    if (key.empty()) return FieldProblem{"args", "empty key"};
    if (std::find(kRecordColumns.begin(), kRecordColumns.end(), key) != kRecordColumns.end()) {
      return FieldProblem{"args", "key '" + key + "' would hide the column of that name"};
    }
    if (const double* d = std::get_if<double>(&value); d && !std::isfinite(*d)) {
      return FieldProblem{"args", "value of '" + key + "' must be a finite number"};
    }
  }
  return std::nullopt;
}

std::optional<FieldProblem> find_problem(const PowerSample& s) {
  if (s.run_id.empty()) return FieldProblem{"run_id", "must not be empty"};
  if (auto p = check_text("run_id", s.run_id)) return p;
  if (auto p = check_time("time_us", s.time_us)) return p;
  if (s.rail.empty()) return FieldProblem{"rail", "must not be empty"};
  if (auto p = check_text("rail", s.rail)) return p;
  if (!std::isfinite(s.watts) || s.watts < 0) {
    return FieldProblem{"watts", "must be a finite number >= 0"};
  }
  return std::nullopt;
}

std::optional<FieldProblem> find_problem(const StateSample& s) {
  if (s.run_id.empty()) return FieldProblem{"run_id", "must not be empty"};
  if (auto p = check_text("run_id", s.run_id)) return p;
  if (auto p = check_time("time_us", s.time_us)) return p;
  if (s.device.empty()) return FieldProblem{"device", "must not be empty"};
  if (auto p = check_text("device", s.device)) return p;
  if (s.key.empty()) return FieldProblem{"key", "must not be empty"};
  if (auto p = check_text("key", s.key)) return p;
  if (!std::isfinite(s.value)) return FieldProblem{"value", "must be a finite number"};
  return std::nullopt;
}

std::optional<FieldProblem> find_problem(const Provenance& p) {
  for (auto [key, value] :
       {std::pair<const char*, const std::string&>{"model_sha256", p.model_sha256},
        {"platform_sha256", p.platform_sha256},
        {"schedule_sha256", p.schedule_sha256}}) {
    if (!value.empty() && !is_sha256_hex(value)) {
      return FieldProblem{key, "'" + value + "' is not 64 lowercase hex digits"};
    }
  }
  for (auto [key, value] : {std::pair<const char*, const std::string&>{"git_revision",
                                                                       p.git_revision},
                            {"simgrid_version", p.simgrid_version},
                            {"onednn_version", p.onednn_version},
                            {"cuda_version", p.cuda_version},
                            {"power_mode", p.power_mode},
                            {"clocks", p.clocks}}) {
    if (auto problem = check_text(key, value)) return problem;
  }
  std::set<std::string_view> seen(kProvenanceKeys.begin(), kProvenanceKeys.end());
  for (const auto& [key, value] : p.extra) {
    if (!is_key(key)) return FieldProblem{key, "provenance keys are [A-Za-z0-9_.-]+"};
    if (!seen.insert(key).second) return FieldProblem{key, "provenance key given twice"};
    if (auto problem = check_text(key, value)) return problem;
  }
  return std::nullopt;
}

void validate(const Record& r, const std::string& where) { throw_if(find_problem(r), where); }
void validate(const PowerSample& s, const std::string& where) { throw_if(find_problem(s), where); }
void validate(const StateSample& s, const std::string& where) { throw_if(find_problem(s), where); }
void validate(const Provenance& p, const std::string& where) {
  throw_if(find_problem(p), where, "key");
}

}  // namespace sparoa::traces
