#include "sim/fork_rollouts.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

#include "sim/pipe_io.hpp"
#include "support/error.hpp"

namespace sparoa::sim {
namespace {

// A worker's answer: one status byte (0 ok, 1 error), then the result or the error text.
[[noreturn]] void worker_main(int fd, const EvaluationSetting& setting, const platforms::RolloutJob& job) {
  std::string payload;
  char status = 0;
  try {
    SimulationOptions o;
    o.graph = setting.graph;
    o.platform = setting.platform;
    o.state = setting.state;
    o.policy = job.policy;
    o.arrivals = platforms::ArrivalSpec{};
    o.arrivals.clients = 1;
    o.requests = job.requests;
    o.max_inflight_batches = 1;
    o.seed = job.seed;
    o.run_id = "rollout";
    simulate(o);
    payload = job.result ? job.result() : std::string();
  } catch (const std::exception& e) {
    status = 1;
    payload = e.what();
  } catch (...) {
    status = 1;
    payload = "rollout failed with an unknown exception";
  }
  const bool sent = write_all(fd, &status, 1) && write_all(fd, payload.data(), payload.size());
  ::close(fd);
  ::_exit(sent ? 0 : 3);
}

}  // namespace

ForkRollouts::ForkRollouts(std::vector<EvaluationSetting> settings) : settings_(std::move(settings)) {
  for (const auto& s : settings_) {
    if (s.graph == nullptr || s.platform == nullptr) throw Error("rollouts", "a setting has no model or no platform");
    if (s.graph->batch != 1) throw Error("rollouts", "episodes are single requests: bind the model to batch 1");
  }
}

ForkRollouts::~ForkRollouts() {
  for (const Worker& w : running_) {
    ::kill(w.pid, SIGKILL);
    ::close(w.fd);
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void ForkRollouts::start(std::vector<platforms::RolloutJob> jobs) {
  if (!running_.empty()) throw Error("rollouts", "start() while the previous jobs are still out");
  for (const auto& job : jobs) {
    if (job.setting >= settings_.size()) throw Error("rollouts", fmt::format("no setting {}", job.setting));
    if (job.policy == nullptr) throw Error("rollouts", "a job has no policy");
  }
  for (const auto& job : jobs) {
    const auto [pid, fd] = fork_with_pipe("rollouts", [&](int out) {
      // The other workers' read ends were inherited: close them so that they see EOF only
      // from their own writer.
      for (const Worker& w : running_) ::close(w.fd);
      worker_main(out, settings_[job.setting], job);
    });
    running_.push_back(Worker{pid, fd, job.setting});
  }
}

std::vector<std::string> ForkRollouts::finish() {
  // Read every pipe as data arrives: a worker blocked on a full pipe must not wait for the
  // one before it.
  std::vector<std::string> bytes(running_.size());
  std::vector<bool> open(running_.size(), true);
  std::size_t left = running_.size();
  std::vector<char> buf(1 << 16);
  while (left > 0) {
    std::vector<pollfd> fds;
    std::vector<std::size_t> index;
    for (std::size_t i = 0; i < running_.size(); ++i) {
      if (!open[i]) continue;
      fds.push_back(pollfd{running_[i].fd, POLLIN, 0});
      index.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw Error("rollouts", std::string("poll: ") + std::strerror(errno));
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0) continue;
      const std::size_t i = index[k];
      const ssize_t n = ::read(running_[i].fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        bytes[i].append(buf.data(), std::size_t(n));
      } else {
        open[i] = false;
        --left;
      }
    }
  }
  std::string error;
  for (std::size_t i = 0; i < running_.size(); ++i) {
    ::close(running_[i].fd);
    int status = 0;
    while (::waitpid(running_[i].pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!error.empty()) continue;
    const std::string where = fmt::format("rollout worker {} ({})", i, settings_[running_[i].setting].graph->name);
    if (WIFSIGNALED(status)) {
      error = fmt::format("{}: died with signal {} ({})", where, WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (bytes[i].empty()) {
      error = fmt::format("{}: exited with status {} without a result", where, WEXITSTATUS(status));
    } else if (bytes[i][0] != 0) {
      error = fmt::format("{}: {}", where, bytes[i].substr(1));
    }
    bytes[i].erase(0, 1);
  }
  running_.clear();
  if (!error.empty()) throw Error("", error);
  return bytes;
}

}  // namespace sparoa::sim
