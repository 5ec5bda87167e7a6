#pragma once
// The per-operator and summary reports of `sparoa inspect`, shared with `sparoa demo`.
#include <filesystem>
#include <ostream>

#include "graph/features.hpp"
#include "graph/graph.hpp"

namespace sparoa::cli {

void print_operator_table(std::ostream& out, const graph::Graph& g, const graph::Thresholds& t);
void print_totals(std::ostream& out, const graph::Graph& g, const graph::Thresholds& t);
// Exact numbers, one row per operator, written atomically.
void write_operator_csv(const std::filesystem::path& path, const graph::Graph& g, const graph::Thresholds& t);

}  // namespace sparoa::cli
