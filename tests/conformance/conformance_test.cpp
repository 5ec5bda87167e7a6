// ONNX conformance: imports every case of onnx 1.12's backend node test suite (generated into
// the build folder by scripts/conformance/generate.py) whose operators the importer supports,
// and checks the coverage against a committed floor. See tests/conformance/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "graph/onnx_import.hpp"
#include "support/error.hpp"

namespace {

namespace fs = std::filesystem;
using sparoa::graph::kMaxOpset;
using sparoa::graph::kMinOpset;

// Item 4 of the importer's brief: each must have at least one imported case.
const std::vector<std::string> kRequiredOps = {
    "Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu",
    "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Erf", "Softmax", "LayerNormalization",
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "ReduceMean", "Concat", "Split", "Slice",
    "Gather", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Pad", "MaxPool",
    "AveragePool", "GlobalAveragePool", "Resize", "ConvTranspose", "Cast", "Exp", "Log", "Max",
    "Min", "ReduceSum", "ReduceMax", "Expand", "Where", "Equal", "Greater", "Less", "Tile",
    "Identity", "Dropout"};
// Folded to constants when their inputs are static: not run-time operators, so not in
// supported_operator_types(), but the importer accepts them, so cases with them are tried (a
// case where one cannot fold must fail or be listed in expected_failures.txt). Shown in the
// table, not required (a model made of nothing else folds away entirely).
const std::vector<std::string>& kFoldedOps = sparoa::graph::folded_operator_types();

// Run-time operators plus the folded ones: what a case may contain to be tried.
std::set<std::string> accepted_operator_types() {
  const auto& supported = sparoa::graph::supported_operator_types();
  std::set<std::string> out(supported.begin(), supported.end());
  out.insert(kFoldedOps.begin(), kFoldedOps.end());
  return out;
}

fs::path suite_dir() {
  if (const char* env = std::getenv("SPAROA_CONFORMANCE_DIR"); env && *env) return env;
  return SPAROA_CONFORMANCE_DIR;
}
fs::path committed(const char* name) {
  return fs::path(SPAROA_SOURCE_DIR) / "tests" / "conformance" / name;
}

struct Case {
  std::string name;
  std::int64_t opset = 0;
  std::vector<std::string> op_types;
};

enum class Outcome {
  kUnsupported,     // has an operator the importer does not list: not tried
  kOpsetOutOfRange, // all operators supported but opset outside [kMinOpset, kMaxOpset]: must be rejected
  kImported,
  kFailed,
  kRunTimeFoldOnly,  // a fold-only operator (And, Range, ...) fed by run-time inputs: must be rejected
};

struct Result {
  Case c;
  Outcome outcome = Outcome::kFailed;
  bool threw = false;
  std::string error;  // the exception's message when the import threw
};

struct Suite {
  std::vector<Result> results;
  std::map<std::string, std::string> expected_failures;  // case -> reason
  double seconds = 0;
  std::string load_error;  // non-empty when the suite itself could not be read
};

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<Case> read_cases(const fs::path& tsv) {
  std::ifstream in(tsv);
  if (!in) throw sparoa::Error(tsv.string(), "cannot open (is the suite generated?)");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    std::string opset, ops;
    if (!std::getline(fields, c.name, '\t') || !std::getline(fields, opset, '\t') ||
        !std::getline(fields, ops)) {
      throw sparoa::Error(tsv.string(), "malformed line '" + line + "'");
    }
    c.opset = std::stoll(opset);
    std::istringstream op_list(ops);
    for (std::string op; std::getline(op_list, op, ',');) c.op_types.push_back(op);
    cases.push_back(std::move(c));
  }
  return cases;
}

// `case_name  reason`, one a line; '#' starts a comment line.
std::map<std::string, std::string> read_expected_failures(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw sparoa::Error(path.string(), "cannot open");
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto sep = line.find_first_of(" \t");
    const std::string reason = sep == std::string::npos ? "" : trim(line.substr(sep));
    if (reason.empty()) throw sparoa::Error(path.string(), "no reason given for '" + line + "'");
    if (!out.emplace(line.substr(0, sep), reason).second) {
      throw sparoa::Error(path.string(), "'" + line.substr(0, sep) + "' listed twice");
    }
  }
  return out;
}

long read_floor(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty() && line[0] != '#') return std::stol(line);
  }
  throw sparoa::Error(path.string(), "no number in it");
}

Suite run_suite() {
  Suite suite;
  std::vector<Case> cases;
  try {
    cases = read_cases(suite_dir() / "cases.tsv");
    suite.expected_failures = read_expected_failures(committed("expected_failures.txt"));
  } catch (const std::exception& e) {
    suite.load_error = e.what();
    return suite;
  }
  const auto supported_set = accepted_operator_types();

  const auto start = std::chrono::steady_clock::now();
  for (auto& c : cases) {
    Result r;
    const bool all_supported = std::all_of(c.op_types.begin(), c.op_types.end(),
                                           [&](const auto& op) { return supported_set.count(op); });
    if (!all_supported) {
      r.outcome = Outcome::kUnsupported;
    } else {
      r.threw = true;
      try {
        (void)sparoa::graph::import_onnx(suite_dir() / "node" / c.name / "model.onnx");
        r.threw = false;
      } catch (const sparoa::Error& e) {
        r.error = e.what();
      } catch (const std::exception& e) {
        r.error = std::string("not a sparoa::Error: ") + e.what();
      } catch (...) {
        r.error = "not a sparoa::Error: an exception of unknown type";
      }
      // Shape and Constant always fold in these single-operator cases; the other fold-only
      // operators are applied to graph inputs here, which the importer must refuse.
      const bool runtime_fold_only =
          r.threw && r.error.find("computes on run-time values") != std::string::npos &&
          std::any_of(c.op_types.begin(), c.op_types.end(), [](const std::string& op) {
            return op != "Shape" && op != "Constant" &&
                   std::find(kFoldedOps.begin(), kFoldedOps.end(), op) != kFoldedOps.end();
          });
      if (c.opset < kMinOpset || c.opset > kMaxOpset) {
        r.outcome = Outcome::kOpsetOutOfRange;  // SupportedCasesImport checks it threw
      } else if (runtime_fold_only) {
        r.outcome = Outcome::kRunTimeFoldOnly;
      } else {
        r.outcome = r.threw ? Outcome::kFailed : Outcome::kImported;
      }
    }
    r.c = std::move(c);
    suite.results.push_back(std::move(r));
  }
  suite.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return suite;
}

// Each test binary process imports the suite once (ctest runs each test in its own process).
const Suite& suite() {
  static const Suite s = run_suite();
  return s;
}

// The error's first line, without the suite's folder in the path (the case name says it).
std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  const std::string prefix = (suite_dir() / "node").string() + "/";
  for (auto at = line.find(prefix); at != std::string::npos; at = line.find(prefix)) {
    line.erase(at, prefix.size());
  }
  return line;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
  return out;
}

TEST(OnnxConformance, SuiteIsGenerated) {
  const auto& s = suite();
  ASSERT_TRUE(s.load_error.empty()) << s.load_error;
  EXPECT_TRUE(fs::is_regular_file(suite_dir() / "manifest.json")) << suite_dir();
  // onnx 1.12 writes 922 node cases; generate.py adds opset-11 copies of the older ones.
  EXPECT_GE(s.results.size(), 900u) << "suite at " << suite_dir() << " looks truncated";
  for (const auto& r : s.results) {
    EXPECT_TRUE(fs::is_regular_file(suite_dir() / "node" / r.c.name / "model.onnx")) << r.c.name;
  }
}

TEST(OnnxConformance, SupportedCasesImport) {
  const auto& s = suite();
  ASSERT_TRUE(s.load_error.empty()) << s.load_error;
  std::map<std::string, const Result*> by_name;
  for (const auto& r : s.results) by_name[r.c.name] = &r;

  for (const auto& r : s.results) {
    const bool listed = s.expected_failures.count(r.c.name) > 0;
    switch (r.outcome) {
      case Outcome::kUnsupported:
      case Outcome::kRunTimeFoldOnly:
        break;
      case Outcome::kOpsetOutOfRange:
        if (!r.threw) {
          ADD_FAILURE() << r.c.name << ": imported although its opset " << r.c.opset
                        << " is outside " << kMinOpset << "-" << kMaxOpset;
        }
        break;
      case Outcome::kImported:
        if (listed) {
          ADD_FAILURE() << r.c.name << " imports now: remove it from "
                        << "tests/conformance/expected_failures.txt ("
                        << s.expected_failures.at(r.c.name) << ")";
        }
        break;
      case Outcome::kFailed:
        if (!listed) {
          ADD_FAILURE() << r.c.name << " (" << join(r.c.op_types) << "; opset " << r.c.opset
                        << ") failed to import: " << first_line(r.error);
        }
        break;
    }
    if (r.threw && r.error.rfind("not a sparoa::Error", 0) == 0) {
      ADD_FAILURE() << r.c.name << ": " << first_line(r.error);
    }
  }
  for (const auto& [name, reason] : s.expected_failures) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      ADD_FAILURE() << "expected_failures.txt lists '" << name << "', which is not in the suite";
    } else if (it->second->outcome == Outcome::kUnsupported ||
               it->second->outcome == Outcome::kOpsetOutOfRange ||
               it->second->outcome == Outcome::kRunTimeFoldOnly) {
      ADD_FAILURE() << "expected_failures.txt lists '" << name
                    << "', which is never tried (unsupported operator or opset outside "
                    << kMinOpset << "-" << kMaxOpset << "): remove it";
    }
  }
}

TEST(OnnxConformance, CoverageMeetsFloor) {
  const auto& s = suite();
  ASSERT_TRUE(s.load_error.empty()) << s.load_error;
  const auto supported_set = accepted_operator_types();

  struct Row {
    long imported = 0, total = 0, other_unsupported = 0, opset = 0, failed = 0;
  };
  std::map<std::string, Row> rows;
  long imported = 0, unsupported = 0, out_of_range = 0, expected = 0, unexpected = 0, runtime_fold_only = 0;
  for (const auto& r : s.results) {
    for (const auto& op : r.c.op_types) {
      auto& row = rows[op];
      ++row.total;
      switch (r.outcome) {
        case Outcome::kImported: ++row.imported; break;
        case Outcome::kUnsupported: row.other_unsupported += supported_set.count(op); break;
        case Outcome::kOpsetOutOfRange: ++row.opset; break;
        case Outcome::kFailed: ++row.failed; break;
        case Outcome::kRunTimeFoldOnly: row.other_unsupported += supported_set.count(op); break;
      }
    }
    switch (r.outcome) {
      case Outcome::kImported: ++imported; break;
      case Outcome::kUnsupported: ++unsupported; break;
      case Outcome::kOpsetOutOfRange: ++out_of_range; break;
      case Outcome::kFailed: ++(s.expected_failures.count(r.c.name) ? expected : unexpected); break;
      case Outcome::kRunTimeFoldOnly: ++runtime_fold_only; break;
    }
  }

  const std::set<std::string> folded(kFoldedOps.begin(), kFoldedOps.end());
  const auto label = [&](const std::string& op) {
    if (folded.count(op)) return op + " (folded)";
    return supported_set.count(op) ? op : op + " (unsupported)";
  };
  int width = 16;
  for (const auto& op : kRequiredOps) width = std::max(width, int(label(op).size()) + 1);
  for (const auto& [op, row] : rows) width = std::max(width, int(label(op).size()) + 1);

  std::ostringstream table;
  const auto print_row = [&](const std::string& op) {
    const Row& row = rows[op];
    table << "  " << std::left << std::setw(width) << label(op) << std::right
          << std::setw(5) << row.imported << " /" << std::setw(4) << row.total << std::setw(11)
          << row.other_unsupported << std::setw(8) << row.opset << std::setw(8) << row.failed
          << '\n';
  };
  table << "ONNX node conformance (onnx 1.12 backend node tests, " << suite_dir().filename().string()
        << "): " << s.results.size() << " cases, importing took " << std::fixed
        << std::setprecision(2) << s.seconds << " s\n"
        << "  " << std::left << std::setw(width) << "operator type" << std::right
        << " imported / total  other-op  opset  failed\n"
        << "  -- required (item 4) --\n";
  std::set<std::string> shown;
  for (const auto& op : kRequiredOps) print_row(op), shown.insert(op);
  table << "  -- folded when static --\n";
  for (const auto& op : kFoldedOps) print_row(op), shown.insert(op);
  table << "  -- every other operator type seen --\n";
  for (const auto& [op, row] : rows) {
    if (!shown.count(op)) print_row(op);
  }
  table << "  overall: " << imported << " / " << s.results.size() << " cases imported; "
        << unsupported << " with an unsupported operator, " << out_of_range
        << " with an opset outside " << kMinOpset << "-" << kMaxOpset << ", " << runtime_fold_only
        << " with a fold-only operator on run-time inputs (rejected), " << expected
        << " expected failures, " << unexpected << " unexpected failures\n"
        << "  (other-op: not tried because another operator of the case is unsupported;\n"
        << "   opset: rejected for the model's opset; failed: threw although supported;\n"
        << "   fold-only operators on run-time inputs count as other-op)\n";
  std::cout << table.str() << std::flush;

  const long floor = read_floor(committed("coverage_floor.txt"));
  EXPECT_GE(imported, floor) << "imported cases fell below tests/conformance/coverage_floor.txt";
  if (imported > floor) {
    std::cout << "note: " << imported << " cases import, the floor is " << floor
              << ": raise tests/conformance/coverage_floor.txt\n";
  }
  for (const auto& op : kRequiredOps) {
    EXPECT_GT(rows[op].imported, 0)
        << op << " has no imported conformance case"
        << (supported_set.count(op) ? "" : " (not in supported_operator_types())");
  }
}

}  // namespace
