// Platform YAML: devices, pstates, power modes, memory domains, links, cost parameters.
#include "fuzz/fuzz_support.hpp"
#include "support/yaml_load.hpp"
#include "platforms/platform.hpp"

SPAROA_FUZZ_TARGET(platform_yaml) {
  sparoa::fuzz::count_input("platform_yaml");
  const std::string text(reinterpret_cast<const char*>(data), size);
  // The first parse is libyaml's, under our limits (support/yaml_load.hpp); yaml-cpp's own
  // parser only ever sees text that passed it.
  try {
    sparoa::check_yaml_text(text, "fuzz.yaml");
    sparoa::fuzz::count_parsed();
  } catch (const sparoa::Error&) {
  }
  sparoa::fuzz::expect_clean([&] { sparoa::platforms::parse_platform(text, "fuzz.yaml"); });
  return 0;
}
