#pragma once
// Internal to traces/: the lines of the three trace CSVs, shared by the whole-trace writers
// (csv_writer.cpp) and the streaming writer (trace_stream.cpp) so that both write the same
// bytes. Each function appends to `line` (a buffer the caller reuses) and ends with '\n'.
// They format only: callers validate() first.
#include <span>
#include <string>
#include <string_view>

#include "traces/record.hpp"

namespace sparoa::traces::detail {

// The column header line.
void append_header(std::string& line, std::span<const std::string_view> columns);
// The leading '# key: value' lines of the records CSV, fixed keys first, then the extras.
void append_provenance(std::string& line, const Provenance& p);
// One data row each.
void append_row(std::string& line, const Record& r);
void append_row(std::string& line, const PowerSample& s);
void append_row(std::string& line, const StateSample& s);

}  // namespace sparoa::traces::detail
