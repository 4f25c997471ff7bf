/*
 * dmsc_ws.h - the C API of wsgate (github.com/wsgate/wsgate).
 *
 * A C or C++ program creates a server configuration, a session manager,
 * sets callbacks, polls for events, broadcasts, manages rooms and topics and
 * reads statistics. Behind these functions runs the Go library: the same hub,
 * upgrade checks (origin, token, limits), bounded queues and graceful
 * shutdown that Go programs get. Link with libwsgate.so (or libwsgate.a and
 * -lpthread); see capi/README in the repository and capi/example/.
 *
 * HANDLES. DMSCWSServerConfig, DMSCWSSession and DMSCWSSessionManager are
 * opaque: small C allocations that hold a runtime/cgo.Handle naming the Go
 * object. No Go pointer ever reaches C. Every function checks the handle it
 * is given against the library's table of live objects before touching it,
 * so a NULL, freed or wrong-kind handle gets DMSC_WS_ERR_NULL or
 * DMSC_WS_ERR_INVALID_HANDLE instead of a crash (a freed pointer is recognised
 * as long as the allocator has not handed its address to a new object of the
 * library).
 *
 * THREADS. Callbacks run only inside dmsc_ws_session_manager_poll, on the
 * thread that calls it: the library's network goroutines put events (connect,
 * message, close, error) into a bounded queue that poll drains in order, so
 * the application's callbacks never run concurrently with each other or with
 * its main loop and need no locks. For one session the order is always
 * connect, its messages in arrival order, at most one error, close.
 * Every function that sends, routes, joins or reads counters is safe to call
 * from any thread at any time, including from inside a callback. A config
 * object and a DMSCWSSession object must be used by one thread at a time
 * (the session behind it may be reached from any thread through the
 * manager's functions that take a session ID). Set callbacks before the first
 * poll; setting one from another thread while poll runs is safe, the change
 * applies to the next event.
 *
 * SIGNALS. The Go runtime runs on threads of its own and expects every signal
 * handler the host installs to be set with sigaction(2) and SA_ONSTACK (as
 * capi/example/main.c does); system calls of the host may then see EINTR, as
 * with any threaded library. Do not use signal(2) for handlers of
 * asynchronous signals.
 *
 * OWNERSHIP. Objects returned by *_new and by dmsc_ws_session_manager_get_session
 * belong to the caller, who frees each exactly once with its *_free function.
 * The DMSCWSSession passed to a callback belongs to the library: it is valid
 * until the callback returns and must not be freed (session_free returns
 * DMSC_WS_ERR_BORROWED for it); call get_session to keep one. A `const char*`
 * returned by a getter points into the object it was read from and stays
 * valid until that object is freed or (for config getters) until the same
 * setting is changed; never free it. Strings and buffers passed IN are copied
 * before the call returns; the caller keeps ownership. Data passed to
 * on_message is valid until the callback returns, is followed by a NUL byte
 * that `length` does not count, and may contain NUL bytes (use length).
 *
 * SESSION IDS are uint32_t. wsgate's own session IDs are strings, unique
 * across a cluster; the C API maps each session of a manager to a number
 * assigned when it connects: 1, 2, 3 ... in connection order, never 0. An ID
 * stays reserved - and keeps naming its session - until that session's
 * on_close has been delivered by poll (or, without an on_close callback,
 * until poll has processed its close event), so an ID seen in a callback
 * never names another session before the application has learned that the
 * first one ended. After 4294967295 the numbering wraps to 1 and skips IDs
 * still reserved. IDs are per manager.
 *
 * ERRORS. Functions that return int return 0 (or a count >= 0) on success and
 * a negative DMSC_WS_ERR_* code on failure. Functions that return a pointer
 * return NULL on failure; functions that return an unsigned count or counter
 * return 0 on failure. In every case dmsc_ws_last_error() then describes the
 * failure. A Go panic inside the library is recovered and reported as
 * DMSC_WS_ERR_INTERNAL; it never unwinds into the host.
 *
 * TEXT OR BINARY. Functions without a type in their name (dmsc_ws_session_send,
 * dmsc_ws_session_manager_broadcast, ...) send a TEXT message, as the
 * specification's examples (JSON strings) expect; the data must be valid UTF-8
 * or the call returns DMSC_WS_ERR_INVALID_ARGUMENT (a client would close the
 * connection with 1007 on invalid text). The *_binary variants send binary
 * messages of any bytes.
 */
#ifndef DMSC_WS_H
#define DMSC_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types of the specification --------------------------------------- */

/* Server configuration: host, port, limits, security. Copied by
 * dmsc_ws_session_manager_new; changing it afterwards does not affect the
 * manager. */
typedef struct DMSCWSServerConfig DMSCWSServerConfig;
/* One WebSocket connection (a view of it: see OWNERSHIP above). */
typedef struct DMSCWSSession DMSCWSSession;
/* The server and every session attached to it. */
typedef struct DMSCWSSessionManager DMSCWSSessionManager;

/* The type of a data message; the values are the RFC 6455 opcodes. */
typedef enum DMSWSMessageType {
    DMSC_WS_MESSAGE_TEXT = 1,
    DMSC_WS_MESSAGE_BINARY = 2
} DMSWSMessageType;

// Connection established
typedef void (*DMSWSConnectCallback)(
    DMSCWSSessionManager* manager,
    DMSCWSSession* session,
    void* user_data
);

// Message received
typedef void (*DMSWSMessageCallback)(
    DMSCWSSessionManager* manager,
    DMSCWSSession* session,
    DMSWSMessageType type,
    const char* data,
    size_t length,
    void* user_data
);

// Connection closed
typedef void (*DMSWSCloseCallback)(
    DMSCWSSessionManager* manager,
    DMSCWSSession* session,
    uint16_t code,
    const char* reason,
    void* user_data
);

// Error occurred
typedef void (*DMSWSErrorCallback)(
    DMSCWSSessionManager* manager,
    DMSCWSSession* session,
    int error_code,
    const char* error_message,
    void* user_data
);

/* ---- error codes -------------------------------------------------------- */

#define DMSC_WS_OK                       0
#define DMSC_WS_ERR_NULL                (-1)  /* a required pointer argument is NULL */
#define DMSC_WS_ERR_INVALID_HANDLE      (-2)  /* freed, unknown or wrong-kind object */
#define DMSC_WS_ERR_INVALID_ARGUMENT    (-3)  /* a value out of range or malformed */
#define DMSC_WS_ERR_STATE               (-4)  /* not allowed now (not started, already started, inside poll) */
#define DMSC_WS_ERR_NOT_FOUND           (-5)  /* no session with this ID */
#define DMSC_WS_ERR_CLOSED              (-6)  /* the session is closing or closed */
#define DMSC_WS_ERR_QUEUE_FULL          (-7)  /* the session's send queue refused the message */
#define DMSC_WS_ERR_LIMIT               (-8)  /* too many rooms or topics for this session */
#define DMSC_WS_ERR_CONFIG              (-9)  /* start: the configuration was refused */
#define DMSC_WS_ERR_LISTEN              (-10) /* start: cannot listen on host:port */
#define DMSC_WS_ERR_TLS                 (-11) /* start: cannot load the certificate or key */
#define DMSC_WS_ERR_TIMEOUT             (-12) /* stop: sessions had to be forced closed */
#define DMSC_WS_ERR_BORROWED            (-13) /* session_free on a callback's session */
#define DMSC_WS_ERR_INTERNAL            (-14) /* a bug in the library (a recovered Go panic) */

/* error_code values passed to on_error: why a session failed. The session
 * is closed (its on_close follows); error_message gives details. */
#define DMSC_WS_ERR_PROTOCOL            (-20) /* the peer broke RFC 6455 (close 1002 sent) */
#define DMSC_WS_ERR_MESSAGE_TOO_BIG     (-21) /* over the message size limit (close 1009 sent) */
#define DMSC_WS_ERR_INVALID_DATA        (-22) /* invalid UTF-8 text or deflate data (close 1007 sent) */
#define DMSC_WS_ERR_PONG_TIMEOUT        (-23) /* no pong within the ping timeout (close 1001 sent) */
#define DMSC_WS_ERR_WRITE               (-24) /* a write to the peer failed or timed out */
#define DMSC_WS_ERR_CONN_RESET          (-25) /* the peer reset the connection */
#define DMSC_WS_ERR_EVENT_QUEUE_FULL    (-26) /* the event queue overflowed (close 1008 sent) */

/* Describes the most recent failed dmsc_ws_* call made by the calling
 * thread ("" if none has failed). The string belongs to the library and is
 * valid until the thread's next failing call; it is at most 511 bytes.
 * Successful calls do not clear it (like errno). */
const char* dmsc_ws_last_error(void);

/* ---- policies ----------------------------------------------------------- */

/* What happens to a message over the rate limit. */
#define DMSC_WS_RATE_LIMIT_DROP    0 /* discard it (counted); the session stays open. Default. */
#define DMSC_WS_RATE_LIMIT_QUEUE   1 /* hold the session's reading until the rate allows it */
#define DMSC_WS_RATE_LIMIT_REJECT  2 /* close the session with 1008 */

/* What happens when a session's send queue is full. */
#define DMSC_WS_SLOW_DISCONNECT    0 /* close it with 1008 "slow consumer". Default. */
#define DMSC_WS_SLOW_DROP_OLDEST   1 /* discard queued messages, oldest first (counted) */
#define DMSC_WS_SLOW_DROP_NEWEST   2 /* refuse the new message (counted; send returns DMSC_WS_ERR_QUEUE_FULL) */
#define DMSC_WS_SLOW_BLOCK         3 /* the sender waits up to 1 s, then as DISCONNECT */

/* What happens to a received message when the event queue poll drains is
 * full (see dmsc_ws_server_config_set_event_queue_size). */
#define DMSC_WS_EVENTS_DISCONNECT  0 /* close the sending session with 1008 "event queue full"
                                        and report DMSC_WS_ERR_EVENT_QUEUE_FULL. Default. */
#define DMSC_WS_EVENTS_BLOCK       1 /* stop reading that session until poll makes room
                                        (TCP pushes back on the client) */

/* ---- server configuration ---------------------------------------------- */
/* Setters return DMSC_WS_OK or a negative error and leave the setting
 * unchanged on error. Getters of numbers return the value (>= 0) or a
 * negative error; getters of flags return 1, 0 or a negative error. Times are
 * in milliseconds, sizes in bytes. The defaults below are what
 * dmsc_ws_server_config_new sets. */

/* A new configuration with the defaults. NULL if out of memory. */
DMSCWSServerConfig* dmsc_ws_server_config_new(void);
/* Frees config. NULL is ignored; a freed config gives DMSC_WS_ERR_INVALID_HANDLE. */
int dmsc_ws_server_config_free(DMSCWSServerConfig* config);

/* Address to listen on: an IP address or host name. Default "127.0.0.1";
 * "0.0.0.0" or "::" listens on every interface. */
int dmsc_ws_server_config_set_host(DMSCWSServerConfig* config, const char* host);
const char* dmsc_ws_server_config_get_host(DMSCWSServerConfig* config);
/* TCP port, 0 to 65535. Default 8080; 0 picks a free port (read it with
 * dmsc_ws_session_manager_get_port). If the process was started by systemd
 * socket activation (LISTEN_PID is this process and LISTEN_FDS >= 1), the
 * first manager started serves on the inherited socket (fd 3) instead of
 * host:port, and the variables are removed from the environment. */
int dmsc_ws_server_config_set_port(DMSCWSServerConfig* config, int port);
int dmsc_ws_server_config_get_port(DMSCWSServerConfig* config);
/* The URL path of the WebSocket endpoint; other paths answer 404. It must
 * start with '/'. Default "/". */
int dmsc_ws_server_config_set_path(DMSCWSServerConfig* config, const char* path);
const char* dmsc_ws_server_config_get_path(DMSCWSServerConfig* config);

/* Sessions open at once, 1 to 16777216; more are refused with HTTP 503.
 * Default 10000. */
int dmsc_ws_server_config_set_max_connections(DMSCWSServerConfig* config, uint32_t max);
int64_t dmsc_ws_server_config_get_max_connections(DMSCWSServerConfig* config);
/* Sessions open at once from one client IP (IPv6 clients count per /64);
 * more get 503. 0 means no per-IP limit. Default 0. */
int dmsc_ws_server_config_set_max_connections_per_ip(DMSCWSServerConfig* config, uint32_t max);
int64_t dmsc_ws_server_config_get_max_connections_per_ip(DMSCWSServerConfig* config);

/* Largest message a client may send, after reassembly and decompression;
 * a larger one closes the session with 1009. set_max_message_size sets the
 * text and the binary limit; 1 byte to 2^40. Default 65536 each.
 * get_max_message_size returns the larger of the two. */
int dmsc_ws_server_config_set_max_message_size(DMSCWSServerConfig* config, size_t bytes);
int64_t dmsc_ws_server_config_get_max_message_size(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_max_text_message_size(DMSCWSServerConfig* config, size_t bytes);
int64_t dmsc_ws_server_config_get_max_text_message_size(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_max_binary_message_size(DMSCWSServerConfig* config, size_t bytes);
int64_t dmsc_ws_server_config_get_max_binary_message_size(DMSCWSServerConfig* config);

/* Time between pings; 0 disables pings and the ping timeout. Default 25000. */
int dmsc_ws_server_config_set_ping_interval(DMSCWSServerConfig* config, uint32_t ms);
int64_t dmsc_ws_server_config_get_ping_interval(DMSCWSServerConfig* config);
/* How long after a ping a client may stay silent before its session ends
 * with 1001 "pong timeout" (on_error gets DMSC_WS_ERR_PONG_TIMEOUT); at
 * least 1. Default 10000. */
int dmsc_ws_server_config_set_ping_timeout(DMSCWSServerConfig* config, uint32_t ms);
int64_t dmsc_ws_server_config_get_ping_timeout(DMSCWSServerConfig* config);
/* A session that sends no message for this long is closed with 1001
 * "idle timeout"; 0 means never. Default 0. */
int dmsc_ws_server_config_set_idle_timeout(DMSCWSServerConfig* config, uint32_t ms);
int64_t dmsc_ws_server_config_get_idle_timeout(DMSCWSServerConfig* config);

/* permessage-deflate (RFC 7692) for clients that offer it; others get plain
 * frames on the same server. Default off. The level is 0 (negotiated, stored
 * blocks: no compression) to 9 (best); default 1. No context takeover,
 * 15-bit window: what the Go library supports. */
int dmsc_ws_server_config_set_compression_enabled(DMSCWSServerConfig* config, bool enabled);
int dmsc_ws_server_config_get_compression_enabled(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_compression_level(DMSCWSServerConfig* config, int level);
int dmsc_ws_server_config_get_compression_level(DMSCWSServerConfig* config);

// Origin validation, on by default: a browser's handshake is accepted only
// from the server's own origin and the allowed origins (exact
// "https://app.example.com" or wildcard "https://*.example.com"); others get
// 403. Requests without an Origin (non-browser clients) are accepted.
// Turning validation OFF lets any web site open sockets with your users'
// cookies; do it only if you do not authenticate with cookies.
int dmsc_ws_server_config_set_origin_validation(DMSCWSServerConfig* config, bool enabled);
int dmsc_ws_server_config_get_origin_validation(DMSCWSServerConfig* config);
/* Adds an allowed origin; a malformed one is refused here with
 * DMSC_WS_ERR_INVALID_ARGUMENT. At most 1024 entries. */
int dmsc_ws_server_config_add_allowed_origin(DMSCWSServerConfig* config, const char* origin);
int dmsc_ws_server_config_clear_allowed_origins(DMSCWSServerConfig* config);
int dmsc_ws_server_config_get_allowed_origin_count(DMSCWSServerConfig* config);
/* The index-th allowed origin, or NULL (DMSC_WS_ERR_INVALID_ARGUMENT) if
 * index is out of range. Valid until the list changes or config is freed. */
const char* dmsc_ws_server_config_get_allowed_origin(DMSCWSServerConfig* config, uint32_t index);

/* Subprotocols the server speaks, most preferred first; the first one the
 * client also offers is selected. A client offering none of them is
 * accepted with no subprotocol unless require_subprotocol is set (then 400).
 * Empty (default): no subprotocol is selected. At most 64 entries; each must
 * be an HTTP token. */
int dmsc_ws_server_config_add_allowed_subprotocol(DMSCWSServerConfig* config, const char* subprotocol);
int dmsc_ws_server_config_clear_allowed_subprotocols(DMSCWSServerConfig* config);
int dmsc_ws_server_config_get_allowed_subprotocol_count(DMSCWSServerConfig* config);
const char* dmsc_ws_server_config_get_allowed_subprotocol(DMSCWSServerConfig* config, uint32_t index);
int dmsc_ws_server_config_set_require_subprotocol(DMSCWSServerConfig* config, bool required);
int dmsc_ws_server_config_get_require_subprotocol(DMSCWSServerConfig* config);

/* Message rate limit per session: at most `messages` per `window` ms on
 * average, with bursts of up to `messages`. Default off, 100 per 1000 ms,
 * policy DMSC_WS_RATE_LIMIT_DROP. */
int dmsc_ws_server_config_set_rate_limit_enabled(DMSCWSServerConfig* config, bool enabled);
int dmsc_ws_server_config_get_rate_limit_enabled(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_rate_limit_messages(DMSCWSServerConfig* config, uint32_t messages);
int64_t dmsc_ws_server_config_get_rate_limit_messages(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_rate_limit_window(DMSCWSServerConfig* config, uint32_t ms);
int64_t dmsc_ws_server_config_get_rate_limit_window(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_rate_limit_policy(DMSCWSServerConfig* config, int policy);
int dmsc_ws_server_config_get_rate_limit_policy(DMSCWSServerConfig* config);

/* TLS (wss://): PEM files read by dmsc_ws_session_manager_start, which
 * fails with DMSC_WS_ERR_TLS if they cannot be loaded. Both or neither must
 * be set; NULL or "" unsets. Default unset (plain ws://). */
int dmsc_ws_server_config_set_tls_cert(DMSCWSServerConfig* config, const char* cert_file);
const char* dmsc_ws_server_config_get_tls_cert(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_tls_key(DMSCWSServerConfig* config, const char* key_file);
const char* dmsc_ws_server_config_get_tls_key(DMSCWSServerConfig* config);

/* Token authentication: with a secret set, every handshake must carry a JWT
 * signed with HS256 and that secret (at least 32 bytes), in
 * "Authorization: Bearer <token>", in a Sec-WebSocket-Protocol entry
 * "base64url.bearer.authorization.<base64url(token)>" (browsers; the client
 * must also offer an allowed subprotocol, which the server selects, else
 * 400: see dmsc_ws_server_config_add_allowed_subprotocol), or in the
 * cookie "access_token"; otherwise 401. exp is required. NULL or length 0
 * turns authentication off (the default). The Go library also verifies
 * HS384/HS512, RSA, ECDSA and Ed25519 keys and JWK Sets; this API exposes
 * HS256 only. Issuer and audience, when set, must match iss and aud. */
int dmsc_ws_server_config_set_auth_hs256_secret(DMSCWSServerConfig* config, const char* secret, size_t length);
int dmsc_ws_server_config_get_auth_enabled(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_auth_issuer(DMSCWSServerConfig* config, const char* issuer);
const char* dmsc_ws_server_config_get_auth_issuer(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_auth_audience(DMSCWSServerConfig* config, const char* audience);
const char* dmsc_ws_server_config_get_auth_audience(DMSCWSServerConfig* config);

/* Reverse proxies. Trusted proxies are IP addresses or CIDR prefixes
 * ("10.0.0.0/8"), at most 256. Without the PROXY protocol, a request from a
 * trusted proxy may state the client IP (X-Forwarded-For, X-Real-IP,
 * Forwarded) and its public host and scheme for the origin check; from
 * anyone else those headers are ignored. With the PROXY protocol (v1 and
 * v2) on, every connection from a trusted proxy must start with a PROXY
 * header giving the client's address, and connections from anywhere else
 * are dropped; at least one trusted proxy is then required. Default off,
 * no trusted proxy. */
int dmsc_ws_server_config_set_proxy_protocol(DMSCWSServerConfig* config, bool enabled);
int dmsc_ws_server_config_get_proxy_protocol(DMSCWSServerConfig* config);
int dmsc_ws_server_config_add_trusted_proxy(DMSCWSServerConfig* config, const char* cidr);
int dmsc_ws_server_config_clear_trusted_proxies(DMSCWSServerConfig* config);
int dmsc_ws_server_config_get_trusted_proxy_count(DMSCWSServerConfig* config);
const char* dmsc_ws_server_config_get_trusted_proxy(DMSCWSServerConfig* config, uint32_t index);

/* Each session's send queue: at most this many messages and bytes unwritten
 * (1 to 2^30). Default 256 messages, 1048576 bytes; the slow policy decides
 * what happens when a message would overflow it. Default
 * DMSC_WS_SLOW_DISCONNECT. */
int dmsc_ws_server_config_set_max_queued_messages(DMSCWSServerConfig* config, uint32_t messages);
int64_t dmsc_ws_server_config_get_max_queued_messages(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_max_queued_bytes(DMSCWSServerConfig* config, size_t bytes);
int64_t dmsc_ws_server_config_get_max_queued_bytes(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_slow_consumer_policy(DMSCWSServerConfig* config, int policy);
int dmsc_ws_server_config_get_slow_consumer_policy(DMSCWSServerConfig* config);

/* The event queue that poll drains: at most this many received messages
 * and bytes waiting for poll (1 to 2^30). Default 1024 messages, 16777216
 * bytes, policy DMSC_WS_EVENTS_DISCONNECT. Connect, close and error events
 * are never dropped; they are bounded by the session limit (a handshake is
 * refused with 503 while 2 * max_connections session IDs are reserved). */
int dmsc_ws_server_config_set_event_queue_size(DMSCWSServerConfig* config, uint32_t messages);
int64_t dmsc_ws_server_config_get_event_queue_size(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_event_queue_bytes(DMSCWSServerConfig* config, size_t bytes);
int64_t dmsc_ws_server_config_get_event_queue_bytes(DMSCWSServerConfig* config);
int dmsc_ws_server_config_set_event_overflow_policy(DMSCWSServerConfig* config, int policy);
int dmsc_ws_server_config_get_event_overflow_policy(DMSCWSServerConfig* config);

/* ---- session manager ---------------------------------------------------- */

/* A manager with a copy of config (checked by start, not here). NULL if
 * config is NULL or not a live config. */
DMSCWSSessionManager* dmsc_ws_session_manager_new(DMSCWSServerConfig* config);
/* Frees manager. A running manager is stopped first without waiting for the
 * clients (as stop with timeout 0). Events not yet polled are discarded; no
 * callback runs. NULL is ignored. DMSC_WS_ERR_STATE from inside a callback
 * or while another thread is in poll. */
int dmsc_ws_session_manager_free(DMSCWSSessionManager* manager);

/* Listens on host:port (or the inherited socket) and serves the WebSocket
 * endpoint at the configured path. Returns once the server is accepting.
 * DMSC_WS_ERR_STATE if already running; DMSC_WS_ERR_CONFIG,
 * DMSC_WS_ERR_LISTEN or DMSC_WS_ERR_TLS as named. A stopped manager may be
 * started again (session IDs continue). */
int dmsc_ws_session_manager_start(DMSCWSSessionManager* manager);
/* Graceful shutdown: stops accepting, refuses handshakes in progress with
 * 503, sends every session what is already queued, then close 1001 "going
 * away", and waits up to timeout_ms for the clients to answer; sessions left
 * after that are closed at once. Returns DMSC_WS_OK when every session
 * drained, DMSC_WS_ERR_TIMEOUT when some were forced, DMSC_WS_ERR_STATE if
 * not running. The close events stay queued: the next polls deliver
 * on_close for every session. No callback runs inside stop. */
int dmsc_ws_session_manager_stop(DMSCWSSessionManager* manager, uint32_t timeout_ms);
/* Port the running server listens on (useful with port 0), or a negative
 * error (DMSC_WS_ERR_STATE if not running). */
int dmsc_ws_session_manager_get_port(DMSCWSSessionManager* manager);

/* Waits up to timeout_ms for events (0: do not wait; negative: until an
 * event arrives, or return at once if the manager is not running and none is
 * queued), then calls the callbacks for the events queued at that moment, in
 * order, on this thread. Returns the number of events processed (>= 0).
 * DMSC_WS_ERR_STATE when called from a callback or while another thread
 * polls. Events without a callback are consumed silently. */
int dmsc_ws_session_manager_poll(DMSCWSSessionManager* manager, int timeout_ms);

/* Callbacks and their user_data (stored as given, never dereferenced). NULL
 * removes the callback. */
int dmsc_ws_session_manager_set_on_connect(DMSCWSSessionManager* manager, DMSWSConnectCallback callback, void* user_data);
int dmsc_ws_session_manager_set_on_message(DMSCWSSessionManager* manager, DMSWSMessageCallback callback, void* user_data);
int dmsc_ws_session_manager_set_on_close(DMSCWSSessionManager* manager, DMSWSCloseCallback callback, void* user_data);
int dmsc_ws_session_manager_set_on_error(DMSCWSSessionManager* manager, DMSWSErrorCallback callback, void* user_data);

/* Routing. Each queues the message for its targets and returns at once
 * with how many sessions it was queued for (>= 0), never waiting for the
 * network (except under DMSC_WS_SLOW_BLOCK); a negative error otherwise. The
 * message is encoded once whatever the number of targets. data may be NULL
 * only when length is 0. DMSC_WS_ERR_STATE if the manager is not running. */
int dmsc_ws_session_manager_broadcast(DMSCWSSessionManager* manager, const char* data, size_t length);
int dmsc_ws_session_manager_broadcast_binary(DMSCWSSessionManager* manager, const char* data, size_t length);
/* Every session but except_id (an unknown except_id excludes nobody). */
int dmsc_ws_session_manager_broadcast_except(DMSCWSSessionManager* manager, uint32_t except_id, const char* data, size_t length);
int dmsc_ws_session_manager_broadcast_except_binary(DMSCWSSessionManager* manager, uint32_t except_id, const char* data, size_t length);
/* Room names are 1 to 255 bytes of UTF-8 without control characters. A room
 * exists while it has members; sending to an unknown room reaches 0. */
int dmsc_ws_session_manager_send_to_room(DMSCWSSessionManager* manager, const char* room, const char* data, size_t length);
int dmsc_ws_session_manager_send_to_room_binary(DMSCWSSessionManager* manager, const char* room, const char* data, size_t length);
int dmsc_ws_session_manager_send_to_room_except(DMSCWSSessionManager* manager, const char* room, uint32_t except_id, const char* data, size_t length);
int dmsc_ws_session_manager_send_to_room_except_binary(DMSCWSSessionManager* manager, const char* room, uint32_t except_id, const char* data, size_t length);
/* One session by ID: returns 1, or DMSC_WS_ERR_NOT_FOUND, DMSC_WS_ERR_CLOSED,
 * DMSC_WS_ERR_QUEUE_FULL. */
int dmsc_ws_session_manager_send(DMSCWSSessionManager* manager, uint32_t session_id, const char* data, size_t length);
int dmsc_ws_session_manager_send_binary(DMSCWSSessionManager* manager, uint32_t session_id, const char* data, size_t length);

/* Rooms. Joining twice or leaving a room one is not in is not an error;
 * DMSC_WS_ERR_LIMIT past 64 rooms per session; DMSC_WS_ERR_NOT_FOUND for an
 * unknown or ended session. */
int dmsc_ws_session_manager_join_room(DMSCWSSessionManager* manager, uint32_t session_id, const char* room);
int dmsc_ws_session_manager_leave_room(DMSCWSSessionManager* manager, uint32_t session_id, const char* room);
/* Writes up to max member IDs, ascending, into members and returns how many
 * it wrote; with members NULL and max 0, returns how many there are. 0 with
 * dmsc_ws_last_error() set on error. */
uint32_t dmsc_ws_session_manager_get_room_members(DMSCWSSessionManager* manager, const char* room, uint32_t* members, uint32_t max);

/* Topics: NATS-style subjects "a.b.c"; a pattern may use "*" for one token
 * and a final ">" for one or more. publish returns how many subscribed
 * sessions it reached; the subject may not contain wildcards. At most 64
 * patterns per session (DMSC_WS_ERR_LIMIT). */
int dmsc_ws_session_manager_subscribe(DMSCWSSessionManager* manager, uint32_t session_id, const char* pattern);
int dmsc_ws_session_manager_unsubscribe(DMSCWSSessionManager* manager, uint32_t session_id, const char* pattern);
int dmsc_ws_session_manager_publish(DMSCWSSessionManager* manager, const char* subject, const char* data, size_t length);
int dmsc_ws_session_manager_publish_binary(DMSCWSSessionManager* manager, const char* subject, const char* data, size_t length);

/* Writes up to max IDs of open sessions, ascending, into session_ids and
 * returns how many it wrote; with session_ids NULL and max 0, returns how
 * many there are. 0 with dmsc_ws_last_error() set on error. */
uint32_t dmsc_ws_session_manager_get_session_ids(DMSCWSSessionManager* manager, uint32_t* session_ids, uint32_t max);
/* A new DMSCWSSession for the ID (free it with dmsc_ws_session_free), or
 * NULL if no session has it (DMSC_WS_ERR_NOT_FOUND). A session whose on_close
 * has not been delivered yet is still found. */
DMSCWSSession* dmsc_ws_session_manager_get_session(DMSCWSSessionManager* manager, uint32_t session_id);
/* Closes a session at once with code and reason: what is still queued for
 * it is dropped, the close frame goes next. code must be valid on the wire
 * (1000-1003, 1007-1014, 3000-4999); reason may be NULL and is cut to 123
 * bytes. To close after the queued messages, use dmsc_ws_session_close. */
int dmsc_ws_session_manager_disconnect(DMSCWSSessionManager* manager, uint32_t session_id, uint16_t code, const char* reason);

/* Statistics since the manager was created (they survive stop and start).
 * Counts are uint32_t as in the specification and saturate at UINT32_MAX. */
uint32_t dmsc_ws_session_manager_get_active_count(DMSCWSSessionManager* manager); /* open now */
uint32_t dmsc_ws_session_manager_get_total_count(DMSCWSSessionManager* manager);  /* ever connected */
/* Messages (and bytes of message data) received plus sent. */
uint64_t dmsc_ws_session_manager_get_total_messages(DMSCWSSessionManager* manager);
uint64_t dmsc_ws_session_manager_get_total_bytes(DMSCWSSessionManager* manager);
uint64_t dmsc_ws_session_manager_get_messages_received(DMSCWSSessionManager* manager);
uint64_t dmsc_ws_session_manager_get_messages_sent(DMSCWSSessionManager* manager);
/* Messages routed to sessions that never received them (slow-consumer
 * policy, or still queued when the session ended), plus received messages
 * dropped because the event queue was full. */
uint64_t dmsc_ws_session_manager_get_dropped_messages(DMSCWSSessionManager* manager);

/* ---- sessions ----------------------------------------------------------- */
/* Getters return 0 (or NULL) with dmsc_ws_last_error() set for a NULL or
 * invalid session. A session that has ended keeps answering with its final
 * values. Times are milliseconds since the Unix epoch. */

uint32_t dmsc_ws_session_get_id(DMSCWSSession* session);
/* "ip:port" of the peer ("[ip]:port" for IPv6); behind trusted proxies the
 * client's IP as the proxies state it (port 0). Owned by session. */
const char* dmsc_ws_session_get_remote_addr(DMSCWSSession* session);
uint64_t dmsc_ws_session_get_connected_at(DMSCWSSession* session);
/* When the session last received a message (connected_at until then). */
uint64_t dmsc_ws_session_get_last_activity(DMSCWSSession* session);
uint64_t dmsc_ws_session_get_messages_sent(DMSCWSSession* session);
uint64_t dmsc_ws_session_get_bytes_sent(DMSCWSSession* session);
uint64_t dmsc_ws_session_get_messages_received(DMSCWSSession* session);
uint64_t dmsc_ws_session_get_bytes_received(DMSCWSSession* session);

/* Metadata: string values by string key (keys 1 to 255 bytes), shared by
 * every DMSCWSSession of the same session. value NULL removes the key. */
int dmsc_ws_session_set_metadata(DMSCWSSession* session, const char* key, const char* value);
/* Copies the value of key into buffer (NUL-terminated, truncated to
 * buffer_size - 1 bytes) and returns its full length, as snprintf does;
 * buffer may be NULL when buffer_size is 0. DMSC_WS_ERR_NOT_FOUND if the
 * key is not set. */
int dmsc_ws_session_get_metadata(DMSCWSSession* session, const char* key, char* buffer, size_t buffer_size);

/* Queues a message for this session: DMSC_WS_OK, DMSC_WS_ERR_CLOSED once it
 * is closing, DMSC_WS_ERR_QUEUE_FULL if its send queue refused the message.
 * dmsc_ws_session_send sends text (see TEXT OR BINARY). */
int dmsc_ws_session_send(DMSCWSSession* session, const char* data, size_t length);
int dmsc_ws_session_send_text(DMSCWSSession* session, const char* data, size_t length);
int dmsc_ws_session_send_binary(DMSCWSSession* session, const char* data, size_t length);
/* Starts the close handshake after what is already queued: the client
 * receives every queued message, then the close frame with code and reason
 * (rules as for dmsc_ws_session_manager_disconnect). Does not wait. */
int dmsc_ws_session_close(DMSCWSSession* session, uint16_t code, const char* reason);
/* Frees a session object from get_session (the connection stays open).
 * NULL is ignored; DMSC_WS_ERR_BORROWED for the session of a callback. */
int dmsc_ws_session_free(DMSCWSSession* session);

#ifdef __cplusplus
}
#endif

#endif /* DMSC_WS_H */
