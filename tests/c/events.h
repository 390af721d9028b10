/*
 * The notification log of the C test programs that poll one queue from
 * main(): every notification taken from `queue` is kept, in order, with
 * its name and sender; the waits look in the log first and take from the
 * queue until what they wait for arrives. Also small helpers for the
 * fields of a notification, string attributes of a handle, an account's
 * loopback URI and the report at the end of the program.
 *
 * The program defines MAX_LOG (how many notifications the log holds) and
 * WAIT_MS (how long a wait lasts) before including this, after check.h.
 */
#ifndef SIPSIMPLE_TEST_EVENTS_H
#define SIPSIMPLE_TEST_EVENTS_H

#include "check.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MAX_LOG
#error "define MAX_LOG before including events.h"
#endif
#ifndef WAIT_MS
#error "define WAIT_MS before including events.h"
#endif

static struct {
    sipsimple_notification *items[MAX_LOG];
    char names[MAX_LOG][64];
    sipsimple_handle senders[MAX_LOG];
    int count;
} events;
static sipsimple_handle queue = 0;

static inline void keep(sipsimple_notification *n) {
    char *name = NULL;
    sipsimple_handle sender = 0;
    OK(sipsimple_notification_name(n, &name));
    OK(sipsimple_notification_sender(n, &sender));
    REQUIRE(events.count < MAX_LOG);
    events.items[events.count] = n;
    snprintf(events.names[events.count], sizeof events.names[0], "%s", name);
    events.senders[events.count] = sender;
    events.count++;
    sipsimple_string_free(name);
}

/* Index of the `nth` (1-based) notification `name` from `sender` (0 = any)
 * at or after `from`; -1 if there are fewer. */
static inline int find_nth(const char *name, sipsimple_handle sender, int from, int nth) {
    for (int i = from; i < events.count; i++) {
        if (strcmp(events.names[i], name) == 0 && (sender == 0 || events.senders[i] == sender) && --nth == 0) {
            return i;
        }
    }
    return -1;
}

/* Index of the first notification `name` from `sender` (0 = any) at or
 * after `from`; -1 if none. */
static inline int find_event(const char *name, sipsimple_handle sender, int from) {
    return find_nth(name, sender, from, 1);
}

/* The `nth` (1-based) notification `name` from `sender` (0 = any) at or
 * after `from`, taking from the queue until it arrives; NULL after
 * `timeout_ms`. The log owns it. */
static inline sipsimple_notification *wait_nth_within(const char *name, sipsimple_handle sender, int from, int nth,
                                                      int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int i = find_nth(name, sender, from, nth);
        if (i >= 0) {
            return events.items[i];
        }
        int64_t left = deadline - now_ms();
        sipsimple_notification *n = NULL;
        if (left <= 0 || sipsimple_notification_queue_next(queue, (int32_t)left, &n) != SIPSIMPLE_RESULT_OK) {
            if (nth == 1) {
                fprintf(stderr, "no %s from %#" PRIx64 " within %d ms\n", name, sender, timeout_ms);
            } else {
                fprintf(stderr, "no %s #%d from %#" PRIx64 " within %d ms\n", name, nth, sender, timeout_ms);
            }
            return NULL;
        }
        keep(n);
    }
}

/* wait_nth_within with WAIT_MS. */
static inline sipsimple_notification *wait_nth(const char *name, sipsimple_handle sender, int from, int nth) {
    return wait_nth_within(name, sender, from, nth, WAIT_MS);
}

/* The first notification `name` from `sender` (0 = any) at or after
 * `from`, within `timeout_ms`. */
static inline sipsimple_notification *wait_event_within(const char *name, sipsimple_handle sender, int from,
                                                        int timeout_ms) {
    return wait_nth_within(name, sender, from, 1, timeout_ms);
}

/* The first notification `name` from `sender` (0 = any) at or after
 * `from`, within WAIT_MS. */
static inline sipsimple_notification *wait_event(const char *name, sipsimple_handle sender, int from) {
    return wait_nth_within(name, sender, from, 1, WAIT_MS);
}

/* Takes whatever is queued now. */
static inline void drain(void) {
    sipsimple_notification *n = NULL;
    while (sipsimple_notification_queue_next(queue, 0, &n) == SIPSIMPLE_RESULT_OK) {
        keep(n);
    }
}

/* Frees every notification in the log. */
static inline void free_events(void) {
    for (int i = 0; i < events.count; i++) {
        sipsimple_notification_free(events.items[i]);
    }
}

/* The end of `program`: its exit status, 0 when every check passed; on
 * failure the log is listed on stderr. */
static inline int report(const char *program) {
    if (failures != 0) {
        fprintf(stderr, "notifications taken:\n");
        for (int i = 0; i < events.count; i++) {
            fprintf(stderr, "  #%d %s from %#" PRIx64 "\n", i, events.names[i], events.senders[i]);
        }
        fprintf(stderr, "%s: %d of %d checks failed\n", program, failures, checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", program, checks);
    return 0;
}

/* Whether string field `field` of `n` is `expected`. */
static inline int string_field_is(const sipsimple_notification *n, const char *field, const char *expected) {
    char *text = NULL;
    if (n == NULL || sipsimple_notification_get_string(n, field, &text) != SIPSIMPLE_RESULT_OK) {
        return 0;
    }
    int same = strcmp(text, expected) == 0;
    if (!same) {
        fprintf(stderr, "%s is \"%s\", expected \"%s\"\n", field, text, expected);
    }
    sipsimple_string_free(text);
    return same;
}

typedef sipsimple_result (*string_getter)(sipsimple_handle, char **);

/* Whether the getter gives a string containing `part` (NULL: gives NULL). */
static inline int attribute_has(string_getter get, sipsimple_handle h, const char *part) {
    char *text = (char *)"untouched";
    if (get(h, &text) != SIPSIMPLE_RESULT_OK) {
        fprintf(stderr, "getter failed: %s\n", last_error());
        return 0;
    }
    int ok = part == NULL ? text == NULL : (text != NULL && strstr(text, part) != NULL);
    if (!ok) {
        fprintf(stderr, "attribute is \"%s\", expected \"%s\"\n", text ? text : "(null)", part ? part : "(null)");
    }
    sipsimple_string_free(text);
    return ok;
}

/* `sip:<contact user>@127.0.0.1:<engine port>`: `account` on this
 * application's UDP transport. */
static inline void loopback_uri(sipsimple_handle account, char *out, size_t size) {
    char *contact = NULL;
    OK(sipsimple_account_contact_uri(account, "udp", &contact));
    const char *user = contact + 4; /* after "sip:" */
    const char *at = strchr(user, '@');
    const char *colon = at != NULL ? strrchr(at, ':') : NULL;
    REQUIRE(strncmp(contact, "sip:", 4) == 0 && at != NULL && colon != NULL);
    unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
    snprintf(out, size, "sip:%.*s@127.0.0.1:%u", (int)(at - user), user, port);
    sipsimple_string_free(contact);
}

#endif
