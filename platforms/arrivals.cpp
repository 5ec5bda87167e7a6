#include "platforms/arrivals.hpp"

#include <charconv>
#include <cmath>
#include <fstream>

#include "support/error.hpp"
#include "support/text.hpp"

namespace sparoa::platforms {
namespace {

std::optional<double> parse_number(const std::string& s) {
  double v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

ArrivalSpec parse_arrivals(const std::string& text) {
  ArrivalSpec spec;
  spec.text = text;
  if (text == "closed") {
    spec.kind = ArrivalSpec::Kind::closed;
    return spec;
  }
  if (text.rfind("closed:", 0) == 0) {
    spec.kind = ArrivalSpec::Kind::closed;
    const auto n = parse_number(text.substr(7));
    if (!n || *n < 1 || *n != std::floor(*n) || *n > 1e6) {
      throw Error("--arrivals", "'" + text + "': closed:C needs a whole number of clients C >= 1");
    }
    spec.clients = int(*n);
    return spec;
  }
  if (text.rfind("poisson:", 0) == 0) {
    spec.kind = ArrivalSpec::Kind::poisson;
    const auto r = parse_number(text.substr(8));
    if (!r || *r <= 0) {
      throw Error("--arrivals", "'" + text + "': poisson:RATE needs a rate in requests per second > 0");
    }
    spec.rate_per_s = *r;
    return spec;
  }
  spec.kind = ArrivalSpec::Kind::file;
  spec.file = text;
  std::error_code ec;  // a name too long or unreadable is "not an existing file", not an exception
  if (!std::filesystem::is_regular_file(spec.file, ec)) {
    throw Error("--arrivals", "'" + text + "' is neither closed, closed:C, poisson:RATE nor an existing file");
  }
  return spec;
}

OpenArrivals::OpenArrivals(const ArrivalSpec& spec, std::uint64_t seed)
    : kind_(spec.kind), rate_(spec.rate_per_s), rng_(seed) {
  if (kind_ == ArrivalSpec::Kind::closed) throw Error("--arrivals", "a closed loop has no open arrival times");
  if (kind_ != ArrivalSpec::Kind::file) return;
  const std::string name = spec.file.string();
  std::ifstream in(spec.file);
  if (!in) throw Error(name, "cannot open the arrivals file");
  std::string line;
  std::size_t n = 0;
  double last = -1;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (n == 1 && t == "time_us") continue;  // optional header
    const auto v = parse_number(t);
    const std::string where = name + ":" + std::to_string(n);
    if (!v) throw Error(where, "'" + t + "' is not an arrival time in microseconds");
    if (*v < 0) throw Error(where, "arrival time " + t + " us is negative");
    if (*v < last) throw Error(where, "arrival times must be in ascending order (" + t + " us after " + std::to_string(last) + " us)");
    last = *v;
    times_.push_back(*v * 1e-6);
  }
  if (times_.empty()) throw Error(name, "the arrivals file lists no arrival time");
}

std::optional<double> OpenArrivals::next() {
  if (kind_ == ArrivalSpec::Kind::file) {
    if (pos_ >= times_.size()) return std::nullopt;
    return times_[pos_++];
  }
  // Inverse-CDF draw from our own uniform: std::exponential_distribution's algorithm is not
  // specified, and the same seed must give the same numbers with every standard library.
  const double u = double(rng_() >> 11) * 0x1.0p-53;  // [0, 1)
  t_ += -std::log1p(-u) / rate_;
  return t_;
}

}  // namespace sparoa::platforms
