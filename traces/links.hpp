#pragma once
// Which records cause which: a transfer moves the output of an operator, a launch starts a
// GPU operator. Derived from the normative columns (see Record), so a trace read back from
// CSV has the same links as the one written.
#include <cstddef>
#include <string_view>
#include <vector>

#include "traces/record.hpp"

namespace sparoa::traces {

enum class LinkKind { transfer, launch };
std::string_view to_string(LinkKind kind);

// Indices into Trace::records.
//  transfer: from = the op record of the operator whose output moves, to = the transfer.
//  launch:   from = the launch record, to = the op record of the operator it launched.
struct Link {
  LinkKind kind;
  std::size_t from;
  std::size_t to;

  bool operator==(const Link&) const = default;
};

// One link per transfer or launch whose operator has an op record with the same source,
// run_id, request_id, batch_id and iteration (the first such record when there are several);
// a transfer of a graph input or of weights has no producer and so no link. Ordered by the
// index of the transfer or launch record.
std::vector<Link> find_links(const Trace& trace);

}  // namespace sparoa::traces
