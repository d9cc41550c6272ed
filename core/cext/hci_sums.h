/* Running byte sums over a window of a stream, for the HCI stream decoder's checksums
 * (hci_frame.c, whitebeet-hci.md 2.2 and 2.8).
 *
 * Prefix sums are kept in a ring indexed by stream offset: entry o & mask holds the sum of the
 * stream bytes [from, o) mod 2^32, known for the last `span` + 1 offsets up to `to`. The sum of any
 * range of at most `span` bytes inside them is the difference of two entries (exact: such a
 * sum is far below 2^32). A range is added once, byte by byte, however many later ranges
 * overlap it; that is what keeps the decoder linear after a rejected candidate.
 */
#ifndef FV2G_HCI_SUMS_H
#define FV2G_HCI_SUMS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define FV2G_HOT static inline __attribute__((always_inline))
#else
#define FV2G_HOT static inline
#endif

typedef struct {
    uint32_t *ring;            /* a power of two above span entries, indexed by offset & mask */
    uint32_t mask;
    uint32_t span;             /* the widest range asked for: the largest frame */
    int valid;
    uint64_t from;             /* stream offset where the sums start (0 there) */
    uint64_t to;               /* last stream offset with a known sum */
} fv2g_sums;

/* Ring entries for ranges of up to `span` bytes: the power of two above span. */
static inline uint32_t fv2g_sums_ring_len(uint32_t span)
{
    uint32_t len = 1;
    while (len <= span)
        len <<= 1;
    return len;
}

static inline void fv2g_sums_init(fv2g_sums *s, uint32_t *ring, uint32_t span)
{
    s->ring = ring;
    s->mask = fv2g_sums_ring_len(span) - 1;
    s->span = span;
    s->valid = 0;
    s->from = s->to = 0;
}

/* 1 if the sum at offset `at` is known and stays in the ring while up to `span` bytes from
 * there are added. */
static inline int fv2g_sums_cover(const fv2g_sums *s, uint64_t at)
{
    return s->valid && at >= s->from && at <= s->to && s->to - at <= s->span;
}

static inline void fv2g_sums_restart(fv2g_sums *s, uint64_t at)
{
    s->valid = 1;
    s->from = s->to = at;
    s->ring[at & s->mask] = 0;
}

/* Extends the sums to offset `to`; p[0] is the byte at offset `at` (covered, at <= s->to) and
 * p holds every byte up to `to` (to - at <= span). Returns the bytes added. */
FV2G_HOT uint64_t fv2g_sums_extend(fv2g_sums *s, const uint8_t *p, uint64_t at, uint64_t to)
{
    uint64_t o = s->to;
    if (to <= o)
        return 0;
    uint32_t *ring = s->ring, mask = s->mask;
    uint32_t acc = ring[o & mask];
    const uint8_t *q = p + (o - at); /* q[k] is the byte at offset o + k */
    for (uint64_t k = 0, n = to - o; k < n; k++) {
        acc += q[k];
        ring[(o + k + 1) & mask] = acc;
    }
    s->to = to;
    return to - o;
}

/* The sum of the stream bytes [from, at) mod 2^32, at covered; the difference of two is the
 * sum of the bytes between them. */
static inline uint32_t fv2g_sums_at(const fv2g_sums *s, uint64_t at)
{
    return s->ring[at & s->mask];
}

#endif
