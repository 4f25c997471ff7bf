/*
 * api_test.c - error paths (NULL arguments, freed handles, handles of the
 * wrong kind, bad values) and local success paths of every function in
 * dmsc_ws.h. Built with -fsanitize=address and run by capi's go test
 * (TestCErrorPaths): any invalid access or leak fails it. It prints
 * "PASS <n> checks" on success.
 *
 * Sessions need a client: a minimal one is written here on a raw socket
 * (handshake, one masked text frame, TCP close).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dmsc_ws.h"

static int checks, failures;

#define EXPECT_EQ(expr, want)                                                                 \
    do {                                                                                      \
        long long got_ = (long long)(expr), want_ = (long long)(want);                        \
        checks++;                                                                             \
        if (got_ != want_) {                                                                  \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld (last error: %s)\n", __FILE__,       \
                    __LINE__, #expr, got_, want_, dmsc_ws_last_error());                      \
        }                                                                                     \
    } while (0)

#define EXPECT_TRUE(cond) EXPECT_EQ(!!(cond), 1)

#define EXPECT_STR(expr, want)                                                                \
    do {                                                                                      \
        const char* got_ = (expr);                                                            \
        checks++;                                                                             \
        if (got_ == NULL || strcmp(got_, (want)) != 0) {                                      \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s = \"%s\", want \"%s\" (last error: %s)\n", __FILE__,   \
                    __LINE__, #expr, got_ ? got_ : "(null)", (want), dmsc_ws_last_error());   \
        }                                                                                     \
    } while (0)

/* The last error must mention what went wrong. */
#define EXPECT_ERROR_MENTIONS(word)                                                           \
    do {                                                                                      \
        checks++;                                                                             \
        if (strstr(dmsc_ws_last_error(), (word)) == NULL) {                                   \
            failures++;                                                                       \
            fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n", __FILE__,   \
                    __LINE__, dmsc_ws_last_error(), (word));                                  \
        }                                                                                     \
    } while (0)

/* ---- config --------------------------------------------------------------- */

typedef int (*int_setter)(DMSCWSServerConfig*, int);
typedef int (*u32_setter)(DMSCWSServerConfig*, uint32_t);
typedef int (*size_setter)(DMSCWSServerConfig*, size_t);
typedef int (*bool_setter)(DMSCWSServerConfig*, bool);
typedef int (*str_setter)(DMSCWSServerConfig*, const char*);
typedef int64_t (*i64_getter)(DMSCWSServerConfig*);
typedef int (*int_getter)(DMSCWSServerConfig*);
typedef const char* (*str_getter)(DMSCWSServerConfig*);

/* Every handle-taking function refuses NULL, a freed config and an object
 * of another kind, and leaves nothing changed. */
static void bad_handles_u32(const char* name, u32_setter set, i64_getter get, DMSCWSServerConfig* dead,
                            DMSCWSServerConfig* other) {
    (void)name;
    EXPECT_EQ(set(NULL, 1), DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(dead, 1), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(set(other, 1), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(get(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(other), DMSC_WS_ERR_INVALID_HANDLE);
}

static void u32_setting(u32_setter set, i64_getter get, DMSCWSServerConfig* c, int64_t dflt, uint32_t good,
                        int has_bad, uint32_t bad, DMSCWSServerConfig* dead, DMSCWSServerConfig* other) {
    EXPECT_EQ(get(c), dflt);
    if (has_bad) {
        EXPECT_EQ(set(c, bad), DMSC_WS_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(get(c), dflt);
    }
    EXPECT_EQ(set(c, good), DMSC_WS_OK);
    EXPECT_EQ(get(c), good);
    bad_handles_u32("", set, get, dead, other);
}

static void size_setting(size_setter set, i64_getter get, DMSCWSServerConfig* c, int64_t dflt, size_t good,
                         size_t bad, DMSCWSServerConfig* dead, DMSCWSServerConfig* other) {
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(c, 0), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(set(c, bad), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(c, good), DMSC_WS_OK);
    EXPECT_EQ(get(c), (int64_t)good);
    EXPECT_EQ(set(NULL, good), DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(dead, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(set(other, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(get(dead), DMSC_WS_ERR_INVALID_HANDLE);
}

static void int_setting(int_setter set, int_getter get, DMSCWSServerConfig* c, int dflt, int good, int bad,
                        DMSCWSServerConfig* dead, DMSCWSServerConfig* other) {
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(c, bad), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(set(c, -1), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(c, good), DMSC_WS_OK);
    EXPECT_EQ(get(c), good);
    EXPECT_EQ(set(NULL, good), DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(dead, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(set(other, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(get(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(other), DMSC_WS_ERR_INVALID_HANDLE);
}

static void bool_setting(bool_setter set, int_getter get, DMSCWSServerConfig* c, int dflt,
                         DMSCWSServerConfig* dead, DMSCWSServerConfig* other) {
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(c, !dflt), DMSC_WS_OK);
    EXPECT_EQ(get(c), !dflt);
    EXPECT_EQ(set(c, dflt), DMSC_WS_OK);
    EXPECT_EQ(get(c), dflt);
    EXPECT_EQ(set(NULL, true), DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(dead, true), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(set(other, true), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(get(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(get(other), DMSC_WS_ERR_INVALID_HANDLE);
}

static void str_setting(str_setter set, str_getter get, DMSCWSServerConfig* c, const char* dflt,
                        const char* good, const char* bad, int null_ok, DMSCWSServerConfig* dead,
                        DMSCWSServerConfig* other) {
    EXPECT_STR(get(c), dflt);
    if (bad != NULL) {
        EXPECT_EQ(set(c, bad), DMSC_WS_ERR_INVALID_ARGUMENT);
        EXPECT_STR(get(c), dflt);
    }
    EXPECT_EQ(set(c, NULL), null_ok ? DMSC_WS_OK : DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(c, good), DMSC_WS_OK);
    const char* first = get(c);
    EXPECT_STR(first, good);
    EXPECT_TRUE(get(c) == first); /* stable until changed */
    EXPECT_EQ(set(NULL, good), DMSC_WS_ERR_NULL);
    EXPECT_EQ(set(dead, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(set(other, good), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_TRUE(get(NULL) == NULL);
    EXPECT_TRUE(get(dead) == NULL);
    EXPECT_TRUE(get(other) == NULL);
}

typedef int (*list_add)(DMSCWSServerConfig*, const char*);
typedef int (*list_clear)(DMSCWSServerConfig*);
typedef int (*list_count)(DMSCWSServerConfig*);
typedef const char* (*list_get)(DMSCWSServerConfig*, uint32_t);

static void list_setting(list_add add, list_clear clr, list_count count, list_get get, DMSCWSServerConfig* c,
                         const char* a, const char* b, const char* b_canonical, const char* bad,
                         DMSCWSServerConfig* dead, DMSCWSServerConfig* other) {
    EXPECT_EQ(count(c), 0);
    EXPECT_TRUE(get(c, 0) == NULL);
    EXPECT_EQ(add(c, bad), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(add(c, NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(count(c), 0);
    EXPECT_EQ(add(c, a), DMSC_WS_OK);
    EXPECT_EQ(add(c, b), DMSC_WS_OK);
    EXPECT_EQ(count(c), 2);
    EXPECT_STR(get(c, 0), a);
    EXPECT_STR(get(c, 1), b_canonical);
    EXPECT_TRUE(get(c, 2) == NULL);
    EXPECT_TRUE(get(c, UINT32_MAX) == NULL);
    EXPECT_EQ(clr(c), DMSC_WS_OK);
    EXPECT_EQ(count(c), 0);
    EXPECT_EQ(add(NULL, a), DMSC_WS_ERR_NULL);
    EXPECT_EQ(add(dead, a), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(add(other, a), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(clr(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(clr(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(count(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(count(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_TRUE(get(NULL, 0) == NULL);
    EXPECT_TRUE(get(dead, 0) == NULL);
    EXPECT_TRUE(get(other, 0) == NULL);
}

static void test_config(void) {
    EXPECT_STR(dmsc_ws_last_error(), "");
    DMSCWSServerConfig* dead = dmsc_ws_server_config_new();
    EXPECT_TRUE(dead != NULL);
    EXPECT_EQ(dmsc_ws_server_config_free(dead), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_free(dead), DMSC_WS_ERR_INVALID_HANDLE); /* double free */
    EXPECT_ERROR_MENTIONS("not a live object");
    EXPECT_EQ(dmsc_ws_server_config_free(NULL), DMSC_WS_OK);

    DMSCWSServerConfig* c = dmsc_ws_server_config_new();
    DMSCWSServerConfig* tmp = dmsc_ws_server_config_new();
    /* A manager passed as a config is refused. */
    DMSCWSServerConfig* other = (DMSCWSServerConfig*)dmsc_ws_session_manager_new(tmp);
    EXPECT_TRUE(other != NULL);

    str_setting(dmsc_ws_server_config_set_host, dmsc_ws_server_config_get_host, c, "127.0.0.1", "localhost",
                "bad host", 0, dead, other);
    int_setting(dmsc_ws_server_config_set_port, dmsc_ws_server_config_get_port, c, 8080, 9000, 65536, dead, other);
    str_setting(dmsc_ws_server_config_set_path, dmsc_ws_server_config_get_path, c, "/", "/ws", "ws", 0, dead,
                other);
    u32_setting(dmsc_ws_server_config_set_max_connections, dmsc_ws_server_config_get_max_connections, c, 10000, 50,
                1, 0, dead, other);
    EXPECT_EQ(dmsc_ws_server_config_set_max_connections(c, (1u << 24) + 1), DMSC_WS_ERR_INVALID_ARGUMENT);
    u32_setting(dmsc_ws_server_config_set_max_connections_per_ip,
                dmsc_ws_server_config_get_max_connections_per_ip, c, 0, 5, 1, (1u << 24) + 1, dead, other);
    size_setting(dmsc_ws_server_config_set_max_message_size, dmsc_ws_server_config_get_max_message_size, c, 65536,
                 1 << 20, (size_t)1 << 41, dead, other);
    EXPECT_EQ(dmsc_ws_server_config_get_max_text_message_size(c), 1 << 20);
    EXPECT_EQ(dmsc_ws_server_config_get_max_binary_message_size(c), 1 << 20);
    size_setting(dmsc_ws_server_config_set_max_text_message_size, dmsc_ws_server_config_get_max_text_message_size,
                 c, 1 << 20, 100, (size_t)1 << 41, dead, other);
    size_setting(dmsc_ws_server_config_set_max_binary_message_size,
                 dmsc_ws_server_config_get_max_binary_message_size, c, 1 << 20, 200, (size_t)1 << 41, dead, other);
    EXPECT_EQ(dmsc_ws_server_config_get_max_message_size(c), 200);
    u32_setting(dmsc_ws_server_config_set_ping_interval, dmsc_ws_server_config_get_ping_interval, c, 25000, 0, 0, 0,
                dead, other);
    u32_setting(dmsc_ws_server_config_set_ping_timeout, dmsc_ws_server_config_get_ping_timeout, c, 10000, 5000, 1,
                0, dead, other);
    u32_setting(dmsc_ws_server_config_set_idle_timeout, dmsc_ws_server_config_get_idle_timeout, c, 0, 60000, 0, 0,
                dead, other);
    bool_setting(dmsc_ws_server_config_set_compression_enabled, dmsc_ws_server_config_get_compression_enabled, c, 0,
                 dead, other);
    int_setting(dmsc_ws_server_config_set_compression_level, dmsc_ws_server_config_get_compression_level, c, 1, 9,
                10, dead, other);
    bool_setting(dmsc_ws_server_config_set_origin_validation, dmsc_ws_server_config_get_origin_validation, c, 1,
                 dead, other);
    list_setting(dmsc_ws_server_config_add_allowed_origin, dmsc_ws_server_config_clear_allowed_origins,
                 dmsc_ws_server_config_get_allowed_origin_count, dmsc_ws_server_config_get_allowed_origin, c,
                 "https://example.com", "https://*.example.org", "https://*.example.org", "https://example.com/path",
                 dead, other);
    list_setting(dmsc_ws_server_config_add_allowed_subprotocol, dmsc_ws_server_config_clear_allowed_subprotocols,
                 dmsc_ws_server_config_get_allowed_subprotocol_count, dmsc_ws_server_config_get_allowed_subprotocol,
                 c, "chat.v1", "chat.v2", "chat.v2", "bad proto", dead, other);
    bool_setting(dmsc_ws_server_config_set_require_subprotocol, dmsc_ws_server_config_get_require_subprotocol, c, 0,
                 dead, other);
    bool_setting(dmsc_ws_server_config_set_rate_limit_enabled, dmsc_ws_server_config_get_rate_limit_enabled, c, 0,
                 dead, other);
    u32_setting(dmsc_ws_server_config_set_rate_limit_messages, dmsc_ws_server_config_get_rate_limit_messages, c, 100,
                10, 1, 0, dead, other);
    u32_setting(dmsc_ws_server_config_set_rate_limit_window, dmsc_ws_server_config_get_rate_limit_window, c, 1000,
                500, 1, 0, dead, other);
    int_setting(dmsc_ws_server_config_set_rate_limit_policy, dmsc_ws_server_config_get_rate_limit_policy, c,
                DMSC_WS_RATE_LIMIT_DROP, DMSC_WS_RATE_LIMIT_REJECT, 3, dead, other);
    str_setting(dmsc_ws_server_config_set_tls_cert, dmsc_ws_server_config_get_tls_cert, c, "", "/tmp/cert.pem",
                NULL, 1, dead, other);
    str_setting(dmsc_ws_server_config_set_tls_key, dmsc_ws_server_config_get_tls_key, c, "", "/tmp/key.pem", NULL,
                1, dead, other);
    EXPECT_EQ(dmsc_ws_server_config_set_tls_cert(c, NULL), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_set_tls_key(c, ""), DMSC_WS_OK);

    /* auth */
    const char* secret = "0123456789abcdef0123456789abcdef";
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(c), 0);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(c, secret, 31), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_ERROR_MENTIONS("32");
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(c), 0);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(c, secret, 32), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(c), 1);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(c, NULL, 0), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(c), 0);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(NULL, secret, 32), DMSC_WS_ERR_NULL);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(dead, secret, 32), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(dmsc_ws_server_config_set_auth_hs256_secret(other, secret, 32), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(NULL), DMSC_WS_ERR_NULL);
    EXPECT_EQ(dmsc_ws_server_config_get_auth_enabled(dead), DMSC_WS_ERR_INVALID_HANDLE);
    str_setting(dmsc_ws_server_config_set_auth_issuer, dmsc_ws_server_config_get_auth_issuer, c, "",
                "https://issuer.example", NULL, 1, dead, other);
    str_setting(dmsc_ws_server_config_set_auth_audience, dmsc_ws_server_config_get_auth_audience, c, "", "chat",
                NULL, 1, dead, other);

    bool_setting(dmsc_ws_server_config_set_proxy_protocol, dmsc_ws_server_config_get_proxy_protocol, c, 0, dead,
                 other);
    list_setting(dmsc_ws_server_config_add_trusted_proxy, dmsc_ws_server_config_clear_trusted_proxies,
                 dmsc_ws_server_config_get_trusted_proxy_count, dmsc_ws_server_config_get_trusted_proxy, c,
                 "10.0.0.0/8", "192.0.2.7", "192.0.2.7/32", "10.0.0.0/33", dead, other);

    u32_setting(dmsc_ws_server_config_set_max_queued_messages, dmsc_ws_server_config_get_max_queued_messages, c, 256,
                16, 1, 0, dead, other);
    size_setting(dmsc_ws_server_config_set_max_queued_bytes, dmsc_ws_server_config_get_max_queued_bytes, c, 1 << 20,
                 4096, ((size_t)1 << 30) + 1, dead, other);
    int_setting(dmsc_ws_server_config_set_slow_consumer_policy, dmsc_ws_server_config_get_slow_consumer_policy, c,
                DMSC_WS_SLOW_DISCONNECT, DMSC_WS_SLOW_DROP_OLDEST, 4, dead, other);
    u32_setting(dmsc_ws_server_config_set_event_queue_size, dmsc_ws_server_config_get_event_queue_size, c, 1024, 8,
                1, 0, dead, other);
    size_setting(dmsc_ws_server_config_set_event_queue_bytes, dmsc_ws_server_config_get_event_queue_bytes, c,
                 16 << 20, 1 << 16, ((size_t)1 << 30) + 1, dead, other);
    int_setting(dmsc_ws_server_config_set_event_overflow_policy, dmsc_ws_server_config_get_event_overflow_policy, c,
                DMSC_WS_EVENTS_DISCONNECT, DMSC_WS_EVENTS_BLOCK, 2, dead, other);

    /* A string that is far too long is refused, not copied. */
    size_t big = 1 << 16;
    char* huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = '\0';
    EXPECT_EQ(dmsc_ws_server_config_set_host(c, huge), DMSC_WS_ERR_INVALID_ARGUMENT);
    free(huge);

    EXPECT_EQ(dmsc_ws_session_manager_free((DMSCWSSessionManager*)other), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_free(tmp), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_free(c), DMSC_WS_OK);
}

/* ---- manager without clients ------------------------------------------------ */

static void test_manager_errors(void) {
    DMSCWSServerConfig* dead_cfg = dmsc_ws_server_config_new();
    dmsc_ws_server_config_free(dead_cfg);
    EXPECT_TRUE(dmsc_ws_session_manager_new(NULL) == NULL);
    EXPECT_ERROR_MENTIONS("NULL");
    EXPECT_TRUE(dmsc_ws_session_manager_new(dead_cfg) == NULL);

    DMSCWSServerConfig* c = dmsc_ws_server_config_new();
    dmsc_ws_server_config_set_port(c, 0);
    DMSCWSSessionManager* dead = dmsc_ws_session_manager_new(c);
    EXPECT_EQ(dmsc_ws_session_manager_free(dead), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_free(dead), DMSC_WS_ERR_INVALID_HANDLE);
    EXPECT_EQ(dmsc_ws_session_manager_free(NULL), DMSC_WS_OK);
    DMSCWSSessionManager* other = (DMSCWSSessionManager*)c; /* wrong kind */

    DMSCWSSessionManager* bads[3] = {NULL, dead, other};
    int want[3] = {DMSC_WS_ERR_NULL, DMSC_WS_ERR_INVALID_HANDLE, DMSC_WS_ERR_INVALID_HANDLE};
    uint32_t ids[4];
    for (int i = 0; i < 3; i++) {
        DMSCWSSessionManager* m = bads[i];
        EXPECT_EQ(dmsc_ws_session_manager_start(m), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_stop(m, 0), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_get_port(m), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_poll(m, 0), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_set_on_connect(m, NULL, NULL), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_set_on_message(m, NULL, NULL), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_set_on_close(m, NULL, NULL), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_set_on_error(m, NULL, NULL), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast_binary(m, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast_except(m, 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast_except_binary(m, 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, "r", "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room_binary(m, "r", "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room_except(m, "r", 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room_except_binary(m, "r", 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send(m, 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_send_binary(m, 1, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_join_room(m, 1, "r"), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_leave_room(m, 1, "r"), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_subscribe(m, 1, "a.b"), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_unsubscribe(m, 1, "a.b"), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_publish(m, "a.b", "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_publish_binary(m, "a.b", "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_disconnect(m, 1, 1000, "bye"), want[i]);
        EXPECT_EQ(dmsc_ws_session_manager_get_room_members(m, "r", ids, 4), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, ids, 4), 0);
        EXPECT_TRUE(dmsc_ws_session_manager_get_session(m, 1) == NULL);
        EXPECT_EQ(dmsc_ws_session_manager_get_active_count(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_total_count(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_total_messages(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_total_bytes(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_messages_received(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_messages_sent(m), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_dropped_messages(m), 0);
        EXPECT_ERROR_MENTIONS(i == 0 ? "NULL" : "DMSCWSSessionManager");
    }

    /* A manager that is not running. */
    DMSCWSSessionManager* m = dmsc_ws_session_manager_new(c);
    EXPECT_EQ(dmsc_ws_session_manager_stop(m, 0), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_get_port(m), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, "x", 1), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, "r", "x", 1), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_publish(m, "a", "x", 1), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_get_room_members(m, "r", ids, 4), 0);
    EXPECT_ERROR_MENTIONS("not running");
    EXPECT_EQ(dmsc_ws_session_manager_poll(m, 0), 0);
    EXPECT_EQ(dmsc_ws_session_manager_poll(m, -1), 0); /* nothing can come: returns at once */
    EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, NULL, 0), 0);
    EXPECT_EQ(dmsc_ws_session_manager_get_active_count(m), 0);
    EXPECT_EQ(dmsc_ws_session_manager_set_on_connect(m, NULL, NULL), DMSC_WS_OK);

    /* start and stop, twice: a stopped manager starts again. */
    for (int round = 0; round < 2; round++) {
        EXPECT_EQ(dmsc_ws_session_manager_start(m), DMSC_WS_OK);
        EXPECT_EQ(dmsc_ws_session_manager_start(m), DMSC_WS_ERR_STATE);
        EXPECT_TRUE(dmsc_ws_session_manager_get_port(m) > 0);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, "x", 1), 0);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, NULL, 0), 0);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, NULL, 1), DMSC_WS_ERR_NULL);
        EXPECT_EQ(dmsc_ws_session_manager_broadcast(m, "\xff\xfe", 2), DMSC_WS_ERR_INVALID_ARGUMENT);
        EXPECT_ERROR_MENTIONS("UTF-8");
        EXPECT_EQ(dmsc_ws_session_manager_broadcast_binary(m, "\xff\xfe", 2), 0);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, NULL, "x", 1), DMSC_WS_ERR_NULL);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, "", "x", 1), DMSC_WS_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, "nobody", "x", 1), 0);
        EXPECT_EQ(dmsc_ws_session_manager_send(m, 42, "x", 1), DMSC_WS_ERR_NOT_FOUND);
        EXPECT_EQ(dmsc_ws_session_manager_join_room(m, 42, "r"), DMSC_WS_ERR_NOT_FOUND);
        EXPECT_EQ(dmsc_ws_session_manager_join_room(m, 42, NULL), DMSC_WS_ERR_NULL);
        EXPECT_EQ(dmsc_ws_session_manager_subscribe(m, 42, "a.*"), DMSC_WS_ERR_NOT_FOUND);
        EXPECT_EQ(dmsc_ws_session_manager_publish(m, "a.*", "x", 1), DMSC_WS_ERR_INVALID_ARGUMENT);
        EXPECT_EQ(dmsc_ws_session_manager_publish(m, NULL, "x", 1), DMSC_WS_ERR_NULL);
        EXPECT_EQ(dmsc_ws_session_manager_publish(m, "a.b", "x", 1), 0);
        EXPECT_EQ(dmsc_ws_session_manager_disconnect(m, 42, 1000, NULL), DMSC_WS_ERR_NOT_FOUND);
        EXPECT_TRUE(dmsc_ws_session_manager_get_session(m, 42) == NULL);
        EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, NULL, 3), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_room_members(m, NULL, ids, 4), 0);
        EXPECT_EQ(dmsc_ws_session_manager_get_room_members(m, "r", NULL, 0), 0);
        EXPECT_EQ(dmsc_ws_session_manager_poll(m, 1), 0);
        EXPECT_EQ(dmsc_ws_session_manager_stop(m, 1000), DMSC_WS_OK);
        EXPECT_EQ(dmsc_ws_session_manager_stop(m, 1000), DMSC_WS_ERR_STATE);
    }

    /* Start failures leave the manager stopped and startable. */
    DMSCWSServerConfig* c2 = dmsc_ws_server_config_new();
    dmsc_ws_server_config_set_port(c2, 0);
    dmsc_ws_server_config_set_tls_cert(c2, "/nonexistent/cert.pem");
    DMSCWSSessionManager* m2 = dmsc_ws_session_manager_new(c2);
    EXPECT_EQ(dmsc_ws_session_manager_start(m2), DMSC_WS_ERR_CONFIG); /* no key */
    dmsc_ws_session_manager_free(m2);
    dmsc_ws_server_config_set_tls_key(c2, "/nonexistent/key.pem");
    m2 = dmsc_ws_session_manager_new(c2);
    EXPECT_EQ(dmsc_ws_session_manager_start(m2), DMSC_WS_ERR_TLS);
    dmsc_ws_session_manager_free(m2);
    dmsc_ws_server_config_set_tls_cert(c2, NULL);
    dmsc_ws_server_config_set_tls_key(c2, NULL);
    dmsc_ws_server_config_set_proxy_protocol(c2, true);
    m2 = dmsc_ws_session_manager_new(c2);
    EXPECT_EQ(dmsc_ws_session_manager_start(m2), DMSC_WS_ERR_CONFIG); /* no trusted proxy */
    EXPECT_ERROR_MENTIONS("trusted proxy");
    dmsc_ws_session_manager_free(m2);
    dmsc_ws_server_config_set_proxy_protocol(c2, false);
    dmsc_ws_server_config_set_host(c2, "192.0.2.1"); /* not an address of this host */
    m2 = dmsc_ws_session_manager_new(c2);
    EXPECT_EQ(dmsc_ws_session_manager_start(m2), DMSC_WS_ERR_LISTEN);
    dmsc_ws_session_manager_free(m2);
    dmsc_ws_server_config_free(c2);

    /* A running manager is stopped by free. */
    EXPECT_EQ(dmsc_ws_session_manager_start(m), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_free(m), DMSC_WS_OK);
    dmsc_ws_server_config_free(c);
}

/* ---- with a client ------------------------------------------------------------ */

static int client_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr*)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(2);
    }
    const char* req =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        perror("write");
        exit(2);
    }
    /* Read the 101 response, byte by byte up to the blank line. */
    char buf[1024];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        if (read(fd, buf + n, 1) != 1) {
            perror("read");
            exit(2);
        }
        n++;
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0) {
            break;
        }
    }
    buf[n] = '\0';
    if (strncmp(buf, "HTTP/1.1 101", 12) != 0) {
        fprintf(stderr, "handshake failed: %s\n", buf);
        exit(2);
    }
    return fd;
}

/* Sends one masked text frame (payload under 126 bytes). */
static void client_send(int fd, const char* text) {
    unsigned char frame[2 + 4 + 125];
    size_t n = strlen(text);
    const unsigned char mask[4] = {1, 2, 3, 4};
    frame[0] = 0x81;
    frame[1] = (unsigned char)(0x80 | n);
    memcpy(frame + 2, mask, 4);
    for (size_t i = 0; i < n; i++) {
        frame[6 + i] = (unsigned char)text[i] ^ mask[i % 4];
    }
    if (write(fd, frame, 6 + n) != (ssize_t)(6 + n)) {
        perror("write frame");
        exit(2);
    }
}

struct events {
    int connects, messages, closes;
    uint32_t id;
    void* user_data;
    char text[64];
    size_t length;
    int nul_terminated;
    uint16_t code;
    DMSCWSSession* seen; /* the callback's session, to use after it returned */
};

static struct events g_events;

static void cb_connect(DMSCWSSessionManager* m, DMSCWSSession* s, void* ud) {
    /* user_data is (void*)1: a small integer the library must never treat
     * as a pointer. */
    g_events.user_data = ud;
    g_events.connects++;
    g_events.id = dmsc_ws_session_get_id(s);
    g_events.seen = s;
    /* What a callback may not do. */
    EXPECT_EQ(dmsc_ws_session_free(s), DMSC_WS_ERR_BORROWED);
    EXPECT_EQ(dmsc_ws_session_manager_poll(m, 0), DMSC_WS_ERR_STATE);
    EXPECT_EQ(dmsc_ws_session_manager_free(m), DMSC_WS_ERR_STATE);
    /* What it may. */
    EXPECT_EQ(dmsc_ws_session_manager_join_room(m, g_events.id, "lobby"), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_set_metadata(s, "user", "ada"), DMSC_WS_OK);
}

static void cb_message(DMSCWSSessionManager* m, DMSCWSSession* s, DMSWSMessageType type, const char* data,
                       size_t length, void* ud) {
    (void)m;
    (void)s;
    EXPECT_TRUE(ud == (void*)2);
    EXPECT_EQ(type, DMSC_WS_MESSAGE_TEXT);
    g_events.messages++;
    g_events.length = length;
    g_events.nul_terminated = data[length] == '\0';
    snprintf(g_events.text, sizeof g_events.text, "%.*s", (int)length, data);
}

static void cb_close(DMSCWSSessionManager* m, DMSCWSSession* s, uint16_t code, const char* reason, void* ud) {
    (void)m;
    (void)reason;
    (void)ud;
    g_events.closes++;
    g_events.code = code;
    EXPECT_EQ(dmsc_ws_session_get_id(s), g_events.id);
}

static void poll_until(DMSCWSSessionManager* m, int* counter, int want) {
    for (int i = 0; i < 300 && *counter < want; i++) { /* at most 30 s */
        EXPECT_TRUE(dmsc_ws_session_manager_poll(m, 100) >= 0);
    }
    EXPECT_EQ(*counter, want);
}

static void test_sessions(void) {
    DMSCWSServerConfig* c = dmsc_ws_server_config_new();
    dmsc_ws_server_config_set_port(c, 0);
    DMSCWSSessionManager* m = dmsc_ws_session_manager_new(c);
    EXPECT_EQ(dmsc_ws_session_manager_set_on_connect(m, cb_connect, (void*)1), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_set_on_message(m, cb_message, (void*)2), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_set_on_close(m, cb_close, (void*)3), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_start(m), DMSC_WS_OK);
    int fd = client_connect(dmsc_ws_session_manager_get_port(m));
    poll_until(m, &g_events.connects, 1);
    EXPECT_TRUE(g_events.user_data == (void*)1);
    EXPECT_EQ(g_events.id, 1);
    client_send(fd, "hello");
    poll_until(m, &g_events.messages, 1);
    EXPECT_STR(g_events.text, "hello");
    EXPECT_EQ(g_events.length, 5);
    EXPECT_EQ(g_events.nul_terminated, 1);

    uint32_t ids[4] = {0};
    EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, NULL, 0), 1);
    EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, ids, 4), 1);
    EXPECT_EQ(ids[0], 1);
    EXPECT_EQ(dmsc_ws_session_manager_get_room_members(m, "lobby", ids, 4), 1);
    EXPECT_EQ(dmsc_ws_session_manager_get_active_count(m), 1);
    EXPECT_EQ(dmsc_ws_session_manager_get_total_count(m), 1);
    EXPECT_EQ(dmsc_ws_session_manager_get_messages_received(m), 1);

    /* The callback's session object is gone once the callback returned. */
    EXPECT_EQ(dmsc_ws_session_get_id(g_events.seen), 0);
    EXPECT_ERROR_MENTIONS("not a live object");

    DMSCWSSession* s = dmsc_ws_session_manager_get_session(m, 1);
    EXPECT_TRUE(s != NULL);
    EXPECT_EQ(dmsc_ws_session_get_id(s), 1);
    EXPECT_TRUE(strncmp(dmsc_ws_session_get_remote_addr(s), "127.0.0.1:", 10) == 0);
    EXPECT_TRUE(dmsc_ws_session_get_connected_at(s) > 1700000000000ULL);
    EXPECT_TRUE(dmsc_ws_session_get_last_activity(s) >= dmsc_ws_session_get_connected_at(s));
    EXPECT_EQ(dmsc_ws_session_get_messages_received(s), 1);
    EXPECT_EQ(dmsc_ws_session_get_bytes_received(s), 5);
    EXPECT_TRUE(dmsc_ws_session_get_messages_sent(s) < 2);
    (void)dmsc_ws_session_get_bytes_sent(s);

    /* metadata */
    char buf[8];
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "user", buf, sizeof buf), 3);
    EXPECT_STR(buf, "ada");
    EXPECT_EQ(dmsc_ws_session_set_metadata(s, "long", "0123456789"), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "long", buf, sizeof buf), 10);
    EXPECT_STR(buf, "0123456"); /* truncated, NUL-terminated */
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "long", NULL, 0), 10);
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "long", NULL, 4), DMSC_WS_ERR_NULL);
    EXPECT_EQ(dmsc_ws_session_set_metadata(s, "long", NULL), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "long", buf, sizeof buf), DMSC_WS_ERR_NOT_FOUND);
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, "missing", buf, sizeof buf), DMSC_WS_ERR_NOT_FOUND);
    EXPECT_EQ(dmsc_ws_session_set_metadata(s, "", "x"), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_set_metadata(s, NULL, "x"), DMSC_WS_ERR_NULL);
    EXPECT_EQ(dmsc_ws_session_get_metadata(s, NULL, buf, sizeof buf), DMSC_WS_ERR_NULL);

    /* sends */
    EXPECT_EQ(dmsc_ws_session_send(s, "hi", 2), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_send_text(s, "hi", 2), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_send_binary(s, "\0\xff", 2), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_send(s, "\xff", 1), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_send_text(s, "\xc3", 1), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_send(s, NULL, 3), DMSC_WS_ERR_NULL);
    EXPECT_EQ(dmsc_ws_session_manager_send(m, 1, "x", 1), 1);
    EXPECT_EQ(dmsc_ws_session_manager_send_binary(m, 1, "x", 1), 1);
    EXPECT_EQ(dmsc_ws_session_manager_broadcast_except(m, 1, "x", 1), 0);
    EXPECT_EQ(dmsc_ws_session_manager_broadcast_except(m, 99, "x", 1), 1);
    EXPECT_EQ(dmsc_ws_session_manager_send_to_room_except(m, "lobby", 1, "x", 1), 0);
    EXPECT_EQ(dmsc_ws_session_manager_send_to_room(m, "lobby", "x", 1), 1);

    /* rooms and topics */
    EXPECT_EQ(dmsc_ws_session_manager_join_room(m, 1, ""), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_manager_subscribe(m, 1, "a..b"), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_manager_subscribe(m, 1, "prices.*"), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_publish(m, "prices.eu", "1", 1), 1);
    EXPECT_EQ(dmsc_ws_session_manager_unsubscribe(m, 1, "prices.*"), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_publish(m, "prices.eu", "1", 1), 0);
    char room[16];
    int joined = 0, limited = 0;
    for (int i = 0; i < 70; i++) {
        snprintf(room, sizeof room, "r%d", i);
        int rc = dmsc_ws_session_manager_join_room(m, 1, room);
        joined += rc == DMSC_WS_OK;
        limited += rc == DMSC_WS_ERR_LIMIT;
    }
    EXPECT_EQ(joined, 63); /* 64 per session, lobby included */
    EXPECT_EQ(limited, 7);

    /* close codes */
    EXPECT_EQ(dmsc_ws_session_close(s, 999, "bad"), DMSC_WS_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(dmsc_ws_session_manager_disconnect(m, 1, 1005, "bad"), DMSC_WS_ERR_INVALID_ARGUMENT);

    /* The client goes away: the ID stays reserved and found until on_close. */
    close(fd);
    /* The hub's count drops just before the session is marked ended: wait
     * for both. */
    for (int i = 0; i < 300 && (dmsc_ws_session_manager_get_active_count(m) != 0 ||
                                dmsc_ws_session_manager_get_session_ids(m, NULL, 0) != 0);
         i++) {
        usleep(100 * 1000); /* bounded: 30 s; no event to await without polling */
    }
    EXPECT_EQ(dmsc_ws_session_manager_get_active_count(m), 0);
    EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, NULL, 0), 0);
    DMSCWSSession* s2 = dmsc_ws_session_manager_get_session(m, 1);
    EXPECT_TRUE(s2 != NULL);
    EXPECT_EQ(dmsc_ws_session_send(s2, "late", 4), DMSC_WS_ERR_CLOSED);
    EXPECT_EQ(dmsc_ws_session_manager_send(m, 1, "late", 4), DMSC_WS_ERR_CLOSED);
    EXPECT_EQ(dmsc_ws_session_close(s2, 1000, NULL), DMSC_WS_OK); /* after the first, nothing */
    EXPECT_EQ(dmsc_ws_session_free(s2), DMSC_WS_OK);
    poll_until(m, &g_events.closes, 1);
    EXPECT_EQ(g_events.code, 1006);
    EXPECT_TRUE(dmsc_ws_session_manager_get_session(m, 1) == NULL);
    EXPECT_EQ(dmsc_ws_session_manager_join_room(m, 1, "x"), DMSC_WS_ERR_NOT_FOUND);

    /* The kept object still answers with final values, then is freed. */
    EXPECT_EQ(dmsc_ws_session_get_id(s), 1);
    EXPECT_EQ(dmsc_ws_session_get_messages_received(s), 1);
    EXPECT_EQ(dmsc_ws_session_free(s), DMSC_WS_OK);

    /* freed, NULL and wrong-kind sessions */
    DMSCWSSession* other = (DMSCWSSession*)c;
    DMSCWSSession* bads[3] = {NULL, s, other};
    int want[3] = {DMSC_WS_ERR_NULL, DMSC_WS_ERR_INVALID_HANDLE, DMSC_WS_ERR_INVALID_HANDLE};
    for (int i = 0; i < 3; i++) {
        DMSCWSSession* b = bads[i];
        EXPECT_EQ(dmsc_ws_session_get_id(b), 0);
        EXPECT_TRUE(dmsc_ws_session_get_remote_addr(b) == NULL);
        EXPECT_EQ(dmsc_ws_session_get_connected_at(b), 0);
        EXPECT_EQ(dmsc_ws_session_get_last_activity(b), 0);
        EXPECT_EQ(dmsc_ws_session_get_messages_sent(b), 0);
        EXPECT_EQ(dmsc_ws_session_get_bytes_sent(b), 0);
        EXPECT_EQ(dmsc_ws_session_get_messages_received(b), 0);
        EXPECT_EQ(dmsc_ws_session_get_bytes_received(b), 0);
        EXPECT_EQ(dmsc_ws_session_set_metadata(b, "k", "v"), want[i]);
        EXPECT_EQ(dmsc_ws_session_get_metadata(b, "k", buf, sizeof buf), want[i]);
        EXPECT_EQ(dmsc_ws_session_send(b, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_send_text(b, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_send_binary(b, "x", 1), want[i]);
        EXPECT_EQ(dmsc_ws_session_close(b, 1000, "x"), want[i]);
        EXPECT_EQ(dmsc_ws_session_free(b), i == 0 ? DMSC_WS_OK : want[i]);
    }

    EXPECT_EQ(dmsc_ws_session_manager_stop(m, 1000), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_get_total_count(m), 1); /* survives stop */
    EXPECT_TRUE(dmsc_ws_session_manager_get_total_messages(m) >= 1);
    EXPECT_TRUE(dmsc_ws_session_manager_get_total_bytes(m) >= 5);
    EXPECT_EQ(dmsc_ws_session_manager_free(m), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_free(c), DMSC_WS_OK);
}

/* ---- sends from many threads while poll runs ------------------------------------ */

enum { SENDERS = 4, SENDS = 500 };

struct sender {
    DMSCWSSessionManager* m;
    uint32_t id;
    int ok;
};

static void* send_loop(void* arg) {
    struct sender* s = arg;
    char msg[32];
    for (int i = 0; i < SENDS; i++) {
        int n = snprintf(msg, sizeof msg, "m%d", i);
        int rc = (i % 2 == 0) ? dmsc_ws_session_manager_send(s->m, s->id, msg, (size_t)n)
                              : dmsc_ws_session_manager_broadcast(s->m, msg, (size_t)n);
        s->ok += rc == 1;
    }
    return NULL;
}

static int thread_connects;
static void count_connect(DMSCWSSessionManager* m, DMSCWSSession* s, void* ud) {
    (void)m;
    (void)s;
    (void)ud;
    thread_connects++;
}

static void test_threads(void) {
    DMSCWSServerConfig* c = dmsc_ws_server_config_new();
    dmsc_ws_server_config_set_port(c, 0);
    dmsc_ws_server_config_set_max_queued_messages(c, 1 << 20);
    dmsc_ws_server_config_set_max_queued_bytes(c, 1 << 28);
    DMSCWSSessionManager* m = dmsc_ws_session_manager_new(c);
    dmsc_ws_session_manager_set_on_connect(m, count_connect, NULL);
    EXPECT_EQ(dmsc_ws_session_manager_start(m), DMSC_WS_OK);
    int fd = client_connect(dmsc_ws_session_manager_get_port(m));
    poll_until(m, &thread_connects, 1);
    uint32_t id = 0;
    EXPECT_EQ(dmsc_ws_session_manager_get_session_ids(m, &id, 1), 1);

    pthread_t th[SENDERS];
    struct sender st[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        st[i] = (struct sender){.m = m, .id = id};
        pthread_create(&th[i], NULL, send_loop, &st[i]);
    }
    /* Poll, and set callbacks, on this thread meanwhile. */
    for (int i = 0; i < 20; i++) {
        EXPECT_TRUE(dmsc_ws_session_manager_poll(m, 1) >= 0);
        EXPECT_EQ(dmsc_ws_session_manager_set_on_connect(m, count_connect, (void*)(intptr_t)i), DMSC_WS_OK);
    }
    int ok = 0;
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        ok += st[i].ok;
    }
    EXPECT_EQ(ok, SENDERS * SENDS); /* every send reached the one session */
    close(fd);
    for (int i = 0; i < 300 && dmsc_ws_session_manager_get_active_count(m) != 0; i++) {
        usleep(100 * 1000); /* bounded: 30 s */
    }
    EXPECT_EQ(dmsc_ws_session_manager_stop(m, 1000), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_session_manager_free(m), DMSC_WS_OK);
    EXPECT_EQ(dmsc_ws_server_config_free(c), DMSC_WS_OK);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_config();
    test_manager_errors();
    test_sessions();
    test_threads();
    if (failures != 0) {
        printf("FAIL %d of %d checks\n", failures, checks);
        return 1;
    }
    printf("PASS %d checks\n", checks);
    return 0;
}
