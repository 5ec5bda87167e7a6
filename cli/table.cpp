#include "cli/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sparoa::cli {

std::string si(double value) {
  const double a = std::fabs(value);
  if (a >= 1e12) return fmt::format("{:.2f} T", value / 1e12);
  if (a >= 1e9) return fmt::format("{:.2f} G", value / 1e9);
  if (a >= 1e6) return fmt::format("{:.2f} M", value / 1e6);
  if (a >= 1e3) return fmt::format("{:.1f} k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

std::string fixed(double value, int decimals) { return fmt::format("{:.{}f}", value, decimals); }

Table::Table(std::vector<std::string> headers, std::vector<bool> right_aligned)
    : headers_(std::move(headers)), right_(std::move(right_aligned)) {
  right_.resize(headers_.size(), false);
}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void Table::add_rule() { rows_.emplace_back(); }

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(headers_.size());
  for (std::size_t c = 0; c < headers_.size(); ++c) width[c] = headers_[c].size();
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c) s += "  ";
      s += right_[c] ? fmt::format("{:>{}}", cells[c], width[c]) : fmt::format("{:<{}}", cells[c], width[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out << s << '\n';
  };
  std::size_t total = 0;
  for (auto w : width) total += w + 2;
  const std::string rule(total > 2 ? total - 2 : 0, '-');
  line(headers_);
  out << rule << '\n';
  for (const auto& row : rows_) {
    if (row.empty()) out << rule << '\n';
    else line(row);
  }
}

}  // namespace sparoa::cli
