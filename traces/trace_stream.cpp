#include "traces/trace_stream.hpp"

#include <cmath>
#include <map>
#include <vector>

#include "support/atomic_file.hpp"
#include "support/error.hpp"
#include "traces/chrome_format.hpp"
#include "traces/csv_rows.hpp"
#include "traces/trace_csv.hpp"

namespace sparoa::traces {
namespace {

void append_text(AtomicFile& file, const std::string& text) {
  file.stream().write(text.data(), static_cast<std::streamsize>(text.size()));
}

// validate() with the location the whole-trace writers give ("<file>: record 12"); the
// location is only spelled out when there is a problem, since this runs once per row.
template <typename Value>
void check(const Value& value, const std::filesystem::path& file, std::string_view what,
           std::uint64_t index) {
  if (find_problem(value)) {
    validate(value, file.string() + ": " + std::string(what) + " " + std::to_string(index));
  }
}

[[noreturn]] void throw_closed(const std::string& where) {
  throw Error(where, "the stream was already committed (or its commit failed)");
}

}  // namespace

// ----- TraceCsvStream -------------------------------------------------------------------

TraceCsvStream::TraceCsvStream(const std::filesystem::path& records_csv,
                               const Provenance& provenance)
    : path_(records_csv) {
  const TraceFiles files = trace_files(records_csv);
  validate(provenance, files.records.string() + ": provenance");
  records_file_ = std::make_unique<AtomicFile>(files.records);
  power_file_ = std::make_unique<AtomicFile>(files.power);
  state_file_ = std::make_unique<AtomicFile>(files.state);

  detail::append_provenance(line_, provenance);
  detail::append_header(line_, kRecordColumns);
  append_text(*records_file_, line_);
  line_.clear();
  detail::append_header(line_, kPowerColumns);
  append_text(*power_file_, line_);
  line_.clear();
  detail::append_header(line_, kStateColumns);
  append_text(*state_file_, line_);
}

// The AtomicFiles still held remove their temporary files.
TraceCsvStream::~TraceCsvStream() = default;

void TraceCsvStream::record(const Record& r) {
  if (!records_file_) throw_closed(path_.string());
  check(r, path_, "record", records_);
  line_.clear();
  detail::append_row(line_, r);
  append_text(*records_file_, line_);
  ++records_;
}

void TraceCsvStream::power(const PowerSample& s) {
  if (!power_file_) throw_closed(path_.string());
  check(s, trace_files(path_).power, "sample", power_);
  line_.clear();
  detail::append_row(line_, s);
  append_text(*power_file_, line_);
  ++power_;
}

void TraceCsvStream::state(const StateSample& s) {
  if (!state_file_) throw_closed(path_.string());
  check(s, trace_files(path_).state, "sample", state_);
  line_.clear();
  detail::append_row(line_, s);
  append_text(*state_file_, line_);
  ++state_;
}

void TraceCsvStream::commit() {
  if (!records_file_) throw_closed(path_.string());
  const TraceFiles files = trace_files(path_);
  // Whatever happens below, the stream is closed afterwards; files not committed are removed
  // when these go out of scope.
  std::unique_ptr<AtomicFile> state = std::move(state_file_);
  std::unique_ptr<AtomicFile> power = std::move(power_file_);
  std::unique_ptr<AtomicFile> records = std::move(records_file_);
  // The records file last: readers open it first, so it appears only once its sample files
  // are in place. If a commit fails, the sample files already renamed into place are removed
  // again, so that no set of files mixing this run with an older one is left behind.
  std::vector<std::filesystem::path> done;
  try {
    state->commit();
    done.push_back(files.state);
    power->commit();
    done.push_back(files.power);
    records->commit();
  } catch (...) {
    for (const auto& path : done) {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
    throw;
  }
}

// ----- ChromeTraceStream ----------------------------------------------------------------

namespace {

// The thread of a record without a lane (a whole-device record such as idle), unless the
// caller names one.
constexpr std::string_view kDeviceThread = "device";

}  // namespace

// Grows with the number of distinct processes and threads only, never with events.
// pids and tids come from one counter, in order of first use: unique across the file, and no
// tid equals a pid (viewers key threads by tid alone, and take tid == pid for the process's
// main thread), as in the whole-trace writer.
struct ChromeTraceStream::Names {
  struct Process {
    std::map<std::string, int, std::less<>> tids;  // thread name -> tid
  };
  std::map<std::string, int, std::less<>> pids;  // process name -> pid
  std::map<int, Process> processes;              // pid -> its threads
  std::vector<int> owner;                        // [id - 1]: a tid's pid; 0 for a pid
  std::string path;                              // for messages
  std::uint64_t slices = 0, counters = 0;        // for messages

  int next_id() const { return static_cast<int>(owner.size()) + 1; }
  bool is_thread(int pid, int tid) const {
    return pid >= 1 && tid >= 1 && tid <= static_cast<int>(owner.size()) && owner[tid - 1] == pid;
  }

  // The ids `process` / `thread` have or would get (a new process first), creating nothing.
  int peek_pid(std::string_view process) const {
    auto it = pids.find(process);
    return it != pids.end() ? it->second : next_id();
  }
  int peek_tid(int pid, std::string_view thread) const {
    auto it = processes.find(pid);
    if (it == processes.end()) return next_id() + 1;
    auto tid = it->second.tids.find(thread);
    return tid != it->second.tids.end() ? tid->second : next_id();
  }
};

ChromeTraceStream::ChromeTraceStream(const std::filesystem::path& path, std::string label)
    : label_(std::move(label)), names_(std::make_unique<Names>()) {
  names_->path = path.string();
  // Checked here so that no process name can fail to render later.
  detail::dump_json(detail::json(label_), names_->path + ": label");
  file_ = std::make_unique<AtomicFile>(path);
  buffer_ = detail::kEventsBegin;
  append_text(*file_, buffer_);
}

ChromeTraceStream::~ChromeTraceStream() = default;

// Every new process or thread gets its metadata written right away. Both render before they
// write or register anything, so a name that cannot be written leaves the stream unchanged.
int ChromeTraceStream::pid_of(std::string_view process) {
  if (auto it = names_->pids.find(process); it != names_->pids.end()) return it->second;
  const int pid = names_->next_id();
  const std::string& where = names_->path;
  buffer_.clear();
  buffer_ += detail::event_separator(first_event_);
  buffer_ += detail::dump_json(detail::process_name_event(pid, process), where);
  buffer_ += detail::event_separator(false);
  buffer_ += detail::dump_json(detail::process_sort_index_event(pid, pid), where);
  append_text(*file_, buffer_);
  first_event_ = false;
  names_->pids.emplace(std::string(process), pid);
  names_->processes.emplace(pid, Names::Process{});
  names_->owner.push_back(0);
  return pid;
}

int ChromeTraceStream::tid_of(int pid, std::string_view thread) {
  auto& tids = names_->processes.at(pid).tids;
  if (auto it = tids.find(thread); it != tids.end()) return it->second;
  const int tid = names_->next_id();
  const auto order = static_cast<std::int64_t>(tids.size());
  const std::string& where = names_->path;
  buffer_.clear();
  buffer_ += detail::event_separator(first_event_);
  buffer_ += detail::dump_json(detail::thread_name_event(pid, tid, thread), where);
  buffer_ += detail::event_separator(false);
  buffer_ += detail::dump_json(detail::thread_sort_index_event(pid, tid, order), where);
  append_text(*file_, buffer_);
  first_event_ = false;
  tids.emplace(std::string(thread), tid);
  names_->owner.push_back(pid);
  return tid;
}

ChromeTraceStream::SliceRef ChromeTraceStream::slice(const Record& r, std::string_view thread) {
  if (!file_) throw_closed(names_->path);
  const std::string where = names_->path + ": slice " + std::to_string(names_->slices);
  validate(r, where);
  if (thread.empty()) thread = r.lane.empty() ? kDeviceThread : std::string_view(r.lane);
  const std::string process = detail::labelled(label_, r.device);
  // Render the slice (the step that can fail, on a string that is not UTF-8) before
  // anything is written, with the ids its process and thread have or are about to get.
  const int peek_pid = names_->peek_pid(process);
  const int peek_tid = names_->peek_tid(peek_pid, thread);
  std::string event = detail::dump_json(detail::slice_event(r, peek_pid, peek_tid), where);
  // The process name (label and device) is known to render now; a new thread's name is not
  // when the caller chose it.
  if (peek_tid >= names_->next_id()) {
    detail::dump_json(detail::json(thread), where);
  }
  const int pid = pid_of(process);
  const int tid = tid_of(pid, thread);
  if (pid != peek_pid || tid != peek_tid) throw Error(where, "internal error: ids changed");
  buffer_.clear();
  buffer_ += detail::event_separator(first_event_);
  buffer_ += event;
  append_text(*file_, buffer_);
  first_event_ = false;
  ++names_->slices;
  return {pid, tid, r.start_us};
}

void ChromeTraceStream::flow(LinkKind kind, const SliceRef& from, const SliceRef& to) {
  if (!file_) throw_closed(names_->path);
  const std::string& where = names_->path;
  for (const SliceRef* end : {&from, &to}) {
    if (!names_->is_thread(end->pid, end->tid)) {
      throw Error(where, "flow " + std::string(to_string(kind)) + ": pid " +
                             std::to_string(end->pid) + " / tid " + std::to_string(end->tid) +
                             " is not a thread of this stream (use what slice() returned)");
    }
    if (!std::isfinite(end->ts_us)) {
      throw Error(where, "flow " + std::string(to_string(kind)) + ": time is not finite");
    }
  }
  const auto id = static_cast<std::int64_t>(flow_id_ + 1);
  buffer_.clear();
  buffer_ += detail::event_separator(first_event_);
  buffer_ += detail::dump_json(detail::flow_start_event(kind, id, from.pid, from.tid, from.ts_us),
                               where);
  buffer_ += detail::event_separator(false);
  buffer_ += detail::dump_json(detail::flow_end_event(kind, id, to.pid, to.tid, to.ts_us), where);
  append_text(*file_, buffer_);
  first_event_ = false;
  ++flow_id_;
}

void ChromeTraceStream::counter(std::string_view process, std::string_view name, double ts_us,
                                double value) {
  if (!file_) throw_closed(names_->path);
  const std::string where = names_->path + ": counter " + std::to_string(names_->counters);
  if (process.empty()) throw Error(where, "the process name is empty");
  if (name.empty()) throw Error(where, "the counter name is empty");
  if (!std::isfinite(ts_us)) throw Error(where, "ts is not a finite number");
  if (!std::isfinite(value)) throw Error(where, "value is not a finite number");
  const std::string process_name = detail::labelled(label_, process);
  // As the whole-trace writer: rails in the power process read {"W": watts}, the rest
  // {"value": v}.
  const std::string_view key =
      process == detail::kPowerProcess ? detail::kPowerCounterKey : detail::kValueCounterKey;
  std::string event = detail::dump_json(
      detail::counter_event(name, names_->peek_pid(process_name), ts_us, key, value), where);
  pid_of(process_name);  // renders its metadata before writing it: fails without a trace
  buffer_.clear();
  buffer_ += detail::event_separator(first_event_);
  buffer_ += event;
  append_text(*file_, buffer_);
  first_event_ = false;
  ++names_->counters;
}

void ChromeTraceStream::commit() {
  if (!file_) throw_closed(names_->path);
  // Closed whatever happens: a failed commit removes the temporary file.
  std::unique_ptr<AtomicFile> file = std::move(file_);
  buffer_.clear();
  buffer_ += detail::kEventsEnd;
  buffer_ += detail::dump_json(detail::base_other_data(), names_->path);
  buffer_ += detail::kDocumentEnd;
  append_text(*file, buffer_);
  file->commit();
}

}  // namespace sparoa::traces
