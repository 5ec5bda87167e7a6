// End-to-end tests of the `sparoa` command line: exit codes (0 ok, 1 bad input, 2 usage),
// one-line errors on stderr, and outputs that are whole or absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "onnx_test_models.hpp"
#include "tests/cli/cli_runner.hpp"

namespace {

namespace fs = std::filesystem;

using sparoa::test::cli::expect_input_error;
using sparoa::test::cli::Result;
using sparoa::test::cli::slurp;

fs::path scratch() { return sparoa::test::cli::scratch("cli_test"); }
Result run(std::vector<std::string> args) { return sparoa::test::cli::run_sparoa(std::move(args), "cli_test"); }

fs::path zoo_dir() { return fs::path(SPAROA_TEST_DATA_DIR) / "zoo"; }

fs::path small_model() {
  const Result r = run({"zoo", "build", "--out", zoo_dir().string(), "--models", "squeezenet1_1"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (const auto& e : fs::directory_iterator(zoo_dir())) {
    const auto name = e.path().filename().string();
    if (name.rfind("squeezenet1_1-s0.00-u-", 0) == 0 && e.path().extension() == ".onnx") return e.path();
  }
  ADD_FAILURE() << "zoo build wrote no squeezenet1_1 model";
  return {};
}

TEST(Cli, VersionListsBackends) {
  const Result r = run({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("sparoa "), std::string::npos);
  EXPECT_NE(r.out.find("backend cpu: oneDNN"), std::string::npos) << r.out;
#ifdef SPAROA_EXPECT_GPU_BACKEND
  EXPECT_NE(r.out.find("backend gpu: CUDA runtime"), std::string::npos) << r.out;
#endif
}

TEST(Cli, HelpEverywhere) {
  for (auto args : std::vector<std::vector<std::string>>{{"--help"}, {"inspect", "--help"}, {"zoo", "--help"},
                                                          {"zoo", "build", "--help"}, {"zoo", "list", "--help"},
                                                          {"demo", "--help"}}) {
    const Result r = run(args);
    EXPECT_EQ(r.code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"inspect"}).code, 2);                       // missing MODEL
  EXPECT_EQ(run({"inspect", "m.onnx", "--batch", "0"}).code, 2);  // not positive
  EXPECT_EQ(run({"inspect", "m.onnx", "--no-such-flag"}).code, 2);
}

TEST(Cli, ZooListShowsPublishedSizes) {
  const Result r = run({"zoo", "list"});
  EXPECT_EQ(r.code, 0);
  for (const char* m : {"mobilenetv3_small", "resnet50", "vit_tiny_16", "bert_small"}) {
    EXPECT_NE(r.out.find(m), std::string::npos) << m;
  }
  EXPECT_NE(r.out.find("25557032"), std::string::npos) << "ResNet-50's published parameter count";
}

TEST(Cli, InspectPrintsTableTotalsAndCsv) {
  const fs::path model = small_model();
  const fs::path csv = scratch() / "squeeze.csv";
  fs::remove(csv);
  const Result r = run({"inspect", model.string(), "--batch", "2", "--csv", csv.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("FLOP/B"), std::string::npos);
  EXPECT_NE(r.out.find("quadrant"), std::string::npos);
  EXPECT_NE(r.out.find("params 1.24 M (1235496)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch 2"), std::string::npos);
  const std::string text = slurp(csv);
  EXPECT_EQ(text.rfind("index,operator,type,output_shape,macs,flops", 0), 0u);
  // One header plus one row per operator, all with the same number of columns.
  std::istringstream lines(text);
  std::string line;
  std::size_t rows = 0;
  while (std::getline(lines, line)) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 14) << line;
    ++rows;
  }
  EXPECT_GT(rows, 50u);
}

TEST(Cli, BadModelsGiveOneLineAndExitOne) {
  const fs::path garbage = scratch() / "garbage.onnx";
  std::ofstream(garbage) << "definitely not protobuf \xff\xfe";
  expect_input_error(run({"inspect", garbage.string()}), "garbage.onnx");
  expect_input_error(run({"inspect", (scratch() / "missing.onnx").string()}), "missing.onnx");

  const fs::path model = small_model();
  const std::string bytes = slurp(model);
  const fs::path truncated = scratch() / "truncated.onnx";
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  expect_input_error(run({"inspect", truncated.string()}), "truncated.onnx");

  // Unknown dimension: the zoo's batch is symbolic and stays unbound without --batch.
  expect_input_error(run({"inspect", model.string()}), "unknown dimension 'N'");
  expect_input_error(run({"inspect", model.string(), "--input-shape", "nope=1x3"}), "'nope'");
  expect_input_error(run({"inspect", model.string(), "--input-shape", "bad"}), "--input-shape 'bad'");
}

TEST(Cli, FailedInspectLeavesNoCsv) {
  const fs::path garbage = scratch() / "garbage2.onnx";
  std::ofstream(garbage) << "nope";
  const fs::path csv = scratch() / "never.csv";
  fs::remove(csv);
  EXPECT_EQ(run({"inspect", garbage.string(), "--csv", csv.string()}).code, 1);
  EXPECT_FALSE(fs::exists(csv));
  // Writing into a folder that does not exist: one error line, nothing left behind.
  const Result r = run({"inspect", small_model().string(), "--batch", "1", "--csv", (scratch() / "no/such/dir/x.csv").string()});
  expect_input_error(r, "no/such/dir/x.csv");
}

TEST(Cli, ZooBuildRejectsBadArguments) {
  expect_input_error(run({"zoo", "build", "--out", scratch().string(), "--models", "alexnet"}), "alexnet");
  expect_input_error(run({"zoo", "build", "--out", scratch().string(), "--models", "resnet18", "--sparsity", "1.5"}),
                     "1.5");
  expect_input_error(run({"zoo", "build", "--out", scratch().string(), "--models", "resnet18", "--sparsity", "x"}),
                     "'x'");
  expect_input_error(run({"zoo", "build", "--out", scratch().string(), "--models", "resnet18", "--structured", "1:4"}),
                     "2:4");
}

// Rewrites the schedule's text with `edit` and checks it.
Result check_edited(const fs::path& schedule, const fs::path& model, const std::string& name,
                    const std::function<std::string(std::string)>& edit) {
  const fs::path edited = scratch() / name;
  std::ofstream(edited) << edit(slurp(schedule));
  return run({"schedule", "check", edited.string(), model.string()});
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto p = text.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) text.replace(p, from.size(), to);
  return text;
}

TEST(Cli, ScheduleTemplateAndCheck) {
  const fs::path model = small_model();
  const fs::path schedule = scratch() / "squeeze.yaml";
  Result r = run({"schedule", "template", model.string(), "-o", schedule.string(), "--lane", "cpu0"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"schedule", "check", schedule.string(), model.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("valid for"), std::string::npos);

  const std::string text = slurp(schedule);
  // The first three entries in topological order: features.0.conv (0), its activation (1), ...
  const auto first = text.find("  - {op: ");
  const auto second = text.find("  - {op: ", first + 1);
  const auto third = text.find("  - {op: ", second + 1);
  const std::string entry0 = text.substr(first, second - first);
  const std::string entry1 = text.substr(second, third - second);

  // An operator missing.
  expect_input_error(check_edited(schedule, model, "missing.yaml", [&](std::string t) { return replace_once(t, entry1, ""); }),
                     "is not placed");
  // An operator named twice.
  expect_input_error(check_edited(schedule, model, "twice.yaml",
                                  [&](std::string t) { return replace_once(t, entry1, entry1 + entry1); }),
                     "twice");
  // A broken dependency: the first two operators swap their order on the lane.
  expect_input_error(check_edited(schedule, model, "order.yaml", [&](std::string t) {
                       std::string a = replace_once(entry0, "order: 0", "order: 1");
                       std::string b = replace_once(entry1, "order: 1", "order: 0");
                       return replace_once(t, entry0 + entry1, a + b);
                     }),
                     "depend");
  // Another model's schedule.
  const auto hash = text.find("sha256: ") + 8;
  expect_input_error(check_edited(schedule, model, "other.yaml", [&](std::string t) {
                       t[hash] = t[hash] == 'a' ? 'b' : 'a';
                       return t;
                     }),
                     "another model");
  // Not YAML at all, and an unknown key.
  expect_input_error(check_edited(schedule, model, "garbage.yaml", [](std::string) { return "{[}: ::\n"; }), "garbage.yaml");
  expect_input_error(check_edited(schedule, model, "key.yaml",
                                  [&](std::string t) { return replace_once(t, "batch: 1", "batch: 1\nlanes: 2"); }),
                     "lanes");
  // A template that cannot be written leaves nothing behind.
  r = run({"schedule", "template", model.string(), "-o", (scratch() / "none/s.yaml").string()});
  expect_input_error(r, "none/s.yaml");
}

TEST(Cli, ScheduleTemplateTakesAFixedBatchAsItIs) {
  const fs::path model = sparoa::test::small_cnn(8).save("fixed_batch8.onnx");
  const fs::path schedule = scratch() / "fixed8.yaml";
  Result r = run({"schedule", "template", model.string(), "-o", schedule.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(slurp(schedule).find("batch: 8"), std::string::npos);
  EXPECT_EQ(run({"schedule", "check", schedule.string(), model.string()}).code, 0);
  // Asking for another batch than the fixed one is an input error.
  expect_input_error(run({"schedule", "template", model.string(), "-o", schedule.string(), "--batch", "2"}),
                     "fixed at 8");
}

TEST(Cli, NamesWithLineBreaksStillGiveOneErrorLine) {
  sparoa::test::ModelBuilder b;
  b.input("x", {1, 4});
  b.node("NonMaxSuppression", {"x", "x"}, {"y"}, "evil\nname");
  b.output("y", 2);
  const Result r = run({"inspect", b.save("evil_name.onnx")});
  expect_input_error(r, "NonMaxSuppression");
}

// ---------------------------------------------------------------------------------------
// sparoa platform

std::vector<fs::path> shipped_platforms() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SPAROA_SOURCE_DIR) / "platforms")) {
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CliPlatform, ShowWorksOnEveryShippedFile) {
  const auto files = shipped_platforms();
  ASSERT_GE(files.size(), 7u);
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    // By path and by name.
    for (const std::string& arg : {f.string(), f.stem().string()}) {
      const Result r = run({"platform", "show", arg});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_TRUE(r.err.empty()) << r.err;
      for (const char* needle : {"power mode: ", "memory domains", "devices", "peak GFLOP/s", "lanes", "power modes",
                                 "cost model", "default"}) {
        EXPECT_NE(r.out.find(needle), std::string::npos) << needle;
      }
    }
  }
  const Result r = run({"platform", "show", "agx-orin-64gb-30w", "--notes"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("power mode: 30W"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("30W *"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("5326.8"), std::string::npos) << "GPU peak at 1300.5 MHz with 8 TPCs";
  EXPECT_NE(r.out.find("device gpu: "), std::string::npos) << "notes";
}

TEST(CliPlatform, ListNamesTheShippedFiles) {
  const Result r = run({"platform", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& f : shipped_platforms()) EXPECT_NE(r.out.find(f.stem().string()), std::string::npos) << f;
  EXPECT_NE(r.out.find("jetson-orin-nano-8gb"), std::string::npos);
  EXPECT_NE(r.out.find("MAXN"), std::string::npos);
}

TEST(CliPlatform, ExportXml) {
  const fs::path out = scratch() / "agx.xml";
  fs::remove(out);
  const Result r = run({"platform", "export-xml", "agx-orin-64gb-maxn", "-o", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string xml = slurp(out);
  EXPECT_NE(xml.find("<platform version=\"4.1\">"), std::string::npos);
  EXPECT_NE(xml.find("<host id=\"gpu.TPC7\""), std::string::npos);
  // Without -o: standard output, the same text.
  const Result s = run({"platform", "export-xml", "agx-orin-64gb-maxn"});
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.out, xml);
  fs::remove(out);
}

TEST(CliPlatform, BadPlatformFileGivesOneLineNamingFileAndKey) {
  std::string text = slurp(fs::path(SPAROA_SOURCE_DIR) / "platforms" / "orin-nano-8gb-15w.yaml");
  const std::string from = "bandwidth_GBps: 68, transfer";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "bandwidth: 68, transfer");
  const fs::path bad = scratch() / "bad-platform.yaml";
  {
    std::ofstream f(bad);
    f << text;
  }
  const fs::path out = scratch() / "bad-platform.xml";
  fs::remove(out);
  for (const std::string command : {"show", "export-xml"}) {
    std::vector<std::string> args = {"platform", command, bad.string()};
    if (command == "export-xml") args.insert(args.end(), {"-o", out.string()});
    const Result r = run(args);
    expect_input_error(r, bad.string() + ": memory_domains[0].bandwidth: key 'bandwidth' has no unit: write bandwidth_GBps");
  }
  EXPECT_FALSE(fs::exists(out)) << "a failed export leaves no file";
  expect_input_error(run({"platform", "show", "no-such-board"}), "agx-orin-64gb-maxn");
  EXPECT_EQ(run({"platform"}).code, 2);
  EXPECT_EQ(run({"platform", "show"}).code, 2);
}

}  // namespace
