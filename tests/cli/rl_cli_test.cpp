// End-to-end tests of `sparoa train rl` and the agent it writes: schedule --policy rl,
// simulate --policy rl, compare's rl row; bad configs and bad agent files.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/cli/cli_runner.hpp"

namespace sparoa::test::cli {
namespace {

Result run(std::vector<std::string> args) { return run_sparoa(std::move(args), "rl_cli_test"); }
std::string zoo_dir() { return (fs::path(SPAROA_TEST_DATA_DIR) / "zoo").string(); }
fs::path dir() { return scratch("rl_cli_test"); }

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = dir() / name;
  std::ofstream(p) << text;
  return p;
}

const char* kTinyConfig = R"(seed: 3
workers: 2
episodes_per_job: 2
warmup_steps: 300
updates_per_step: 0.1
state_variants: 1
sac: {hidden: 16, batch: 32}
stages:
  - name: idle
    steps: 600
    models: [squeezenet1_1]
    platforms: [orin-nano-8gb-15w]
    states: [idle]
  - name: bursts
    steps: 1200
    models: [squeezenet1_1]
    sparsity: [0.5]
    platforms: [orin-nano-8gb-15w]
    states: [gpu-bursts, traces/mine.csv]
)";

TEST(TrainRlCli, TrainsAnAgentThatSchedulesSimulatesAndCompares) {
  fs::create_directories(dir() / "traces");
  write("traces/mine.csv", "time_us,action,target,value\n0,background,dram,0.5\n");
  const fs::path config = write("tiny.yaml", kTinyConfig);
  const fs::path agent = dir() / "agent.bin";
  const Result t = run({"train", "rl", "--config", config.string(), "--zoo-dir", zoo_dir(), "-o", agent.string(), "-q"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("curriculum: 3 cells"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("trained:"), std::string::npos) << t.out;
  ASSERT_TRUE(fs::exists(agent));
  std::ifstream curve(agent.string() + ".curve.csv");
  std::string header;
  std::getline(curve, header);
  EXPECT_EQ(header.rfind("round,stage,env_steps", 0), 0u) << header;

  // The same seed and workers: the same agent, byte for byte.
  const fs::path again = dir() / "again.bin";
  ASSERT_EQ(run({"train", "rl", "--config", config.string(), "--zoo-dir", zoo_dir(), "-o", again.string(), "-q"}).code, 0);
  auto bytes = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(agent), bytes(again));

  const fs::path sched = dir() / "rl.yaml";
  const Result s = run({"schedule", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                        "rl", "--agent", agent.string(), "-o", sched.string()});
  ASSERT_EQ(s.code, 0) << s.err;
  const Result replay = run({"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w",
                             "--schedule", sched.string(), "-n", "2"});
  EXPECT_EQ(replay.code, 0) << replay.err;
  // Frozen for this machine's two-lane host platform, the hardware backend replays it.
  const fs::path host = dir() / "rl-host.yaml";
  const Result h = run({"schedule", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "host-2core-2lanes", "--policy",
                        "rl", "--agent", agent.string(), "-o", host.string()});
  ASSERT_EQ(h.code, 0) << h.err;
  const Result hw = run({"run", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "host-2core-2lanes", "-s",
                         host.string(), "-n", "1", "--warmup", "1", "--verify"});
  EXPECT_EQ(hw.code, 0) << hw.err;
  const Result online = run({"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w",
                             "--policy", "rl", "--agent", agent.string(), "-n", "3"});
  ASSERT_EQ(online.code, 0) << online.err;
  EXPECT_NE(online.out.find("policy rl"), std::string::npos) << online.out;
  const Result cmp = run({"compare", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--agent",
                          agent.string(), "--no-oracle", "--no-search"});
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  EXPECT_NE(cmp.out.find("\nrl "), std::string::npos) << cmp.out;
  // Without an agent, compare leaves the rl row out.
  const Result plain = run({"compare", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w",
                            "--no-oracle", "--no-search"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("\nrl "), std::string::npos) << plain.out;
}

TEST(TrainRlCli, BadConfigsAndAgentsGiveOneLineAndExitOne) {
  const fs::path out = dir() / "never.bin";
  auto train = [&](const std::string& text) {
    return run({"train", "rl", "--config", write("bad.yaml", text).string(), "--zoo-dir", zoo_dir(), "-o", out.string()});
  };
  const std::string stage = "stages:\n  - {steps: 100, models: [squeezenet1_1], platforms: [orin-nano-8gb-15w], states: [idle]}\n";
  const std::vector<std::pair<std::string, std::string>> cases{
      {"learning_rate: 0.1\n" + stage, "learning_rate: unknown key"},
      {"sac: {hiden: 3}\n" + stage, "sac.hiden: unknown key"},
      {"workers: 0\n" + stage, "workers"},
      {"seed: 1\n", "stages: missing"},
      {"stages:\n  - {steps: 100, models: [squeezenet1_1], platforms: [orin-nano-8gb-15w], states: [sunny]}\n", "sunny"},
      {"stages:\n  - {steps: 100, models: [nosuchnet], platforms: [orin-nano-8gb-15w], states: [idle]}\n", "nosuchnet"},
      {"stages:\n  - {steps: 100, models: [squeezenet1_1], platforms: [host-2core-1lane, h100-server], states: [idle]}\n"
       "  - {steps: 50, models: [squeezenet1_1], platforms: [orin-nano-8gb-15w], states: [idle]}\n",
       "must exceed"},
      {"stages: [1, 2\n", "malformed YAML at line 2"},
  };
  for (const auto& [text, want] : cases) {
    const Result r = train(text);
    EXPECT_EQ(r.code, 1) << want << ": " << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_FALSE(fs::exists(out));

  const fs::path garbage = write("garbage.bin", "not an agent at all");
  for (const auto& agent : {garbage.string(), (dir() / "missing.bin").string()}) {
    const Result r = run({"schedule", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                          "rl", "--agent", agent, "-o", (dir() / "x.yaml").string()});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(agent), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  // simulate --policy plans a static policy first (heft runs), takes rl only with an agent.
  const Result heft = run({"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w",
                           "--policy", "heft", "-n", "1"});
  EXPECT_EQ(heft.code, 0) << heft.err;
  for (const auto& [policy, want] : std::vector<std::pair<std::string, std::string>>{
           {"rl", "needs an agent file"}, {"tensorrt", "unknown policy"}}) {
    const Result r = run({"simulate", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                          policy, "-n", "1"});
    EXPECT_EQ(r.code, 1) << policy << ": " << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const Result none = run({"schedule", "-m", "squeezenet1_1", "--zoo-dir", zoo_dir(), "-p", "orin-nano-8gb-15w", "--policy",
                           "rl", "-o", (dir() / "x.yaml").string()});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("needs an agent file"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace sparoa::test::cli
