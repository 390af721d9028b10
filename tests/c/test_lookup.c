/*
 * End-to-end test of the C API of DNS lookups (sipsimple_dns_lookup_*):
 * routes for numeric-IP SIP URIs (no DNS needed), unsupported transports,
 * a name under .invalid failing within the lookup's lifetime, services and
 * XCAP roots, waiting with timeouts, the notifications (DNSLookupDidSucceed,
 * DNSLookupDidFail, DNSLookupTrace) and the error paths (NULL, stale and
 * wrong-kind handles, bad time limits, lookups while the application is
 * stopped).
 *
 * Built by tests/c_abi.rs with -Wall -Wextra -Werror -std=c11 and the address
 * and undefined-behaviour sanitizers; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "sipsimple.h"
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_MS 10000



/* Takes notifications from `queue` until one named `name` arrives; returns it
 * (owned) or NULL on timeout. Skipped ones are freed. */
static sipsimple_notification *next_named(sipsimple_handle queue, const char *name) {
    int64_t deadline = now_ms() + WAIT_MS;
    for (;;) {
        int64_t left = deadline - now_ms();
        sipsimple_notification *n = NULL;
        if (left <= 0 || sipsimple_notification_queue_next(queue, (int32_t)left, &n) != SIPSIMPLE_RESULT_OK) {
            fprintf(stderr, "no %s within %d ms: %s\n", name, WAIT_MS, last_error());
            return NULL;
        }
        char *got = NULL;
        OK(sipsimple_notification_name(n, &got));
        int match = strcmp(got, name) == 0;
        sipsimple_string_free(got);
        if (match) {
            return n;
        }
        sipsimple_notification_free(n);
    }
}

/* The string field `field` of `n` (owned), or NULL. */
static char *string_field(const sipsimple_notification *n, const char *field) {
    char *text = NULL;
    EXPECT(sipsimple_notification_get_string(n, field, &text), SIPSIMPLE_RESULT_OK);
    return text;
}

/* Checks the next DNSLookupDidSucceed of `queue`: sent by `lookup`, with
 * `result` equal to `json`. */
static void expect_success(sipsimple_handle queue, sipsimple_handle lookup, const char *json) {
    sipsimple_notification *n = next_named(queue, "DNSLookupDidSucceed");
    CHECK(n != NULL);
    if (n == NULL) {
        return;
    }
    sipsimple_handle sender = 0;
    OK(sipsimple_notification_sender(n, &sender));
    CHECK(sender == lookup);
    char *result = NULL;
    OK(sipsimple_notification_get_json(n, "result", &result));
    if (strcmp(result, json) != 0) {
        fprintf(stderr, "DNSLookupDidSucceed.result is %s, expected %s\n", result, json);
        failures++;
    }
    sipsimple_string_free(result);
    sipsimple_notification_free(n);
}

/* Checks the next DNSLookupDidFail of `queue`: its `error` contains `text`. */
static void expect_failure(sipsimple_handle queue, const char *text) {
    sipsimple_notification *n = next_named(queue, "DNSLookupDidFail");
    CHECK(n != NULL);
    if (n == NULL) {
        return;
    }
    char *error = string_field(n, "error");
    CHECK(error != NULL && strstr(error, text) != NULL);
    if (error != NULL && strstr(error, text) == NULL) {
        fprintf(stderr, "DNSLookupDidFail.error is \"%s\", expected it to contain \"%s\"\n", error, text);
    }
    sipsimple_string_free(error);
    sipsimple_notification_free(n);
}

/* Waits for the oldest lookup of `lookup`: it must succeed with `json`. */
static void expect_result(sipsimple_handle lookup, const char *json) {
    char *result = NULL;
    EXPECT(sipsimple_dns_lookup_wait(lookup, WAIT_MS, &result), SIPSIMPLE_RESULT_OK);
    CHECK(result != NULL && strcmp(result, json) == 0);
    if (result != NULL && strcmp(result, json) != 0) {
        fprintf(stderr, "the lookup gave %s, expected %s\n", result, json);
    }
    sipsimple_string_free(result);
}

/* Waits for the oldest lookup of `lookup`: it must fail with `text` in the
 * last error message. */
static void expect_lookup_error(sipsimple_handle lookup, const char *text) {
    char *result = NULL;
    EXPECT(sipsimple_dns_lookup_wait(lookup, WAIT_MS, &result), SIPSIMPLE_RESULT_LOOKUP_FAILED);
    CHECK(result == NULL);
    CHECK(strstr(last_error(), text) != NULL);
}

static const char *const UDP_TCP[] = {"udp", "tcp"};
static const char *const ALL[] = {"udp", "tcp", "tls"};
static const char *const UDP[] = {"udp"};

static void check_arguments(sipsimple_handle lookup) {
    sipsimple_handle settings = 0, fresh = 0;
    char *out = NULL;
    const char *const with_null[] = {"udp", NULL};

    EXPECT(sipsimple_dns_lookup_new(NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_sip_proxy(lookup, NULL, UDP, 1, NULL, 0, 0), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", NULL, 1, NULL, 0, 0),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", with_null, 2, NULL, 0, 0),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_service(lookup, "sip:127.0.0.1", NULL, 0, 0, 0), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_xcap_server(lookup, NULL, 0, 0), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_wait(lookup, 0, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", UDP, 1, NULL, -1.0, 0),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "sipsimple_dns_lookup_sip_proxy") != NULL);
    EXPECT(sipsimple_dns_lookup_xcap_server(lookup, "sip:example.com", 1.0, -5.0), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    /* Nothing was started by the refused calls. */
    EXPECT(sipsimple_dns_lookup_wait(lookup, 0, &out), SIPSIMPLE_RESULT_INVALID_STATE);
    CHECK(out == NULL);

    /* Garbage, 0 and wrong-kind handles. */
    OK(sipsimple_settings_global(&settings));
    EXPECT(sipsimple_dns_lookup_sip_proxy(0, "sip:127.0.0.1", UDP, 1, NULL, 0, 0), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_service(0xdeadbeef, "sip:127.0.0.1", "stun", 0, 0, 0),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_xcap_server(settings, "sip:example.com", 0, 0), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_wait(settings, 0, &out), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_free(settings), SIPSIMPLE_RESULT_INVALID_HANDLE);

    /* A freed lookup is stale. */
    OK(sipsimple_dns_lookup_new(&fresh));
    CHECK(fresh != 0 && fresh != lookup);
    OK(sipsimple_dns_lookup_sip_proxy(fresh, "sip:127.0.0.1", UDP, 1, NULL, 0, 0));
    OK(sipsimple_dns_lookup_free(fresh));
    EXPECT(sipsimple_dns_lookup_free(fresh), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_wait(fresh, 0, &out), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_dns_lookup_sip_proxy(fresh, "sip:127.0.0.1", UDP, 1, NULL, 0, 0),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
}

/* Lookups while the application is stopped fail: there is no DNS manager. */
static void check_not_running(sipsimple_handle lookup, sipsimple_handle queue) {
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", UDP, 1, NULL, 0, 0));
    expect_lookup_error(lookup, "DNSManager is not running");
    expect_failure(queue, "DNSManager is not running");
}

static void check_routes(sipsimple_handle lookup, sipsimple_handle queue) {
    static const char tcp_route[] = "[{\"address\":\"127.0.0.1\",\"port\":5070,\"tls_name\":null,"
                                    "\"transport\":\"tcp\",\"uri\":\"sip:127.0.0.1:5070;transport=tcp\"}]";
    static const char tls_route[] = "[{\"address\":\"127.0.0.1\",\"port\":5061,\"tls_name\":\"proxy.example.com\","
                                    "\"transport\":\"tls\",\"uri\":\"sip:127.0.0.1:5061;transport=tls\"}]";
    static const char udp_route[] = "[{\"address\":\"::1\",\"port\":5060,\"tls_name\":null,"
                                    "\"transport\":\"udp\",\"uri\":\"sip:[::1]:5060;transport=udp\"}]";

    /* Three lookups at once on one object: waits take them oldest first. */
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1:5070;transport=tcp", UDP_TCP, 2, NULL, 1.0, 3.0));
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sips:alice@127.0.0.1", ALL, 3, "proxy.example.com", 0, 0));
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:[::1]", ALL, 3, NULL, 0, 0));
    expect_result(lookup, tcp_route);
    expect_result(lookup, tls_route);
    char *out = NULL;
    EXPECT(sipsimple_dns_lookup_wait(lookup, -1, &out), SIPSIMPLE_RESULT_OK);
    CHECK(out != NULL && strcmp(out, udp_route) == 0);
    sipsimple_string_free(out);
    out = NULL;
    EXPECT(sipsimple_dns_lookup_wait(lookup, 0, &out), SIPSIMPLE_RESULT_INVALID_STATE);
    expect_success(queue, lookup, tcp_route);
    expect_success(queue, lookup, tls_route);
    expect_success(queue, lookup, udp_route);

    /* Transports: dictated by the URI but not supported, unknown, none. */
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1;transport=tcp", UDP, 1, NULL, 0, 0));
    expect_lookup_error(lookup, "IP transport tcp dictated by URI is not supported");
    expect_failure(queue, "IP transport tcp dictated by URI is not supported");
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sips:127.0.0.1", UDP_TCP, 2, NULL, 0, 0));
    expect_lookup_error(lookup, "not supported");
    expect_failure(queue, "not supported");
    static const char *const sctp[] = {"udp", "sctp"};
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", sctp, 2, NULL, 0, 0));
    expect_lookup_error(lookup, "Unknown transports: sctp");
    expect_failure(queue, "Unknown transports: sctp");
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", NULL, 0, NULL, 0, 0));
    expect_lookup_error(lookup, "No transports are supported");
    expect_failure(queue, "No transports are supported");
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:bad host", UDP, 1, NULL, 0, 0));
    expect_lookup_error(lookup, "Invalid URI");
    expect_failure(queue, "Invalid URI");
}

/* A name under .invalid (RFC 6761) has no records: the lookup fails with
 * NXDOMAIN, or with a timeout once its lifetime (3 s) has passed when no
 * nameserver answers. Either way it ends well within the wait. The queries
 * are traced. */
static void check_invalid_domain(sipsimple_handle lookup, sipsimple_handle queue) {
    int64_t started = now_ms();
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:alice@nonexistent.invalid", ALL, 3, NULL, 1.0, 3.0));
    char *out = NULL;
    sipsimple_result r = sipsimple_dns_lookup_wait(lookup, 20000, &out);
    int64_t took = now_ms() - started;
    EXPECT(r, SIPSIMPLE_RESULT_LOOKUP_FAILED);
    CHECK(out == NULL);
    CHECK(took < 10000);
    CHECK(strstr(last_error(), "nonexistent.invalid") != NULL || strstr(last_error(), "nameservers") != NULL);
    printf("lookup of sip:nonexistent.invalid failed after %" PRId64 " ms: %s\n", took, last_error());
    int traced = strstr(last_error(), "No nameservers") == NULL;

    /* The first query is the NAPTR of the domain, without the user part. */
    if (traced) {
        sipsimple_notification *trace = next_named(queue, "DNSLookupTrace");
        CHECK(trace != NULL);
        if (trace != NULL) {
            char *type = string_field(trace, "query_type");
            char *name = string_field(trace, "query_name");
            char *context = string_field(trace, "context");
            char *uri = string_field(trace, "uri");
            CHECK(type != NULL && strcmp(type, "NAPTR") == 0);
            CHECK(name != NULL && strcmp(name, "nonexistent.invalid") == 0);
            CHECK(context != NULL && strcmp(context, "lookup_sip_proxy") == 0);
            CHECK(uri != NULL && strstr(uri, "alice") == NULL);
            char *nameservers = NULL;
            OK(sipsimple_notification_get_json(trace, "nameservers", &nameservers));
            CHECK(nameservers[0] == '[');
            sipsimple_string_free(nameservers);
            sipsimple_string_free(type);
            sipsimple_string_free(name);
            sipsimple_string_free(context);
            sipsimple_string_free(uri);
            sipsimple_notification_free(trace);
        }
    }
    expect_failure(queue, "");
}

static void check_services(sipsimple_handle lookup, sipsimple_handle queue) {
    OK(sipsimple_dns_lookup_service(lookup, "sip:10.1.2.3", "stun", 0, 0, 0));
    OK(sipsimple_dns_lookup_service(lookup, "sip:10.1.2.3", "msrprelay", 4000, 0, 0));
    OK(sipsimple_dns_lookup_service(lookup, "sip:10.1.2.3:2856", "msrprelay", 4000, 0, 0));
    OK(sipsimple_dns_lookup_service(lookup, "sip:10.1.2.3", "turn", 0, 0, 0));
    OK(sipsimple_dns_lookup_xcap_server(lookup, "sip:10.1.2.3", 0, 0));
    expect_result(lookup, "[[\"10.1.2.3\",3478]]");
    expect_result(lookup, "[[\"10.1.2.3\",4000]]");
    expect_result(lookup, "[[\"10.1.2.3\",2856]]");
    expect_lookup_error(lookup, "Unknown service: turn");
    expect_lookup_error(lookup, "the host is an IP address");
    expect_success(queue, lookup, "[[\"10.1.2.3\",3478]]");
    expect_success(queue, lookup, "[[\"10.1.2.3\",4000]]");
    expect_success(queue, lookup, "[[\"10.1.2.3\",2856]]");
    expect_failure(queue, "Unknown service: turn");
    expect_failure(queue, "the host is an IP address");
}

int main(void) {
    sipsimple_handle app = 0, app_queue = 0, storage = 0, lookup = 0, queue = 0;
    sipsimple_notification *n = NULL;

    OK(sipsimple_application_handle(&app));
    OK(sipsimple_notification_queue_new(NULL, app, &app_queue));
    OK(sipsimple_dns_lookup_new(&lookup));
    /* Every notification the lookup object sends, in order. */
    OK(sipsimple_notification_queue_new(NULL, lookup, &queue));

    check_arguments(lookup);
    check_not_running(lookup, queue);

    OK(sipsimple_storage_memory_new(&storage));
    OK(sipsimple_application_start(storage));
    n = next_named(app_queue, "SIPApplicationDidStart");
    if (n == NULL) {
        return 1;
    }
    sipsimple_notification_free(n);

    check_routes(lookup, queue);
    check_invalid_domain(lookup, queue);
    check_services(lookup, queue);

    /* Results not waited for go with the object. */
    OK(sipsimple_dns_lookup_sip_proxy(lookup, "sip:127.0.0.1", UDP, 1, NULL, 0, 0));
    expect_success(queue, lookup,
                   "[{\"address\":\"127.0.0.1\",\"port\":5060,\"tls_name\":null,\"transport\":\"udp\","
                   "\"uri\":\"sip:127.0.0.1:5060;transport=udp\"}]");

    OK(sipsimple_application_stop());
    n = next_named(app_queue, "SIPApplicationDidEnd");
    CHECK(n != NULL);
    sipsimple_notification_free(n);
    OK(sipsimple_storage_free(storage));

    /* The one result nobody waited for is still there; then the stopped
     * application fails new lookups. */
    char *out = NULL;
    EXPECT(sipsimple_dns_lookup_wait(lookup, 0, &out), SIPSIMPLE_RESULT_OK);
    sipsimple_string_free(out);
    check_not_running(lookup, queue);

    OK(sipsimple_dns_lookup_free(lookup));
    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_notification_queue_free(app_queue));

    if (failures != 0) {
        fprintf(stderr, "%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("%d checks passed\n", checks);
    return 0;
}
