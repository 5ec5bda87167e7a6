#include "hw/background_work.hpp"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "hw/host_machine.hpp"
#include "support/error.hpp"

namespace sparoa::hw {

namespace background_impl {
using Clock = std::chrono::steady_clock;

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Sleeps in short steps so that stop() is honoured within about a millisecond.
void sleep_until_or_stop(Clock::time_point t, const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    if (now >= t) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(t - now, std::chrono::milliseconds(1)));
  }
}
}  // namespace background_impl

using background_impl::Clock;
using background_impl::sleep_until_or_stop;
using background_impl::thread_cpu_s;

BackgroundWork::BackgroundWork(const platforms::StateTrace& trace, const platforms::Platform& p,
                               std::map<std::string, std::vector<int>> device_cpus, BackgroundOptions options)
    : trace_(trace), options_(options) {
  auto has_worker = [&](const std::string& target) {
    return std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) { return w->target == target; });
  };
  for (const auto& c : trace.changes) {
    const std::string where = trace.origin + ":" + std::to_string(c.line);
    switch (c.action) {
      case platforms::StateChange::Action::pstate:
        throw Error(where, "pstate changes are not made on hardware (they need root and change the machine for "
                           "everyone): set the clocks before the run and give the platform file that matches them");
      case platforms::StateChange::Action::power_mode:
        throw Error(where, "power_mode changes are not made on hardware: set the mode (nvpmodel) before the run and "
                           "give the platform file of that mode");
      case platforms::StateChange::Action::background: break;
    }
    if (has_worker(c.target)) continue;
    if (const platforms::Device* d = p.find_device(c.target)) {
      if (d->kind == platforms::DeviceKind::gpu) {
        throw Error(where, "background work on GPU device '" + c.target + "' is not built yet (the online engine has no GPU path)");
      }
      auto it = device_cpus.find(c.target);
      if (it == device_cpus.end() || it->second.empty()) {
        throw Error(where, "device '" + c.target + "' has no cores on this machine to load");
      }
      for (int cpu : it->second) {
        auto w = std::make_unique<Worker>();
        w->target = c.target;
        w->cpu = cpu;
        workers_.push_back(std::move(w));
      }
    } else {
      auto w = std::make_unique<Worker>();
      w->target = c.target;
      w->memory = true;
      workers_.push_back(std::move(w));
    }
  }
}

BackgroundWork::~BackgroundWork() { stop(); }

void BackgroundWork::start(Clock::time_point origin) {
  if (workers_.empty() || controller_.joinable()) return;
  origin_ = origin;
  stop_.store(false);
  for (auto& w : workers_) w->thread = std::thread([this, ptr = w.get()] { worker_main(*ptr); });
  controller_ = std::thread([this] { controller_main(); });
}

void BackgroundWork::stop() {
  stop_.store(true);
  if (controller_.joinable()) controller_.join();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

double BackgroundWork::load(const std::string& target) const {
  for (const auto& w : workers_) {
    if (w->target == target) return w->load.load(std::memory_order_relaxed);
  }
  return 0;
}

double BackgroundWork::cpu_s() const {
  double s = 0;
  for (const auto& w : workers_) s += w->cpu_s.load(std::memory_order_relaxed);
  return s;
}

std::map<std::string, double> BackgroundWork::stream_GBps() const {
  std::map<std::string, double> out;
  for (const auto& w : workers_) {
    if (!w->memory) continue;
    const double s = w->active_s.load();
    out[w->target] = s > 0 ? w->bytes.load() / s / 1e9 : 0;
  }
  return out;
}

void BackgroundWork::controller_main() {
  for (const auto& c : trace_.changes) {
    sleep_until_or_stop(origin_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.time_s)), stop_);
    if (stop_.load()) return;
    for (auto& w : workers_) {
      if (w->target == c.target) w->load.store(c.value, std::memory_order_relaxed);
    }
  }
}

void BackgroundWork::worker_main(Worker& w) {
  if (w.cpu >= 0) pin_current_thread({w.cpu});
  std::vector<char> a, b;
  if (w.memory) {
    a.assign(options_.stream_bytes / 2, 1);
    b.assign(options_.stream_bytes / 2, 0);
  }
  std::size_t offset = 0;
  const std::size_t chunk = std::size_t(1) << 20;
  auto next = Clock::now();
  while (!stop_.load(std::memory_order_relaxed)) {
    w.cpu_s.store(thread_cpu_s(), std::memory_order_relaxed);
    const double load = w.load.load(std::memory_order_relaxed);
    const auto period_start = std::max(next, Clock::now());
    next = period_start + options_.period;
    if (load <= 0) {
      sleep_until_or_stop(next, stop_);
      continue;
    }
    const auto busy_until = period_start + std::chrono::duration_cast<Clock::duration>(options_.period * load);
    if (w.memory) {
      const auto t0 = Clock::now();
      double moved = 0;
      while (Clock::now() < busy_until) {
        if (offset + chunk > a.size()) offset = 0;
        std::memcpy(b.data() + offset, a.data() + offset, std::min(chunk, a.size() - offset));
        offset += chunk;
        moved += 2.0 * double(chunk);  // read + write
      }
      w.bytes.store(w.bytes.load() + moved);
      w.active_s.store(w.active_s.load() + std::chrono::duration<double>(Clock::now() - t0).count());
    } else {
      // Spin: a volatile counter keeps the loop from being optimised away.
      volatile std::uint64_t x = 0;
      while (Clock::now() < busy_until) {
        for (int i = 0; i < 256; ++i) x = x + 1;
      }
    }
    if (load < 1) sleep_until_or_stop(next, stop_);
  }
}

}  // namespace sparoa::hw
