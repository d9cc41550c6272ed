/* CLOCK_MONOTONIC timerfd set-up for timing.PeriodicTimer (ARCHITECTURE.md "Timing").
 * Only creation and arming happen here; reading the fd is done by Python (os.read) from an
 * asyncio reader callback. Python 3.11 has no os.timerfd_create. */
#include "deadline.h"

#include <errno.h>
#include <sys/timerfd.h>
#include <time.h>

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
    if (first_deadline_ns <= 0 || period_ns <= 0)
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
