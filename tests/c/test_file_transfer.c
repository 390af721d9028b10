/*
 * End-to-end test of MSRP file transfer and desktop sharing through the C
 * API: the application runs on loopback (UDP for SIP, MSRP over TCP) with
 * two accounts that do not register, alice and bob, and the
 * file_transfer.directory setting pointing into a temporary directory.
 *
 * - File transfer: alice offers a FileTransferStream for a 1 MiB file of
 *   pseudo-random bytes; bob gets a receiving stream (type
 *   "file-transfer", direction recvonly, alice's file selector) and
 *   accepts it. Alice's FileTransferStreamDidDeliverChunk notifications
 *   grow up to the file size, bob's FileTransferStreamGotChunk carry the
 *   file size and a growing count, both sides post
 *   FileTransferStreamDidFinish, and bob's file (in the download
 *   directory, under alice's name) has exactly alice's bytes.
 * - Desktop sharing: alice offers a DesktopSharingStream with an internal
 *   viewer handler; bob's proposed stream has an internal server handler.
 *   Bytes sent through each handler arrive at the other as
 *   DesktopSharingStreamGotData (sender: the handler).
 * - Error paths: NULL arguments, malformed selectors, zero / garbage /
 *   wrong-kind handles, a handler used twice or after its stream ended, and
 *   the stream handles going stale once the application starts again.
 *
 * Single-threaded: the notification queue is polled from main(). Built by
 * tests/c_abi.rs with -Wall -Wextra -Werror -std=c11 and the address and
 * undefined-behaviour sanitizers; exits 0 when every check passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "sipsimple.h"
#include "check.h"
#include "files.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 20000
#define FILE_SIZE (1024 * 1024)

/* ---- notifications: every one taken is kept, in order ---- */

#define MAX_LOG 8192

#include "events.h"

static int64_t int_field(const sipsimple_notification *n, const char *field) {
    int64_t value = -1;
    if (n == NULL || sipsimple_notification_get_int(n, field, &value) != SIPSIMPLE_RESULT_OK) {
        fprintf(stderr, "no integer %s: %s\n", field, last_error());
        return -1;
    }
    return value;
}

/* Whether the JSON of field `field` of `n` is exactly `expected`. */
static int json_field_is(const sipsimple_notification *n, const char *field, const char *expected) {
    char *json = NULL;
    if (n == NULL || sipsimple_notification_get_json(n, field, &json) != SIPSIMPLE_RESULT_OK) {
        return 0;
    }
    int same = strcmp(json, expected) == 0;
    if (!same) {
        fprintf(stderr, "%s is %s, expected %s\n", field, json, expected);
    }
    sipsimple_string_free(json);
    return same;
}

/* ---- files ---- */

/* Writes `size` pseudo-random bytes (a fixed LCG sequence) to `path`. */
static void write_random_file(const char *path, size_t size) {
    unsigned char *bytes = malloc(size);
    REQUIRE(bytes != NULL);
    uint32_t state = 0x12345678u;
    for (size_t i = 0; i < size; i++) {
        state = state * 1664525u + 1013904223u;
        bytes[i] = (unsigned char)(state >> 24);
    }
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(bytes, 1, size, f) == size);
    REQUIRE(fclose(f) == 0);
    free(bytes);
}

/* Whether the files `a` and `b` have the same bytes. */
static int same_content(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb");
    FILE *fb = fopen(b, "rb");
    int same = fa != NULL && fb != NULL;
    long count = 0;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) {
            fprintf(stderr, "%s and %s differ at byte %ld\n", a, b, count);
            same = 0;
        }
        if (ca == EOF || cb == EOF) {
            break;
        }
        count++;
    }
    if (fa != NULL) {
        fclose(fa);
    }
    if (fb != NULL) {
        fclose(fb);
    }
    return same && count == FILE_SIZE;
}

/* ---- accounts ---- */

static sipsimple_handle unregistered_account(const char *id) {
    sipsimple_handle account = 0;
    OK(sipsimple_account_new(id, &account));
    OK(sipsimple_settings_set_json(account, "sip.register", "false"));
    OK(sipsimple_settings_set_json(account, "msrp.transport", "\"tcp\""));
    OK(sipsimple_settings_set_json(account, "enabled", "true"));
    OK(sipsimple_account_save(account));
    return account;
}

/* Alice calls bob offering `stream`; bob accepts what he is offered. The
 * incoming session and bob's stream go to `out_incoming` / `out_bob_stream`. */
static void call_and_accept(sipsimple_handle alice, const char *bob_uri, sipsimple_handle stream,
                            const char *stream_type, sipsimple_handle *out_call, sipsimple_handle *out_incoming,
                            sipsimple_handle *out_bob_stream) {
    int from = events.count;
    OK(sipsimple_session_new(alice, out_call));
    OK(sipsimple_session_connect(*out_call, bob_uri, &stream, 1, NULL));
    sipsimple_notification *n = wait_event("SIPSessionNewIncoming", 0, from);
    REQUIRE(n != NULL);
    OK(sipsimple_notification_sender(n, out_incoming));
    size_t count = 0;
    OK(sipsimple_notification_get_handles(n, "streams", out_bob_stream, 1, &count));
    REQUIRE(count == 1);
    CHECK(attribute_has(sipsimple_stream_type, *out_bob_stream, stream_type));
}

/* ---- file transfer ---- */

/* Returns alice's stream. */
static sipsimple_handle file_transfer(const char *dir, sipsimple_handle alice, const char *bob_uri) {
    char path[1100], received[1200];
    snprintf(path, sizeof path, "%s/random data.bin", dir);
    write_random_file(path, FILE_SIZE);

    /* The selector as the application would compute it; the stream takes it. */
    char *selector = NULL;
    OK(sipsimple_file_selector_for_file(path, "application/octet-stream", true, &selector));
    REQUIRE(selector != NULL);

    sipsimple_handle untouched = 42;
    EXPECT(sipsimple_file_transfer_stream_new(alice, NULL, NULL, &untouched), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_new(alice, path, NULL, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_new(alice, path, "{\"hash\": \"md5:00\"}", &untouched),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_new(alice, path, "not json", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_new(alice, dir, NULL, &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_new(0, path, selector, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_file_transfer_stream_new(queue, path, selector, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(untouched == 42);

    /* Without a selector the stream computes it: the same one. */
    sipsimple_handle computed = 0;
    OK(sipsimple_file_transfer_stream_new(alice, path, NULL, &computed));
    char *computed_selector = NULL;
    OK(sipsimple_file_transfer_stream_file_selector(computed, &computed_selector));
    CHECK(computed_selector != NULL && strstr(computed_selector, "\"size\":1048576") != NULL);
    /* "hash":"sha-1:" and 20 hex pairs with colons: 14 + 59 characters. */
    const char *hash = strstr(selector, "\"hash\":\"sha-1:");
    const char *computed_hash = computed_selector != NULL ? strstr(computed_selector, "\"hash\":\"sha-1:") : NULL;
    CHECK(hash != NULL && computed_hash != NULL && strncmp(hash, computed_hash, 14 + 59) == 0);
    sipsimple_string_free(computed_selector);

    sipsimple_handle alice_stream = 0;
    OK(sipsimple_file_transfer_stream_new(alice, path, selector, &alice_stream));
    CHECK(attribute_has(sipsimple_stream_type, alice_stream, "file-transfer"));
    CHECK(attribute_has(sipsimple_file_transfer_stream_direction, alice_stream, "sendonly"));
    CHECK(attribute_has(sipsimple_file_transfer_stream_file_selector, alice_stream, "\"name\":\"random data.bin\""));
    CHECK(attribute_has(sipsimple_file_transfer_stream_file_path, alice_stream, "random data.bin"));
    CHECK(attribute_has(sipsimple_file_transfer_stream_transfer_id, alice_stream, ""));
    CHECK(attribute_has(sipsimple_file_transfer_stream_local_uri, alice_stream, NULL));
    CHECK(attribute_has(sipsimple_file_transfer_stream_save_directory, alice_stream, NULL));
    int64_t size = 0;
    OK(sipsimple_file_transfer_stream_file_size(alice_stream, &size));
    CHECK(size == FILE_SIZE);
    uint64_t transferred = 7;
    OK(sipsimple_file_transfer_stream_transferred_bytes(alice_stream, &transferred));
    CHECK(transferred == 0);
    bool done = true;
    OK(sipsimple_file_transfer_stream_is_done(alice_stream, &done));
    CHECK(!done);
    EXPECT(sipsimple_file_transfer_stream_set_save_directory(alice_stream, dir), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_file_transfer_stream_set_save_directory(alice_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_transfer_stream_file_size(alice_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);

    /* ---- alice offers the file; bob accepts it ---- */
    int from = events.count;
    sipsimple_handle call = 0, incoming = 0, bob_stream = 0;
    call_and_accept(alice, bob_uri, alice_stream, "file-transfer", &call, &incoming, &bob_stream);
    CHECK(attribute_has(sipsimple_file_transfer_stream_direction, bob_stream, "recvonly"));
    char *bob_selector = NULL;
    OK(sipsimple_file_transfer_stream_file_selector(bob_stream, &bob_selector));
    CHECK(bob_selector != NULL && strcmp(bob_selector, selector) == 0);
    sipsimple_string_free(bob_selector);
    char *alice_id = NULL;
    OK(sipsimple_file_transfer_stream_transfer_id(alice_stream, &alice_id));
    CHECK(attribute_has(sipsimple_file_transfer_stream_transfer_id, bob_stream, alice_id));
    sipsimple_string_free(alice_id);
    OK(sipsimple_session_accept(incoming, &bob_stream, 1));

    REQUIRE(wait_event("SIPSessionDidStart", call, from) != NULL);
    REQUIRE(wait_event("SIPSessionDidStart", incoming, from) != NULL);
    CHECK(wait_event("FileTransferStreamDidFinish", bob_stream, from) != NULL);
    CHECK(wait_event("FileTransferStreamDidFinish", alice_stream, from) != NULL);
    drain();
    CHECK(find_nth("MediaStreamDidFail", 0, from, 1) < 0);
    CHECK(find_nth("FileTransferStreamDidNotDeliverChunk", 0, from, 1) < 0);

    /* Alice's progress grows up to the file size. */
    int64_t last = 0;
    int reports = 0;
    for (int i = find_nth("FileTransferStreamDidDeliverChunk", alice_stream, from, 1); i >= 0;
         i = find_nth("FileTransferStreamDidDeliverChunk", alice_stream, i + 1, 1)) {
        int64_t now = int_field(events.items[i], "transferred_bytes");
        CHECK(now >= last);
        CHECK(int_field(events.items[i], "file_size") == FILE_SIZE);
        CHECK(int_field(events.items[i], "code") == 200);
        last = now;
        reports++;
    }
    CHECK(reports >= 1 && last == FILE_SIZE);

    /* Bob's chunks grow up to the file size too. */
    last = 0;
    int chunks = 0;
    for (int i = find_nth("FileTransferStreamGotChunk", bob_stream, from, 1); i >= 0;
         i = find_nth("FileTransferStreamGotChunk", bob_stream, i + 1, 1)) {
        int64_t now = int_field(events.items[i], "transferred_bytes");
        CHECK(now >= last);
        CHECK(int_field(events.items[i], "file_size") == FILE_SIZE);
        last = now;
        chunks++;
    }
    CHECK(chunks >= 1 && last == FILE_SIZE);
    int first_chunk = find_nth("FileTransferStreamGotChunk", bob_stream, from, 1);
    CHECK(first_chunk >= 0 && json_field_is(events.items[first_chunk], "content_type", "\"application/octet-stream\""));

    OK(sipsimple_file_transfer_stream_transferred_bytes(alice_stream, &transferred));
    CHECK(transferred == FILE_SIZE);
    OK(sipsimple_file_transfer_stream_transferred_bytes(bob_stream, &transferred));
    CHECK(transferred == FILE_SIZE);
    OK(sipsimple_file_transfer_stream_is_done(bob_stream, &done));
    CHECK(done);

    /* Bob's file is in the download directory with alice's bytes. */
    char *bob_path = NULL;
    OK(sipsimple_file_transfer_stream_file_path(bob_stream, &bob_path));
    snprintf(received, sizeof received, "%s/downloads/random data.bin", dir);
    CHECK(bob_path != NULL && strcmp(bob_path, received) == 0);
    CHECK(same_content(path, received));
    sipsimple_string_free(bob_path);
    sipsimple_string_free(selector);

    int mark = events.count;
    OK(sipsimple_session_end(call));
    CHECK(wait_event("SIPSessionDidEnd", incoming, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", alice_stream, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", bob_stream, mark) != NULL);
    return alice_stream;
}

/* ---- desktop sharing ---- */

static void desktop_sharing(sipsimple_handle alice, const char *bob_uri, sipsimple_handle *out_streams) {
    sipsimple_handle viewer = 0, untouched = 42;
    OK(sipsimple_desktop_sharing_handler_new_internal_viewer(&viewer));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_type, viewer, "active"));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_kind, viewer, "InternalVNCViewerHandler"));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_address, viewer, "null"));
    EXPECT(sipsimple_desktop_sharing_handler_send(viewer, (const uint8_t *)"x", 1), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_desktop_sharing_handler_new_internal_viewer(NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_desktop_sharing_stream_new(alice, 0, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_desktop_sharing_stream_new(alice, alice, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_desktop_sharing_stream_new(viewer, viewer, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(untouched == 42);

    sipsimple_handle external = 0;
    OK(sipsimple_desktop_sharing_handler_new_external_viewer("127.0.0.1", 0, 3.0, &external));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_address, external, "[\"127.0.0.1\","));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_kind, external, "ExternalVNCViewerHandler"));
    double seconds = 0.0;
    OK(sipsimple_desktop_sharing_handler_connect_timeout(external, &seconds));
    CHECK(seconds == 3.0);
    EXPECT(sipsimple_desktop_sharing_handler_new_external_server("", 5900, 3.0, &untouched),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_desktop_sharing_handler_new_external_server("127.0.0.1", 5900, -1.0, &untouched),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(untouched == 42);

    sipsimple_handle alice_stream = 0, handler = 0;
    OK(sipsimple_desktop_sharing_stream_new(alice, viewer, &alice_stream));
    CHECK(attribute_has(sipsimple_stream_type, alice_stream, "desktop-sharing"));
    OK(sipsimple_desktop_sharing_stream_handler(alice_stream, &handler));
    CHECK(handler == viewer);
    /* A handler serves one stream. */
    EXPECT(sipsimple_desktop_sharing_stream_new(alice, viewer, &untouched), SIPSIMPLE_RESULT_INVALID_STATE);
    /* Sent before the call: queued until the stream starts. */
    OK(sipsimple_desktop_sharing_handler_send(viewer, (const uint8_t *)"RFB 003.008\n", 12));

    int from = events.count;
    sipsimple_handle call = 0, incoming = 0, bob_stream = 0, server = 0;
    call_and_accept(alice, bob_uri, alice_stream, "desktop-sharing", &call, &incoming, &bob_stream);
    OK(sipsimple_desktop_sharing_stream_handler(bob_stream, &server));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_kind, server, "InternalVNCServerHandler"));
    CHECK(attribute_has(sipsimple_desktop_sharing_handler_type, server, "passive"));
    /* The offer asks bob for a server: a viewer is refused. */
    sipsimple_handle other_viewer = 0;
    OK(sipsimple_desktop_sharing_handler_new_internal_viewer(&other_viewer));
    EXPECT(sipsimple_desktop_sharing_stream_set_handler(bob_stream, other_viewer), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    OK(sipsimple_session_accept(incoming, &bob_stream, 1));
    REQUIRE(wait_event("SIPSessionDidStart", call, from) != NULL);
    REQUIRE(wait_event("MediaStreamDidStart", bob_stream, from) != NULL);

    /* "RFB 003.008\n" in base64. */
    CHECK(json_field_is(wait_event("DesktopSharingStreamGotData", server, from), "data", "\"UkZCIDAwMy4wMDgK\""));
    int mark = events.count;
    OK(sipsimple_desktop_sharing_handler_send(server, (const uint8_t *)"\x01\x02\x03", 3));
    CHECK(json_field_is(wait_event("DesktopSharingStreamGotData", viewer, mark), "data", "\"AQID\""));
    EXPECT(sipsimple_desktop_sharing_stream_set_handler(alice_stream, other_viewer), SIPSIMPLE_RESULT_INVALID_STATE);

    mark = events.count;
    OK(sipsimple_session_end(call));
    CHECK(wait_event("SIPSessionDidEnd", incoming, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", alice_stream, mark) != NULL);
    EXPECT(sipsimple_desktop_sharing_handler_send(viewer, (const uint8_t *)"x", 1), SIPSIMPLE_RESULT_INVALID_STATE);
    out_streams[0] = alice_stream;
    out_streams[1] = viewer;
}

int main(void) {
    char dir[512], path[1100];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n");

    sipsimple_handle app = 0, storage = 0, settings = 0;
    OK(sipsimple_application_handle(&app));
    OK(sipsimple_notification_queue_new(NULL, 0, &queue));
    OK(sipsimple_storage_file_new(dir, &storage));
    OK(sipsimple_application_start(storage));
    REQUIRE(wait_event("SIPApplicationDidStart", app, 0) != NULL);
    OK(sipsimple_settings_global(&settings));
    char json[1200];
    snprintf(json, sizeof json, "\"%s/downloads\"", dir);
    OK(sipsimple_settings_set_json(settings, "file_transfer.directory", json));

    sipsimple_handle alice = unregistered_account("alice@127.0.0.1");
    sipsimple_handle bob = unregistered_account("bob@127.0.0.1");
    char bob_uri[256];
    loopback_uri(bob, bob_uri, sizeof bob_uri);

    const sipsimple_handle bad_handles[] = {0, 1, 0xdeadbeefULL, UINT64_MAX, app, storage, queue, alice};
    for (size_t i = 0; i < sizeof bad_handles / sizeof bad_handles[0]; i++) {
        sipsimple_handle h = bad_handles[i];
        char *text = NULL;
        int64_t size = 7;
        sipsimple_handle handler = 7;
        EXPECT(sipsimple_file_transfer_stream_file_selector(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_file_transfer_stream_direction(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_file_transfer_stream_file_size(h, &size), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_file_transfer_stream_set_save_directory(h, dir), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_desktop_sharing_stream_handler(h, &handler), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_desktop_sharing_handler_type(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_desktop_sharing_handler_send(h, (const uint8_t *)"x", 1), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL && size == 7 && handler == 7);
    }

    sipsimple_handle transfer = file_transfer(dir, alice, bob_uri);
    sipsimple_handle sharing[2] = {0, 0};
    desktop_sharing(alice, bob_uri, sharing);

    /* ---- the next run: the stream handles of this one are stale ---- */
    int mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    mark = events.count;
    OK(sipsimple_application_start(storage));
    REQUIRE(wait_event("SIPApplicationDidStart", app, mark) != NULL);
    sipsimple_handle handler = 7;
    EXPECT(sipsimple_desktop_sharing_stream_handler(sharing[0], &handler), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_desktop_sharing_stream_set_handler(sharing[0], sharing[1]), SIPSIMPLE_RESULT_INVALID_HANDLE);
    char *text = NULL;
    EXPECT(sipsimple_file_transfer_stream_direction(transfer, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_stream_type(transfer, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(handler == 7 && text == NULL);
    mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    drain();

    free_events();
    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_storage_free(storage));
    remove_tree(dir);

    return report("test_file_transfer");
}
