#pragma once
// When requests arrive: a closed loop of C clients (each sends its next request the moment
// its previous one is answered), a Poisson process at a rate, or the times listed in a file.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace sparoa::platforms {

struct ArrivalSpec {
  enum class Kind { closed, poisson, file };
  Kind kind = Kind::closed;
  int clients = 0;              // closed: 0 means "the batch size"
  double rate_per_s = 0;        // poisson
  std::filesystem::path file;   // file: one arrival time in microseconds per line, ascending
  std::string text;             // as the user wrote it
};

// "closed", "closed:4", "poisson:250" (requests per second), anything else is a file path.
// Throws sparoa::Error naming the argument.
ArrivalSpec parse_arrivals(const std::string& text);

// Open-loop arrival times (seconds), produced one at a time so that a run of a million
// requests holds none of them in memory ahead of time.
class OpenArrivals {
 public:
  // Poisson: seeded exponential gaps. File: read whole (a file is the user's explicit list),
  // validated: numbers, non-negative, ascending; errors name file:line.
  OpenArrivals(const ArrivalSpec& spec, std::uint64_t seed);
  // The next arrival time, or nullopt when a file runs out.
  std::optional<double> next();
  std::size_t file_size() const { return times_.size(); }

 private:
  ArrivalSpec::Kind kind_;
  double rate_ = 0;
  double t_ = 0;
  std::mt19937_64 rng_;
  std::vector<double> times_;
  std::size_t pos_ = 0;
};

}  // namespace sparoa::platforms
