/* A deterministic pseudo-random generator for apply: xoshiro256** seeded through
 * splitmix64 from values every node agrees on (an entry's apply_seq and the command's
 * position in its batch). Never seeded from the clock or the process; pure, header-only.
 *
 * Why not rand(): its sequence differs between C libraries and is shared process state,
 * so SPOP or a skiplist level drawn from it would differ between nodes. */
#ifndef CONCORDKV_PRNG_H
#define CONCORDKV_PRNG_H

#include <stdint.h>

/* Embedded state: 32 bytes, copied freely; the same seed gives the same sequence on
 * every architecture (only 64-bit integer arithmetic). */
struct prng {
    uint64_t s[4];
};

/* One step of splitmix64: advances *X and returns the next output. */
static inline uint64_t prng_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seed P from two 64-bit values, e.g. (apply_seq, position of the command in the
 * entry). Distinct pairs give unrelated sequences; the state is never all zero. */
static inline void prng_seed(struct prng *p, uint64_t a, uint64_t b)
{
    uint64_t x = a ^ prng_splitmix64(&b);
    for (int i = 0; i < 4; i++)
        p->s[i] = prng_splitmix64(&x);
}

static inline uint64_t prng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 uniformly distributed bits (xoshiro256**). */
static inline uint64_t prng_next(struct prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = prng_rotl(s[3], 45);
    return result;
}

/* A uniform integer in [0, N) for N > 0 (0 when N is 0), without modulo bias: draws
 * again when the draw falls in the incomplete last stripe. */
static inline uint64_t prng_below(struct prng *p, uint64_t n)
{
    if (n == 0)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* multiples of n fit below this */
    uint64_t r;
    do
        r = prng_next(p);
    while (r >= limit);
    return r % n;
}

#endif
