// Replays every committed seed and every input that once crashed a fuzz target (fuzz/) through
// the same harness code, in the ordinary and the sanitizer builds: a fixed crash stays fixed
// without clang or libFuzzer. The harness itself turns any exception but sparoa::Error into a
// test failure here, and ASan/UBSan catch the rest in the sanitizer build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<std::string> target_names() {
  std::vector<std::string> names;
  std::istringstream in(SPAROA_FUZZ_TARGET_NAMES);  // "a,b,c"
  for (std::string n; std::getline(in, n, ',');) names.push_back(n);
  return names;
}

std::vector<fs::path> input_folders(const std::string& target) {
  const fs::path root = SPAROA_SOURCE_DIR;
  std::vector<fs::path> dirs = {root / "fuzz/seeds" / target, root / "fuzz/regressions" / target};
  std::ifstream list(root / "fuzz/seed_dirs.txt");
  for (std::string t, d; list >> t;) {
    if (t.front() == '#') {
      std::getline(list, d);
      continue;
    }
    list >> d;
    if (t == target) dirs.push_back(root / d);
  }
  return dirs;
}

std::string bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class FuzzRegression : public testing::TestWithParam<std::string> {};

TEST_P(FuzzRegression, EverySeedAndSavedCrashIsHandled) {
  const std::string target = GetParam();
  const sparoa::fuzz::Entry entry = sparoa::fuzz::find_target(target);
  ASSERT_NE(entry, nullptr) << "no harness registered for " << target;
  int inputs = 0;
  for (const fs::path& dir : input_folders(target)) {
    if (!fs::is_directory(dir)) continue;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && e.path().filename().string().front() != '.') files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      SCOPED_TRACE(f.string());
      const std::string bytes = bytes_of(f);
      EXPECT_NO_THROW(entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      ++inputs;
    }
  }
  // Every target has committed seeds: a target replaying nothing would prove nothing.
  EXPECT_GT(inputs, 0) << "no seeds for " << target;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegression, testing::ValuesIn(target_names()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
