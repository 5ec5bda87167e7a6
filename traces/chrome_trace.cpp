#include "traces/chrome_trace.hpp"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "traces/chrome_format.hpp"
#include "traces/links.hpp"

namespace sparoa::traces {
namespace {

using detail::json;

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

class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) {}

  void emit(const json& event, const std::string& where) {
    out_ << detail::event_separator(first_) << detail::dump_json(event, where);
    first_ = false;
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

    out << detail::kEventsBegin;
    EventWriter events(out);
    write_metadata(events);
    write_slices(events);
    write_counters(events);
    // Flows last: at equal timestamps viewers then see the slice before the flow end that
    // binds to it.
    write_flows(events);
    out << detail::kEventsEnd << detail::dump_json(other_data(), name_) << detail::kDocumentEnd;
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

  std::string process_name(std::size_t part, std::string_view device) const {
    return detail::labelled(parts_[part].label, device);
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
      if (!t.power.empty()) power_pid_[p] = add_process(process_name(p, detail::kPowerProcess));
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
      events.emit(detail::process_name_event(pid, process.name), name_);
      events.emit(detail::process_sort_index_event(pid, pid), name_);
      std::int64_t order = 0;
      for (const auto& [key, tid] : process.threads) {
        events.emit(detail::thread_name_event(pid, tid, thread_name(key.first, key.second)),
                    name_);
        events.emit(detail::thread_sort_index_event(pid, tid, order++), name_);
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
      events.emit(detail::slice_event(r, s.pid, s.tid),
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
        events.emit(detail::counter_event(s.rail, power_pid_.at(p), s.time_us,
                                          detail::kPowerCounterKey, s.watts),
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
        events.emit(detail::counter_event(s.key, device_pid_.at({p, s.device}), s.time_us,
                                          detail::kValueCounterKey, s.value),
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
        const Placement& from = placements_[p][link.from];
        const Placement& to = placements_[p][link.to];
        events.emit(detail::flow_start_event(link.kind, id, from.pid, from.tid,
                                             records[link.from].start_us),
                    name_);
        events.emit(detail::flow_end_event(link.kind, id, to.pid, to.tid,
                                           records[link.to].start_us),
                    name_);
      }
    }
  }

  json other_data() const {
    json data = detail::base_other_data();
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

void write_chrome_file(const std::filesystem::path& path, std::span<const ChromeTracePart> parts) {
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
  write_chrome_file(path, parts);
}

void write_chrome_trace(std::ostream& out, const Trace& trace) {
  const ChromeTracePart parts[] = {{"", &trace}};
  write_chrome_trace(out, parts);
}

void write_chrome_trace(const std::filesystem::path& path, const Trace& trace) {
  const ChromeTracePart parts[] = {{"", &trace}};
  write_chrome_file(path, parts);
}

void write_merged_chrome_trace(std::ostream& out, const Trace& sim, const Trace& hw) {
  const ChromeTracePart parts[] = {{"sim", &sim}, {"hw", &hw}};
  write_chrome_trace(out, parts);
}

void write_merged_chrome_trace(const std::filesystem::path& path, const Trace& sim,
                               const Trace& hw) {
  const ChromeTracePart parts[] = {{"sim", &sim}, {"hw", &hw}};
  write_chrome_file(path, parts);
}

}  // namespace sparoa::traces
