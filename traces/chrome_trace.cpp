#include "traces/chrome_trace.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <vector>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "traces/links.hpp"

namespace sparoa::traces {
namespace {

// std::map-backed objects: keys come out sorted, which keeps the output deterministic.
using nlohmann::json;

struct Process {
  std::string name;
  // (lane, overlap level) -> tid
  std::map<std::pair<std::string, std::size_t>, std::int64_t> threads;
};

struct Placement {
  std::int64_t pid = 0;
  std::size_t level = 0;  // 0: the lane's own thread; k > 0: its k-th overlap thread
  std::int64_t tid = 0;
};

std::string thread_name(const std::string& lane, std::size_t level) {
  std::string name = lane.empty() ? "(whole device)" : lane;
  if (level > 0) name += " (overlap " + std::to_string(level) + ")";
  return name;
}

std::string slice_name(const Record& r) {
  if (r.record == RecordKind::op) return r.op;
  std::string name(to_string(r.record));
  if (!r.op.empty()) name += " " + r.op;
  return name;
}

json arg_value(const ArgValue& v) {
  return std::visit([](const auto& x) { return json(x); }, v);
}

json record_args(const Record& r) {
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

class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) {}

  void emit(const json& event, const std::string& where) {
    out_ << (first_ ? "\n" : ",\n") << dump(event, where);
    first_ = false;
  }

  static std::string dump(const json& value, const std::string& where) {
    try {
      return value.dump();
    } catch (const json::type_error& e) {
      // The only failure dump() has: a string that is not UTF-8, which JSON cannot hold.
      throw Error(where, std::string("cannot write as JSON: ") + e.what());
    }
  }

 private:
  std::ostream& out_;
  bool first_ = true;
};

class ChromeTraceBuilder {
 public:
  ChromeTraceBuilder(std::span<const ChromeTracePart> parts, std::string name)
      : parts_(parts), name_(std::move(name)) {}

  void write(std::ostream& out) {
    check_input();
    assign_processes();
    place_records();
    assign_threads();

    out << "{\"traceEvents\":[";
    EventWriter events(out);
    write_metadata(events);
    write_slices(events);
    write_counters(events);
    // Flows last: at equal timestamps viewers then see the slice before the flow end that
    // binds to it.
    write_flows(events);
    out << "\n],\n\"otherData\":" << EventWriter::dump(other_data(), name_) << "}\n";
  }

 private:
  std::string where(std::size_t part, const std::string& what) const {
    const std::string& label = parts_[part].label;
    return name_ + ": " + (label.empty() ? "" : label + " ") + what;
  }

  void check_input() const {
    std::set<std::string> labels;
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const ChromeTracePart& part = parts_[p];
      if (part.trace == nullptr) throw Error(name_, "trace part " + std::to_string(p) + " is null");
      if (!labels.insert(part.label).second) {
        throw Error(name_, "two traces labelled '" + part.label + "': their processes would merge");
      }
      const Trace& t = *part.trace;
      validate(t.provenance, where(p, "provenance"));
      for (std::size_t i = 0; i < t.records.size(); ++i) {
        validate(t.records[i], where(p, "record " + std::to_string(i)));
      }
      for (std::size_t i = 0; i < t.power.size(); ++i) {
        validate(t.power[i], where(p, "power sample " + std::to_string(i)));
      }
      for (std::size_t i = 0; i < t.state.size(); ++i) {
        validate(t.state[i], where(p, "state sample " + std::to_string(i)));
      }
    }
  }

  std::string process_name(std::size_t part, const std::string& device) const {
    const std::string& label = parts_[part].label;
    return label.empty() ? device : label + ":" + device;
  }

  void assign_processes() {
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const Trace& t = *parts_[p].trace;
      std::set<std::string> devices;
      for (const Record& r : t.records) devices.insert(r.device);
      for (const StateSample& s : t.state) devices.insert(s.device);
      for (const std::string& d : devices) {
        device_pid_[{p, d}] = add_process(process_name(p, d));
      }
      // Rails need not match devices (a board's rail may feed several), so they get their
      // own process rather than being forced onto one.
      if (!t.power.empty()) power_pid_[p] = add_process(process_name(p, "power"));
    }
  }

  std::int64_t add_process(std::string name) {
    processes_.push_back({std::move(name), {}});
    return static_cast<std::int64_t>(processes_.size());  // pids start at 1
  }

  // Stacks slices of one lane: the first level where a slice nests in (or follows) what is
  // open there takes it, so every level holds only properly nested slices.
  void place_records() {
    placements_.resize(parts_.size());
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const auto& records = parts_[p].trace->records;
      placements_[p].resize(records.size());
      std::map<std::pair<std::string_view, std::string_view>, std::vector<std::size_t>> lanes;
      for (std::size_t i = 0; i < records.size(); ++i) {
        lanes[{records[i].device, records[i].lane}].push_back(i);
      }
      for (auto& [key, indices] : lanes) {
        // Longer first at equal starts, so that the enclosing slice opens before the nested.
        std::sort(indices.begin(), indices.end(), [&](std::size_t a, std::size_t b) {
          const Record& ra = records[a];
          const Record& rb = records[b];
          return std::tuple(ra.start_us, -ra.end_us, a) < std::tuple(rb.start_us, -rb.end_us, b);
        });
        const std::int64_t pid = device_pid_.at({p, std::string(key.first)});
        std::vector<std::vector<double>> open_ends;  // per level: ends of the open slices
        for (std::size_t i : indices) {
          const Record& r = records[i];
          std::size_t level = 0;
          for (;; ++level) {
            if (level == open_ends.size()) open_ends.emplace_back();
            auto& stack = open_ends[level];
            while (!stack.empty() && stack.back() <= r.start_us) stack.pop_back();
            if (stack.empty() || r.end_us <= stack.back()) {
              stack.push_back(r.end_us);
              break;
            }
          }
          processes_[pid - 1].threads[{std::string(key.second), level}] = 0;
          placements_[p][i] = {pid, level, 0};
        }
      }
    }
  }

  // tids are unique across the whole file: viewers key threads by tid alone and would
  // otherwise mix lanes of different processes.
  void assign_threads() {
    std::int64_t next_tid = static_cast<std::int64_t>(processes_.size()) + 1;
    for (Process& process : processes_) {
      for (auto& [key, tid] : process.threads) tid = next_tid++;
    }
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const auto& records = parts_[p].trace->records;
      for (std::size_t i = 0; i < records.size(); ++i) {
        Placement& placement = placements_[p][i];
        placement.tid = processes_[placement.pid - 1].threads.at({records[i].lane, placement.level});
      }
    }
  }

  void write_metadata(EventWriter& events) const {
    for (std::size_t k = 0; k < processes_.size(); ++k) {
      const auto pid = static_cast<std::int64_t>(k + 1);
      const Process& process = processes_[k];
      events.emit({{"ph", "M"}, {"name", "process_name"}, {"pid", pid},
                   {"args", {{"name", process.name}}}},
                  name_);
      events.emit({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid},
                   {"args", {{"sort_index", pid}}}},
                  name_);
      std::int64_t order = 0;
      for (const auto& [key, tid] : process.threads) {
        events.emit({{"ph", "M"}, {"name", "thread_name"}, {"pid", pid}, {"tid", tid},
                     {"args", {{"name", thread_name(key.first, key.second)}}}},
                    name_);
        events.emit({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", pid}, {"tid", tid},
                     {"args", {{"sort_index", order++}}}},
                    name_);
      }
    }
  }

  void write_slices(EventWriter& events) const {
    struct Slice {
      std::int64_t pid, tid;
      double start, neg_end;
      std::size_t part, index;
      auto key() const { return std::tie(pid, tid, start, neg_end, part, index); }
    };
    std::vector<Slice> slices;
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const auto& records = parts_[p].trace->records;
      for (std::size_t i = 0; i < records.size(); ++i) {
        const Placement& at = placements_[p][i];
        slices.push_back({at.pid, at.tid, records[i].start_us, -records[i].end_us, p, i});
      }
    }
    std::sort(slices.begin(), slices.end(),
              [](const Slice& a, const Slice& b) { return a.key() < b.key(); });
    for (const Slice& s : slices) {
      const Record& r = parts_[s.part].trace->records[s.index];
      events.emit({{"ph", "X"},
                   {"name", slice_name(r)},
                   {"cat", to_string(r.record)},
                   {"pid", s.pid},
                   {"tid", s.tid},
                   {"ts", r.start_us},
                   {"dur", r.end_us - r.start_us},
                   {"args", record_args(r)}},
                  where(s.part, "record " + std::to_string(s.index)));
    }
  }

  void write_counters(EventWriter& events) const {
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const Trace& t = *parts_[p].trace;
      std::vector<std::size_t> order(t.power.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(t.power[a].rail, t.power[a].time_us) <
               std::tie(t.power[b].rail, t.power[b].time_us);
      });
      for (std::size_t i : order) {
        const PowerSample& s = t.power[i];
        events.emit({{"ph", "C"}, {"name", s.rail}, {"pid", power_pid_.at(p)},
                     {"ts", s.time_us}, {"args", {{"W", s.watts}}}},
                    where(p, "power sample " + std::to_string(i)));
      }
      order.resize(t.state.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(t.state[a].device, t.state[a].key, t.state[a].time_us) <
               std::tie(t.state[b].device, t.state[b].key, t.state[b].time_us);
      });
      for (std::size_t i : order) {
        const StateSample& s = t.state[i];
        events.emit({{"ph", "C"}, {"name", s.key}, {"pid", device_pid_.at({p, s.device})},
                     {"ts", s.time_us}, {"args", {{"value", s.value}}}},
                    where(p, "state sample " + std::to_string(i)));
      }
    }
  }

  void write_flows(EventWriter& events) const {
    std::int64_t next_id = 1;
    for (std::size_t p = 0; p < parts_.size(); ++p) {
      const auto& records = parts_[p].trace->records;
      for (const Link& link : find_links(*parts_[p].trace)) {
        const std::int64_t id = next_id++;
        const std::string kind(to_string(link.kind));
        const Placement& from = placements_[p][link.from];
        const Placement& to = placements_[p][link.to];
        events.emit({{"ph", "s"}, {"id", id}, {"name", kind}, {"cat", kind},
                     {"pid", from.pid}, {"tid", from.tid}, {"ts", records[link.from].start_us}},
                    name_);
        events.emit({{"ph", "f"}, {"bp", "e"}, {"id", id}, {"name", kind}, {"cat", kind},
                     {"pid", to.pid}, {"tid", to.tid}, {"ts", records[link.to].start_us}},
                    name_);
      }
    }
  }

  json other_data() const {
    json data = json::object();
    data["trace_schema_version"] = std::to_string(kTraceSchemaVersion);
    for (const ChromeTracePart& part : parts_) {
      const std::string prefix = part.label.empty() ? "" : part.label + ":";
      const Provenance& pv = part.trace->provenance;
      auto put = [&](std::string_view key, const std::string& value) {
        data[prefix + std::string(key)] = value;
      };
      put("model_sha256", pv.model_sha256);
      put("platform_sha256", pv.platform_sha256);
      put("schedule_sha256", pv.schedule_sha256);
      put("seed", pv.seed ? std::to_string(*pv.seed) : std::string());
      put("git_revision", pv.git_revision);
      put("simgrid_version", pv.simgrid_version);
      put("onednn_version", pv.onednn_version);
      put("cuda_version", pv.cuda_version);
      put("power_mode", pv.power_mode);
      put("clocks", pv.clocks);
      for (const auto& [key, value] : pv.extra) put(key, value);
    }
    return data;
  }

  std::span<const ChromeTracePart> parts_;
  std::string name_;
  std::vector<Process> processes_;  // pid = index + 1
  std::map<std::pair<std::size_t, std::string>, std::int64_t> device_pid_;
  std::map<std::size_t, std::int64_t> power_pid_;
  std::vector<std::vector<Placement>> placements_;  // [part][record]
};

void write_atomically(const std::filesystem::path& path, std::span<const ChromeTracePart> parts) {
  AtomicFile file(path);
  ChromeTraceBuilder(parts, path.string()).write(file.stream());
  file.commit();
}

}  // namespace

void write_chrome_trace(std::ostream& out, std::span<const ChromeTracePart> parts,
                        const std::string& name) {
  ChromeTraceBuilder(parts, name).write(out);
}

void write_chrome_trace(const std::filesystem::path& path, std::span<const ChromeTracePart> parts) {
  write_atomically(path, parts);
}

void write_chrome_trace(std::ostream& out, const Trace& trace) {
  const ChromeTracePart parts[] = {{"", &trace}};
  write_chrome_trace(out, parts);
}

void write_chrome_trace(const std::filesystem::path& path, const Trace& trace) {
  const ChromeTracePart parts[] = {{"", &trace}};
  write_atomically(path, parts);
}

void write_merged_chrome_trace(std::ostream& out, const Trace& sim, const Trace& hw) {
  const ChromeTracePart parts[] = {{"sim", &sim}, {"hw", &hw}};
  write_chrome_trace(out, parts);
}

void write_merged_chrome_trace(const std::filesystem::path& path, const Trace& sim,
                               const Trace& hw) {
  const ChromeTracePart parts[] = {{"sim", &sim}, {"hw", &hw}};
  write_atomically(path, parts);
}

}  // namespace sparoa::traces
