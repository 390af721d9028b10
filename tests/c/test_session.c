/*
 * End-to-end test of sessions, audio streams and WAV playback through the C
 * API: the application runs on loopback (UDP only, PCMU on a 16 kHz voice
 * mixer) with two accounts that do not register, alice and bob. Alice calls bob offering an AudioStream; bob
 * sees SIPSessionNewIncoming on the notification queue, rings and accepts
 * the proposed stream. A 2 s 440 Hz WAV file (written here) plays into
 * alice's stream through a WavePlayer on the voice mixer and the stream's
 * bridge, while bob's stream records. After alice hangs up both sides have
 * SIPSessionDidEnd, and bob's recording (its WAV header parsed here) holds
 * 440 Hz +-2% for at least 90% of the played duration.
 *
 * Also: the session and stream attributes on both sides, DTMF, hold and
 * unhold, proposals (a stream added and accepted, then removed; another
 * added and rejected with 488), a second call rejected with 486
 * (SIPSessionDidFail with code 486 at the caller), the handles of ended
 * sessions and their streams going stale when the application starts again,
 * and the error paths (NULL arguments, zero, garbage and wrong-kind
 * handles, bad status codes and reasons).
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
#include <time.h>

#define WAIT_MS 10000
#define TONE_HZ 440.0
#define PLAYED_MS 2000
#define WAV_RATE 16000

/* ---- notifications: every one taken is kept, in order ---- */

#define MAX_LOG 2048

#include "events.h"

/* The `streams` of a notification: their number (-1 on error), the first
 * `max` in `out`. */
static int streams_of(const sipsimple_notification *n, sipsimple_handle *out, size_t max) {
    size_t count = 0;
    if (n == NULL || sipsimple_notification_get_handles(n, "streams", out, max, &count) != SIPSIMPLE_RESULT_OK) {
        return -1;
    }
    return (int)count;
}

/* ---- string attributes ---- */

typedef sipsimple_result (*string_getter)(sipsimple_handle, char **);

/* Whether the getter gives exactly `expected` (NULL: gives NULL). */
static int attribute_is(string_getter get, sipsimple_handle h, const char *expected) {
    char *text = (char *)"untouched";
    if (get(h, &text) != SIPSIMPLE_RESULT_OK) {
        fprintf(stderr, "getter failed: %s\n", last_error());
        return 0;
    }
    int same = (expected == NULL) ? text == NULL : (text != NULL && strcmp(text, expected) == 0);
    if (!same) {
        fprintf(stderr, "attribute is \"%s\", expected \"%s\"\n", text ? text : "(null)", expected ? expected : "(null)");
    }
    sipsimple_string_free(text);
    return same;
}

/* Whether the getter gives a string containing `part`. */
static int attribute_contains(string_getter get, sipsimple_handle h, const char *part) {
    char *text = NULL;
    if (get(h, &text) != SIPSIMPLE_RESULT_OK || text == NULL) {
        return 0;
    }
    int found = strstr(text, part) != NULL;
    if (!found) {
        fprintf(stderr, "attribute \"%s\" lacks \"%s\"\n", text, part);
    }
    sipsimple_string_free(text);
    return found;
}

/* An unsigned counter of the stream's statistics JSON; -1 if missing. */
static long long statistic(sipsimple_handle stream, const char *key) {
    char *json = NULL;
    if (sipsimple_audio_stream_statistics(stream, &json) != SIPSIMPLE_RESULT_OK) {
        return -1;
    }
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    long long value = at != NULL ? strtoll(at + strlen(pattern), NULL, 10) : -1;
    sipsimple_string_free(json);
    return value;
}

static void sleep_ms(int ms) {
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Whether the session's state becomes `state` within WAIT_MS (polled: no
 * notification marks the end of every transaction). */
static int reaches_state(sipsimple_handle session, const char *state) {
    int64_t deadline = now_ms() + WAIT_MS;
    char *now = NULL;
    while (sipsimple_session_state(session, &now) == SIPSIMPLE_RESULT_OK) {
        int reached = strcmp(now, state) == 0;
        if (!reached && now_ms() >= deadline) {
            fprintf(stderr, "the session stayed in state %s, not %s\n", now, state);
        }
        sipsimple_string_free(now);
        if (reached) {
            return 1;
        }
        if (now_ms() >= deadline) {
            return 0;
        }
        sleep_ms(10);
    }
    return 0;
}

/* ---- the tone and WAV files ---- */

/* sin(x) without libm: range reduction to [-pi, pi] and a Taylor series. */
static double sine(double x) {
    const double pi = 3.14159265358979323846;
    x -= 2.0 * pi * (double)(long long)(x / (2.0 * pi));
    if (x > pi) {
        x -= 2.0 * pi;
    } else if (x < -pi) {
        x += 2.0 * pi;
    }
    double term = x, sum = x;
    for (int k = 1; k < 14; k++) {
        term *= -x * x / (double)((2 * k) * (2 * k + 1));
        sum += term;
    }
    return sum;
}

static void put_u16(unsigned char *p, unsigned v) {
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
    }
}

static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned get_u16(const unsigned char *p) {
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* Writes a 16-bit mono WAV file of a `hz` sine, amplitude 16000. */
static void write_tone(const char *path, double hz, int rate, int ms) {
    uint32_t samples = (uint32_t)rate * (uint32_t)ms / 1000;
    uint32_t data_bytes = samples * 2;
    unsigned char header[44];
    memcpy(header, "RIFF", 4);
    put_u32(header + 4, 36 + data_bytes);
    memcpy(header + 8, "WAVEfmt ", 8);
    put_u32(header + 16, 16);
    put_u16(header + 20, 1); /* PCM */
    put_u16(header + 22, 1); /* mono */
    put_u32(header + 24, (uint32_t)rate);
    put_u32(header + 28, (uint32_t)rate * 2);
    put_u16(header + 32, 2);
    put_u16(header + 34, 16);
    memcpy(header + 36, "data", 4);
    put_u32(header + 40, data_bytes);
    unsigned char *data = malloc(data_bytes);
    REQUIRE(data != NULL);
    const double two_pi = 6.28318530717958647692;
    for (uint32_t i = 0; i < samples; i++) {
        int v = (int)(16000.0 * sine(two_pi * hz * (double)i / rate));
        put_u16(data + 2 * i, (unsigned)(uint16_t)(int16_t)v);
    }
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(header, 1, sizeof header, f) == sizeof header);
    REQUIRE(fwrite(data, 1, data_bytes, f) == data_bytes);
    REQUIRE(fclose(f) == 0);
    free(data);
}

typedef struct {
    int rate;
    int channels;
    int bits;
    int16_t *samples;
    size_t count;
} wav_data;

/* Reads a PCM WAV file: walks the RIFF chunks for `fmt ` and `data`. */
static int read_wav(const char *path, wav_data *out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 0;
    }
    unsigned char riff[12];
    int ok = fread(riff, 1, 12, f) == 12 && memcmp(riff, "RIFF", 4) == 0 && memcmp(riff + 8, "WAVE", 4) == 0;
    int have_fmt = 0;
    memset(out, 0, sizeof *out);
    while (ok) {
        unsigned char chunk[8];
        if (fread(chunk, 1, 8, f) != 8) {
            ok = 0;
            break;
        }
        uint32_t size = get_u32(chunk + 4);
        if (memcmp(chunk, "fmt ", 4) == 0 && size >= 16) {
            unsigned char fmt[16];
            ok = fread(fmt, 1, 16, f) == 16 && fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR) == 0;
            out->channels = (int)get_u16(fmt + 2);
            out->rate = (int)get_u32(fmt + 4);
            out->bits = (int)get_u16(fmt + 14);
            ok = ok && get_u16(fmt) == 1; /* PCM */
            have_fmt = 1;
        } else if (memcmp(chunk, "data", 4) == 0) {
            ok = have_fmt && out->bits == 16 && out->channels == 1;
            if (ok) {
                out->count = size / 2;
                out->samples = malloc(out->count * sizeof(int16_t) + 1);
                unsigned char *raw = malloc((size_t)size + 1);
                ok = out->samples != NULL && raw != NULL && fread(raw, 1, size, f) == size;
                for (size_t i = 0; ok && i < out->count; i++) {
                    out->samples[i] = (int16_t)get_u16(raw + 2 * i);
                }
                free(raw);
            }
            break;
        } else {
            ok = fseek(f, (long)(size + (size & 1)), SEEK_CUR) == 0;
        }
    }
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s is not a 16-bit mono PCM WAV file\n", path);
    }
    return ok && out->samples != NULL;
}

typedef struct {
    double loud_seconds; /* 20 ms frames carrying sound */
    double frequency;    /* by zero crossings over the longest loud run */
} tone_analysis;

/* Frames with an RMS above 1000 are loud; the frequency comes from the
 * upward zero crossings (interpolated, each after the signal went below
 * -1000) of the longest run of loud frames. */
static tone_analysis analyse(const wav_data *w) {
    tone_analysis a = {0.0, 0.0};
    size_t frame = (size_t)w->rate / 50;
    size_t frames = w->count / frame;
    size_t loud = 0, run = 0, best_start = 0, best_len = 0;
    for (size_t i = 0; i < frames; i++) {
        double energy = 0.0;
        for (size_t j = 0; j < frame; j++) {
            double s = w->samples[i * frame + j];
            energy += s * s;
        }
        if (energy / (double)frame > 1000.0 * 1000.0) {
            loud++;
            run++;
            if (run > best_len) {
                best_len = run;
                best_start = i + 1 - run;
            }
        } else {
            run = 0;
        }
    }
    a.loud_seconds = (double)(loud * frame) / w->rate;
    const int16_t *s = w->samples + best_start * frame;
    size_t n = best_len * frame;
    double first = -1.0, last = -1.0;
    long crossings = 0;
    int armed = 0; /* hysteresis: low-level ripple around 0 is no crossing */
    for (size_t i = 1; i < n; i++) {
        if (s[i] < -1000) {
            armed = 1;
        }
        if (armed && s[i - 1] < 0 && s[i] >= 0) {
            armed = 0;
            double at = (double)(i - 1) + (double)(-s[i - 1]) / (double)(s[i] - s[i - 1]);
            if (first < 0) {
                first = at;
            }
            last = at;
            crossings++;
        }
    }
    if (crossings > 1 && last > first) {
        a.frequency = (double)(crossings - 1) * w->rate / (last - first);
    }
    return a;
}

/* ---- accounts ---- */

static sipsimple_handle unregistered_account(const char *id) {
    sipsimple_handle account = 0;
    OK(sipsimple_account_new(id, &account));
    OK(sipsimple_settings_set_json(account, "sip.register", "false"));
    OK(sipsimple_settings_set_json(account, "enabled", "true"));
    OK(sipsimple_account_save(account));
    return account;
}

/* ---- one call ---- */

typedef struct {
    sipsimple_handle call, incoming;         /* alice's and bob's sessions */
    sipsimple_handle alice_stream, bob_stream;
    int from; /* where its notifications start in the log */
} call_state;

/* Alice calls bob with a new audio stream; returns once bob has
 * SIPSessionNewIncoming (the call is then ringing on bob's side). */
static call_state place_call(sipsimple_handle alice, const char *bob_uri) {
    call_state c = {0, 0, 0, 0, events.count};
    OK(sipsimple_audio_stream_new(alice, &c.alice_stream));
    OK(sipsimple_session_new(alice, &c.call));
    OK(sipsimple_session_connect(c.call, bob_uri, &c.alice_stream, 1, "C API test"));
    sipsimple_notification *n = wait_event("SIPSessionNewOutgoing", c.call, c.from);
    sipsimple_handle listed[4] = {0};
    CHECK(streams_of(n, listed, 4) == 1 && listed[0] == c.alice_stream);
    n = wait_event("SIPSessionNewIncoming", 0, c.from);
    REQUIRE(n != NULL);
    OK(sipsimple_notification_sender(n, &c.incoming));
    CHECK(c.incoming != 0 && c.incoming != c.call);
    CHECK(streams_of(n, listed, 4) == 1);
    c.bob_stream = listed[0];
    return c;
}

int main(void) {
    char dir[512], path[1100], wav[1100], recording[1100];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/config", dir);
    /* PCMU on a 16 kHz voice mixer: little work per 20 ms tick, so the
     * debug build of the library keeps time on a busy machine. */
    write_file(path, "SIPSimpleSettings:\n"
                     "    sip:\n        transport_list = udp\n"
                     "    audio:\n        sample_rate = 16000\n"
                     "    rtp:\n        audio_codec_list = PCMU\n");
    snprintf(wav, sizeof wav, "%s/tone.wav", dir);
    write_tone(wav, TONE_HZ, WAV_RATE, PLAYED_MS);
    snprintf(recording, sizeof recording, "%s/received/bob.wav", dir);

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

    /* ---- error paths before any call ---- */
    sipsimple_handle untouched = 42;
    EXPECT(sipsimple_session_new(alice, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_new(0, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_session_new(app, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_audio_stream_new(storage, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_audio_stream_new(alice, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    CHECK(untouched == 42);

    sipsimple_handle spare = 0, spare_stream = 0;
    OK(sipsimple_session_new(alice, &spare));
    OK(sipsimple_audio_stream_new(alice, &spare_stream));
    CHECK(attribute_is(sipsimple_session_state, spare, "None"));
    CHECK(attribute_is(sipsimple_session_direction, spare, NULL));
    CHECK(attribute_is(sipsimple_session_remote_user_agent, spare, NULL));
    CHECK(attribute_is(sipsimple_stream_type, spare_stream, "audio"));
    CHECK(attribute_is(sipsimple_audio_stream_codec, spare_stream, NULL));
    CHECK(attribute_is(sipsimple_audio_stream_recording_filename, spare_stream, NULL));
    uint16_t port = 7;
    OK(sipsimple_audio_stream_local_rtp_port(spare_stream, &port));
    CHECK(port == 0);
    double when = -1.0;
    OK(sipsimple_session_start_time(spare, &when));
    CHECK(when == 0.0);
    sipsimple_handle owner = 0;
    OK(sipsimple_session_account(spare, &owner));
    CHECK(owner == alice);

    EXPECT(sipsimple_session_connect(spare, NULL, &spare_stream, 1, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_connect(spare, bob_uri, NULL, 1, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_connect(spare, bob_uri, NULL, 0, NULL), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_session_connect(spare, "sip:", &spare_stream, 1, NULL), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_session_connect(spare, bob_uri, &spare_stream, 1, "two\r\nlines"),
           SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    sipsimple_handle not_streams[] = {spare};
    EXPECT(sipsimple_session_connect(spare, bob_uri, not_streams, 1, NULL), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_session_connect(spare, "\xff", &spare_stream, 1, NULL), SIPSIMPLE_RESULT_INVALID_UTF8);
    EXPECT(sipsimple_session_accept(spare, &spare_stream, 1), SIPSIMPLE_RESULT_INVALID_STATE);
    CHECK(strstr(last_error(), "None") != NULL);
    EXPECT(sipsimple_session_send_ring_indication(spare), SIPSIMPLE_RESULT_INVALID_STATE);
    OK(sipsimple_session_set_is_focus(spare, false));
    EXPECT(sipsimple_session_set_is_focus(0, true), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_session_state(spare, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_on_hold(spare, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_streams(spare, NULL, 0, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_session_manager_sessions(NULL, 0, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_stream_type(spare_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_audio_stream_start_recording(spare_stream, NULL), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_audio_stream_start_recording(spare_stream, recording), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_audio_stream_send_dtmf(spare_stream, '1'), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_audio_stream_send_dtmf(spare_stream, 'x'), SIPSIMPLE_RESULT_INVALID_ARGUMENT);

    /* Zero, garbage and wrong-kind handles: never reach an object. */
    const sipsimple_handle bad_handles[] = {0, 1, 0xdeadbeefULL, UINT64_MAX, app, storage, queue, alice};
    for (size_t i = 0; i < sizeof bad_handles / sizeof bad_handles[0]; i++) {
        sipsimple_handle h = bad_handles[i];
        char *text = NULL;
        bool flag = true;
        size_t count = 99;
        EXPECT(sipsimple_session_state(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_session_end(h), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_session_reject(h, 486, NULL), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_session_on_hold(h, &flag), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_session_streams(h, NULL, 0, &count), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_stream_type(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_audio_stream_codec(h, &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_audio_stream_srtp_active(h, &flag), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_audio_stream_send_dtmf(h, '1'), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL && flag && count == 99);
    }
    /* A session is no stream and a stream no session. */
    EXPECT(sipsimple_session_end(spare_stream), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_audio_stream_stop_recording(spare), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_session_add_stream(spare, spare), SIPSIMPLE_RESULT_INVALID_HANDLE);

    /* ---- alice calls bob; bob rings and accepts the proposed stream ---- */
    call_state c = place_call(alice, bob_uri);
    CHECK(attribute_is(sipsimple_session_direction, c.call, "outgoing"));
    CHECK(attribute_is(sipsimple_session_direction, c.incoming, "incoming"));
    CHECK(attribute_is(sipsimple_session_state, c.incoming, "incoming"));
    CHECK(attribute_is(sipsimple_stream_type, c.bob_stream, "audio"));
    sipsimple_handle listed[4] = {0};
    size_t count = 0;
    OK(sipsimple_session_proposed_streams(c.incoming, listed, 4, &count));
    CHECK(count == 1 && listed[0] == c.bob_stream);
    sipsimple_handle sessions[8] = {0};
    EXPECT(sipsimple_session_manager_sessions(sessions, 1, &count), SIPSIMPLE_RESULT_BUFFER_TOO_SMALL);
    CHECK(count == 2 && sessions[0] == 0);
    OK(sipsimple_session_manager_sessions(sessions, 8, &count));
    CHECK(count == 2 && ((sessions[0] == c.call && sessions[1] == c.incoming) ||
                         (sessions[0] == c.incoming && sessions[1] == c.call)));
    OK(sipsimple_session_account(c.incoming, &owner));
    CHECK(owner == bob);
    CHECK(attribute_contains(sipsimple_session_remote_identity, c.incoming, "alice@127.0.0.1"));
    CHECK(attribute_contains(sipsimple_session_local_identity, c.call, "alice@127.0.0.1"));
    CHECK(attribute_contains(sipsimple_session_remote_identity, c.call, bob_uri + 4));

    OK(sipsimple_session_send_ring_indication(c.incoming));
    CHECK(wait_event("SIPSessionGotRingIndication", c.call, c.from) != NULL);
    EXPECT(sipsimple_session_accept(c.incoming, &spare_stream, 1), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    OK(sipsimple_session_accept(c.incoming, &c.bob_stream, 1));

    sipsimple_notification *n = wait_event("SIPSessionDidStart", c.call, c.from);
    REQUIRE(n != NULL);
    CHECK(streams_of(n, listed, 4) == 1 && listed[0] == c.alice_stream);
    n = wait_event("SIPSessionDidStart", c.incoming, c.from);
    REQUIRE(n != NULL);
    CHECK(streams_of(n, listed, 4) == 1 && listed[0] == c.bob_stream);
    CHECK(wait_event("MediaStreamDidStart", c.alice_stream, c.from) != NULL);
    CHECK(wait_event("MediaStreamDidStart", c.bob_stream, c.from) != NULL);

    /* ---- attributes of the established call ---- */
    CHECK(attribute_is(sipsimple_session_state, c.call, "connected"));
    CHECK(attribute_is(sipsimple_session_state, c.incoming, "connected"));
    CHECK(attribute_is(sipsimple_session_transport, c.call, "udp"));
    CHECK(attribute_is(sipsimple_session_transport, c.incoming, "udp"));
    OK(sipsimple_session_streams(c.call, listed, 4, &count));
    CHECK(count == 1 && listed[0] == c.alice_stream);
    OK(sipsimple_session_proposed_streams(c.incoming, listed, 4, &count));
    CHECK(count == 0);
    OK(sipsimple_session_start_time(c.call, &when));
    CHECK(when > 1.5e9);
    OK(sipsimple_session_stop_time(c.call, &when));
    CHECK(when == 0.0);
    bool held = true;
    OK(sipsimple_session_on_hold(c.call, &held));
    CHECK(!held);

    char *alice_codec = NULL, *bob_codec = NULL;
    OK(sipsimple_audio_stream_codec(c.alice_stream, &alice_codec));
    OK(sipsimple_audio_stream_codec(c.bob_stream, &bob_codec));
    CHECK(alice_codec != NULL && strcmp(alice_codec, "PCMU") == 0);
    CHECK(bob_codec != NULL && strcmp(bob_codec, "PCMU") == 0);
    sipsimple_string_free(alice_codec);
    sipsimple_string_free(bob_codec);
    uint32_t rate = 0;
    OK(sipsimple_audio_stream_sample_rate(c.alice_stream, &rate));
    CHECK(rate == 8000);
    uint16_t alice_port = 0, bob_port = 0, remote_port = 0;
    OK(sipsimple_audio_stream_local_rtp_port(c.alice_stream, &alice_port));
    OK(sipsimple_audio_stream_local_rtp_port(c.bob_stream, &bob_port));
    CHECK(alice_port != 0 && alice_port % 2 == 0 && bob_port != 0 && bob_port != alice_port);
    OK(sipsimple_audio_stream_remote_rtp_port_sdp(c.bob_stream, &remote_port));
    CHECK(remote_port == alice_port);
    OK(sipsimple_audio_stream_remote_rtp_port_sdp(c.alice_stream, &remote_port));
    CHECK(remote_port == bob_port);
    CHECK(attribute_is(sipsimple_audio_stream_local_rtp_address, c.alice_stream, "127.0.0.1"));
    CHECK(attribute_is(sipsimple_audio_stream_remote_rtp_address_sdp, c.bob_stream, "127.0.0.1"));
    bool srtp_alice = false, srtp_bob = true;
    OK(sipsimple_audio_stream_srtp_active(c.alice_stream, &srtp_alice));
    OK(sipsimple_audio_stream_srtp_active(c.bob_stream, &srtp_bob));
    CHECK(srtp_alice == srtp_bob);

    /* ---- bob records; the tone plays into alice's stream ---- */
    int mark = events.count;
    OK(sipsimple_audio_stream_start_recording(c.bob_stream, recording));
    n = wait_event("AudioStreamDidStartRecordingAudio", c.bob_stream, mark);
    CHECK(string_field_is(n, "filename", recording));
    CHECK(attribute_is(sipsimple_audio_stream_recording_filename, c.bob_stream, recording));
    EXPECT(sipsimple_audio_stream_start_recording(c.bob_stream, recording), SIPSIMPLE_RESULT_INVALID_STATE);

    sipsimple_handle mixer = 0, bridge = 0, player = 0;
    OK(sipsimple_application_voice_audio_mixer(&mixer));
    OK(sipsimple_audio_stream_bridge(c.alice_stream, &bridge));
    EXPECT(sipsimple_wave_player_new(mixer, NULL, 100, 1, 0.0, true, &player), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    EXPECT(sipsimple_wave_player_new(mixer, wav, 201, 1, 0.0, true, &player), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_wave_player_new(mixer, wav, 100, 1, -1.0, true, &player), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_wave_player_new(c.alice_stream, wav, 100, 1, 0.0, true, &player),
           SIPSIMPLE_RESULT_INVALID_HANDLE);
    CHECK(player == 0);
    OK(sipsimple_wave_player_new(mixer, wav, 100, 1, 0.0, true, &player));
    OK(sipsimple_audio_bridge_add(bridge, player));
    EXPECT(sipsimple_audio_bridge_add(bridge, c.call), SIPSIMPLE_RESULT_INVALID_HANDLE);
    mark = events.count;
    OK(sipsimple_wave_player_start(player));
    bool active = false;
    OK(sipsimple_wave_player_is_active(player, &active));
    CHECK(active);
    EXPECT(sipsimple_wave_player_start(player), SIPSIMPLE_RESULT_INVALID_STATE);
    CHECK(wait_event("WavePlayerDidStart", player, mark) != NULL);
    CHECK(wait_event_within("WavePlayerDidEnd", player, mark, PLAYED_MS + WAIT_MS) != NULL);
    CHECK(find_event("WavePlayerDidFail", player, mark) < 0);
    OK(sipsimple_wave_player_is_active(player, &active));
    CHECK(!active);

    /* Everything alice sent until now (and two ticks more) is played out
     * at bob before the call ends. */
    long long sent = statistic(c.alice_stream, "packets_sent");
    CHECK(sent >= PLAYED_MS / 20);
    int64_t deadline = now_ms() + WAIT_MS;
    long long done = 0;
    while (now_ms() < deadline) {
        done = statistic(c.bob_stream, "frames_played") + statistic(c.bob_stream, "frames_lost") +
               statistic(c.bob_stream, "frames_discarded") + statistic(c.bob_stream, "frames_other");
        if (done >= sent + 2) {
            break;
        }
        sleep_ms(20);
    }
    CHECK(done >= sent + 2);
    CHECK(statistic(c.bob_stream, "packets_received") >= PLAYED_MS / 20);
    CHECK(statistic(c.bob_stream, "srtp_failures") == 0);
    char *stats = NULL;
    OK(sipsimple_audio_stream_statistics(c.bob_stream, &stats));
    printf("test_session: bob's stream after the tone: %s\n", stats);
    sipsimple_string_free(stats);
    OK(sipsimple_audio_bridge_remove(bridge, player));
    OK(sipsimple_wave_player_free(player));
    EXPECT(sipsimple_wave_player_start(player), SIPSIMPLE_RESULT_INVALID_HANDLE);

    /* ---- DTMF ---- */
    mark = events.count;
    OK(sipsimple_audio_stream_send_dtmf(c.alice_stream, '5'));
    n = wait_event("AudioStreamGotDTMF", c.bob_stream, mark);
    CHECK(string_field_is(n, "digit", "5"));
    EXPECT(sipsimple_audio_stream_send_dtmf(c.alice_stream, 'E'), SIPSIMPLE_RESULT_INVALID_ARGUMENT);

    /* ---- hold and unhold ---- */
    mark = events.count;
    OK(sipsimple_session_hold(c.call));
    n = wait_event("SIPSessionDidChangeHoldState", c.incoming, mark);
    bool on_hold = false;
    CHECK(n != NULL && sipsimple_notification_get_bool(n, "on_hold", &on_hold) == SIPSIMPLE_RESULT_OK && on_hold);
    CHECK(string_field_is(n, "originator", "remote"));
    CHECK(wait_event("SIPSessionDidChangeHoldState", c.call, mark) != NULL);
    OK(sipsimple_session_on_hold(c.call, &held));
    CHECK(held);
    OK(sipsimple_stream_on_hold(c.bob_stream, &held));
    CHECK(held);
    mark = events.count;
    OK(sipsimple_session_unhold(c.call));
    n = wait_event("SIPSessionDidChangeHoldState", c.incoming, mark);
    on_hold = true;
    CHECK(n != NULL && sipsimple_notification_get_bool(n, "on_hold", &on_hold) == SIPSIMPLE_RESULT_OK && !on_hold);
    CHECK(wait_event("SIPSessionDidChangeHoldState", c.call, mark) != NULL);
    OK(sipsimple_session_on_hold(c.incoming, &held));
    CHECK(!held);

    int64_t code = 0;
    /* ---- proposals: alice adds a stream, bob accepts it; alice removes
     * it; alice adds another, bob rejects it ---- */
    EXPECT(sipsimple_session_cancel_proposal(c.call), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_session_accept_proposal(c.incoming, &c.bob_stream, 1), SIPSIMPLE_RESULT_INVALID_STATE);
    EXPECT(sipsimple_session_add_stream(c.call, c.alice_stream), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    sipsimple_handle added = 0, offered = 0;
    OK(sipsimple_audio_stream_new(alice, &added));
    mark = events.count;
    OK(sipsimple_session_add_stream(c.call, added));
    n = wait_event("SIPSessionGotProposal", c.incoming, mark);
    CHECK(string_field_is(n, "originator", "remote"));
    CHECK(streams_of(n, &offered, 1) == 1);
    CHECK(attribute_is(sipsimple_session_state, c.incoming, "received_proposal"));
    OK(sipsimple_session_proposed_streams(c.incoming, listed, 4, &count));
    CHECK(count == 1 && listed[0] == offered);
    EXPECT(sipsimple_session_accept_proposal(c.incoming, NULL, 1), SIPSIMPLE_RESULT_NULL_ARGUMENT);
    OK(sipsimple_session_accept_proposal(c.incoming, &offered, 1));
    n = wait_event("SIPSessionGotAcceptProposal", c.call, mark);
    CHECK(streams_of(n, listed, 4) == 1 && listed[0] == added);
    CHECK(wait_event("SIPSessionDidRenegotiateStreams", c.incoming, mark) != NULL);
    n = wait_event("SIPSessionDidRenegotiateStreams", c.call, mark);
    CHECK(string_field_is(n, "action", "add"));
    OK(sipsimple_session_streams(c.call, listed, 4, &count));
    CHECK(count == 2 && listed[0] == c.alice_stream && listed[1] == added);
    OK(sipsimple_session_streams(c.incoming, listed, 4, &count));
    CHECK(count == 2 && listed[1] == offered);

    mark = events.count;
    OK(sipsimple_session_remove_stream(c.call, added));
    n = wait_event("SIPSessionDidRenegotiateStreams", c.incoming, mark);
    CHECK(string_field_is(n, "action", "remove"));
    CHECK(streams_of(n, listed, 4) == 1 && listed[0] == offered);
    CHECK(wait_event("MediaStreamDidEnd", added, mark) != NULL);
    OK(sipsimple_session_streams(c.call, listed, 4, &count));
    CHECK(count == 1 && listed[0] == c.alice_stream);
    CHECK(reaches_state(c.call, "connected")); /* the re-INVITE was answered */

    sipsimple_handle refused = 0;
    OK(sipsimple_audio_stream_new(alice, &refused));
    mark = events.count;
    OK(sipsimple_session_add_stream(c.call, refused));
    CHECK(wait_event("SIPSessionGotProposal", c.incoming, mark) != NULL);
    EXPECT(sipsimple_session_reject_proposal(c.incoming, 180, NULL), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    OK(sipsimple_session_reject_proposal(c.incoming, 0, NULL));
    n = wait_event("SIPSessionGotRejectProposal", c.call, mark);
    code = 0;
    CHECK(n != NULL && sipsimple_notification_get_int(n, "code", &code) == SIPSIMPLE_RESULT_OK && code == 488);
    OK(sipsimple_session_streams(c.call, listed, 4, &count));
    CHECK(count == 1 && listed[0] == c.alice_stream);
    CHECK(attribute_is(sipsimple_session_state, c.call, "connected"));

    /* ---- alice hangs up ---- */
    mark = events.count;
    OK(sipsimple_session_end(c.call));
    n = wait_event("SIPSessionDidEnd", c.incoming, mark);
    CHECK(string_field_is(n, "originator", "remote"));
    n = wait_event("SIPSessionDidEnd", c.call, mark);
    CHECK(string_field_is(n, "originator", "local"));
    n = wait_event("AudioStreamDidStopRecordingAudio", c.bob_stream, mark);
    CHECK(string_field_is(n, "filename", recording));
    CHECK(wait_event("MediaStreamDidEnd", c.alice_stream, mark) != NULL);
    CHECK(wait_event("MediaStreamDidEnd", c.bob_stream, mark) != NULL);
    CHECK(attribute_is(sipsimple_session_state, c.call, "terminated"));
    CHECK(attribute_is(sipsimple_session_state, c.incoming, "terminated"));
    CHECK(attribute_is(sipsimple_audio_stream_recording_filename, c.bob_stream, NULL));
    OK(sipsimple_session_stop_time(c.incoming, &when));
    CHECK(when > 1.5e9);
    OK(sipsimple_session_manager_sessions(NULL, 0, &count));
    CHECK(count == 0);

    /* ---- what bob recorded ---- */
    wav_data recorded;
    if (read_wav(recording, &recorded)) {
        tone_analysis a = analyse(&recorded);
        printf("test_session: recorded %.2f Hz for %.3f s of %.1f s played (%d Hz WAV)\n", a.frequency,
               a.loud_seconds, PLAYED_MS / 1000.0, recorded.rate);
        CHECK(recorded.rate == 16000);
        CHECK(a.frequency > TONE_HZ * 0.98 && a.frequency < TONE_HZ * 1.02);
        CHECK(a.loud_seconds >= 0.9 * PLAYED_MS / 1000.0);
        CHECK(a.loud_seconds <= (PLAYED_MS + 60) / 1000.0);
        free(recorded.samples);
    } else {
        CHECK(!"the recording is a readable WAV file");
    }

    /* ---- a second call, rejected with 486 ---- */
    call_state r = place_call(alice, bob_uri);
    EXPECT(sipsimple_session_reject(r.incoming, 200, NULL), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    EXPECT(sipsimple_session_reject(r.incoming, 486, "Busy\r\nX-Injected: 1"), SIPSIMPLE_RESULT_INVALID_ARGUMENT);
    OK(sipsimple_session_reject(r.incoming, 486, NULL));
    n = wait_event("SIPSessionDidFail", r.call, r.from);
    code = 0;
    CHECK(n != NULL && sipsimple_notification_get_int(n, "code", &code) == SIPSIMPLE_RESULT_OK && code == 486);
    CHECK(string_field_is(n, "originator", "remote"));
    n = wait_event("SIPSessionDidFail", r.incoming, r.from);
    CHECK(n != NULL && sipsimple_notification_get_int(n, "code", &code) == SIPSIMPLE_RESULT_OK && code == 486);
    drain();
    CHECK(find_event("SIPSessionDidStart", r.call, r.from) < 0);
    CHECK(find_event("SIPSessionDidEnd", r.call, r.from) < 0);
    CHECK(attribute_is(sipsimple_session_state, r.call, "terminated"));
    EXPECT(sipsimple_session_reject(r.incoming, 486, NULL), SIPSIMPLE_RESULT_INVALID_STATE);

    /* ---- stop: the ended sessions keep their handles until the next start,
     * then they (and their streams, and the mixer of the run) are stale ---- */
    mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    CHECK(attribute_is(sipsimple_session_state, c.call, "terminated"));
    EXPECT(sipsimple_application_voice_audio_mixer(&untouched), SIPSIMPLE_RESULT_INVALID_STATE);
    mark = events.count;
    OK(sipsimple_application_start(storage));
    REQUIRE(wait_event("SIPApplicationDidStart", app, mark) != NULL);
    const sipsimple_handle stale[] = {c.call, c.incoming, r.call, r.incoming};
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        char *text = NULL;
        EXPECT(sipsimple_session_state(stale[i], &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_session_end(stale[i]), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL);
    }
    const sipsimple_handle stale_streams[] = {c.alice_stream, c.bob_stream, r.alice_stream};
    for (size_t i = 0; i < sizeof stale_streams / sizeof stale_streams[0]; i++) {
        char *text = NULL;
        EXPECT(sipsimple_stream_type(stale_streams[i], &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        EXPECT(sipsimple_audio_stream_codec(stale_streams[i], &text), SIPSIMPLE_RESULT_INVALID_HANDLE);
        CHECK(text == NULL);
    }
    EXPECT(sipsimple_wave_player_new(mixer, wav, 100, 1, 0.0, true, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE);
    EXPECT(sipsimple_session_new(alice, &untouched), SIPSIMPLE_RESULT_INVALID_HANDLE); /* an account of the last run */
    CHECK(untouched == 42);
    mark = events.count;
    OK(sipsimple_application_stop());
    CHECK(wait_event("SIPApplicationDidEnd", app, mark) != NULL);
    drain();

    free_events();
    OK(sipsimple_notification_queue_free(queue));
    OK(sipsimple_storage_free(storage));
    remove_tree(dir);

    return report("test_session");
}
