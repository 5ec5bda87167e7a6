#pragma once
// The simulator as a platforms::RolloutRunner for learning policies: each job is a forked
// worker with its own SimGrid engine (one per process, DESIGN.md) that serves the job's
// requests one at a time (closed loop, one client, one batch in flight), so that every
// request is one episode and many episodes share one engine. The worker starts from the
// parent's state at start(): the policy's parameters travel by fork, its experience comes
// back through a pipe.
#include <sys/types.h>

#include <vector>

#include "platforms/evaluation.hpp"
#include "sim/fork_evaluator.hpp"

namespace sparoa::sim {

class ForkRollouts final : public platforms::RolloutRunner {
 public:
  // Each setting's graph, platform and state trace must outlive the runner. Its arrivals,
  // requests, batching and jobs are not used.
  explicit ForkRollouts(std::vector<EvaluationSetting> settings);
  ~ForkRollouts() override;

  std::size_t settings() const override { return settings_.size(); }
  void start(std::vector<platforms::RolloutJob> jobs) override;
  std::vector<std::string> finish() override;

 private:
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    std::size_t setting = 0;
  };
  std::vector<EvaluationSetting> settings_;
  std::vector<Worker> running_;
};

}  // namespace sparoa::sim
