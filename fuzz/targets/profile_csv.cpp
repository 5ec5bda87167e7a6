// Profile CSV (`sparoa profile` output, `sparoa calibrate` input): '# key: value' header lines,
// then the column row and one row per measurement. The first parse is the magic line.
#include "fuzz/fuzz_support.hpp"
#include "platforms/profile.hpp"

SPAROA_FUZZ_TARGET(profile_csv) {
  sparoa::fuzz::count_input("profile_csv");
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.rfind("# sparoa profile", 0) == 0) sparoa::fuzz::count_parsed();
  sparoa::fuzz::expect_clean([&] { sparoa::platforms::parse_profile_csv(text, "fuzz.csv"); });
  return 0;
}
