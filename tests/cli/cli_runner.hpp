#pragma once
// Runs the `sparoa` binary for end-to-end tests: stdout and stderr go to files (no pipes to
// deadlock on), and the exit code is kept.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace sparoa::test::cli {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline fs::path scratch(const std::string& suite) {
  const fs::path dir = fs::path(SPAROA_TEST_DATA_DIR) / suite;
  fs::create_directories(dir);
  return dir;
}

// Starts `sparoa ARGS` with stdout and stderr into the given files; returns its pid, or -1.
inline pid_t start_sparoa(std::vector<std::string> args, const std::string& out = "/dev/null",
                          const std::string& err = "/dev/null") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  args.insert(args.begin(), SPAROA_BIN);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, SPAROA_BIN, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` and collects its exit code (128 + signal when killed) and output files.
inline Result collect(pid_t pid, const std::string& out, const std::string& err) {
  Result r;
  if (pid < 0) return r;
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

inline Result run_sparoa(std::vector<std::string> args, const std::string& suite = "cli_test") {
  static int counter = 0;
  const fs::path base = scratch(suite) / ("run" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  const std::string out = base.string() + ".out", err = base.string() + ".err";
  const pid_t pid = start_sparoa(std::move(args), out, err);
  return collect(pid, out, err);
}

// One clear line on stderr, exit code 1.
inline void expect_input_error(const Result& r, const std::string& needle) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  EXPECT_EQ(r.err.rfind("sparoa: error: ", 0), 0u) << r.err;
}

}  // namespace sparoa::test::cli
