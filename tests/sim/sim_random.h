#pragma once

#include <chrono>
#include <cstdint>

namespace zkelect::sim {

// The simulator's only source of randomness: xoshiro256** seeded through
// splitmix64, both specified bit for bit, so that one seed replays the same
// run on every compiler and standard library (std:: distributions are not
// specified that precisely). Draws never depend on anything but the seed and
// the order of the calls.
//
// Not thread-safe; the simulator is single-threaded.
class SimRandom {
 public:
  explicit SimRandom(uint64_t seed) {
    for (uint64_t& word : state_) word = SplitMix64(seed);
  }

  // The next 64 random bits.
  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n); 0 when n is 0. (Modulo: a bias below 2^-40 for the
  // small n used here.)
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : Next() % n; }

  // Uniform in [lo, hi] (inclusive).
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // A duration uniform in [lo, hi].
  template <typename Rep, typename Period>
  std::chrono::duration<Rep, Period> Between(std::chrono::duration<Rep, Period> lo,
                                             std::chrono::duration<Rep, Period> hi) {
    return std::chrono::duration<Rep, Period>(Between(lo.count(), hi.count()));
  }

  // True with probability `per_million` / 1e6.
  bool Chance(uint64_t per_million) { return Below(1'000'000) < per_million; }

  // A fresh 64-bit seed for a sub-stream (e.g. one run of many).
  static uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t state_[4];
};

}  // namespace zkelect::sim
