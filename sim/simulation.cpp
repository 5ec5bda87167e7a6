#include "sim/simulation.hpp"

#include <simgrid/s4u.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>

#include "sim/board.hpp"
#include "sim/energy_accounting.hpp"
#include "sim/executor.hpp"
#include "support/error.hpp"
#include "support/stats.hpp"

namespace sg4 = simgrid::s4u;

namespace sparoa::sim {
namespace {

std::atomic<bool> g_engine_used{false};

double wall_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Background work of other applications: every slice, each loaded target gets an activity
// sized to take `load` of the slice when it runs alone (CPU/GPU: FLOPs on every online unit;
// DRAM: bytes through the domain's link). Sharing with operators then slows both, as on a
// real board. A slice whose activity is still running when the next one is due is not
// doubled up (the load saturates).
constexpr double kBackgroundSlice_s = 1e-3;
// SimGrid's timing precision: a wake-up closer than this to the clock is due now.
constexpr double kTimeEpsilon = 1e-9;

struct BackgroundTarget {
  bool device = true;
  std::size_t index = 0;
  double load = 0;
  sg4::ExecPtr exec;
  std::vector<int> units;
  double mark = 0;
  std::size_t pstate = 0;
  double flops_per_unit = 0;
};

// The state actor: applies the state trace's changes at their times and runs the
// background activities. It stops at its first wake-up after the executor is done (not a
// daemon: SimGrid 3.32 aborts when it kills a daemon blocked in wait_any_for).
void state_actor(const platforms::StateTrace* trace, Board* board, EnergyAccounting* energy, const bool* executor_done) {
  std::vector<BackgroundTarget> targets;
  for (std::size_t d = 0; d < board->devices().size(); ++d) {
    targets.emplace_back();
    targets.back().index = d;
  }
  for (std::size_t m = 0; m < board->domains().size(); ++m) {
    targets.emplace_back();
    targets.back().device = false;
    targets.back().index = m;
  }
  std::size_t next_change = 0;
  double next_slice = 0;
  const auto& changes = trace->changes;
  for (;;) {
    const double now = sg4::Engine::get_clock();
    if (*executor_done) {
      for (auto& t : targets) {
        if (t.exec) t.exec->cancel();
      }
      return;
    }
    while (next_change < changes.size() && changes[next_change].time_s <= now + kTimeEpsilon) {
      const platforms::StateChange& c = changes[next_change++];
      switch (c.action) {
        case platforms::StateChange::Action::pstate: board->set_pstate(board->device_index(c.target), c.pstate); break;
        case platforms::StateChange::Action::power_mode: board->apply_power_mode(c.target); break;
        case platforms::StateChange::Action::background:
          for (auto& t : targets) {
            const std::string& id = t.device ? board->devices()[t.index].spec->id : board->domains()[t.index].spec->id;
            if (id != c.target) continue;
            t.load = c.value;
            next_slice = std::min(next_slice, now);  // start slicing now if it was idle
            if (t.device) {
              board->devices()[t.index].background_load = c.value;
            } else {
              board->domains()[t.index].background_load = c.value;
            }
          }
          break;
      }
    }
    bool any_load = false;
    if (now >= next_slice - kTimeEpsilon) {
      for (auto& t : targets) {
        if (t.load <= 0 || t.exec) continue;
        any_load = true;
        if (t.device) {
          DeviceRuntime& rt = board->devices()[t.index];
          std::vector<sg4::Host*> hosts;
          t.units.clear();
          for (int u = 0; u < rt.online_units; ++u) {
            t.units.push_back(u);
            hosts.push_back(rt.units[std::size_t(u)]);
          }
          t.pstate = rt.pstate;
          t.flops_per_unit = t.load * hosts.front()->get_speed() * kBackgroundSlice_s;
          board->acquire(t.index, t.units);
          t.mark = energy->start(t.index, t.units, now);
          t.exec = sg4::this_actor::exec_init(hosts, std::vector<double>(hosts.size(), t.flops_per_unit),
                                              std::vector<double>(hosts.size() * hosts.size(), 0.0));
        } else {
          DomainRuntime& dom = board->domains()[t.index];
          sg4::Host* unit = nullptr;
          for (const auto& d : board->devices()) {
            if (d.domain == t.index) {
              unit = d.units.front();
              break;
            }
          }
          t.exec = sg4::this_actor::exec_init({unit, dom.memory_host}, {0, 0},
                                              {0, t.load * dom.bandwidth_Bps * kBackgroundSlice_s, 0, 0});
        }
        // Background work moves through the same DRAM and units: bill everything busy so far.
        board->update_energy_of_busy_units();
        if (t.device) board->update_energy(t.index, t.units);
        t.exec->start();
      }
      for (const auto& t : targets) any_load = any_load || t.load > 0;
      next_slice = any_load ? now + kBackgroundSlice_s : std::numeric_limits<double>::infinity();
    } else {
      for (const auto& t : targets) any_load = any_load || t.load > 0 || t.exec;
    }
    double wake = next_slice;
    if (next_change < changes.size()) wake = std::min(wake, changes[next_change].time_s);
    std::vector<sg4::ActivityPtr> running;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (targets[i].exec) {
        running.push_back(targets[i].exec);
        which.push_back(i);
      }
    }
    if (running.empty()) {
      if (wake == std::numeric_limits<double>::infinity()) return;
      sg4::this_actor::sleep_until(std::max(wake, now + kTimeEpsilon));
      continue;
    }
    const ssize_t i = wake == std::numeric_limits<double>::infinity()
                          ? sg4::Activity::wait_any(running)
                          : sg4::Activity::wait_any_for(running, std::max(kTimeEpsilon, wake - now));
    if (i < 0 || std::size_t(i) >= running.size()) continue;
    BackgroundTarget& t = targets[which[std::size_t(i)]];
    board->update_energy_of_busy_units();
    if (t.device) {
      board->release(t.index, t.units);
      energy->finish(t.index, t.units, sg4::Engine::get_clock(), t.mark, t.pstate, t.flops_per_unit);
    }
    t.exec = nullptr;
  }
}

}  // namespace

double percentile(const std::vector<double>& sorted, double p) { return nearest_rank_percentile(sorted, p); }

Summary simulate(const SimulationOptions& options) {
  if (options.graph == nullptr || options.platform == nullptr) throw Error("simulator", "no model or no platform given");
  if ((options.schedule == nullptr) == (options.policy == nullptr)) {
    throw Error("simulator", "give exactly one of a schedule and an online policy");
  }
  if (options.schedule != nullptr) {
    graph::validate_schedule(*options.schedule, *options.graph, options.schedule_origin);
  }
  if (g_engine_used.exchange(true)) {
    throw Error("simulator", "SimGrid runs one simulation per process; start another process for the next one");
  }
  const double wall_start = wall_now();
  char name[] = "sparoa";
  char quiet[] = "--log=root.thresh:critical";
#if defined(__SANITIZE_ADDRESS__)
  // Actors run on stacks SimGrid allocates itself, and Debian's SimGrid does not tell ASan
  // about them: an exception unwinding an actor's stack leaves stale poison behind, and a
  // later frame at that address is reported as stack-use-after-scope. Threads have stacks
  // ASan knows; actors still run one at a time, so the results are identical. The factory
  // is chosen while the engine is built, hence a command-line option.
  char contexts[] = "--cfg=contexts/factory:thread";
  int argc = 3;
  char* argv[] = {name, quiet, contexts, nullptr};
#else
  int argc = 2;
  char* argv[] = {name, quiet, nullptr};
#endif
  sg4::Engine engine(&argc, argv);
  configure_engine(engine);
  Board board(*options.platform);
  EnergyAccounting energy;
  energy.init(board);

  Summary summary;
  std::exception_ptr failure;
  bool executor_done = false;
  sg4::Actor::create("executor", board.actor_host(), [&] {
    try {
      summary = detail::run_executor(options, board, energy, wall_start);
    } catch (...) {
      failure = std::current_exception();
    }
    executor_done = true;
  });
  platforms::StateTrace none;
  const platforms::StateTrace* trace = options.state != nullptr ? options.state : &none;
  std::exception_ptr state_failure;
  sg4::Actor::create("state", board.actor_host(), [trace, &board, &energy, &executor_done, &state_failure] {
    try {
      state_actor(trace, &board, &energy, &executor_done);
    } catch (const simgrid::ForcefulKillException&) {
      throw;
    } catch (...) {
      state_failure = std::current_exception();
    }
  });
  engine.run();
  if (failure) std::rethrow_exception(failure);
  if (state_failure) std::rethrow_exception(state_failure);
  return summary;
}

}  // namespace sparoa::sim
