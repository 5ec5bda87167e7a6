// The trace CSVs (records, power samples, state samples): the first byte picks the reader,
// the rest is the file. The first parse is the header row, learnt from our own writers.
#include <sstream>

#include "fuzz/fuzz_support.hpp"
#include "traces/trace_csv.hpp"

namespace {
template <class Write>
std::string header_of(Write write) {
  std::ostringstream out;
  write(out);
  return sparoa::fuzz::first_data_line(out.str());
}
}  // namespace

SPAROA_FUZZ_TARGET(trace_csv) {
  using namespace sparoa::traces;
  sparoa::fuzz::count_input("trace_csv");
  static const std::string headers[3] = {
      header_of([](std::ostream& o) { write_trace_csv(o, Trace{}); }),
      header_of([](std::ostream& o) { write_power_csv(o, {}); }),
      header_of([](std::ostream& o) { write_state_csv(o, {}); }),
  };
  if (size == 0) return 0;
  const int which = data[0] % 3;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (sparoa::fuzz::header_line_is(text, headers[which])) sparoa::fuzz::count_parsed();
  std::istringstream in(text);
  sparoa::fuzz::expect_clean([&] {
    if (which == 0) read_trace_csv(in, "fuzz.csv");
    if (which == 1) read_power_csv(in, "fuzz.power.csv");
    if (which == 2) read_state_csv(in, "fuzz.state.csv");
  });
  return 0;
}
