/*
 * driver.c - a C server on libwsgate that the Go tests drive through its
 * clients (TestDriver*): each text message a client sends is a command
 * that calls one dmsc_ws_* function, and the answer goes back to that
 * client. Configuration comes from key=value arguments. Built with
 * -fsanitize=address; it listens on 127.0.0.1 with a free port and prints
 * "PORT <n>". Events are printed as they are polled:
 *   connect <id> <remote>
 *   message <id> <text|binary> <length>
 *   error <id> <code> <message>
 *   close <id> <code> <reason>
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmsc_ws.h"

static volatile int running = 1;
static uint32_t stop_timeout = 5000;

static void reply(DMSCWSSession* s, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void reply(DMSCWSSession* s, const char* fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof buf) {
        n = sizeof buf - 1;
    }
    int rc = dmsc_ws_session_send(s, buf, (size_t)n);
    if (rc != DMSC_WS_OK) {
        printf("reply failed %d %s\n", rc, dmsc_ws_last_error());
    }
}

/* next splits off the first space-separated word of *rest. */
static char* next(char** rest) {
    char* w = *rest;
    char* sp = strchr(w, ' ');
    if (sp != NULL) {
        *sp = '\0';
        *rest = sp + 1;
    } else {
        *rest = w + strlen(w);
    }
    return w;
}

static void reply_ids(DMSCWSSession* s, const char* what, uint32_t* ids, uint32_t n) {
    char buf[512];
    int off = snprintf(buf, sizeof buf, "%s", what);
    for (uint32_t i = 0; i < n && off < (int)sizeof buf - 12; i++) {
        off += snprintf(buf + off, sizeof buf - off, " %u", ids[i]);
    }
    dmsc_ws_session_send(s, buf, (size_t)off);
}

static void info(DMSCWSSession* to, DMSCWSSession* s) {
    reply(to, "info id=%u remote=%s connected=%lu last=%lu msent=%lu bsent=%lu mrecv=%lu brecv=%lu",
          dmsc_ws_session_get_id(s), dmsc_ws_session_get_remote_addr(s), dmsc_ws_session_get_connected_at(s),
          dmsc_ws_session_get_last_activity(s), dmsc_ws_session_get_messages_sent(s),
          dmsc_ws_session_get_bytes_sent(s), dmsc_ws_session_get_messages_received(s),
          dmsc_ws_session_get_bytes_received(s));
}

static void on_connect(DMSCWSSessionManager* m, DMSCWSSession* s, void* ud) {
    (void)m;
    (void)ud;
    printf("connect %u %s\n", dmsc_ws_session_get_id(s), dmsc_ws_session_get_remote_addr(s));
}

static void on_error(DMSCWSSessionManager* m, DMSCWSSession* s, int code, const char* msg, void* ud) {
    (void)m;
    (void)ud;
    printf("error %u %d %s\n", dmsc_ws_session_get_id(s), code, msg);
}

static void on_close(DMSCWSSessionManager* m, DMSCWSSession* s, uint16_t code, const char* reason, void* ud) {
    (void)m;
    (void)ud;
    printf("close %u %u %s\n", dmsc_ws_session_get_id(s), code, reason);
}

static void on_message(DMSCWSSessionManager* m, DMSCWSSession* s, DMSWSMessageType type, const char* data,
                       size_t length, void* ud) {
    (void)ud;
    uint32_t self = dmsc_ws_session_get_id(s);
    printf("message %u %s %zu\n", self, type == DMSC_WS_MESSAGE_TEXT ? "text" : "binary", length);
    if (type != DMSC_WS_MESSAGE_TEXT) {
        return;
    }
    char* line = strndup(data, length);
    char* rest = line;
    char* cmd = next(&rest);
    uint32_t ids[64];
    int rc = 0;
    if (strcmp(cmd, "echo") == 0) {
        rc = dmsc_ws_session_send(s, rest, strlen(rest));
    } else if (strcmp(cmd, "echobin") == 0) {
        rc = dmsc_ws_session_send_binary(s, rest, strlen(rest));
    } else if (strcmp(cmd, "echotext") == 0) {
        rc = dmsc_ws_session_send_text(s, rest, strlen(rest));
    } else if (strcmp(cmd, "join") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_join_room(m, self, rest));
    } else if (strcmp(cmd, "leave") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_leave_room(m, self, rest));
    } else if (strcmp(cmd, "sub") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_subscribe(m, self, rest));
    } else if (strcmp(cmd, "unsub") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_unsubscribe(m, self, rest));
    } else if (strcmp(cmd, "room") == 0) {
        char* room = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_send_to_room(m, room, rest, strlen(rest)));
    } else if (strcmp(cmd, "roombin") == 0) {
        char* room = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_send_to_room_binary(m, room, rest, strlen(rest)));
    } else if (strcmp(cmd, "roomx") == 0) {
        char* room = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_send_to_room_except(m, room, self, rest, strlen(rest)));
    } else if (strcmp(cmd, "roomxbin") == 0) {
        char* room = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_send_to_room_except_binary(m, room, self, rest, strlen(rest)));
    } else if (strcmp(cmd, "all") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_broadcast(m, rest, strlen(rest)));
    } else if (strcmp(cmd, "allbin") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_broadcast_binary(m, rest, strlen(rest)));
    } else if (strcmp(cmd, "allx") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_broadcast_except(m, self, rest, strlen(rest)));
    } else if (strcmp(cmd, "allxbin") == 0) {
        reply(s, "ok %d", dmsc_ws_session_manager_broadcast_except_binary(m, self, rest, strlen(rest)));
    } else if (strcmp(cmd, "pub") == 0) {
        char* subject = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_publish(m, subject, rest, strlen(rest)));
    } else if (strcmp(cmd, "pubbin") == 0) {
        char* subject = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_manager_publish_binary(m, subject, rest, strlen(rest)));
    } else if (strcmp(cmd, "to") == 0) {
        uint32_t id = (uint32_t)strtoul(next(&rest), NULL, 10);
        reply(s, "ok %d", dmsc_ws_session_manager_send(m, id, rest, strlen(rest)));
    } else if (strcmp(cmd, "tobin") == 0) {
        uint32_t id = (uint32_t)strtoul(next(&rest), NULL, 10);
        reply(s, "ok %d", dmsc_ws_session_manager_send_binary(m, id, rest, strlen(rest)));
    } else if (strcmp(cmd, "members") == 0) {
        uint32_t n = dmsc_ws_session_manager_get_room_members(m, rest, ids, 64);
        reply_ids(s, "members", ids, n);
    } else if (strcmp(cmd, "ids") == 0) {
        uint32_t n = dmsc_ws_session_manager_get_session_ids(m, ids, 64);
        reply_ids(s, "ids", ids, n);
    } else if (strcmp(cmd, "meta") == 0) {
        char* key = next(&rest);
        reply(s, "ok %d", dmsc_ws_session_set_metadata(s, key, rest));
    } else if (strcmp(cmd, "getmeta") == 0) {
        char buf[64];
        int n = dmsc_ws_session_get_metadata(s, rest, buf, sizeof buf);
        reply(s, "meta %d %s", n, n >= 0 ? buf : dmsc_ws_last_error());
    } else if (strcmp(cmd, "info") == 0) {
        info(s, s);
    } else if (strcmp(cmd, "getsession") == 0) {
        DMSCWSSession* other = dmsc_ws_session_manager_get_session(m, (uint32_t)strtoul(rest, NULL, 10));
        if (other == NULL) {
            reply(s, "err %s", dmsc_ws_last_error());
        } else {
            info(s, other);
            dmsc_ws_session_free(other);
        }
    } else if (strcmp(cmd, "stats") == 0) {
        reply(s, "stats active=%u total=%u messages=%lu bytes=%lu recv=%lu sent=%lu dropped=%lu",
              dmsc_ws_session_manager_get_active_count(m), dmsc_ws_session_manager_get_total_count(m),
              dmsc_ws_session_manager_get_total_messages(m), dmsc_ws_session_manager_get_total_bytes(m),
              dmsc_ws_session_manager_get_messages_received(m), dmsc_ws_session_manager_get_messages_sent(m),
              dmsc_ws_session_manager_get_dropped_messages(m));
    } else if (strcmp(cmd, "close") == 0) {
        uint16_t code = (uint16_t)strtoul(next(&rest), NULL, 10);
        reply(s, "closing");
        rc = dmsc_ws_session_close(s, code, rest);
    } else if (strcmp(cmd, "kick") == 0) {
        uint32_t id = (uint32_t)strtoul(next(&rest), NULL, 10);
        uint16_t code = (uint16_t)strtoul(next(&rest), NULL, 10);
        reply(s, "ok %d", dmsc_ws_session_manager_disconnect(m, id, code, rest));
    } else if (strcmp(cmd, "flood") == 0) {
        /* flood <id> <count> <size>: binary messages to a session, counting
         * how each send was answered. */
        uint32_t id = (uint32_t)strtoul(next(&rest), NULL, 10);
        int count = atoi(next(&rest));
        size_t size = strtoul(rest, NULL, 10);
        char* buf = calloc(1, size);
        int ok = 0, full = 0, closed = 0, other = 0;
        for (int i = 0; i < count; i++) {
            int r = dmsc_ws_session_manager_send_binary(m, id, buf, size);
            ok += r == 1;
            full += r == DMSC_WS_ERR_QUEUE_FULL;
            closed += r == DMSC_WS_ERR_CLOSED;
            other += r != 1 && r != DMSC_WS_ERR_QUEUE_FULL && r != DMSC_WS_ERR_CLOSED;
        }
        free(buf);
        reply(s, "flood ok=%d full=%d closed=%d other=%d", ok, full, closed, other);
    } else if (strcmp(cmd, "stall") == 0) {
        /* Keep poll busy, as a slow application would, so that the event
         * queue fills. */
        reply(s, "stalling");
        usleep((useconds_t)strtoul(rest, NULL, 10) * 1000);
    } else if (strcmp(cmd, "stop") == 0) {
        stop_timeout = (uint32_t)strtoul(rest, NULL, 10);
        running = 0;
    } else {
        reply(s, "unknown %s", cmd);
    }
    if (rc != 0) {
        printf("command %s failed %d %s\n", cmd, rc, dmsc_ws_last_error());
    }
    free(line);
}

static int configure(DMSCWSServerConfig* c, char* arg) {
    char* eq = strchr(arg, '=');
    if (eq == NULL) {
        return -100;
    }
    *eq = '\0';
    const char* k = arg;
    char* v = eq + 1;
    if (strcmp(k, "tls_cert") == 0) return dmsc_ws_server_config_set_tls_cert(c, v);
    if (strcmp(k, "tls_key") == 0) return dmsc_ws_server_config_set_tls_key(c, v);
    if (strcmp(k, "secret") == 0) return dmsc_ws_server_config_set_auth_hs256_secret(c, v, strlen(v));
    if (strcmp(k, "issuer") == 0) return dmsc_ws_server_config_set_auth_issuer(c, v);
    if (strcmp(k, "audience") == 0) return dmsc_ws_server_config_set_auth_audience(c, v);
    if (strcmp(k, "origin") == 0) return dmsc_ws_server_config_add_allowed_origin(c, v);
    if (strcmp(k, "origin_validation") == 0) return dmsc_ws_server_config_set_origin_validation(c, atoi(v));
    if (strcmp(k, "subproto") == 0) return dmsc_ws_server_config_add_allowed_subprotocol(c, v);
    if (strcmp(k, "require_sub") == 0) return dmsc_ws_server_config_set_require_subprotocol(c, atoi(v));
    if (strcmp(k, "max_msg") == 0) return dmsc_ws_server_config_set_max_message_size(c, strtoul(v, NULL, 10));
    if (strcmp(k, "max_text") == 0) return dmsc_ws_server_config_set_max_text_message_size(c, strtoul(v, NULL, 10));
    if (strcmp(k, "max_binary") == 0)
        return dmsc_ws_server_config_set_max_binary_message_size(c, strtoul(v, NULL, 10));
    if (strcmp(k, "max_conn") == 0) return dmsc_ws_server_config_set_max_connections(c, strtoul(v, NULL, 10));
    if (strcmp(k, "per_ip") == 0) return dmsc_ws_server_config_set_max_connections_per_ip(c, strtoul(v, NULL, 10));
    if (strcmp(k, "proxy") == 0) return dmsc_ws_server_config_add_trusted_proxy(c, v);
    if (strcmp(k, "proxy_protocol") == 0) return dmsc_ws_server_config_set_proxy_protocol(c, atoi(v));
    if (strcmp(k, "compression") == 0) {
        int rc = dmsc_ws_server_config_set_compression_enabled(c, true);
        return rc != 0 ? rc : dmsc_ws_server_config_set_compression_level(c, atoi(v));
    }
    if (strcmp(k, "idle") == 0) return dmsc_ws_server_config_set_idle_timeout(c, strtoul(v, NULL, 10));
    if (strcmp(k, "ping") == 0) return dmsc_ws_server_config_set_ping_interval(c, strtoul(v, NULL, 10));
    if (strcmp(k, "ping_timeout") == 0) return dmsc_ws_server_config_set_ping_timeout(c, strtoul(v, NULL, 10));
    if (strcmp(k, "path") == 0) return dmsc_ws_server_config_set_path(c, v);
    if (strcmp(k, "rate") == 0) { /* messages:window:policy */
        int rc = dmsc_ws_server_config_set_rate_limit_enabled(c, true);
        if (rc == 0) rc = dmsc_ws_server_config_set_rate_limit_messages(c, strtoul(strtok(v, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_rate_limit_window(c, strtoul(strtok(NULL, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_rate_limit_policy(c, atoi(strtok(NULL, ":")));
        return rc;
    }
    if (strcmp(k, "queue") == 0) { /* messages:bytes:policy */
        int rc = dmsc_ws_server_config_set_max_queued_messages(c, strtoul(strtok(v, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_max_queued_bytes(c, strtoul(strtok(NULL, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_slow_consumer_policy(c, atoi(strtok(NULL, ":")));
        return rc;
    }
    if (strcmp(k, "events") == 0) { /* messages:bytes:policy */
        int rc = dmsc_ws_server_config_set_event_queue_size(c, strtoul(strtok(v, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_event_queue_bytes(c, strtoul(strtok(NULL, ":"), NULL, 10));
        if (rc == 0) rc = dmsc_ws_server_config_set_event_overflow_policy(c, atoi(strtok(NULL, ":")));
        return rc;
    }
    return -100;
}

int main(int argc, char** argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    DMSCWSServerConfig* c = dmsc_ws_server_config_new();
    dmsc_ws_server_config_set_host(c, "127.0.0.1");
    dmsc_ws_server_config_set_port(c, 0);
    for (int i = 1; i < argc; i++) {
        int rc = configure(c, argv[i]);
        if (rc != 0) {
            fprintf(stderr, "bad argument %s: %d %s\n", argv[i], rc, dmsc_ws_last_error());
            return 2;
        }
    }
    DMSCWSSessionManager* m = dmsc_ws_session_manager_new(c);
    dmsc_ws_session_manager_set_on_connect(m, on_connect, NULL);
    dmsc_ws_session_manager_set_on_message(m, on_message, NULL);
    dmsc_ws_session_manager_set_on_error(m, on_error, NULL);
    dmsc_ws_session_manager_set_on_close(m, on_close, NULL);
    int rc = dmsc_ws_session_manager_start(m);
    if (rc != 0) {
        printf("start failed %d %s\n", rc, dmsc_ws_last_error());
        dmsc_ws_session_manager_free(m);
        dmsc_ws_server_config_free(c);
        return 3;
    }
    printf("PORT %d\n", dmsc_ws_session_manager_get_port(m));
    while (running) {
        if (dmsc_ws_session_manager_poll(m, 200) < 0) {
            printf("poll failed %s\n", dmsc_ws_last_error());
        }
    }
    printf("stopped %d\n", dmsc_ws_session_manager_stop(m, stop_timeout));
    /* Deliver the close events stop left queued. */
    while (dmsc_ws_session_manager_poll(m, 0) > 0) {
    }
    dmsc_ws_session_manager_free(m);
    dmsc_ws_server_config_free(c);
    printf("freed\n");
    return 0;
}
