/* A target for benchmarks/bench_latency.py: calls hit(number, wall_ns) COUNT times,
 * DELAY_US apart, wall_ns being CLOCK_REALTIME read just before the call.  A probe on
 * hit() that prints $wall_ns tells, to the microsecond, when the probe fired, in the
 * same clock the browser and Python use (stap's BPF clocks are the kernel's monotonic
 * time, which a time namespace or a missing epoch offset puts elsewhere). */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) long hit(long number, long wall_ns)
{
    return number ^ wall_ns;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 10;
    int delay_us = argc > 2 ? atoi(argv[2]) : 100000;
    long sink = 0;
    for (int i = 1; i <= count; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sink += hit(i, ts.tv_sec * 1000000000L + ts.tv_nsec);
        usleep(delay_us);
    }
    return sink == 42 ? 1 : 0; /* keep the calls; exit 0 */
}
