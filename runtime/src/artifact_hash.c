#include <string.h>

#include "artifact_format.h"

/* Constants: the 64-bit golden ratio and two odd multipliers with good avalanche (the ones
 * splitmix64 uses). Four lanes keep four multiplies in flight. */
#define K0 0x9e3779b97f4a7c15ull
#define K1 0xbf58476d1ce4e5b9ull
#define K2 0x94d049bb133111ebull

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i]; /* compilers fold this to one load on LE */
  return v;
}

static uint64_t mix_word(uint64_t acc, uint64_t word) { return rotl64(acc ^ (word * K1), 31) * K0; }

static uint64_t finalize(uint64_t h) {
  h ^= h >> 30;
  h *= K1;
  h ^= h >> 27;
  h *= K2;
  return h ^ (h >> 31);
}

uint64_t eave_artifact_hash(const void* data, size_t size) {
  const unsigned char* p = (const unsigned char*)data;
  uint64_t lane[4] = {K0, K1, K2, K0 ^ K1};
  size_t n = size;
  while (n >= 32) {
    for (int i = 0; i < 4; ++i) lane[i] = mix_word(lane[i], read_le64(p + 8 * i));
    p += 32;
    n -= 32;
  }
  uint64_t h = rotl64(lane[0], 1) + rotl64(lane[1], 7) + rotl64(lane[2], 12) + rotl64(lane[3], 18);
  while (n >= 8) {
    h = mix_word(h, read_le64(p));
    p += 8;
    n -= 8;
  }
  if (n) {
    unsigned char tail[8] = {0};
    memcpy(tail, p, n);
    h = mix_word(h, read_le64(tail) ^ ((uint64_t)n << 56));
  }
  return finalize(h ^ (uint64_t)size * K2);
}
