#pragma once
// Plain-text tables and human-readable numbers for the CLI's reports.
#include <ostream>
#include <string>
#include <vector>

namespace sparoa::cli {

// "1.23 G", "456.0 M", "12.0 k", "7"; exact digits go to the CSV, not the terminal.
std::string si(double value);
std::string fixed(double value, int decimals);

class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  void add_rule();  // a separator line before the next row (e.g. before totals)
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;  // an empty row is a rule
};

}  // namespace sparoa::cli
