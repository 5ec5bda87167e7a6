#pragma once
// SimGrid allows one engine per process: every simulation in these tests runs in a forked
// child, which sends its summary (or its error) back through a pipe. The test binary can
// then run all its tests in one process as well as one per process under ctest.
#include <functional>
#include <string>

#include "sim/simulation.hpp"

namespace sparoa::test {

struct ChildResult {
  bool ok = false;
  std::string error;  // what the child threw, when !ok
  sim::Summary summary;
};

// Runs `body` (which builds its inputs and returns simulate()'s summary) in a child process.
ChildResult run_in_child(const std::function<sim::Summary()>& body);

}  // namespace sparoa::test
