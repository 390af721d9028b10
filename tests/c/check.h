/*
 * Shared by the C test programs: pass/fail counters, the CHECK / EXPECT /
 * OK / REQUIRE macros and a monotonic clock. Each program is one
 * translation unit, so the static counters are its own.
 */
#ifndef SIPSIMPLE_TEST_CHECK_H
#define SIPSIMPLE_TEST_CHECK_H

#include "sipsimple.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int failures = 0;
static int checks = 0;

static inline const char *last_error(void) {
    static char buf[1024];
    size_t len = 0;
    if (sipsimple_last_error_message(buf, sizeof buf, &len) != SIPSIMPLE_RESULT_OK) {
        snprintf(buf, sizeof buf, "(message of %zu bytes does not fit)", len);
    }
    return buf;
}

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        checks++;                                                                        \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

/* A call expected to give `expected`; the test goes on either way. */
#define EXPECT(call, expected)                                                           \
    do {                                                                                 \
        sipsimple_result r_ = (call);                                                    \
        checks++;                                                                        \
        if (r_ != (sipsimple_result)(expected)) {                                        \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u; last error: %s\n", \
                    __FILE__, __LINE__, #call, (unsigned)r_, sipsimple_result_text(r_),  \
                    (unsigned)(expected), last_error());                                 \
            failures++;                                                                  \
        }                                                                                \
    } while (0)

/* A call that must succeed for the test to continue. */
#define OK(call)                                                                         \
    do {                                                                                 \
        sipsimple_result r_ = (call);                                                    \
        checks++;                                                                        \
        if (r_ != SIPSIMPLE_RESULT_OK) {                                                 \
            fprintf(stderr, "%s:%d: %s failed with %u (%s): %s\n", __FILE__, __LINE__,   \
                    #call, (unsigned)r_, sipsimple_result_text(r_), last_error());        \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

/* A condition the rest of the test depends on. */
#define REQUIRE(cond)                                                                    \
    do {                                                                                 \
        checks++;                                                                        \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond);         \
            exit(1);                                                                     \
        }                                                                                \
    } while (0)

static inline int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#endif
