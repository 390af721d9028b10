/*
 * End-to-end test of account registration through the C API: an enabled
 * account registers with a registrar on loopback (this program, answering on
 * a UDP socket of its own), sipsimple_account_registered and
 * sipsimple_account_contact_uri follow, and stopping the application
 * unregisters it (a REGISTER with Expires: 0, answered while the stop is under
 * way) before SIPApplicationDidEnd. Also the error paths of the two functions
 * (unknown and unused transports, NULL arguments, stale, zero and wrong-kind
 * handles).
 *
 * Single-threaded: the registrar socket and the notification queue are
 * polled from main(). Built by tests/c_abi.rs with -Wall -Wextra -Werror
 * -std=c11 and the address and undefined-behaviour sanitizers; exits 0 when
 * every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "sipsimple.h"
#include "check.h"
#include "files.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 10000
#define PASSWORD "secret-password"



/* ---- SIP messages ---- */

/* Whether the header line starting at `line` is named `name` or `compact`
 * (a one-letter compact form, or NULL); *value is set to its value. */
static int header_named(const char *line, const char *name, const char *compact, const char **value) {
    const char *colon = strchr(line, ':');
    const char *eol = strstr(line, "\r\n");
    if (colon == NULL || (eol != NULL && colon > eol)) {
        return 0;
    }
    size_t len = (size_t)(colon - line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t')) {
        len--;
    }
    int match = (len == strlen(name) && strncasecmp(line, name, len) == 0) ||
                (compact != NULL && len == strlen(compact) && strncasecmp(line, compact, len) == 0);
    if (!match) {
        return 0;
    }
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    *value = v;
    return 1;
}

/* Calls `visit` for every header of `msg` named `name`/`compact`, with its
 * value (not NUL-terminated: `len` bytes). Stops at the blank line. */
typedef void (*header_visitor)(void *ctx, const char *value, size_t len);

static int for_each_header(const char *msg, const char *name, const char *compact, header_visitor visit, void *ctx) {
    int count = 0;
    const char *line = strstr(msg, "\r\n");
    while (line != NULL) {
        line += 2;
        if (strncmp(line, "\r\n", 2) == 0 || *line == '\0') {
            break;
        }
        const char *value = NULL;
        const char *eol = strstr(line, "\r\n");
        if (header_named(line, name, compact, &value)) {
            size_t len = eol != NULL ? (size_t)(eol - value) : strlen(value);
            if (visit != NULL) {
                visit(ctx, value, len);
            }
            count++;
        }
        line = eol;
    }
    return count;
}

typedef struct {
    char *buf;
    size_t size;
} copy_target;

static void copy_first(void *ctx, const char *value, size_t len) {
    copy_target *t = ctx;
    if (t->buf[0] != '\0') {
        return;
    }
    snprintf(t->buf, t->size, "%.*s", (int)len, value);
}

/* The value of the first header `name` of `msg` into `out`; "" if none.
 * Returns the number of such headers. */
static int header(const char *msg, const char *name, const char *compact, char *out, size_t size) {
    out[0] = '\0';
    copy_target t = {out, size};
    return for_each_header(msg, name, compact, copy_first, &t);
}

typedef struct {
    char *out;
    size_t size;
    const char *name;
    const char *suffix;
} append_target;

static void append_header(void *ctx, const char *value, size_t len) {
    append_target *t = ctx;
    size_t used = strlen(t->out);
    snprintf(t->out + used, t->size - used, "%s: %.*s%s\r\n", t->name, (int)len, value, t->suffix);
}

/* Appends to `out` a copy of every header `name` of `request` with `suffix`
 * added to its value. */
static void copy_headers(char *out, size_t size, const char *request, const char *name, const char *compact,
                         const char *suffix) {
    append_target t = {out, size, name, suffix};
    for_each_header(request, name, compact, append_header, &t);
}

/* ---- the registrar: a UDP socket on 127.0.0.1 driven from main() ---- */

#define MAX_REQUESTS 16

typedef struct {
    int sock;
    unsigned port;
    char *requests[MAX_REQUESTS];
    size_t sizes[MAX_REQUESTS];
    int count;
    int retransmissions; /* requests received again (same Call-ID and CSeq) */
} registrar;

static void registrar_open(registrar *r) {
    memset(r, 0, sizeof *r);
    r->sock = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(r->sock >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(r->sock, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(r->sock, (struct sockaddr *)&addr, &len) == 0);
    r->port = ntohs(addr.sin_port);
}

static void registrar_close(registrar *r) {
    for (int i = 0; i < r->count; i++) {
        free(r->requests[i]);
    }
    close(r->sock);
}

static int readable(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    int n;
    do {
        n = poll(&p, 1, timeout_ms);
    } while (n < 0 && errno == EINTR);
    return n == 1 && (p.revents & POLLIN) != 0;
}

/* Whether `packet` repeats a request received before (UDP retransmission). */
static int is_retransmission(const registrar *r, const char *packet) {
    char call_id[512], cseq[128], seen[512];
    header(packet, "Call-ID", "i", call_id, sizeof call_id);
    header(packet, "CSeq", NULL, cseq, sizeof cseq);
    for (int i = 0; i < r->count; i++) {
        if (header(r->requests[i], "Call-ID", "i", seen, sizeof seen) == 1 && strcmp(seen, call_id) == 0 &&
            header(r->requests[i], "CSeq", NULL, seen, sizeof seen) == 1 && strcmp(seen, cseq) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Reads one datagram (the socket must be readable) and answers a request
 * with 200 OK, copying Via, From, To (with a tag), Call-ID and CSeq. When
 * the request registers a Contact (Expires > 0) the answer returns it with
 * that expiry, as a registrar does. Returns the index of the request kept in
 * r->requests, or -1 for anything else (a response, a retransmission, which
 * is answered again and counted, an overflow). */
static int registrar_answer_one(registrar *r) {
    char packet[65536];
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(r->sock, packet, sizeof packet - 1, 0, (struct sockaddr *)&from, &from_len);
    REQUIRE(n > 0);
    packet[n] = '\0';
    if (strncmp(packet, "SIP/2.0", 7) == 0) {
        return -1;
    }
    int index = -1;
    if (is_retransmission(r, packet)) {
        r->retransmissions++;
    } else {
        REQUIRE(r->count < MAX_REQUESTS);
        index = r->count++;
        r->requests[index] = malloc((size_t)n + 1);
        REQUIRE(r->requests[index] != NULL);
        memcpy(r->requests[index], packet, (size_t)n + 1);
        r->sizes[index] = (size_t)n;
    }

    char answer[8192] = "SIP/2.0 200 OK\r\n";
    copy_headers(answer, sizeof answer, packet, "Via", "v", "");
    copy_headers(answer, sizeof answer, packet, "From", "f", "");
    copy_headers(answer, sizeof answer, packet, "To", "t", ";tag=c-registrar");
    copy_headers(answer, sizeof answer, packet, "Call-ID", "i", "");
    copy_headers(answer, sizeof answer, packet, "CSeq", NULL, "");
    char expires[32];
    header(packet, "Expires", NULL, expires, sizeof expires);
    if (strncmp(packet, "REGISTER ", 9) == 0 && atoi(expires) > 0) {
        char suffix[48];
        snprintf(suffix, sizeof suffix, ";expires=%d", atoi(expires));
        copy_headers(answer, sizeof answer, packet, "Contact", "m", suffix);
    }
    size_t used = strlen(answer);
    snprintf(answer + used, sizeof answer - used, "Content-Length: 0\r\n\r\n");
    REQUIRE(sendto(r->sock, answer, strlen(answer), 0, (struct sockaddr *)&from, from_len) == (ssize_t)strlen(answer));
    return index;
}

/* Waits up to timeout_ms for a request and answers it; its index or -1. */
static int registrar_answer(registrar *r, int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0 || !readable(r->sock, (int)left)) {
            return -1;
        }
        int index = registrar_answer_one(r);
        if (index >= 0) {
            return index;
        }
    }
}

/* Whether `needle` occurs in the first `size` bytes of `hay`. */
static int bytes_contain(const char *hay, size_t size, const char *needle) {
    size_t len = strlen(needle);
    for (size_t i = 0; i + len <= size; i++) {
        if (memcmp(hay + i, needle, len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The user part and port of the SIP URI in `text` (a Contact value or a
 * URI): "sip:user@host:port". Returns 1 when both were found. */
static int uri_user_and_port(const char *text, char *user, size_t user_size, unsigned *port) {
    const char *sip = strstr(text, "sip:");
    if (sip == NULL) {
        return 0;
    }
    sip += 4;
    const char *at = strchr(sip, '@');
    if (at == NULL) {
        return 0;
    }
    snprintf(user, user_size, "%.*s", (int)(at - sip), sip);
    const char *host_end = at + 1 + strcspn(at + 1, ";>?");
    const char *colon = NULL;
    for (const char *p = at + 1; p < host_end; p++) {
        if (*p == ':') {
            colon = p;
        }
    }
    if (colon == NULL) {
        return 0;
    }
    *port = (unsigned)strtoul(colon + 1, NULL, 10);
    return *port > 0;
}

/* ---- notifications, logged in the order they were taken ---- */

#define MAX_LOG 256

typedef struct {
    char names[MAX_LOG][80];
    sipsimple_handle senders[MAX_LOG];
    int count;
    int start; /* where the current run of the application begins */
} event_log;

static event_log events;

static void log_event(const sipsimple_notification *n, char *name_out, size_t size, sipsimple_handle *sender_out) {
    char *name = NULL;
    sipsimple_handle sender = 0;
    OK(sipsimple_notification_name(n, &name));
    OK(sipsimple_notification_sender(n, &sender));
    if (events.count < MAX_LOG) {
        snprintf(events.names[events.count], sizeof events.names[0], "%s", name);
        events.senders[events.count] = sender;
        events.count++;
    }
    snprintf(name_out, size, "%s", name);
    *sender_out = sender;
    sipsimple_string_free(name);
}

/* Position in the log of the first notification `name` from `sender`
 * (0 = any sender) since events.start; -1 if none. */
static int logged(const char *name, sipsimple_handle sender) {
    for (int i = events.start; i < events.count; i++) {
        if (strcmp(events.names[i], name) == 0 && (sender == 0 || events.senders[i] == sender)) {
            return i;
        }
    }
    return -1;
}

/* Takes notifications from `queue` (logging each) until one named `name`
 * from `sender` (0 = any) arrives; returns it (owned) or NULL on timeout. */
static sipsimple_notification *take_until(sipsimple_handle queue, const char *name, sipsimple_handle sender,
                                          int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        sipsimple_notification *n = NULL;
        if (left <= 0 || sipsimple_notification_queue_next(queue, (int32_t)left, &n) != SIPSIMPLE_RESULT_OK) {
            fprintf(stderr, "no %s within %d ms: %s\n", name, timeout_ms, last_error());
            return NULL;
        }
        char got[80];
        sipsimple_handle from = 0;
        log_event(n, got, sizeof got, &from);
        if (strcmp(got, name) == 0 && (sender == 0 || from == sender)) {
            return n;
        }
        sipsimple_notification_free(n);
    }
}

/* Stops the application and, until SIPApplicationDidEnd, answers what the
 * registrar receives (the unregistration) and logs the notifications: both
 * polled together, since the stop goes on after sipsimple_application_stop
 * returned. Returns the index of the first request received meanwhile (-1 if
 * none). Checks that exactly one new request came (retransmissions aside)
 * and that the answer ended the stop well before the unregistration would
 * have given up waiting for one (2 s, within the stop's 3 s grace). */
static int stop_and_answer(registrar *reg, sipsimple_handle queue, int queue_fd, sipsimple_handle app) {
    int before = reg->count;
    int64_t started = now_ms();
    OK(sipsimple_application_stop());
    int64_t ended = -1;
    int first = -1;
    while (ended < 0 && now_ms() - started < WAIT_MS) {
        struct pollfd fds[2] = {{.fd = reg->sock, .events = POLLIN, .revents = 0},
                                {.fd = queue_fd, .events = POLLIN, .revents = 0}};
        int ready = poll(fds, 2, (int)(WAIT_MS - (now_ms() - started)));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        REQUIRE(ready >= 0);
        if (fds[0].revents & POLLIN) {
            int index = registrar_answer_one(reg);
            if (index >= 0 && first < 0) {
                first = index;
            }
        }
        if (fds[1].revents & POLLIN) {
            sipsimple_notification *n = NULL;
            if (sipsimple_notification_queue_next(queue, 0, &n) == SIPSIMPLE_RESULT_OK) {
                char name[80];
                sipsimple_handle sender = 0;
                log_event(n, name, sizeof name, &sender);
                if (strcmp(name, "SIPApplicationDidEnd") == 0 && sender == app) {
                    ended = now_ms();
                }
                sipsimple_notification_free(n);
            }
        }
    }
    CHECK(ended >= 0);
    CHECK(reg->count == before + 1); /* one unregistration, no new REGISTER */
    CHECK(ended >= 0 && ended - started < 1500);
    bool running = true;
    OK(sipsimple_application_running(&running));
    CHECK(!running);
    return first;
}

/* ---- the test ---- */

int main(void) {
    char dir[512], path[1100];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n");

    registrar reg;
    registrar_open(&reg);

    sipsimple_handle app = 0, queue = 0, storage = 0;
    OK(sipsimple_application_handle(&app));
    OK(sipsimple_notification_queue_new(NULL, 0, &queue));
    int queue_fd = -1;
    OK(sipsimple_notification_queue_fd(queue, &queue_fd));
    OK(sipsimple_storage_file_new(dir, &storage));
    OK(sipsimple_application_start(storage));
    sipsimple_notification *n = take_until(queue, "SIPApplicationDidStart", app, WAIT_MS);
    REQUIRE(n != NULL);
    sipsimple_notification_free(n);

    /* ---- a new account: not registered, Contact URIs for the running engine ---- */
    sipsimple_handle account = 0;
    OK(sipsimple_account_new("alice@127.0.0.1", &account));
    bool registered = true;
    OK(sipsimple_account_registered(account, &registered));
    CHECK(!registered);

    char proxy[96];
    snprintf(proxy, sizeof proxy, "\"127.0.0.1:%u;transport=udp\"", reg.port);
    OK(sipsimple_settings_set_json(account, "sip.outbound_proxy", proxy));
    OK(sipsimple_settings_set_json(account, "sip.register_interval", "120"));
    OK(sipsimple_settings_set_json(account, "auth.password", "\"" PASSWORD "\""));
    OK(sipsimple_settings_set_json(account, "enabled", "true"));
    OK(sipsimple_account_save(account));

    /* ---- the REGISTER ---- */
    int first = registrar_answer(&reg, WAIT_MS);
    REQUIRE(first >= 0);
    const char *request = reg.requests[first];
    char value[1024], contact[1024];
    CHECK(strncmp(request, "REGISTER sip:127.0.0.1 SIP/2.0\r\n", 32) == 0);
    CHECK(header(request, "Expires", NULL, value, sizeof value) == 1 && strcmp(value, "120") == 0);
    CHECK(header(request, "Contact", "m", contact, sizeof contact) == 1);
    CHECK(header(request, "To", "t", value, sizeof value) == 1 && strstr(value, "sip:alice@127.0.0.1") != NULL);
    CHECK(header(request, "From", "f", value, sizeof value) == 1 && strstr(value, "sip:alice@127.0.0.1") != NULL &&
          strstr(value, "tag=") != NULL);
    CHECK(header(request, "Call-ID", "i", value, sizeof value) == 1 && value[0] != '\0');
    char call_id[1024];
    snprintf(call_id, sizeof call_id, "%s", value);
    CHECK(header(request, "CSeq", NULL, value, sizeof value) == 1 && strstr(value, " REGISTER") != NULL);
    long first_cseq = strtol(value, NULL, 10);
    CHECK(header(request, "Authorization", NULL, value, sizeof value) == 0); /* never challenged */
    char contact_user[64] = "";
    unsigned contact_port = 0;
    CHECK(uri_user_and_port(contact, contact_user, sizeof contact_user, &contact_port));

    /* ---- the notifications of the account: activation, then registration ---- */
    n = take_until(queue, "SIPAccountRegistrationDidSucceed", account, WAIT_MS);
    REQUIRE(n != NULL);
    if (logged("SIPAccountDidActivate", account) < 0) {
        sipsimple_notification_free(take_until(queue, "SIPAccountDidActivate", account, WAIT_MS));
    }
    CHECK(logged("SIPAccountDidActivate", account) >= 0);
    CHECK(logged("SIPAccountWillRegister", account) >= 0);
    /* The registration starts during activation: WillRegister may come
     * before or after DidActivate, never before WillActivate. */
    CHECK(logged("SIPAccountWillActivate", account) >= 0 &&
          logged("SIPAccountWillActivate", account) < logged("SIPAccountWillRegister", account));
    CHECK(logged("SIPAccountRegistrationDidFail", 0) < 0);
    int64_t expires = 0;
    OK(sipsimple_notification_get_int(n, "expires", &expires));
    CHECK(expires == 120);
    char *text = NULL;
    OK(sipsimple_notification_get_string(n, "contact_header", &text));
    CHECK(contact_user[0] != '\0' && strstr(text, contact_user) != NULL);
    sipsimple_string_free(text);
    OK(sipsimple_notification_get_json(n, "registrar", &text));
    char expected[64];
    snprintf(expected, sizeof expected, "\"port\":%u", reg.port);
    CHECK(strstr(text, expected) != NULL);
    CHECK(strstr(text, "\"transport\":\"udp\"") != NULL);
    CHECK(strstr(text, "\"address\":\"127.0.0.1\"") != NULL);
    sipsimple_string_free(text);
    sipsimple_notification_free(n);

    OK(sipsimple_account_registered(account, &registered));
    CHECK(registered);

    /* The Contact URI for UDP: the engine's port, the account's contact user
     * (the host is the address the system routes outwards from, which may
     * differ from the loopback address the REGISTER went out on). */
    char *uri = NULL;
    OK(sipsimple_account_contact_uri(account, "udp", &uri));
    CHECK(strncmp(uri, "sip:", 4) == 0);
    char uri_user[64] = "";
    unsigned uri_port = 0;
    CHECK(uri_user_and_port(uri, uri_user, sizeof uri_user, &uri_port));
    CHECK(strcmp(uri_user, contact_user) == 0);
    CHECK(uri_port == contact_port);
    snprintf(expected, sizeof expected, ":%u", uri_port);
    CHECK(strstr(contact, expected) != NULL);
    CHECK(strstr(uri, "transport=") == NULL); /* UDP URIs carry no transport parameter */
    sipsimple_string_free(uri);

    /* ---- error paths; out-parameters untouched ---- */
    char *untouched = NULL;
    EXPECT(sipsimple_account_contact_uri(account, "sctp", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "sctp") != NULL);
    EXPECT(sipsimple_account_contact_uri(account, "tcp", &untouched), SIPSIMPLE_RESULT_NOT_FOUND); /* udp only */
    EXPECT(sipsimple_account_contact_uri(account, NULL, &untouched), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_account_contact_uri(account, "udp", NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_account_contact_uri(account, "\xff", &untouched), SIPSIMPLE_RESULT_INVALID_UTF8);
    EXPECT(sipsimple_account_registered(account, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    const sipsimple_handle bad_handles[] = {0, app, storage, queue, 0xdeadbeefULL};
    for (size_t i = 0; i < sizeof bad_handles / sizeof bad_handles[0]; i++) {
        registered = true;
        EXPECT(sipsimple_account_registered(bad_handles[i], &registered), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(registered);
        EXPECT(sipsimple_account_contact_uri(bad_handles[i], "udp", &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    }

    /* ---- stop: the unregister REGISTER is answered while the stop proceeds ---- */
    int unregister = stop_and_answer(&reg, queue, queue_fd, app);
    CHECK(unregister >= 0);
    if (unregister >= 0) {
        request = reg.requests[unregister];
        CHECK(strncmp(request, "REGISTER sip:127.0.0.1 SIP/2.0\r\n", 32) == 0);
        CHECK(header(request, "Expires", NULL, value, sizeof value) == 1 && strcmp(value, "0") == 0);
        CHECK(header(request, "Call-ID", "i", value, sizeof value) == 1 && strcmp(value, call_id) == 0);
        CHECK(header(request, "CSeq", NULL, value, sizeof value) == 1 && strtol(value, NULL, 10) > first_cseq);
        CHECK(header(request, "Contact", "m", value, sizeof value) == 1 && strstr(value, contact_user) != NULL);
    }
    int will_deactivate = logged("SIPAccountWillDeactivate", account);
    int did_end = logged("SIPAccountRegistrationDidEnd", account);
    int app_did_end = logged("SIPApplicationDidEnd", app);
    CHECK(will_deactivate >= 0 && did_end > will_deactivate);
    CHECK(app_did_end > did_end);
    CHECK(logged("SIPApplicationWillEnd", app) >= 0 && logged("SIPApplicationWillEnd", app) < did_end);
    CHECK(logged("SIPAccountRegistrationDidNotEnd", 0) < 0);

    /* After the stop the handle still names the account (until a restart):
     * not registered, and no Contact URI without a SIP engine. */
    registered = true;
    OK(sipsimple_account_registered(account, &registered));
    CHECK(!registered);
    EXPECT(sipsimple_account_contact_uri(account, "udp", &untouched), SIPSIMPLE_RESULT_INVALID_STATE);

    /* ---- restart on the same storage: the saved account registers again under
     * a new handle; the handle from the first run is stale ---- */
    events.start = events.count;
    int before_restart = reg.count;
    OK(sipsimple_application_start(storage));
    sipsimple_handle again = 0;
    n = take_until(queue, "SIPApplicationDidStart", app, WAIT_MS);
    REQUIRE(n != NULL);
    sipsimple_notification_free(n);
    OK(sipsimple_account_manager_get_account("alice@127.0.0.1", &again));
    CHECK(again != account);
    int second = registrar_answer(&reg, WAIT_MS);
    REQUIRE(second >= 0);
    CHECK(second == before_restart);
    CHECK(header(reg.requests[second], "Expires", NULL, value, sizeof value) == 1 && strcmp(value, "120") == 0);
    n = take_until(queue, "SIPAccountRegistrationDidSucceed", again, WAIT_MS);
    CHECK(n != NULL);
    sipsimple_notification_free(n);
    OK(sipsimple_account_registered(again, &registered));
    CHECK(registered);
    OK(sipsimple_account_contact_uri(again, "udp", &uri));
    CHECK(strncmp(uri, "sip:", 4) == 0);
    sipsimple_string_free(uri);

    registered = false;
    EXPECT(sipsimple_account_registered(account, &registered), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(!registered);
    EXPECT(sipsimple_account_contact_uri(account, "udp", &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(untouched == NULL);

    unregister = stop_and_answer(&reg, queue, queue_fd, app);
    CHECK(unregister >= 0);
    if (unregister >= 0) {
        CHECK(header(reg.requests[unregister], "Expires", NULL, value, sizeof value) == 1 && strcmp(value, "0") == 0);
    }
    CHECK(logged("SIPAccountRegistrationDidEnd", again) >= 0 &&
          logged("SIPAccountRegistrationDidEnd", again) < logged("SIPApplicationDidEnd", app));
    OK(sipsimple_account_registered(again, &registered));
    CHECK(!registered);

    for (int i = 0; i < reg.count; i++) {
        CHECK(!bytes_contain(reg.requests[i], reg.sizes[i], PASSWORD));
    }

    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_storage_free(storage));
    registrar_close(&reg);
    remove_tree(dir);

    if (failures != 0) {
        fprintf(stderr, "notifications taken (the second run from #%d):\n", events.start);
        for (int i = 0; i < events.count; i++) {
            fprintf(stderr, "  #%d %s from %#" PRIx64 "\n", i, events.names[i], events.senders[i]);
        }
        fprintf(stderr, "test_registration: %d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("test_registration: all %d checks passed\n", checks);
    return 0;
}
