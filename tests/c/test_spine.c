/*
 * End-to-end test of the C API: application lifecycle with a file storage,
 * notifications through a callback and through a pull queue (and its file
 * descriptor), accounts and settings, settings extensions, persistence
 * across a restart, a paging-mode MESSAGE whose transport fails, and the error paths (invalid setting, corrupt configuration file, stale, garbage
 * and NULL arguments, starting and stopping twice).
 *
 * Built by tests/c_abi.rs with -Wall -Wextra -Werror -std=c11 and the address
 * and undefined-behaviour sanitizers; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "sipsimple.h"
#include "check.h"
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000


/* ---- callback observer: records names under a mutex ---- */

#define MAX_RECORDED 512

typedef struct {
    pthread_mutex_t mutex;
    pthread_cond_t arrived;
    char names[MAX_RECORDED][96];
    int count;
} recorder;

static recorder rec = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0}}, 0};

static void record_notification(void *user_data, const sipsimple_notification *n) {
    recorder *r = user_data;
    char *name = NULL;
    if (sipsimple_notification_name(n, &name) != SIPSIMPLE_RESULT_OK) {
        return;
    }
    pthread_mutex_lock(&r->mutex);
    if (r->count < MAX_RECORDED) {
        snprintf(r->names[r->count], sizeof r->names[0], "%s", name);
        r->count++;
    }
    pthread_cond_broadcast(&r->arrived);
    pthread_mutex_unlock(&r->mutex);
    sipsimple_string_free(name);
}

/* Index of the first recorded notification named `name`, waiting up to
 * timeout_ms for it; -1 if it never came. */
static int recorder_wait(recorder *r, const char *name, int timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int found = -1;
    pthread_mutex_lock(&r->mutex);
    for (;;) {
        for (int i = 0; i < r->count; i++) {
            if (strcmp(r->names[i], name) == 0) {
                found = i;
                break;
            }
        }
        if (found >= 0 || pthread_cond_timedwait(&r->arrived, &r->mutex, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&r->mutex);
    return found;
}

static int recorder_count(recorder *r) {
    pthread_mutex_lock(&r->mutex);
    int n = r->count;
    pthread_mutex_unlock(&r->mutex);
    return n;
}

/* ---- small helpers ---- */


static char *name_of(const sipsimple_notification *n) {
    char *name = NULL;
    OK(sipsimple_notification_name(n, &name));
    return name;
}

/* Takes notifications from `queue` until one named `name` arrives; returns it
 * (owned) or NULL on timeout. */
static sipsimple_notification *queue_wait_for(sipsimple_handle queue, const char *name, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            return NULL;
        }
        sipsimple_notification *n = NULL;
        sipsimple_result r = sipsimple_notification_queue_next(queue, (int32_t)left, &n);
        if (r == SIPSIMPLE_RESULT_TIMEOUT) {
            return NULL;
        }
        OK(r);
        char *got = name_of(n);
        int match = strcmp(got, name) == 0;
        sipsimple_string_free(got);
        if (match) {
            return n;
        }
        sipsimple_notification_free(n);
    }
}

/* The next notification of `queue` must be named `name`. */
static void expect_next(sipsimple_handle queue, const char *name) {
    sipsimple_notification *n = NULL;
    sipsimple_result r = sipsimple_notification_queue_next(queue, WAIT_MS, &n);
    checks++;
    if (r != SIPSIMPLE_RESULT_OK) {
        fprintf(stderr, "expected %s, queue_next gave %u: %s\n", name, (unsigned)r, last_error());
        failures++;
        return;
    }
    char *got = name_of(n);
    if (strcmp(got, name) != 0) {
        fprintf(stderr, "expected %s next, got %s\n", name, got);
        failures++;
    }
    sipsimple_string_free(got);
    sipsimple_notification_free(n);
}

static int fd_readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    int r;
    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r == 1 && (p.revents & POLLIN) != 0;
}

/* The setting `path` of `object` as JSON text (owned by the caller, free()). */
static char *setting(sipsimple_handle object, const char *path) {
    char *json = NULL;
    OK(sipsimple_settings_get_json(object, path, &json));
    char *copy = strdup(json);
    sipsimple_string_free(json);
    return copy;
}

/* The JSON object that is the value of member `key` somewhere in `json`, as a
 * malloc'd string, or NULL. Enough for the compact JSON the library writes. */
static char *json_object_member(const char *json, const char *key) {
    char pattern[160];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *start = strstr(json, pattern);
    if (start == NULL) {
        return NULL;
    }
    start += strlen(pattern);
    if (*start != '{') {
        return NULL;
    }
    int depth = 0, in_string = 0;
    for (const char *p = start; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1] != '\0') {
                p++;
            } else if (*p == '"') {
                in_string = 0;
            }
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            size_t len = (size_t)(p - start) + 1;
            char *out = malloc(len + 1);
            REQUIRE(out != NULL);
            memcpy(out, start, len);
            out[len] = '\0';
            return out;
        }
    }
    return NULL;
}

/* Whether the object member `key` of `json` contains `needle`. */
static int member_contains(const char *json, const char *key, const char *needle) {
    char *member = json_object_member(json, key);
    int found = member != NULL && strstr(member, needle) != NULL;
    free(member);
    return found;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    char *buf = calloc(1, 65536);
    REQUIRE(buf != NULL);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- the test ---- */

static void test_arguments_before_start(void) {
    sipsimple_handle h = 0;
    char *s = NULL;
    bool b = false;

    CHECK(strcmp(sipsimple_result_text(SIPSIMPLE_RESULT_INVALID_HANDLE), "invalid handle") == 0);
    CHECK(sipsimple_result_text(999) != NULL);
    sipsimple_string_free(NULL);
    sipsimple_notification_free(NULL);

    /* NULL strings and NULL out-parameters; out-parameters untouched. */
    EXPECT(sipsimple_storage_file_new(NULL, &h), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(h == 0);
    CHECK(strstr(sipsimple_last_error(), "directory") != NULL);
    EXPECT(sipsimple_application_handle(NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_account_manager_get_account(NULL, &h), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_notification_center_post(NULL, 0, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_notification_center_add_observer(NULL, NULL, NULL, 0, &h), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_notification_name(NULL, &s), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_storage_file_new("\xff\xfe", &h), SIPSIMPLE_RESULT_INVALID_UTF8);
    CHECK(h == 0 && s == NULL);

    /* The last error message: size query, then a copy. */
    EXPECT(sipsimple_account_id(0, &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
    size_t len = 0;
    EXPECT(sipsimple_last_error_message(NULL, 0, &len), SIPSIMPLE_RESULT_BUFFER_TOO_SMALL);
    CHECK(len > 0);
    char small[4];
    EXPECT(sipsimple_last_error_message(small, sizeof small, &len), SIPSIMPLE_RESULT_BUFFER_TOO_SMALL);
    char *message = malloc(len + 1);
    REQUIRE(message != NULL);
    EXPECT(sipsimple_last_error_message(message, len + 1, &len), SIPSIMPLE_RESULT_OK);
    CHECK(strlen(message) == len && strstr(message, "sipsimple_account_id") != NULL);
    free(message);

    /* Garbage and zero handles of every shape. */
    const sipsimple_handle garbage[] = {0, 1, 0xdeadbeefULL, UINT64_MAX, 0x0700000500000009ULL, 0x0500ffff00000000ULL};
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        EXPECT(sipsimple_account_id(garbage[i], &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_account_enabled(garbage[i], &b), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_settings_get_json(garbage[i], "", &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_storage_free(garbage[i]), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_application_start(garbage[i]), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_notification_queue_free(garbage[i]), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_notification_center_remove_observer(garbage[i]), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_notification_center_post("CTest", garbage[i] == 0 ? 1 : garbage[i], NULL),
               SIPSIMPLE_RESULT_INVALID_HANDLE);
    }
    CHECK(s == NULL);

    /* A live handle of the wrong kind. */
    sipsimple_handle app = 0;
    OK(sipsimple_application_handle(&app));
    EXPECT(sipsimple_account_id(app, &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_storage_free(app), SIPSIMPLE_RESULT_INVALID_HANDLE);

    /* Not started yet. */
    EXPECT(sipsimple_application_stop(), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_account_new("alice@example.com", &h), SIPSIMPLE_RESULT_INVALID_STATE);
    OK(sipsimple_application_running(&b));
    CHECK(!b);
}

/* Extensions registered by class name before the application starts. */
static void register_extensions_before_start(void) {
    OK(sipsimple_settings_register_class_extension("Account", "ui.color", "str", "\"blue\"", false));
    OK(sipsimple_settings_register_class_extension("BonjourAccount", "ui.color", "str", "\"white\"", false));
    OK(sipsimple_settings_register_class_extension("SIPSimpleSettings", "logs.trace_notifications", "bool", "false",
                                                   false));
    EXPECT(sipsimple_settings_register_class_extension("Contact", "ui.color", "str", "\"blue\"", false),
           SIPSIMPLE_RESULT_NOT_FOUND);
    EXPECT(sipsimple_settings_register_class_extension(NULL, "ui.color", "str", NULL, true),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
}

/* Extensions registered through object handles while running: the global
 * settings and an account's class. */
static void check_extensions(sipsimple_handle global, sipsimple_handle account) {
    /* A value stored before any extension defined it is picked up. */
    OK(sipsimple_settings_register_extension(global, "gui.theme", "str", "\"dark\"", false));
    char *value = setting(global, "gui.theme");
    CHECK(strcmp(value, "\"light\"") == 0);
    free(value);
    value = setting(global, "logs");
    CHECK(strstr(value, "\"trace_notifications\":false") != NULL && strstr(value, "\"trace_sip\":false") != NULL);
    free(value);

    OK(sipsimple_settings_register_extension(account, "ui.volume", "nonnegative_int", "50", false));
    OK(sipsimple_settings_register_extension(account, "ui.relay", "msrp_relay_address", NULL, true));
    value = setting(account, "ui");
    CHECK(strcmp(value, "{\"color\":\"blue\",\"relay\":null,\"volume\":50}") == 0);
    free(value);

    /* Refused extensions: nothing changes. */
    EXPECT(sipsimple_settings_register_extension(account, "ui.size", "colour", "1", false),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "colour") != NULL);
    EXPECT(sipsimple_settings_register_extension(account, "ui.size", "port", "\"huge\"", false),
           SIPSIMPLE_RESULT_INVALID_SETTING);
    CHECK(strstr(last_error(), "ui.size") != NULL);
    EXPECT(sipsimple_settings_register_extension(account, "ui.size", "port", NULL, false),
           SIPSIMPLE_RESULT_INVALID_SETTING);
    EXPECT(sipsimple_settings_register_extension(account, "ui.size", "port", "{oops", false),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_settings_register_extension(account, "sip", "str", "\"x\"", false),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_settings_register_extension(account, "ui.color.dark", "str", "\"x\"", false),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_settings_register_extension(account, NULL, "str", "\"x\"", false), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_settings_register_extension(0xdeadbeefULL, "ui.size", "port", "1", false),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
    char *s = NULL;
    EXPECT(sipsimple_settings_get_json(account, "ui.size", &s), SIPSIMPLE_RESULT_NOT_FOUND);

    /* The new settings validate, save and are announced like any other. */
    EXPECT(sipsimple_settings_set_json(account, "ui.volume", "-1"), SIPSIMPLE_RESULT_INVALID_SETTING);
    OK(sipsimple_settings_set_json(account, "ui.volume", "70"));
    OK(sipsimple_settings_set_json(account, "ui.color", "\"green\""));
    OK(sipsimple_account_save(account));
    OK(sipsimple_settings_set_json(global, "logs.trace_notifications", "true"));
    OK(sipsimple_settings_save(global));
}

/* After a restart the extended classes load the saved values. */
static void check_extensions_after_restart(sipsimple_handle account) {
    sipsimple_handle global = 0;
    OK(sipsimple_settings_global(&global));
    char *value = setting(global, "logs.trace_notifications");
    CHECK(strcmp(value, "true") == 0);
    free(value);
    value = setting(account, "ui");
    CHECK(strcmp(value, "{\"color\":\"green\",\"relay\":null,\"volume\":70}") == 0);
    free(value);
    sipsimple_handle bonjour = 0;
    OK(sipsimple_account_manager_get_account("bonjour@local", &bonjour));
    value = setting(bonjour, "ui");
    CHECK(strcmp(value, "{\"color\":\"white\"}") == 0);
    free(value);
}

static void check_custom_notification(sipsimple_handle account) {
    sipsimple_handle queue = 0;
    int fd = -1;
    OK(sipsimple_notification_queue_new("CTestNotification", account, &queue));
    OK(sipsimple_notification_queue_fd(queue, &fd));
    CHECK(!fd_readable(fd, 0));

    EXPECT(sipsimple_notification_center_post("CTestNotification", account, "[1, 2]"), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_notification_center_post("CTestNotification", account, "{not json"), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    /* Another sender: filtered out by the queue. */
    OK(sipsimple_notification_center_post("CTestNotification", 0, "{\"count\": 1}"));
    OK(sipsimple_notification_center_post("CTestNotification", account,
                                          "{\"text\": \"hi\", \"count\": 5, \"flag\": true, \"ratio\": 1.5, \"nested\": {\"a\": [1]}}"));
    CHECK(fd_readable(fd, WAIT_MS));

    sipsimple_notification *n = NULL;
    OK(sipsimple_notification_queue_next(queue, WAIT_MS, &n));
    CHECK(!fd_readable(fd, 0));

    char *s = NULL;
    int64_t i = 0;
    bool b = false;
    double d = 0;
    sipsimple_handle h = 0;
    OK(sipsimple_notification_sender(n, &h));
    CHECK(h == account);
    OK(sipsimple_notification_get_string(n, "text", &s));
    CHECK(strcmp(s, "hi") == 0);
    sipsimple_string_free(s);
    s = NULL;
    OK(sipsimple_notification_get_int(n, "count", &i));
    CHECK(i == 5);
    OK(sipsimple_notification_get_bool(n, "flag", &b));
    CHECK(b);
    OK(sipsimple_notification_get_double(n, "ratio", &d));
    CHECK(d == 1.5);
    OK(sipsimple_notification_timestamp(n, &d));
    CHECK(d > 1.6e9);
    OK(sipsimple_notification_get_json(n, "nested", &s));
    CHECK(strcmp(s, "{\"a\":[1]}") == 0);
    sipsimple_string_free(s);
    s = NULL;
    i = 42;
    EXPECT(sipsimple_notification_get_int(n, "text", &i), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_notification_get_int(n, "missing", &i), SIPSIMPLE_RESULT_NOT_FOUND);
    CHECK(i == 42);
    EXPECT(sipsimple_notification_get_string(n, "count", &s), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_notification_get_handle(n, "text", &h), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_notification_get_string(n, NULL, &s), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(s == NULL);
    OK(sipsimple_notification_data_json(n, &s));
    CHECK(strstr(s, "\"timestamp\":") != NULL && strstr(s, "\"count\":5") != NULL);
    sipsimple_string_free(s);
    sipsimple_notification_free(n);

    /* Nothing else is queued: the other sender's notification was filtered. */
    EXPECT(sipsimple_notification_queue_next(queue, 0, &n), SIPSIMPLE_RESULT_TIMEOUT);
    OK(sipsimple_notification_center_flush(WAIT_MS));
    EXPECT(sipsimple_notification_queue_next(queue, 0, &n), SIPSIMPLE_RESULT_TIMEOUT);

    /* A freed queue is a stale handle. */
    OK(sipsimple_notification_queue_free(queue));
    EXPECT(sipsimple_notification_queue_next(queue, 0, &n), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_notification_queue_fd(queue, &fd), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_notification_queue_free(queue), SIPSIMPLE_RESULT_INVALID_HANDLE);
}

/* A paging-mode MESSAGE through an outbound proxy on a loopback TCP port
 * nothing listens on: the connection is refused and SIPMessageDidFail comes
 * at once with code 503, sent by the message. Also the argument errors. */
static void check_paging_message(sipsimple_handle account, sipsimple_handle stale_account) {
    /* A bound TCP socket that never listens: connecting to it is refused and
     * no other process can take the port meanwhile. */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(sock >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(bind(sock, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t addr_len = sizeof addr;
    REQUIRE(getsockname(sock, (struct sockaddr *)&addr, &addr_len) == 0);
    char proxy[96];
    snprintf(proxy, sizeof proxy, "\"127.0.0.1:%u;transport=tcp\"", (unsigned)ntohs(addr.sin_port));
    OK(sipsimple_settings_set_json(account, "sip.outbound_proxy", proxy));

    static const uint8_t body[] = {'h', 'i', 0, 0xff}; /* bytes, not a C string */
    sipsimple_handle message = 0, queue = 0;
    EXPECT(sipsimple_message_send(account, "sip:bob@127.0.0.1", "plain", body, sizeof body, &message),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "content type") != NULL);
    EXPECT(sipsimple_message_send(account, "sip:bob@127.0.0.1", "text/plain\r\nX: y", body, sizeof body, &message),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_message_send(stale_account, "sip:bob@127.0.0.1", "text/plain", body, sizeof body, &message),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_message_send(0, "sip:bob@127.0.0.1", "text/plain", body, sizeof body, &message),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_message_send(account, NULL, "text/plain", body, sizeof body, &message),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_message_send(account, "sip:bob@127.0.0.1", "text/plain", NULL, 3, &message),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(message == 0);

    /* Every notification: the outcome may be posted before send returns. */
    OK(sipsimple_notification_queue_new(NULL, 0, &queue));
    OK(sipsimple_message_send(account, "sip:bob@127.0.0.1", "text/plain", body, sizeof body, &message));
    CHECK(message != 0 && message != account);
    int64_t deadline = now_ms() + WAIT_MS;
    sipsimple_notification *outcome = NULL;
    char *name = NULL;
    while (outcome == NULL && now_ms() < deadline) {
        sipsimple_notification *n = NULL;
        sipsimple_result r = sipsimple_notification_queue_next(queue, (int32_t)(deadline - now_ms()), &n);
        if (r == SIPSIMPLE_RESULT_TIMEOUT) {
            break;
        }
        OK(r);
        sipsimple_handle sender = 0;
        OK(sipsimple_notification_sender(n, &sender));
        if (sender == message) {
            outcome = n;
        } else {
            sipsimple_notification_free(n);
        }
    }
    CHECK(outcome != NULL);
    if (outcome != NULL) {
        name = name_of(outcome);
        CHECK(strcmp(name, "SIPMessageDidFail") == 0);
        sipsimple_string_free(name);
        int64_t code = 0;
        OK(sipsimple_notification_get_int(outcome, "code", &code));
        CHECK(code == 503);
        char *reason = NULL;
        OK(sipsimple_notification_get_string(outcome, "reason", &reason));
        sipsimple_string_free(reason);
        sipsimple_notification_free(outcome);
    }
    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_settings_set_json(account, "sip.outbound_proxy", "null"));
    close(sock);
}

int main(void) {
    char dir[512], bad_dir[512], path[1100];
    make_temp_dir(dir, sizeof dir);
    make_temp_dir(bad_dir, sizeof bad_dir);

    test_arguments_before_start();

    sipsimple_handle app = 0, manager = 0, observer = 0, app_queue = 0;
    OK(sipsimple_application_handle(&app));
    OK(sipsimple_account_manager_handle(&manager));
    CHECK(app != 0 && manager != 0 && app != manager);
    OK(sipsimple_notification_center_add_observer(record_notification, &rec, NULL, 0, &observer));
    OK(sipsimple_notification_queue_new(NULL, app, &app_queue));
    int app_fd = -1;
    OK(sipsimple_notification_queue_fd(app_queue, &app_fd));
    CHECK(!fd_readable(app_fd, 0));

    /* ---- extensions; a value stored by an earlier run for a setting no extension defines yet ---- */
    register_extensions_before_start();
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "SIPSimpleSettings:\n    gui:\n        theme = light\n");

    /* ---- start ---- */
    sipsimple_handle storage = 0;
    OK(sipsimple_storage_file_new(dir, &storage));
    OK(sipsimple_application_start(storage));
    EXPECT(sipsimple_application_start(storage), SIPSIMPLE_RESULT_INVALID_STATE);
    CHECK(fd_readable(app_fd, WAIT_MS));
    expect_next(app_queue, "SIPApplicationWillStart");
    expect_next(app_queue, "SIPApplicationDidStart");
    CHECK(!fd_readable(app_fd, 0));
    int will_start = recorder_wait(&rec, "SIPApplicationWillStart", WAIT_MS);
    int did_start = recorder_wait(&rec, "SIPApplicationDidStart", WAIT_MS);
    CHECK(will_start >= 0 && did_start > will_start);
    bool running = false;
    OK(sipsimple_application_running(&running));
    CHECK(running);

    /* ---- a new account ---- */
    sipsimple_handle added_queue = 0, account = 0;
    OK(sipsimple_notification_queue_new("SIPAccountManagerDidAddAccount", manager, &added_queue));
    OK(sipsimple_account_new("alice@example.com", &account));
    EXPECT(sipsimple_account_new("not an address", &account), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    bool flag = true;
    OK(sipsimple_account_manager_has_account("alice@example.com", &flag));
    CHECK(!flag); /* not saved yet */
    OK(sipsimple_account_is_bonjour(account, &flag));
    CHECK(!flag);
    char *s = NULL;
    OK(sipsimple_account_id(account, &s));
    CHECK(strcmp(s, "alice@example.com") == 0);
    sipsimple_string_free(s);
    OK(sipsimple_account_uri(account, &s));
    CHECK(strcmp(s, "sip:alice@example.com") == 0);
    sipsimple_string_free(s);

    OK(sipsimple_account_save(account));
    int64_t deadline = now_ms() + WAIT_MS;
    sipsimple_handle added = 0;
    while (added != account && now_ms() < deadline) {
        sipsimple_notification *n = queue_wait_for(added_queue, "SIPAccountManagerDidAddAccount", (int)(deadline - now_ms()));
        if (n == NULL) {
            break;
        }
        sipsimple_handle sender = 0;
        OK(sipsimple_notification_sender(n, &sender));
        CHECK(sender == manager);
        OK(sipsimple_notification_get_handle(n, "account", &added));
        char *data = NULL;
        OK(sipsimple_notification_data_json(n, &data));
        CHECK(strstr(data, "\"account\":{") != NULL);
        sipsimple_string_free(data);
        sipsimple_notification_free(n);
    }
    CHECK(added == account);
    OK(sipsimple_notification_queue_free(added_queue));

    sipsimple_handle found = 0;
    OK(sipsimple_account_manager_get_account("alice@example.com", &found));
    CHECK(found == account);
    OK(sipsimple_account_manager_has_account("alice@example.com", &flag));
    CHECK(flag);
    EXPECT(sipsimple_account_manager_get_account("bob@example.com", &found), SIPSIMPLE_RESULT_NOT_FOUND);
    CHECK(found == account);
    OK(sipsimple_account_manager_get_accounts(&s));
    CHECK(strstr(s, "\"id\":\"alice@example.com\"") != NULL && strstr(s, "\"type\":\"BonjourAccount\"") != NULL);
    sipsimple_string_free(s);
    size_t count = 0;
    EXPECT(sipsimple_account_manager_get_account_handles(NULL, 0, &count), SIPSIMPLE_RESULT_BUFFER_TOO_SMALL);
    CHECK(count == 2);
    sipsimple_handle handles[8] = {0};
    OK(sipsimple_account_manager_get_account_handles(handles, 8, &count));
    CHECK(count == 2 && (handles[0] == account || handles[1] == account));
    sipsimple_handle bonjour = 0;
    OK(sipsimple_account_manager_get_account("bonjour@local", &bonjour));
    OK(sipsimple_account_is_bonjour(bonjour, &flag));
    CHECK(flag);

    /* ---- change settings: CFGSettingsObjectDidChange with `modified` ---- */
    sipsimple_handle change_queue = 0;
    OK(sipsimple_notification_queue_new("CFGSettingsObjectDidChange", account, &change_queue));
    char *value = setting(account, "sip.register_interval");
    CHECK(strcmp(value, "600") == 0);
    free(value);
    OK(sipsimple_settings_set_json(account, "enabled", "true"));
    OK(sipsimple_settings_set_json(account, "sip.register_interval", "300"));
    OK(sipsimple_account_save(account));
    sipsimple_notification *changed = queue_wait_for(change_queue, "CFGSettingsObjectDidChange", WAIT_MS);
    CHECK(changed != NULL);
    if (changed != NULL) {
        sipsimple_handle sender = 0;
        OK(sipsimple_notification_sender(changed, &sender));
        CHECK(sender == account);
        char *modified = NULL;
        OK(sipsimple_notification_get_json(changed, "modified", &modified));
        CHECK(member_contains(modified, "enabled", "\"old\":false"));
        CHECK(member_contains(modified, "enabled", "\"new\":true"));
        CHECK(member_contains(modified, "sip.register_interval", "\"old\":600"));
        CHECK(member_contains(modified, "sip.register_interval", "\"new\":300"));
        sipsimple_string_free(modified);
        char *data = NULL;
        OK(sipsimple_notification_data_json(changed, &data));
        CHECK(member_contains(data, "modified", "\"sip.register_interval\":{\"new\":300,\"old\":600}"));
        sipsimple_string_free(data);
        sipsimple_notification_free(changed);
    }
    OK(sipsimple_notification_queue_free(change_queue));
    OK(sipsimple_account_enabled(account, &flag));
    CHECK(flag);

    /* ---- an invalid setting value: code 4, named setting, old value kept ---- */
    EXPECT(sipsimple_settings_set_json(account, "sip.register_interval", "\"soon\""), SIPSIMPLE_RESULT_INVALID_SETTING);
    CHECK(strstr(last_error(), "sip.register_interval") != NULL);
    EXPECT(sipsimple_settings_set_json(account, "sip.register_interval", "-5"), SIPSIMPLE_RESULT_INVALID_SETTING);
    value = setting(account, "sip.register_interval");
    CHECK(strcmp(value, "300") == 0);
    free(value);
    EXPECT(sipsimple_settings_set_json(account, "sip.no_such_setting", "1"), SIPSIMPLE_RESULT_NOT_FOUND);
    EXPECT(sipsimple_settings_set_json(account, "sip.register_interval", "{oops"), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_settings_set_json(account, NULL, "1"), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    value = setting(account, "sip");
    CHECK(strstr(value, "\"register_interval\":300") != NULL);
    free(value);

    /* Global settings. */
    sipsimple_handle global = 0;
    OK(sipsimple_settings_global(&global));
    value = setting(global, "default_account");
    CHECK(value[0] == '"' || strcmp(value, "null") == 0);
    free(value);
    EXPECT(sipsimple_account_id(global, &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
    sipsimple_handle default_account = 0;
    OK(sipsimple_account_manager_default_account(&default_account));
    CHECK(default_account == account || default_account == bonjour);
    check_extensions(global, account);

    /* ---- notifications posted from C, typed getters, the queue's fd ---- */
    check_custom_notification(account);

    /* ---- stop ---- */
    OK(sipsimple_application_stop());
    EXPECT(sipsimple_application_stop(), SIPSIMPLE_RESULT_INVALID_STATE);
    expect_next(app_queue, "SIPApplicationWillEnd");
    expect_next(app_queue, "SIPApplicationDidEnd");
    CHECK(recorder_wait(&rec, "SIPApplicationDidEnd", WAIT_MS) >= 0);
    OK(sipsimple_application_running(&running));
    CHECK(!running);

    /* ---- a corrupt configuration file: code 7, file and line named, file untouched ---- */
    static const char corrupt[] = "SIPSimpleSettings:\n    user_agent = test\n        oops = 1\n";
    snprintf(path, sizeof path, "%s/config", bad_dir);
    write_file(path, corrupt);
    sipsimple_handle bad_storage = 0;
    OK(sipsimple_storage_file_new(bad_dir, &bad_storage));
    EXPECT(sipsimple_application_start(bad_storage), SIPSIMPLE_RESULT_CONFIGURATION_FILE);
    const char *message = last_error();
    CHECK(strstr(message, path) != NULL);
    CHECK(strstr(message, ":3:") != NULL);
    char *after = read_file(path);
    CHECK(after != NULL && strcmp(after, corrupt) == 0);
    free(after);
    OK(sipsimple_application_running(&running));
    CHECK(!running);
    OK(sipsimple_storage_free(bad_storage));

    /* ---- restart on the same directory: the account and its settings are kept ---- */
    sipsimple_handle storage2 = 0;
    OK(sipsimple_storage_file_new(dir, &storage2));
    OK(sipsimple_application_start(storage2));
    sipsimple_notification *n = queue_wait_for(app_queue, "SIPApplicationDidStart", WAIT_MS);
    CHECK(n != NULL);
    sipsimple_notification_free(n);

    EXPECT(sipsimple_account_id(account, &s), SIPSIMPLE_RESULT_INVALID_HANDLE); /* from the earlier run */
    EXPECT(sipsimple_settings_get_json(account, "enabled", &s), SIPSIMPLE_RESULT_INVALID_HANDLE);
    sipsimple_handle account2 = 0;
    OK(sipsimple_account_manager_get_account("alice@example.com", &account2));
    CHECK(account2 != 0 && account2 != account);
    value = setting(account2, "sip.register_interval");
    CHECK(strcmp(value, "300") == 0);
    free(value);
    OK(sipsimple_account_enabled(account2, &flag));
    CHECK(flag);
    check_extensions_after_restart(account2);
    check_paging_message(account2, account);

    /* ---- a removed observer is stale and no longer called ---- */
    OK(sipsimple_notification_center_remove_observer(observer));
    EXPECT(sipsimple_notification_center_remove_observer(observer), SIPSIMPLE_RESULT_INVALID_HANDLE);
    int before = recorder_count(&rec);
    OK(sipsimple_notification_center_post("CTestAfterRemoval", 0, NULL));
    OK(sipsimple_notification_center_flush(WAIT_MS));
    CHECK(recorder_count(&rec) == before);

    /* A freed storage handle is stale; the running application keeps its storage. */
    OK(sipsimple_storage_free(storage));
    EXPECT(sipsimple_storage_free(storage), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_application_start(storage), SIPSIMPLE_RESULT_INVALID_HANDLE);

    /* ---- delete the account, stop, clean up ---- */
    OK(sipsimple_account_delete(account2));
    EXPECT(sipsimple_account_manager_get_account("alice@example.com", &found), SIPSIMPLE_RESULT_NOT_FOUND);
    EXPECT(sipsimple_account_delete(bonjour), SIPSIMPLE_RESULT_INVALID_HANDLE); /* stale: earlier run */
    OK(sipsimple_application_stop());
    n = queue_wait_for(app_queue, "SIPApplicationDidEnd", WAIT_MS);
    CHECK(n != NULL);
    sipsimple_notification_free(n);
    OK(sipsimple_notification_queue_free(app_queue));
    OK(sipsimple_storage_free(storage2));

    remove_tree(dir);
    remove_tree(bad_dir);

    if (failures != 0) {
        fprintf(stderr, "test_spine: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_spine: all %d checks passed\n", checks);
    return 0;
}
