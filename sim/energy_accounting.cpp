#include "sim/energy_accounting.hpp"

namespace sparoa::sim {

void EnergyAccounting::init(const Board& board) {
  board_ = &board;
  units_.clear();
  for (const auto& d : board.devices()) units_.emplace_back(std::size_t(d.spec->units));
}

void EnergyAccounting::advance(std::size_t device, const std::vector<int>& units, double t) {
  for (int u : units) {
    Unit& s = units_[device][std::size_t(u)];
    if (s.running > 0) s.share += (t - s.last) / double(s.running);
    s.last = t;
  }
}

double EnergyAccounting::start(std::size_t device, const std::vector<int>& units, double t) {
  advance(device, units, t);
  double mark = 0;
  for (int u : units) {
    Unit& s = units_[device][std::size_t(u)];
    ++s.running;
    mark += s.share;
  }
  return mark;
}

double EnergyAccounting::finish(std::size_t device, const std::vector<int>& units, double t, double mark,
                                std::size_t pstate, double flops_per_unit) {
  advance(device, units, t);
  double share = -mark;
  for (int u : units) {
    Unit& s = units_[device][std::size_t(u)];
    share += s.share;
    --s.running;
  }
  const auto& d = *board_->devices()[device].spec;
  const auto& ps = d.pstates.at(pstate);
  const double per_unit = 1.0 / double(d.units);
  const double unit_speed = ps.freq_MHz * 1e6 * d.flops_per_cycle_per_unit;
  const double compute = (ps.full_W - ps.epsilon_W) * per_unit * flops_per_unit * double(units.size()) / unit_speed;
  // SimGrid draws epsilon only while a unit's load is above zero: an activity that computes
  // nothing (a transfer end, a zero-FLOP operator) leaves its units at idle power.
  const double presence = flops_per_unit > 0 ? (ps.epsilon_W - ps.idle_W) * per_unit * share : 0;
  return compute + presence;
}

}  // namespace sparoa::sim
