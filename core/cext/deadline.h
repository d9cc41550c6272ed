/* Control-loop deadline logic and lateness statistics (ARCHITECTURE.md "Timing";
 * charging-domain.md section 4 for the 25 ms / 250 ms loop budgets it serves).
 *
 * Pure: time is passed in as int64 nanoseconds on any monotonic scale. The histogram is a
 * fixed log-linear table (64 sub-buckets per power of two, relative error < 1.6 %), so
 * recording never allocates; the maximum is kept exactly.
 */
#ifndef FV2G_DEADLINE_H
#define FV2G_DEADLINE_H

#include <stdint.h>

#include "fv2g_status.h"

#define FV2G_HIST_SUB_BITS 6
#define FV2G_HIST_TOP_EXPONENT 42                 /* values >= 2^42 ns (~73 min) share a bucket */
#define FV2G_HIST_BUCKETS ((FV2G_HIST_TOP_EXPONENT - FV2G_HIST_SUB_BITS + 2) << FV2G_HIST_SUB_BITS)

typedef struct {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t max_ns;
    uint64_t buckets[FV2G_HIST_BUCKETS];
} fv2g_hist;

void fv2g_hist_reset(fv2g_hist *h);
void fv2g_hist_record(fv2g_hist *h, int64_t value_ns); /* negative values count as 0 */
/* Smallest bucket bound v with at least ppm/1e6 of the samples <= v (capped at the exact
 * maximum); 0 when empty. */
uint64_t fv2g_hist_percentile(const fv2g_hist *h, uint32_t ppm);

typedef struct {
    int64_t deadline_ns;      /* earliest deadline that was due at this wake */
    int64_t lateness_ns;      /* now - deadline_ns */
    uint64_t missed;          /* later deadlines that also passed before this wake (overruns) */
    int64_t next_deadline_ns;
} fv2g_wake;

typedef struct {
    uint64_t wakes;
    uint64_t overruns;
    uint64_t early_wakes;     /* wakes before any deadline was due (ignored) */
    uint64_t p50_ns;
    uint64_t p99_ns;
    uint64_t max_ns;
    uint64_t mean_ns;
} fv2g_deadline_stats;

typedef struct fv2g_deadline fv2g_deadline;

/* Deadlines first_deadline_ns + k * period_ns. NULL if period_ns <= 0 or out of memory. */
fv2g_deadline *fv2g_deadline_new(int64_t period_ns, int64_t first_deadline_ns);
void fv2g_deadline_free(fv2g_deadline *d);
/* Restarts the grid at first_deadline_ns; statistics are kept. */
void fv2g_deadline_restart(fv2g_deadline *d, int64_t first_deadline_ns);
int64_t fv2g_deadline_next(const fv2g_deadline *d);
int64_t fv2g_deadline_period(const fv2g_deadline *d);
/* Wake at now_ns: 1 and *out filled if a deadline was due (the grid skips every missed
 * deadline, which counts as an overrun); 0 if none was due yet. */
int fv2g_deadline_wake(fv2g_deadline *d, int64_t now_ns, fv2g_wake *out);
void fv2g_deadline_get_stats(const fv2g_deadline *d, fv2g_deadline_stats *out);
const fv2g_hist *fv2g_deadline_hist(const fv2g_deadline *d);

/* ---- the timer I/O in the core: a CLOCK_MONOTONIC timerfd and thread set-up (timerfd_glue.c) ---- */
int fv2g_timerfd_create(void);                 /* non-blocking, close-on-exec fd, or -errno */
/* Absolute CLOCK_MONOTONIC expiration, then every period_ns (0: one-shot); re-arming clears
 * the fd's pending expiration count. 0 or -errno. */
int fv2g_timerfd_arm(int fd, int64_t first_deadline_ns, int64_t period_ns);
int fv2g_timerfd_disarm(int fd);
int64_t fv2g_monotonic_ns(void);
/* Calling thread's timer slack (prctl): set 0 or -errno (0 ns is -EINVAL); get ns or -errno. */
int fv2g_thread_set_timer_slack(uint64_t slack_ns);
int64_t fv2g_thread_get_timer_slack(void);
/* Benchmark floor: n blocking wakes of the calling thread on its own timerfd, lateness into
 * *out; 0 or -errno. */
int fv2g_timerfd_wake_probe(int64_t period_ns, uint32_t n, fv2g_hist *out);

#endif
