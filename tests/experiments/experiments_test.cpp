// The experiment schema, the cells of a matrix, the results file's reading rules (torn and
// incomplete blocks dropped, duplicates ignored) and platform perturbation.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "experiments/experiment.hpp"
#include "experiments/invocation.hpp"
#include "experiments/results.hpp"
#include "platforms/perturb.hpp"
#include "platforms/platform.hpp"
#include "support/error.hpp"

namespace sparoa::experiments {
namespace {
namespace fs = std::filesystem;

const char* kGood = R"(schema_version: 1
name: t
command: simulate
matrix:
  model: [mobilenetv3_small, resnet18]
  policy: [cpu-only, gpu-only, greedy-eft]
  seed: [1, 2]
fixed:
  platform: agx-orin-64gb-maxn
  requests: 20
  option: [a=1, b=2]
)";

std::string error_of(const std::string& text) {
  try {
    parse_experiment(text, "exp.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Experiment, CellsCoverTheMatrixLastFactorFastest) {
  const Experiment e = parse_experiment(kGood, "exp.yaml");
  const auto cells = expand_cells(e);
  ASSERT_EQ(cells.size(), 12u);
  EXPECT_EQ(cells[0].get("model"), "mobilenetv3_small");
  EXPECT_EQ(cells[0].get("seed"), "1");
  EXPECT_EQ(cells[1].get("seed"), "2");
  EXPECT_EQ(cells[2].get("policy"), "gpu-only");
  EXPECT_EQ(cells[11].get("model"), "resnet18");
  EXPECT_EQ(cells[5].get("requests"), "20");
  EXPECT_EQ(cells[5].get("option"), "a=1;b=2");
  std::set<std::string> ids;
  for (const auto& c : cells) ids.insert(c.id);
  EXPECT_EQ(ids.size(), 12u);
}

TEST(Experiment, CellIdsSurviveReorderingAndNewLevels) {
  const auto a = expand_cells(parse_experiment(kGood, "exp.yaml"));
  std::string other = kGood;
  other.replace(other.find("seed: [1, 2]"), 12, "seed: [2, 1, 3]");
  other.replace(other.find("name: t"), 7, "name: renamed");
  const auto b = expand_cells(parse_experiment(other, "elsewhere/exp.yaml"));
  std::set<std::string> ids_b;
  for (const auto& c : b) ids_b.insert(c.id);
  for (const auto& c : a) EXPECT_TRUE(ids_b.count(c.id)) << c.id;
  EXPECT_EQ(b.size(), 18u);
  // A changed fixed setting is another cell.
  std::string changed = kGood;
  changed.replace(changed.find("requests: 20"), 12, "requests: 21");
  EXPECT_NE(expand_cells(parse_experiment(changed, "exp.yaml"))[0].id, a[0].id);
}

TEST(Experiment, SchemaErrorsNameTheKey) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string t = kGood;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  EXPECT_NE(error_of(with("name: t", "name: t\ncolour: red")).find("exp.yaml: colour: unknown key"), std::string::npos);
  EXPECT_NE(error_of(with("  seed: [1, 2]", "  seed: []")).find("matrix.seed: empty list"), std::string::npos);
  EXPECT_NE(error_of(with("  seed: [1, 2]", "  colour: [1, 2]")).find("command simulate takes no key 'colour'"),
            std::string::npos);
  EXPECT_NE(error_of(with("  requests: 20", "  seed: 3")).find("fixed.seed: is also a factor"), std::string::npos);
  EXPECT_NE(error_of(with("  seed: [1, 2]", "  seed: [1, 1]")).find("level '1' twice"), std::string::npos);
  EXPECT_NE(error_of(with("  seed: [1, 2]", "  seed: [one]")).find("non-negative integer"), std::string::npos);
  EXPECT_NE(error_of(with("command: simulate", "command: dance")).find("unknown command 'dance'"), std::string::npos);
  EXPECT_NE(error_of(with("schema_version: 1", "schema_version: 2")).find("this reader knows 1"), std::string::npos);
  EXPECT_NE(error_of(std::string(kGood) + "metrics: [latency_mean_ms, speed]\n").find("writes no column 'speed'"),
            std::string::npos);
  EXPECT_NE(error_of("schema_version: 1\nname: t\ncommand: simulate\nmatrix: {}\n").find("matrix: expected a mapping"),
            std::string::npos);
  EXPECT_NE(error_of("schema_version: 1\nname: t\ncommand: simulate\n").find("matrix"), std::string::npos);
  EXPECT_NE(error_of("[1, 2").find("malformed YAML"), std::string::npos);
  EXPECT_NE(error_of(with("name: t", "name: a/b")).find("name: use letters"), std::string::npos);
  EXPECT_NE(error_of(with("name: t", "name: ..")).find("name: use letters"), std::string::npos);
  EXPECT_NE(error_of(with("  seed: [1, 2]", "  seed: [1, 2]\n  seed: [3]")).find("matrix.seed: duplicate key 'seed' at line"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kGood) + "fixed:\n  batch: 2\n").find("exp.yaml: fixed: duplicate key 'fixed' at line"),
            std::string::npos);
  EXPECT_NE(error_of(with("  requests: 20", "  requests: 20\n  perturb: gpu_eficiency=0.7")).find("unknown key 'gpu_eficiency'"),
            std::string::npos);
  EXPECT_EQ(error_of(kGood), "");
}

TEST(Experiment, HeaderHasSettingsOutputsAndProvenance) {
  std::string t = kGood;
  t += "metrics: [latency_mean_ms, model, energy_per_inference_J]\n";
  const Experiment e = parse_experiment(t, "exp.yaml");
  const auto h = results_header(e);
  const std::vector<std::string> want_start = {"cell", "row", "rows", "status", "error", "wall_s", "model", "policy",
                                               "seed", "platform", "requests", "option", "latency_mean_ms",
                                               "energy_per_inference_J", "config_sha256"};
  ASSERT_GE(h.size(), want_start.size());
  EXPECT_EQ(std::vector<std::string>(h.begin(), h.begin() + std::ptrdiff_t(want_start.size())), want_start);
  EXPECT_EQ(h.back(), "finished_at");
}

TEST(Results, CsvFieldsRoundTrip) {
  const std::vector<std::string> f = {"plain", "a,b", "say \"hi\"", "", " lead", "x"};
  std::string line = csv_line(f);
  line.pop_back();
  EXPECT_EQ(split_csv_line(line, "t"), f);
  EXPECT_THROW(split_csv_line("\"open", "t"), Error);
}

class ResultsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(SPAROA_TEST_DATA_DIR) / "experiments_test" / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::vector<std::string> row(const std::string& id, int r, int n, const std::string& status = "ok") {
    return {id, std::to_string(r), std::to_string(n), status, "", "0.1"};
  }
  const std::vector<std::string> header_ = {"cell", "row", "rows", "status", "error", "wall_s"};
  fs::path dir_;
};

TEST_F(ResultsFileTest, TornAndIncompleteCellsAreDroppedAndDuplicatesIgnored) {
  const fs::path f = dir_ / "results.csv";
  append_block(f, header_, csv_line(row("a", 0, 2)) + csv_line(row("a", 1, 2)));
  append_block(f, header_, csv_line(row("b", 0, 1, "failed")));
  append_block(f, header_, csv_line(row("c", 0, 3)) + csv_line(row("c", 1, 3)));  // cut short after 2 of 3 rows
  append_block(f, header_, csv_line(row("a", 0, 2)) + csv_line(row("a", 1, 2)));  // a second record of a
  {
    std::ofstream out(f, std::ios::app);
    out << "d,0,1,ok,,0.";  // a write cut in the middle of a line
  }
  const ResultsFile r = read_results(f, header_);
  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_EQ(r.cells[0].id, "a");
  EXPECT_EQ(r.cells[0].rows.size(), 2u);
  EXPECT_TRUE(r.cells[0].ok);
  EXPECT_EQ(r.cells[1].id, "b");
  EXPECT_FALSE(r.cells[1].ok);
  EXPECT_EQ(r.dropped_rows, 3u);  // c's two rows and the torn line
  EXPECT_EQ(r.duplicate_cells, 1u);

  // Repair rewrites results.csv with the complete cells only; shards are left as they are.
  fs::create_directories(dir_ / "shards");
  append_block(dir_ / "shards" / "shard-0.csv", header_, csv_line(row("b", 0, 1)) + csv_line(row("e", 0, 1)));
  const auto all = recorded_cells(dir_, header_, true);
  EXPECT_EQ(all.size(), 3u);
  EXPECT_TRUE(all.at("b").ok) << "a successful record is preferred over a failed one";
  EXPECT_TRUE(fs::exists(dir_ / "results.csv.bak")) << "rows were dropped: the old file is kept";
  const ResultsFile again = read_results(f, header_);
  EXPECT_EQ(again.dropped_rows, 0u);
  EXPECT_EQ(again.duplicate_cells, 0u);
  EXPECT_EQ(again.cells.size(), 2u);
}

TEST_F(ResultsFileTest, ARetryThatRanWellReplacesTheFailedRecord) {
  const fs::path f = dir_ / "results.csv";
  append_block(f, header_, csv_line(row("x", 0, 1, "failed")));
  append_block(f, header_, csv_line(row("x", 0, 1, "ok")));
  append_block(f, header_, csv_line(row("x", 0, 1, "failed")));  // and a later failure does not undo it
  const ResultsFile r = read_results(f, header_);
  ASSERT_EQ(r.cells.size(), 1u);
  EXPECT_TRUE(r.cells[0].ok);
  EXPECT_EQ(r.duplicate_cells, 2u);
  EXPECT_TRUE(recorded_cells(dir_, header_, true).at("x").ok);
  EXPECT_TRUE(read_results(f, header_).cells.at(0).ok) << "the repair kept the record that ran well";
  EXPECT_FALSE(fs::exists(dir_ / "results.csv.bak")) << "nothing was lost, so no backup";
}

TEST_F(ResultsFileTest, AnAppendAfterATornLineAndInterleavedRecordsAreRead) {
  const fs::path f = dir_ / "results.csv";
  append_block(f, header_, csv_line(row("a", 0, 1)));
  {
    std::ofstream torn(f, std::ios::app);
    torn << "b,0,1,failed,\"an error cut sho";  // inside a quoted field
  }
  // Two writers' records interleaved row by row (rows of one record stay in order).
  append_block(f, header_, csv_line(row("c", 0, 2)) + csv_line(row("d", 0, 2)) + csv_line(row("c", 1, 2)) +
                               csv_line(row("d", 1, 2)));
  const ResultsFile r = read_results(f, header_);
  ASSERT_EQ(r.cells.size(), 3u);
  EXPECT_EQ(r.cells[1].id, "c");
  EXPECT_EQ(r.cells[2].id, "d");
  EXPECT_EQ(r.dropped_rows, 1u);
}

TEST_F(ResultsFileTest, OneProcessHoldsAFolder) {
  FolderLock first(dir_);
  EXPECT_THROW(FolderLock second(dir_), Error);
}

TEST_F(ResultsFileTest, ForeignHeaderIsRefused) {
  const fs::path f = dir_ / "results.csv";
  append_block(f, {"cell", "something"}, "x,y\n");
  try {
    read_results(f, header_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another experiment"), std::string::npos) << e.what();
  }
}

TEST_F(ResultsFileTest, InvocationResolvesPathsAndPerturbsThePlatform) {
  std::ofstream(dir_ / "trace.csv") << "time_us,action,target,value\n";
  const std::string text = std::string(R"(schema_version: 1
name: t
command: simulate
matrix:
  perturb: [none, gpu_efficiency=0.7;dram_bandwidth=1.3]
  state: [idle, trace.csv]
fixed:
  model: mobilenetv3_small
  platform: agx-orin-64gb-maxn
  policy: greedy-eft
  option: [a=1, b=2]
)");
  std::ofstream(dir_ / "exp.yaml") << text;
  const Experiment e = read_experiment(dir_ / "exp.yaml");
  const auto cells = expand_cells(e);
  ASSERT_EQ(cells.size(), 4u);
  const Invocation plain = build_invocation(e, cells[0], dir_ / "cells" / cells[0].id);
  auto has = [](const Invocation& inv, const std::vector<std::string>& seq) {
    return std::search(inv.args.begin(), inv.args.end(), seq.begin(), seq.end()) != inv.args.end();
  };
  EXPECT_EQ(plain.args.front(), "simulate");
  EXPECT_TRUE(has(plain, {"--option", "a=1", "--option", "b=2"}));
  EXPECT_FALSE(has(plain, {"--state"})) << "idle is no trace";
  EXPECT_TRUE(has(plain, {"--summary", (dir_ / "cells" / cells[0].id / "output.csv").string()}));
  const auto shipped = platforms::read_platform(platforms::resolve_platform_path("agx-orin-64gb-maxn"));
  EXPECT_EQ(plain.platform_sha256, shipped.sha256);
  const Invocation traced = build_invocation(e, cells[1], dir_ / "cells" / cells[1].id);
  EXPECT_TRUE(has(traced, {"--state", fs::absolute(dir_ / "trace.csv").lexically_normal().string()}));
  EXPECT_FALSE(traced.inputs_sha256.empty());

  const Invocation perturbed = build_invocation(e, cells[2], dir_ / "cells" / cells[2].id);
  const fs::path written = dir_ / "cells" / cells[2].id / "platform.yaml";
  EXPECT_TRUE(has(perturbed, {"--platform", written.string()}));
  const auto p = platforms::read_platform(written);
  EXPECT_NE(perturbed.platform_sha256, shipped.sha256);
  EXPECT_NEAR(p.memory_domains[0].bandwidth_GBps, shipped.memory_domains[0].bandwidth_GBps * 1.3, 1e-9);
  for (std::size_t i = 0; i < p.cost_model.entries.size(); ++i) {
    const auto& a = shipped.cost_model.entries[i];
    const auto& b = p.cost_model.entries[i];
    if (a.device_kind == "gpu") {
      EXPECT_NEAR(b.compute_efficiency, a.compute_efficiency * 0.7, 1e-12);
    } else {
      EXPECT_EQ(b.compute_efficiency, a.compute_efficiency);
    }
  }
  EXPECT_NE(p.provenance.notes.find("gpu_efficiency x0.7"), std::string::npos);

  std::ofstream(dir_ / "bad.yaml") << "schema_version: 1\nname: t\ncommand: simulate\nmatrix:\n  state: [missing.csv]\n";
  const Experiment bad = read_experiment(dir_ / "bad.yaml");
  EXPECT_THROW(build_invocation(bad, expand_cells(bad)[0], dir_ / "cells" / "x"), Error);
}

TEST(Perturb, RefusesUnknownKeysAndBadFactors) {
  auto p = platforms::read_platform(platforms::resolve_platform_path("orin-nano-8gb-15w"));
  EXPECT_THROW(platforms::perturb_platform(p, "gpu_speed=2", "w"), Error);
  EXPECT_THROW(platforms::perturb_platform(p, "gpu_efficiency=-1", "w"), Error);
  EXPECT_THROW(platforms::perturb_platform(p, "gpu_efficiency=abc", "w"), Error);
  EXPECT_THROW(platforms::perturb_platform(p, "gpu_efficiency", "w"), Error);
  const auto before = p;
  platforms::perturb_platform(p, "none", "w");
  EXPECT_EQ(p, before);
  platforms::perturb_platform(p, "launch_overhead=1.3;gpu_efficiency=100", "w");
  for (const auto& e : p.cost_model.entries) {
    EXPECT_LE(e.compute_efficiency_max, 1.0);
  }
  EXPECT_NE(p.provenance.notes.find("capped at efficiency 1"), std::string::npos);
}

}  // namespace
}  // namespace sparoa::experiments
