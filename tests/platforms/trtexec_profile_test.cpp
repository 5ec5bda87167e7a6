// trtexec --exportProfile files: the documented layout is read, and every malformed file is one
// error naming the file and the layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "platforms/trtexec_profile.hpp"
#include "support/error.hpp"

namespace sparoa::platforms {
namespace {

namespace fs = std::filesystem;

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("sparoa_trt_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(p) << text;
  return p;
}

TEST(TrtexecProfile, ReadsTheDocumentedLayout) {
  const auto p = write("ok.json", R"([{"count": 10},
    {"name": "conv1 + relu1", "timeMs": 1.0, "averageMs": 0.1, "medianMs": 0.09, "percentage": 50},
    {"name": "fc", "timeMs": 1.0, "averageMs": 0.1, "percentage": 50}])");
  const TrtProfile t = read_trtexec_profile(p);
  EXPECT_EQ(t.count, 10);
  ASSERT_EQ(t.layers.size(), 2u);
  EXPECT_EQ(t.layers[0].name, "conv1 + relu1");
  EXPECT_DOUBLE_EQ(*t.layers[0].median_ms, 0.09);
  EXPECT_FALSE(t.layers[1].median_ms.has_value());  // before TensorRT 8.4
  EXPECT_DOUBLE_EQ(t.average_total_ms(), 0.2);
}

TEST(TrtexecProfile, MalformedFilesAreOneErrorNamingFileAndLayer) {
  struct Case {
    std::string text, expect;
  };
  for (const Case& c : {Case{"not json", "not JSON"}, Case{R"({"count": 3})", "expected a JSON array"},
                        Case{R"([{"name": "a"}])", "the first element must be {\"count\": N}"},
                        Case{R"([{"count": 0}, {"name": "a", "timeMs": 1, "averageMs": 1}])", "N >= 1"},
                        Case{R"([{"count": 1}])", "no layers"},
                        Case{R"([{"count": 1}, {"timeMs": 1, "averageMs": 1}])", "layer 1: no \"name\""},
                        Case{R"([{"count": 1}, {"name": "a", "timeMs": 1}])", "layer 1 ('a'): no \"averageMs\""},
                        Case{R"([{"count": 1}, {"name": "a", "timeMs": 1, "averageMs": "x"}])", "\"averageMs\" is not a number"},
                        Case{R"([{"count": 1}, {"name": "a", "timeMs": -1, "averageMs": 1}])", "\"timeMs\" must be a finite time"}}) {
    const auto p = write("bad.json", c.text);
    try {
      read_trtexec_profile(p);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.expect), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(read_trtexec_profile("/nonexistent/profile.json"), Error);
}

}  // namespace
}  // namespace sparoa::platforms
