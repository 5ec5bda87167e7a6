#pragma once
// The zoo's own random numbers. std:: distributions differ between standard libraries, so
// weights are drawn with splitmix64 and converted to floats with exact integer arithmetic:
// the same seed gives the same bytes on every compiler and architecture.
#include <cstdint>
#include <string_view>

namespace sparoa::graph::zoo::detail {

// splitmix64's output function: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a: turns a tensor name into part of its stream's seed.
constexpr std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) : state_(seed) {}
  // One independent stream per (model seed, tensor name): a tensor's values do not depend on
  // which other tensors exist, so a pruned model keeps the dense model's surviving weights.
  static constexpr SplitMix64 for_tensor(std::uint64_t seed, std::string_view name) {
    return SplitMix64(mix64(seed ^ 0x5350415230414f5aULL) ^ fnv1a64(name));
  }

  constexpr std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }

  // Uniform in (-1, 1) on a grid of 2^-23 steps, never exactly 0: (2u + 1 - 2^24) / 2^24 for
  // a 24-bit u. Both steps are exact in float, so there is no rounding to differ anywhere;
  // and since no draw is zero, a weight is zero only when pruning made it so.
  constexpr float symmetric_unit() {
    const auto u = static_cast<std::int32_t>(next() >> 40);  // 24 bits
    return static_cast<float>(2 * u + 1 - (1 << 24)) * (1.0f / 16777216.0f);
  }

 private:
  std::uint64_t state_;
};

}  // namespace sparoa::graph::zoo::detail
