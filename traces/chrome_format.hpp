#pragma once
// Internal to traces/: the Chrome trace events both the whole-trace writer (chrome_trace.cpp)
// and the streaming writer (trace_stream.cpp) emit, so that one record looks the same in
// either file. nlohmann::json objects are std::map-backed: keys come out sorted, which keeps
// the output deterministic.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "support/error.hpp"
#include "traces/links.hpp"
#include "traces/record.hpp"

namespace sparoa::traces::detail {

using nlohmann::json;

// The framing: kEventsBegin, then each event on its own line (preceded by "\n" for the first
// and ",\n" for the others), then kEventsEnd, the otherData object and kDocumentEnd.
inline constexpr std::string_view kEventsBegin = "{\"traceEvents\":[";
inline constexpr std::string_view kEventsEnd = "\n],\n\"otherData\":";
inline constexpr std::string_view kDocumentEnd = "}\n";
inline std::string_view event_separator(bool first) { return first ? "\n" : ",\n"; }

// The process that holds the power rails' counters, and the args key of its counters
// ({"W": watts}); every other counter (the state samples) is {"value": v}.
inline constexpr std::string_view kPowerProcess = "power";
inline constexpr std::string_view kPowerCounterKey = "W";
inline constexpr std::string_view kValueCounterKey = "value";

inline std::string dump_json(const json& value, const std::string& where) {
  try {
    return value.dump();
  } catch (const json::type_error& e) {
    // The only failure dump() has: a string that is not UTF-8, which JSON cannot hold.
    throw Error(where, std::string("cannot write as JSON: ") + e.what());
  }
}

// "<label>:<name>", or just the name without a label.
inline std::string labelled(std::string_view label, std::string_view name) {
  std::string out;
  if (!label.empty()) {
    out += label;
    out += ':';
  }
  out += name;
  return out;
}

// An op record's slice is named after its operator; the others "<kind> <op>" ("idle" alone).
inline std::string slice_name(const Record& r) {
  if (r.record == RecordKind::op) return r.op;
  std::string name(to_string(r.record));
  if (!r.op.empty()) name += " " + r.op;
  return name;
}

inline json arg_value(const ArgValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

// Every CSV column, then the record's own args.
inline json record_args(const Record& r) {
  json args = json::object();
  args["schema_version"] = r.schema_version;
  args["source"] = to_string(r.source);
  args["run_id"] = r.run_id;
  args["request_id"] = r.request_id;
  args["batch_id"] = r.batch_id;
  args["iteration"] = r.iteration;
  args["record"] = to_string(r.record);
  args["op"] = r.op;
  args["device"] = r.device;
  args["lane"] = r.lane;
  args["kernel"] = r.kernel;
  args["fused_group"] = r.fused_group;
  args["start_us"] = r.start_us;
  args["end_us"] = r.end_us;
  args["energy_J"] = r.energy_J;
  args["energy_method"] = to_string(r.energy_method);
  for (const auto& [key, value] : r.args) args[key] = arg_value(value);
  return args;
}

inline json process_name_event(std::int64_t pid, std::string_view name) {
  return {{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"args", {{"name", name}}}};
}

inline json process_sort_index_event(std::int64_t pid, std::int64_t sort_index) {
  return {{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid},
          {"args", {{"sort_index", sort_index}}}};
}

inline json thread_name_event(std::int64_t pid, std::int64_t tid, std::string_view name) {
  return {{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", tid},
          {"args", {{"name", name}}}};
}

inline json thread_sort_index_event(std::int64_t pid, std::int64_t tid, std::int64_t sort_index) {
  return {{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid}, {"tid", tid},
          {"args", {{"sort_index", sort_index}}}};
}

// One X slice: ts = start, dur = end - start (microseconds), args = record_args(r).
inline json slice_event(const Record& r, std::int64_t pid, std::int64_t tid) {
  return {{"ph", "X"},
          {"name", slice_name(r)},
          {"cat", to_string(r.record)},
          {"pid", pid},
          {"tid", tid},
          {"ts", r.start_us},
          {"dur", r.end_us - r.start_us},
          {"args", record_args(r)}};
}

inline json counter_event(std::string_view name, std::int64_t pid, double ts_us,
                          std::string_view key, double value) {
  return {{"ph", "C"}, {"name", name}, {"pid", pid}, {"ts", ts_us},
          {"args", {{std::string(key), value}}}};
}

// The two ends of a flow arrow; name and cat are the link kind. The end binds to the
// enclosing slice ("bp":"e").
inline json flow_start_event(LinkKind kind, std::int64_t id, std::int64_t pid, std::int64_t tid,
                             double ts_us) {
  const std::string_view k = to_string(kind);
  return {{"ph", "s"}, {"id", id}, {"name", k}, {"cat", k},
          {"pid", pid}, {"tid", tid}, {"ts", ts_us}};
}

inline json flow_end_event(LinkKind kind, std::int64_t id, std::int64_t pid, std::int64_t tid,
                           double ts_us) {
  const std::string_view k = to_string(kind);
  return {{"ph", "f"}, {"bp", "e"}, {"id", id}, {"name", k}, {"cat", k},
          {"pid", pid}, {"tid", tid}, {"ts", ts_us}};
}

// otherData without provenance: what every file carries.
inline json base_other_data() {
  json data = json::object();
  data["trace_schema_version"] = std::to_string(kTraceSchemaVersion);
  return data;
}

}  // namespace sparoa::traces::detail
