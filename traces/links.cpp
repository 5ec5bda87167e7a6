#include "traces/links.hpp"

#include <map>
#include <string>
#include <tuple>

namespace sparoa::traces {

std::string_view to_string(LinkKind kind) {
  switch (kind) {
    case LinkKind::transfer: return "transfer";
    case LinkKind::launch: return "launch";
  }
  return "?";
}

std::vector<Link> find_links(const Trace& trace) {
  // One operator execution is identified by where it ran in the run, not by time: that is
  // what both the simulator and the hardware backend know when they emit the record.
  using Key = std::tuple<Source, const std::string&, std::int64_t, std::int64_t, std::int64_t,
                         const std::string&>;
  auto key_of = [](const Record& r) {
    return Key{r.source, r.run_id, r.request_id, r.batch_id, r.iteration, r.op};
  };
  std::map<Key, std::size_t> op_record;
  const auto& records = trace.records;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].record == RecordKind::op) op_record.emplace(key_of(records[i]), i);
  }
  std::vector<Link> links;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    if (r.record != RecordKind::transfer && r.record != RecordKind::launch) continue;
    auto it = op_record.find(key_of(r));
    if (it == op_record.end()) continue;
    if (r.record == RecordKind::transfer) {
      links.push_back({LinkKind::transfer, it->second, i});
    } else {
      links.push_back({LinkKind::launch, i, it->second});
    }
  }
  return links;
}

}  // namespace sparoa::traces
