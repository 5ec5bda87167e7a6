#include "sim/fork_evaluator.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <exception>
#include <thread>

#include "sim/pipe_io.hpp"
#include "support/error.hpp"

namespace sparoa::sim {
namespace {

// What a child sends back through its pipe: the numbers, then the error text (may be empty).
struct Wire {
  double latency_mean_s, latency_p99_s, throughput_rps, energy_per_inference_J;
  std::int64_t requests;
  std::uint32_t error_length;
};

// Runs in the child: simulate, send, leave without running the parent's exit handlers.
[[noreturn]] void child_main(int fd, const SimulationOptions& options) {
  Wire w{};
  std::string error;
  try {
    const Summary s = simulate(options);
    w.latency_mean_s = s.latency_mean_s;
    w.latency_p99_s = s.latency_p99_s;
    w.throughput_rps = s.throughput_rps;
    w.energy_per_inference_J = s.energy_per_inference_J;
    w.requests = s.requests;
  } catch (const std::exception& e) {
    error = e.what();
    if (error.empty()) error = "simulation failed";
  } catch (...) {
    error = "simulation failed with an unknown exception";
  }
  w.error_length = std::uint32_t(error.size());
  const bool sent = write_all(fd, &w, sizeof w) && write_all(fd, error.data(), error.size());
  ::close(fd);
  ::_exit(sent ? 0 : 3);
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::size_t index = 0;
};

platforms::Evaluation collect(const Child& c) {
  const std::string bytes = read_all(c.fd);
  ::close(c.fd);
  int status = 0;
  while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
  }
  platforms::Evaluation e;
  if (WIFSIGNALED(status)) {
    e.error = fmt::format("the simulation died with signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return e;
  }
  if (bytes.size() < sizeof(Wire)) {
    e.error = fmt::format("the simulation exited with status {} without a result", WEXITSTATUS(status));
    return e;
  }
  Wire w;
  std::memcpy(&w, bytes.data(), sizeof w);
  if (bytes.size() != sizeof w + w.error_length) {
    e.error = "the simulation sent a malformed result";
    return e;
  }
  e.error = bytes.substr(sizeof w);
  if (!e.ok()) return e;
  e.latency_mean_s = w.latency_mean_s;
  e.latency_p99_s = w.latency_p99_s;
  e.throughput_rps = w.throughput_rps;
  e.energy_per_inference_J = w.energy_per_inference_J;
  e.requests = w.requests;
  return e;
}

Child spawn(const SimulationOptions& options, std::size_t index) {
  const auto [pid, fd] = fork_with_pipe("evaluator", [&](int out) { child_main(out, options); });
  return Child{pid, fd, index};
}

}  // namespace

ForkEvaluator::ForkEvaluator(EvaluationSetting setting) : setting_(std::move(setting)) {
  if (setting_.graph == nullptr || setting_.platform == nullptr) throw Error("evaluator", "no model or no platform given");
  jobs_ = setting_.jobs > 0 ? setting_.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
}

std::int64_t ForkEvaluator::batch() const { return setting_.graph->batch; }

std::int64_t ForkEvaluator::requests_per_run() const {
  if (setting_.requests > 0) return setting_.requests;
  return setting_.graph->batch * (setting_.state != nullptr ? 20 : 1);
}

SimulationOptions ForkEvaluator::options_for(const graph::Schedule* schedule, platforms::OnlinePolicy* policy) const {
  SimulationOptions o;
  o.graph = setting_.graph;
  o.platform = setting_.platform;
  o.schedule = schedule;
  o.schedule_origin = "candidate schedule";
  o.policy = policy;
  o.arrivals = setting_.arrivals;
  o.requests = requests_per_run();
  o.batch_timeout_s = setting_.batch_timeout_s;
  o.max_inflight_batches = setting_.max_inflight_batches;
  o.state = setting_.state;
  o.seed = setting_.seed;
  o.run_id = "evaluation";
  return o;
}

std::vector<platforms::Evaluation> ForkEvaluator::evaluate(const std::vector<graph::Schedule>& schedules) {
  std::vector<platforms::Evaluation> out(schedules.size());
  std::deque<Child> running;
  std::size_t next = 0;
  try {
    while (next < schedules.size() || !running.empty()) {
      while (next < schedules.size() && int(running.size()) < jobs_) {
        running.push_back(spawn(options_for(&schedules[next], nullptr), next));
        ++next;
      }
      // Results are kept by index: which child finishes first does not matter.
      const Child c = running.front();
      running.pop_front();
      out[c.index] = collect(c);
      ++runs_;
    }
  } catch (...) {
    for (const Child& c : running) collect(c);
    throw;
  }
  return out;
}

platforms::Evaluation ForkEvaluator::evaluate_online(platforms::OnlinePolicy& policy) {
  // The child gets a copy of the policy's state: every evaluation starts from the same one.
  const Child c = spawn(options_for(nullptr, &policy), 0);
  ++runs_;
  return collect(c);
}

}  // namespace sparoa::sim
