/* CLOCK_MONOTONIC timerfd set-up for timing.PeriodicTimer (ARCHITECTURE.md "Timing").
 * Creation and (re-)arming happen here; PeriodicTimer re-arms its fd one-shot before each
 * wait (wake-ahead, then the exact deadline) and reads it from Python (os.read) in an asyncio
 * reader callback. Python 3.11 has no os.timerfd_create. Also here: the calling thread's timer
 * slack (timing.RealtimeMode) and a blocking wake probe for bench/bench_timer.py. */
#include "deadline.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

int fv2g_timerfd_create(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int fv2g_timerfd_arm(int fd, int64_t first_deadline_ns, int64_t period_ns)
{
    if (first_deadline_ns <= 0 || period_ns < 0)
        return -EINVAL;
    struct itimerspec spec;
    spec.it_value = to_timespec(first_deadline_ns);
    spec.it_interval = to_timespec(period_ns);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL) < 0 ? -errno : 0;
}

int fv2g_timerfd_disarm(int fd)
{
    struct itimerspec spec = {{0, 0}, {0, 0}};
    return timerfd_settime(fd, 0, &spec, NULL) < 0 ? -errno : 0;
}

int64_t fv2g_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Timer slack of the calling thread (prctl PR_SET_TIMERSLACK / PR_GET_TIMERSLACK): the kernel
 * may defer this thread's timed waits (epoll_wait timeouts, the GIL's timed condition wait) by
 * up to the slack, 50 us by default for normal threads. timerfd expirations are not deferred. */
int fv2g_thread_set_timer_slack(uint64_t slack_ns)
{
    if (slack_ns == 0)
        return -EINVAL; /* 0 means "back to the process default" to the kernel, not "none" */
    return prctl(PR_SET_TIMERSLACK, (unsigned long)slack_ns, 0, 0, 0) < 0 ? -errno : 0;
}

int64_t fv2g_thread_get_timer_slack(void)
{
    int r = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    return r < 0 ? -errno : (int64_t)r;
}

/* Benchmark floor: lateness of the calling thread's own wakes on a blocking CLOCK_MONOTONIC
 * timerfd (read() returns at each expiration), n wakes at period_ns, recorded into *out. No
 * Python is involved while it runs (the cffi call releases the GIL), so in bench_timer.py it
 * shows what the kernel and the machine cost before any GIL hand-over. Blocks n periods. */
int fv2g_timerfd_wake_probe(int64_t period_ns, uint32_t n, fv2g_hist *out)
{
    if (period_ns <= 0 || out == NULL)
        return -EINVAL;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int64_t next = fv2g_monotonic_ns() + period_ns;
    int status = fv2g_timerfd_arm(fd, next, period_ns);
    for (uint32_t i = 0; i < n && status == 0; i++) {
        uint64_t expirations = 0;
        ssize_t got = read(fd, &expirations, sizeof expirations);
        int64_t now = fv2g_monotonic_ns();
        if (got != (ssize_t)sizeof expirations) {
            if (got < 0 && errno == EINTR)
                continue;
            status = got < 0 ? -errno : -EIO;
            break;
        }
        fv2g_hist_record(out, now - next);
        int64_t missed = (int64_t)expirations - 1; /* skip, like fv2g_deadline_wake */
        next += (missed + 1) * period_ns;
    }
    close(fd);
    return status;
}
