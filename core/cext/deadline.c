/* Deadline logic and lateness histogram; see deadline.h. */
#include "deadline.h"

#include <stdlib.h>
#include <string.h>

struct fv2g_deadline {
    int64_t period_ns;
    int64_t next_ns;
    uint64_t wakes;
    uint64_t overruns;
    uint64_t early_wakes;
    fv2g_hist hist;
};

#define SUB_COUNT (1u << FV2G_HIST_SUB_BITS)

static unsigned bucket_of(uint64_t v)
{
    if (v < SUB_COUNT)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > FV2G_HIST_TOP_EXPONENT)
        return FV2G_HIST_BUCKETS - 1;
    unsigned mant = (unsigned)(v >> (e - FV2G_HIST_SUB_BITS)) & (SUB_COUNT - 1);
    return (e - FV2G_HIST_SUB_BITS + 1) * SUB_COUNT + mant;
}

static uint64_t bucket_upper(unsigned idx)
{
    if (idx < SUB_COUNT)
        return idx;
    unsigned e = idx / SUB_COUNT + FV2G_HIST_SUB_BITS - 1;
    uint64_t mant = idx % SUB_COUNT;
    uint64_t width = (uint64_t)1 << (e - FV2G_HIST_SUB_BITS);
    return ((SUB_COUNT + mant) << (e - FV2G_HIST_SUB_BITS)) + width - 1;
}

void fv2g_hist_reset(fv2g_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void fv2g_hist_record(fv2g_hist *h, int64_t value_ns)
{
    uint64_t v = value_ns > 0 ? (uint64_t)value_ns : 0;
    h->buckets[bucket_of(v)]++;
    h->count++;
    h->sum_ns += v;
    if (v > h->max_ns)
        h->max_ns = v;
}

uint64_t fv2g_hist_percentile(const fv2g_hist *h, uint32_t ppm)
{
    if (h->count == 0)
        return 0;
    if (ppm > 1000000u)
        ppm = 1000000u;
    uint64_t rank = (h->count * (uint64_t)ppm + 999999u) / 1000000u;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < FV2G_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            if (i == FV2G_HIST_BUCKETS - 1)
                return h->max_ns; /* the overflow bucket has no upper bound but the maximum */
            uint64_t upper = bucket_upper(i);
            return upper < h->max_ns ? upper : h->max_ns;
        }
    }
    return h->max_ns;
}

fv2g_deadline *fv2g_deadline_new(int64_t period_ns, int64_t first_deadline_ns)
{
    if (period_ns <= 0)
        return NULL;
    fv2g_deadline *d = malloc(sizeof(*d));
    if (d == NULL)
        return NULL;
    d->period_ns = period_ns;
    d->next_ns = first_deadline_ns;
    d->wakes = d->overruns = d->early_wakes = 0;
    fv2g_hist_reset(&d->hist);
    return d;
}

void fv2g_deadline_free(fv2g_deadline *d)
{
    free(d);
}

void fv2g_deadline_restart(fv2g_deadline *d, int64_t first_deadline_ns)
{
    d->next_ns = first_deadline_ns;
}

int64_t fv2g_deadline_next(const fv2g_deadline *d)
{
    return d->next_ns;
}

int64_t fv2g_deadline_period(const fv2g_deadline *d)
{
    return d->period_ns;
}

int fv2g_deadline_wake(fv2g_deadline *d, int64_t now_ns, fv2g_wake *out)
{
    if (now_ns < d->next_ns) {
        d->early_wakes++;
        return 0;
    }
    /* Unsigned difference: now and next may be far apart on an arbitrary scale. */
    uint64_t late = (uint64_t)now_ns - (uint64_t)d->next_ns;
    uint64_t missed = late / (uint64_t)d->period_ns;
    out->deadline_ns = d->next_ns;
    out->lateness_ns = (int64_t)late;
    out->missed = missed;
    uint64_t advance = (missed + 1) * (uint64_t)d->period_ns;
    uint64_t headroom = (uint64_t)INT64_MAX - (uint64_t)d->next_ns; /* next_ns <= now <= MAX */
    d->next_ns = advance > headroom ? INT64_MAX : d->next_ns + (int64_t)advance;
    out->next_deadline_ns = d->next_ns;
    d->wakes++;
    d->overruns += missed;
    fv2g_hist_record(&d->hist, (int64_t)late);
    return 1;
}

void fv2g_deadline_get_stats(const fv2g_deadline *d, fv2g_deadline_stats *out)
{
    out->wakes = d->wakes;
    out->overruns = d->overruns;
    out->early_wakes = d->early_wakes;
    out->p50_ns = fv2g_hist_percentile(&d->hist, 500000u);
    out->p99_ns = fv2g_hist_percentile(&d->hist, 990000u);
    out->max_ns = d->hist.max_ns;
    out->mean_ns = d->hist.count ? d->hist.sum_ns / d->hist.count : 0;
}

const fv2g_hist *fv2g_deadline_hist(const fv2g_deadline *d)
{
    return &d->hist;
}
