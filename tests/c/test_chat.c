/*
 * End-to-end test of MSRP chat and file selectors through the C API: the
 * application runs on loopback (UDP for SIP, MSRP over TCP) with two
 * accounts that do not register, alice and bob. Alice creates a ChatStream,
 * sends a message before the call exists, then calls bob offering the
 * stream; bob accepts the proposed chat stream. Then:
 *
 * - the queued message arrives first and is reported delivered to alice
 *   with the id sipsimple_chat_stream_send_message returned;
 * - messages go both ways, CPIM-wrapped (the subject, the sender's URI and
 *   the recipient reach the receiver), each with ChatStreamDidSendMessage
 *   and ChatStreamDidDeliverMessage at its sender;
 * - an "active" composing indication with a refresh of 30 s arrives;
 * - a nickname request gets ChatStreamDidNotSetNickname with 501 (bob is
 *   no conference focus);
 * - a second call with a stream that accepts only text/plain: CPIM is off,
 *   a subject is refused (ChatStreamError in the original), plain text
 *   goes through;
 * - the stream attributes (type, local_uri, remote_path, cpim_enabled);
 * - error paths: NULL arguments, malformed options JSON, a bad composing
 *   state, zero / garbage / wrong-kind handles, and the streams' handles
 *   going stale once the application starts again;
 * - file selectors: for_file on a temporary file (its SHA-1 checked against
 *   the known digest of its content), parse and sdp_repr round trip.
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

#define WAIT_MS 10000

/* ---- notifications: every one taken is kept, in order ---- */

#define MAX_LOG 1024

#include "events.h"

/* Whether field `field` of `n`, as JSON, contains every one of the
 * NULL-terminated `parts`. */
static int json_field_has(const sipsimple_notification *n, const char *field, const char *const *parts) {
    char *json = NULL;
    if (n == NULL || sipsimple_notification_get_json(n, field, &json) != SIPSIMPLE_RESULT_OK) {
        return 0;
    }
    int all = 1;
    for (; *parts != NULL; parts++) {
        if (strstr(json, *parts) == NULL) {
            fprintf(stderr, "%s is %s: no %s in it\n", field, json, *parts);
            all = 0;
        }
    }
    sipsimple_string_free(json);
    return all;
}

/* Whether one of the first `count` ChatStreamDidDeliverMessage of `stream`
 * at or after `from` names `id` (with code 200); waits for them as needed.
 * Earlier messages may be reported after `from`, so `count` leaves room. */
static int delivered(sipsimple_handle stream, int from, int count, const char *id) {
    for (int nth = 1; nth <= count; nth++) {
        sipsimple_notification *n = wait_nth("ChatStreamDidDeliverMessage", stream, from, nth);
        if (n == NULL) {
            return 0;
        }
        char *got = NULL;
        int64_t code = 0;
        if (sipsimple_notification_get_string(n, "message_id", &got) == SIPSIMPLE_RESULT_OK) {
            int same = strcmp(got, id) == 0;
            sipsimple_string_free(got);
            if (same && sipsimple_notification_get_int(n, "code", &code) == SIPSIMPLE_RESULT_OK && code == 200) {
                return 1;
            }
        }
    }
    fprintf(stderr, "message %s was not reported delivered\n", id);
    return 0;
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

/* ---- sending ---- */

/* Sends `text` and returns its id (owned by the caller). */
static char *send_text(sipsimple_handle stream, const char *text, const char *options_json) {
    char *id = NULL;
    OK(sipsimple_chat_stream_send_message(stream, (const uint8_t *)text, strlen(text), NULL, options_json, &id));
    REQUIRE(id != NULL && *id != '\0');
    return id;
}

/* ---- file selectors ---- */

static void file_selectors(const char *dir) {
    char path[1100];
    snprintf(path, sizeof path, "%s/three letters.txt", dir);
    write_file(path, "abc");
    char *json = NULL;
    OK(sipsimple_file_selector_for_file(path, NULL, true, &json));
    /* SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d */
    const char *expected[] = {"\"name\":\"three letters.txt\"", "\"type\":\"text/plain\"", "\"size\":3",
                              "\"hash\":\"sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D\""};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        CHECK(json != NULL && strstr(json, expected[i]) != NULL);
    }
    char *repr = NULL;
    OK(sipsimple_file_selector_sdp_repr(json, &repr));
    CHECK(strcmp(repr, "name:\"three letters.txt\" type:text/plain size:3 "
                       "hash:sha-1:A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D") == 0);
    char *again = NULL;
    OK(sipsimple_file_selector_parse(repr, &again));
    CHECK(strcmp(again, json) == 0);
    sipsimple_string_free(again);
    sipsimple_string_free(repr);
    sipsimple_string_free(json);

    json = NULL;
    OK(sipsimple_file_selector_for_file(path, "application/x-test", false, &json));
    CHECK(strstr(json, "\"type\":\"application/x-test\"") != NULL && strstr(json, "\"hash\":null") != NULL);
    sipsimple_string_free(json);

    char *untouched = NULL;
    EXPECT(sipsimple_file_selector_for_file(dir, NULL, true, &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    snprintf(path, sizeof path, "%s/missing", dir);
    EXPECT(sipsimple_file_selector_for_file(path, NULL, true, &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_selector_for_file(NULL, NULL, true, &untouched), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_selector_for_file(path, NULL, true, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_selector_parse("name:\"unterminated", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_selector_parse("hash:sha-1:00", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_selector_parse(NULL, &untouched), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_file_selector_sdp_repr("{\"size\": \"big\"}", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_selector_sdp_repr("not json", &untouched), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_file_selector_sdp_repr(NULL, &untouched), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(untouched == NULL);
    OK(sipsimple_file_selector_parse("", &json));
    CHECK(strstr(json, "\"name\":null") != NULL);
    sipsimple_string_free(json);
}

int main(void) {
    char dir[512], path[1100];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config", dir);
    write_file(path, "SIPSimpleSettings:\n    sip:\n        transport_list = udp\n");

    file_selectors(dir);

    sipsimple_handle app = 0, storage = 0;
    OK(sipsimple_application_handle(&app));
    OK(sipsimple_notification_queue_new(NULL, 0, &queue));
    OK(sipsimple_storage_file_new(dir, &storage));
    OK(sipsimple_application_start(storage));
    REQUIRE(wait_event("SIPApplicationDidStart", app, 0) != NULL);

    sipsimple_handle alice = unregistered_account("alice@127.0.0.1");
    sipsimple_handle bob = unregistered_account("bob@127.0.0.1");
    char bob_uri[256];
    loopback_uri(bob, bob_uri, sizeof bob_uri);

    /* ---- error paths before the call ---- */
    sipsimple_handle untouched = 42;
    EXPECT(sipsimple_chat_stream_new(alice, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_chat_stream_new(0, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_chat_stream_new(app, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(untouched == 42);

    sipsimple_handle alice_stream = 0;
    OK(sipsimple_chat_stream_new(alice, &alice_stream));
    CHECK(attribute_has(sipsimple_stream_type, alice_stream, "chat"));
    CHECK(attribute_has(sipsimple_chat_stream_local_uri, alice_stream, NULL));
    CHECK(attribute_has(sipsimple_chat_stream_remote_path, alice_stream, "[]"));
    int32_t cpim = 7;
    OK(sipsimple_chat_stream_cpim_enabled(alice_stream, &cpim));
    CHECK(cpim == -1);
    bool on_hold = true;
    OK(sipsimple_stream_on_hold(alice_stream, &on_hold));
    CHECK(!on_hold);

    char *id = (char *)"untouched";
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, NULL, 3, NULL, NULL, &id), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"x", 1, NULL, "{", &id),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"x", 1, NULL, "{\"subjet\": \"typo\"}", &id),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"x", 1, NULL,
                                              "{\"recipients\": [\"not an identity\"]}", &id),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"x", 1, "", NULL, &id),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"x", 1, "\xff", NULL, &id),
           SIPSIMPLE_RESULT_INVALID_UTF8);
    EXPECT(sipsimple_chat_stream_send_composing_indication(alice_stream, "typing", 0, -1.0, &id),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_send_composing_indication(alice_stream, NULL, 0, -1.0, &id),
           SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_chat_stream_local_uri(alice_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_chat_stream_cpim_enabled(alice_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(strcmp(id, "untouched") == 0);

    const sipsimple_handle bad_handles[] = {0, 1, 0xdeadbeefULL, UINT64_MAX, app, storage, queue, alice};
    for (size_t i = 0; i < sizeof bad_handles / sizeof bad_handles[0]; i++) {
        sipsimple_handle h = bad_handles[i];
        char *text = NULL;
        int32_t flag = 7;
        EXPECT(sipsimple_chat_stream_send_message(h, (const uint8_t *)"x", 1, NULL, NULL, &text),
               SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_chat_stream_send_composing_indication(h, "idle", 0, -1.0, &text),
               SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_chat_stream_local_uri(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_chat_stream_remote_path(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_chat_stream_cpim_enabled(h, &flag), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL && flag == 7);
    }

    /* A message queued before the call: the returned id names its outcome. */
    char *early = send_text(alice_stream, "before the call", NULL);
    /* The out-parameter is optional. */
    OK(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"second", 6, "text/plain", NULL, NULL));

    /* ---- alice calls bob offering the chat stream; bob accepts ---- */
    int from = events.count;
    sipsimple_handle call = 0, incoming = 0, bob_stream = 0;
    OK(sipsimple_session_new(alice, &call));
    OK(sipsimple_session_connect(call, bob_uri, &alice_stream, 1, NULL));
    sipsimple_notification *n = wait_event("SIPSessionNewIncoming", 0, from);
    REQUIRE(n != NULL);
    OK(sipsimple_notification_sender(n, &incoming));
    size_t count = 0;
    OK(sipsimple_notification_get_handles(n, "streams", &bob_stream, 1, &count));
    REQUIRE(count == 1);
    CHECK(attribute_has(sipsimple_stream_type, bob_stream, "chat"));
    OK(sipsimple_session_accept(incoming, &bob_stream, 1));
    REQUIRE(wait_event("SIPSessionDidStart", call, from) != NULL);
    REQUIRE(wait_event("SIPSessionDidStart", incoming, from) != NULL);
    CHECK(wait_event("MediaStreamDidStart", alice_stream, from) != NULL);
    CHECK(wait_event("MediaStreamDidStart", bob_stream, from) != NULL);

    OK(sipsimple_chat_stream_cpim_enabled(alice_stream, &cpim));
    CHECK(cpim == 1);
    CHECK(attribute_has(sipsimple_chat_stream_local_uri, alice_stream, "msrp://"));
    CHECK(attribute_has(sipsimple_chat_stream_local_uri, bob_stream, ";tcp"));
    char *bob_uri_msrp = NULL;
    OK(sipsimple_chat_stream_local_uri(bob_stream, &bob_uri_msrp));
    CHECK(attribute_has(sipsimple_chat_stream_remote_path, alice_stream, bob_uri_msrp));
    sipsimple_string_free(bob_uri_msrp);

    /* The queued messages arrive first, in order. */
    n = wait_nth("ChatStreamGotMessage", bob_stream, from, 1);
    const char *first[] = {"\"content\":\"before the call\"", "\"content_type\":\"text/plain\"",
                           "\"uri\":\"sip:alice@127.0.0.1\"", NULL};
    CHECK(json_field_has(n, "message", first));
    n = wait_nth("ChatStreamGotMessage", bob_stream, from, 2);
    const char *second[] = {"\"content\":\"second\"", NULL};
    CHECK(json_field_has(n, "message", second));
    CHECK(delivered(alice_stream, from, 2, early));
    sipsimple_string_free(early);

    /* ---- CPIM fields: subject, sender, recipient, additional header ---- */
    int mark = events.count;
    char *with_subject = send_text(alice_stream, "hello bob",
                                   "{\"subject\": \"greetings\", \"required\": [\"x-test\"], "
                                   "\"timestamp\": \"2026-01-02T03:04:05Z\", "
                                   "\"additional_headers\": [{\"name\": \"Feature\", \"value\": \"on\", "
                                   "\"namespace\": \"urn:example:features\", \"prefix\": \"EX\"}]}");
    n = wait_nth("ChatStreamGotMessage", bob_stream, mark, 1);
    const char *cpim_fields[] = {"\"content\":\"hello bob\"",
                                 "\"subject\":\"greetings\"",
                                 "\"sender\":{",
                                 "\"uri\":\"sip:alice@127.0.0.1\"",
                                 "\"recipients\":[{\"display_name\":null,\"uri\":\"sip:",
                                 "\"required\":[\"x-test\"]",
                                 "Feature: on",
                                 NULL};
    CHECK(json_field_has(n, "message", cpim_fields));
    char *stamp_json = NULL;
    OK(sipsimple_notification_get_json(n, "message", &stamp_json));
    /* 2026-01-02T03:04:05Z = 1767323045 Unix seconds */
    CHECK(strstr(stamp_json, "\"timestamp\":1767323045") != NULL);
    sipsimple_string_free(stamp_json);
    sipsimple_notification *sent = wait_event("ChatStreamDidSendMessage", alice_stream, mark);
    const char *sent_fields[] = {with_subject, "message/cpim", NULL};
    CHECK(json_field_has(sent, "message", sent_fields));
    CHECK(delivered(alice_stream, mark, 4, with_subject));
    sipsimple_string_free(with_subject);

    /* ---- bob answers with a display-named recipient ---- */
    mark = events.count;
    char *reply = send_text(bob_stream, "hi alice",
                            "{\"recipients\": [{\"uri\": \"sip:alice@127.0.0.1\", \"display_name\": \"Alice\"}]}");
    n = wait_nth("ChatStreamGotMessage", alice_stream, mark, 1);
    const char *reply_fields[] = {"\"content\":\"hi alice\"", "\"display_name\":\"Alice\"",
                                  "\"uri\":\"sip:bob@127.0.0.1\"", NULL};
    CHECK(json_field_has(n, "message", reply_fields));
    CHECK(delivered(bob_stream, mark, 4, reply));
    sipsimple_string_free(reply);
    drain();
    CHECK(find_nth("ChatStreamDidNotDeliverMessage", 0, from, 1) < 0);

    /* ---- is-composing ---- */
    mark = events.count;
    char *indication = NULL;
    OK(sipsimple_chat_stream_send_composing_indication(alice_stream, "active", 30, 1767323045.0, &indication));
    CHECK(indication != NULL);
    sipsimple_string_free(indication);
    n = wait_event("ChatStreamGotComposingIndication", bob_stream, mark);
    CHECK(string_field_is(n, "state", "active"));
    int64_t refresh = 0;
    CHECK(n != NULL && sipsimple_notification_get_int(n, "refresh", &refresh) == SIPSIMPLE_RESULT_OK &&
          refresh == 30);
    double last_active = 0.0;
    CHECK(n != NULL && sipsimple_notification_get_double(n, "last_active", &last_active) == SIPSIMPLE_RESULT_OK &&
          last_active == 1767323045.0);
    const char *composer[] = {"sip:alice@127.0.0.1", NULL};
    CHECK(json_field_has(n, "sender", composer));
    OK(sipsimple_chat_stream_send_composing_indication(bob_stream, "idle", 0, -1.0, NULL));
    n = wait_event("ChatStreamGotComposingIndication", alice_stream, mark);
    CHECK(string_field_is(n, "state", "idle"));

    /* ---- nicknames: bob is no conference focus, so he answers 501 ---- */
    mark = events.count;
    EXPECT(sipsimple_chat_stream_set_local_nickname(alice_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_chat_stream_set_local_nickname(alice_stream, ""), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_set_local_nickname(0, "alice"), SIPSIMPLE_RESULT_INVALID_HANDLE);
    OK(sipsimple_chat_stream_set_local_nickname(alice_stream, "Alice in chains"));
    n = wait_event("ChatStreamDidNotSetNickname", alice_stream, mark);
    CHECK(string_field_is(n, "nickname", "Alice in chains"));
    int64_t nickname_code = 0;
    CHECK(n != NULL && sipsimple_notification_get_int(n, "code", &nickname_code) == SIPSIMPLE_RESULT_OK &&
          nickname_code == 501);

    /* ---- hang up: both streams end; sending afterwards is refused ---- */
    mark = events.count;
    OK(sipsimple_session_end(call));
    CHECK(wait_event("SIPSessionDidEnd", incoming, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", alice_stream, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", bob_stream, mark) != NULL);
    EXPECT(sipsimple_chat_stream_send_message(alice_stream, (const uint8_t *)"late", 4, NULL, NULL, NULL),
           SIPSIMPLE_RESULT_INVALID_STATE);

    /* ---- a stream without CPIM: plain messages go, CPIM-only options are refused ---- */
    sipsimple_handle plain_stream = 0;
    EXPECT(sipsimple_chat_stream_new_with_accept_types(alice, "  ", NULL, &plain_stream),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_chat_stream_new_with_accept_types(alice, NULL, NULL, &plain_stream), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    OK(sipsimple_chat_stream_new_with_accept_types(alice, "text/plain", NULL, &plain_stream));
    mark = events.count;
    sipsimple_handle plain_call = 0, plain_incoming = 0, bob_plain = 0;
    OK(sipsimple_session_new(alice, &plain_call));
    OK(sipsimple_session_connect(plain_call, bob_uri, &plain_stream, 1, NULL));
    n = wait_event("SIPSessionNewIncoming", 0, mark);
    REQUIRE(n != NULL);
    OK(sipsimple_notification_sender(n, &plain_incoming));
    OK(sipsimple_notification_get_handles(n, "streams", &bob_plain, 1, &count));
    REQUIRE(count == 1);
    OK(sipsimple_session_accept(plain_incoming, &bob_plain, 1));
    REQUIRE(wait_event("MediaStreamDidStart", plain_stream, mark) != NULL);
    REQUIRE(wait_event("MediaStreamDidStart", bob_plain, mark) != NULL);
    OK(sipsimple_chat_stream_cpim_enabled(plain_stream, &cpim));
    CHECK(cpim == 0);
    char *refused = NULL;
    EXPECT(sipsimple_chat_stream_send_message(plain_stream, (const uint8_t *)"x", 1, NULL, "{\"subject\": \"s\"}",
                                              &refused),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "CPIM") != NULL);
    EXPECT(sipsimple_chat_stream_send_message(plain_stream, (const uint8_t *)"x", 1, "image/png", NULL, &refused),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    CHECK(refused == NULL);
    char *plain_id = send_text(plain_stream, "plain text", NULL);
    n = wait_event("ChatStreamGotMessage", bob_plain, mark);
    const char *plain_fields[] = {"\"content\":\"plain text\"", "\"subject\":null", NULL};
    CHECK(json_field_has(n, "message", plain_fields));
    CHECK(delivered(plain_stream, mark, 2, plain_id));
    sipsimple_string_free(plain_id);
    mark = events.count;
    OK(sipsimple_session_end(plain_call));
    CHECK(wait_event("SIPSessionDidEnd", plain_incoming, mark) != NULL);

    /* ---- the next run: the streams of this one are stale ---- */
    mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    mark = events.count;
    OK(sipsimple_application_start(storage));
    REQUIRE(wait_event("SIPApplicationDidStart", app, mark) != NULL);
    const sipsimple_handle stale[] = {alice_stream, bob_stream};
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        char *text = NULL;
        EXPECT(sipsimple_chat_stream_send_message(stale[i], (const uint8_t *)"x", 1, NULL, NULL, &text),
               SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_chat_stream_local_uri(stale[i], &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_stream_type(stale[i], &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL);
    }
    mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    drain();

    free_events();
    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_storage_free(storage));
    remove_tree(dir);

    return report("test_chat");
}
