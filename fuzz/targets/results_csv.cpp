// Sweep results and shard files (`sparoa sweep`, `sweep collect` read them back to resume):
// blocks of rows per cell, each row carrying its block's size; torn and repeated blocks.
// The header is that of a simulate experiment; the first parse is the header row.
#include "experiments/results.hpp"
#include "fuzz/fuzz_support.hpp"

SPAROA_FUZZ_TARGET(results_csv) {
  sparoa::fuzz::count_input("results_csv");
  using namespace sparoa::experiments;
  static const std::vector<std::string> header = [] {
    std::vector<std::string> h = kLeadColumns;
    h.insert(h.end(), {"model", "latency_ms"});
    h.insert(h.end(), kProvenanceColumns.begin(), kProvenanceColumns.end());
    return h;
  }();
  static const std::string header_line = [] {
    std::string l = csv_line(header);
    l.pop_back();
    return l;
  }();
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (sparoa::fuzz::header_line_is(text, header_line)) sparoa::fuzz::count_parsed();
  const sparoa::fuzz::MemFile file(text, "results.csv");
  sparoa::fuzz::expect_clean([&] { read_results(file.path(), header); });
  return 0;
}
