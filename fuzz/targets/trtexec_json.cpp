// trtexec --exportProfile JSON, read by `sparoa calibrate --trtexec`. The first parse is JSON.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "platforms/trtexec_profile.hpp"

SPAROA_FUZZ_TARGET(trtexec_json) {
  sparoa::fuzz::count_input("trtexec_json");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (nlohmann::json::accept(text)) sparoa::fuzz::count_parsed();
  const sparoa::fuzz::MemFile file(text, "trtexec.json");
  sparoa::fuzz::expect_clean([&] { sparoa::platforms::read_trtexec_profile(file.path()); });
  return 0;
}
