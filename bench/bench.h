/* What the benchmark programs share: a clock and peak memory. */
#ifndef ESEAL_BENCH_BENCH_H
#define ESEAL_BENCH_BENCH_H

#include <sys/resource.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* This process's peak resident set, KiB. */
static inline long bench_peak_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

#endif
