#pragma once
// Interference on demand: real work started on this machine following the state trace the
// simulator applies (platforms/state_trace.hpp), so that one experiment runs in both.
//
//  * background,<CPU device>,L: one thread pinned to each core of the device, busy for L of
//    every period and asleep for the rest (the simulator: L of the device's compute taken by
//    other work). The kernel's scheduler then shares each core between that thread and the
//    lane's: a lane that wants the whole core gets about 1 - L of it while L <= 0.5 (fair
//    share caps what a competitor takes at half once both always want to run).
//  * background,<memory domain>,L: one thread streaming a buffer far larger than the
//    last-level cache (copy), active L of every period. It is not pinned and needs a core
//    itself; the bandwidth it reaches is measured and reported (one core rarely saturates a
//    server's DRAM, it may a board's).
//  * GPU background, pstate and power_mode changes are refused before the run, naming the
//    line: GPU work needs the online GPU path (not built), clock changes need root and
//    cpufreq/nvpmodel, which a run must not change behind the user's back.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "platforms/platform.hpp"
#include "platforms/state_trace.hpp"

namespace sparoa::hw {

struct BackgroundOptions {
  std::chrono::microseconds period{2000};
  std::size_t stream_bytes = std::size_t(64) << 20;
};

class BackgroundWork {
 public:
  // device_cpus: OS CPU ids per CPU device (bind_lanes' lanes grouped by device). Throws
  // sparoa::Error naming trace.origin:line for a change this machine cannot make.
  BackgroundWork(const platforms::StateTrace& trace, const platforms::Platform& p,
                 std::map<std::string, std::vector<int>> device_cpus, BackgroundOptions options = {});
  ~BackgroundWork();  // stops everything
  BackgroundWork(const BackgroundWork&) = delete;
  BackgroundWork& operator=(const BackgroundWork&) = delete;

  // Applies the trace's changes at their times after `origin` on a controller thread.
  void start(std::chrono::steady_clock::time_point origin);
  void stop();

  // The load the trace asks of `target` now (0 when none): the engine reports a memory
  // domain's own background load from it (no DRAM counter is readable on most machines).
  double load(const std::string& target) const;
  // Streaming threads: bytes copied per second while active, by domain (0 when none ran).
  std::map<std::string, double> stream_GBps() const;
  bool empty() const { return workers_.empty(); }
  // CPU seconds the background threads have used (to tell the engine's own CPU time from theirs).
  double cpu_s() const;

 private:
  struct Worker {
    std::string target;
    bool memory = false;
    int cpu = -1;  // pinned core (CPU work), -1 for memory streaming
    std::atomic<double> load{0};
    std::atomic<double> bytes{0}, active_s{0};
    std::atomic<double> cpu_s{0};  // the thread's CPU time, updated every period
    std::thread thread;
  };
  void worker_main(Worker& w);
  void controller_main();

  const platforms::StateTrace& trace_;
  BackgroundOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::chrono::steady_clock::time_point origin_;
  std::atomic<bool> stop_{false};
  std::thread controller_;
};

}  // namespace sparoa::hw
