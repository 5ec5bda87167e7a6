// State trace CSV (pstate, power_mode and background changes over time), checked against a
// shipped platform. Our own format: the first parse is the header line.
#include "fuzz/fuzz_support.hpp"
#include "platforms/platform.hpp"
#include "platforms/state_trace.hpp"

SPAROA_FUZZ_TARGET(state_trace) {
  sparoa::fuzz::count_input("state_trace");
  static const sparoa::platforms::Platform platform =
      sparoa::platforms::read_platform(SPAROA_SOURCE_DIR "/platforms/agx-orin-64gb-maxn.yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (sparoa::fuzz::header_line_is(text, "time_us,action,target,value")) sparoa::fuzz::count_parsed();
  sparoa::fuzz::expect_clean([&] { sparoa::platforms::parse_state_trace(text, "fuzz.csv", platform); });
  return 0;
}
