#pragma once
// Streaming writers for long runs: records, samples and slices go to disk as they are
// produced, so memory stays flat over 100,000 inferences. Output is written to temporary
// files and appears at the final paths only on commit() (atomic, like every writer here);
// a writer destroyed without commit() leaves nothing behind. The bytes written equal what the
// whole-trace writers of trace_csv.hpp produce for the same records in the same order.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "traces/links.hpp"
#include "traces/record.hpp"

namespace sparoa {
class AtomicFile;
}

namespace sparoa::traces {

// The three CSVs of trace_files(records_csv): records (provenance header first), power, state.
class TraceCsvStream {
 public:
  TraceCsvStream(const std::filesystem::path& records_csv, const Provenance& provenance);
  ~TraceCsvStream();
  TraceCsvStream(const TraceCsvStream&) = delete;
  TraceCsvStream& operator=(const TraceCsvStream&) = delete;

  void record(const Record& r);       // validated first: throws sparoa::Error, writes nothing
  void power(const PowerSample& s);
  void state(const StateSample& s);
  void commit();                      // all three files, or none
  std::uint64_t records_written() const { return records_; }

 private:
  std::unique_ptr<AtomicFile> records_file_, power_file_, state_file_;
  std::filesystem::path path_;
  std::uint64_t records_ = 0, power_ = 0, state_ = 0;
  std::string line_;
};

// Chrome trace JSON (same conventions as chrome_trace.hpp), streamed. Processes and threads
// get ids in order of first use (deterministic for a deterministic producer) and their
// name metadata is written when first used. The caller guarantees that the slices of one
// thread never partially overlap (the simulator puts concurrent transfers on separate
// "copy" threads for that reason).
class ChromeTraceStream {
 public:
  // `label` prefixes process names as in ChromeTracePart ("sim" -> "sim:gpu").
  ChromeTraceStream(const std::filesystem::path& path, std::string label = {});
  ~ChromeTraceStream();
  ChromeTraceStream(const ChromeTraceStream&) = delete;
  ChromeTraceStream& operator=(const ChromeTraceStream&) = delete;

  struct SliceRef {
    int pid = -1;
    int tid = -1;
    double ts_us = 0;
  };
  // One X slice on process = r.device and thread = `thread` (default: r.lane, or "device"
  // for a record without a lane); args = every column and r.args, as chrome_trace.hpp does.
  SliceRef slice(const Record& r, std::string_view thread = {});
  // A flow arrow from the start of one slice to the start of another (s/f pair, "bp":"e").
  void flow(LinkKind kind, const SliceRef& from, const SliceRef& to);
  // A counter sample: C event `name` on process `process` (e.g. "power", or a device id).
  void counter(std::string_view process, std::string_view name, double ts_us, double value);
  void commit();  // closes the JSON array and renames onto the path

 private:
  int pid_of(std::string_view process);
  int tid_of(int pid, std::string_view thread);

  std::unique_ptr<AtomicFile> file_;
  std::string label_;
  struct Names;
  std::unique_ptr<Names> names_;
  std::uint64_t flow_id_ = 0;
  bool first_event_ = true;
  std::string buffer_;
};

}  // namespace sparoa::traces
