/*
 * bridge.c - the C half of libwsgate: allocation of the opaque objects, the
 * thread-local last error, the callback setters (user_data must stay in C
 * memory) and the trampolines through which poll calls the callbacks (Go
 * cannot call a C function pointer).
 */
#include <string.h>

#include "bridge.h"

/* Exported by the Go side (manager.go): whether m is a live manager; sets
 * the last error if not. */
extern int wsgate_capi_check_manager(DMSCWSSessionManager* m);

static __thread char last_error[512];

WSG_HIDDEN void wsg_set_last_error(const char* msg, size_t n) {
    if (n >= sizeof last_error) {
        n = sizeof last_error - 1;
    }
    memcpy(last_error, msg, n);
    last_error[n] = '\0';
}

const char* dmsc_ws_last_error(void) {
    return last_error;
}

WSG_HIDDEN DMSCWSServerConfig* wsg_config_alloc(void) {
    return calloc(1, sizeof(DMSCWSServerConfig));
}

WSG_HIDDEN DMSCWSSessionManager* wsg_manager_alloc(void) {
    DMSCWSSessionManager* m = calloc(1, sizeof *m);
    if (m == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

WSG_HIDDEN void wsg_manager_release(DMSCWSSessionManager* m) {
    pthread_mutex_destroy(&m->mu);
    free(m);
}

WSG_HIDDEN DMSCWSSession* wsg_session_alloc(const char* remote_addr, size_t n, int borrowed) {
    DMSCWSSession* s = calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->remote_addr = malloc(n + 1);
    if (s->remote_addr == NULL) {
        free(s);
        return NULL;
    }
    memcpy(s->remote_addr, remote_addr, n);
    s->remote_addr[n] = '\0';
    s->borrowed = borrowed;
    return s;
}

WSG_HIDDEN void wsg_session_release(DMSCWSSession* s) {
    free(s->remote_addr);
    free(s);
}

#define WSG_SETTER(name, field, type)                                              \
    int dmsc_ws_session_manager_set_on_##name(DMSCWSSessionManager* manager,       \
                                              type callback, void* user_data) {    \
        int rc = wsgate_capi_check_manager(manager);                               \
        if (rc != DMSC_WS_OK) {                                                    \
            return rc;                                                             \
        }                                                                          \
        pthread_mutex_lock(&manager->mu);                                          \
        manager->on_##name = callback;                                             \
        manager->field = user_data;                                                \
        pthread_mutex_unlock(&manager->mu);                                        \
        return DMSC_WS_OK;                                                         \
    }

WSG_SETTER(connect, connect_data, DMSWSConnectCallback)
WSG_SETTER(message, message_data, DMSWSMessageCallback)
WSG_SETTER(close, close_data, DMSWSCloseCallback)
WSG_SETTER(error, error_data, DMSWSErrorCallback)

/* The trampolines copy the callback under the lock and call it outside, so a
 * callback may itself set callbacks. */

WSG_HIDDEN void wsg_dispatch_connect(DMSCWSSessionManager* m, DMSCWSSession* s) {
    pthread_mutex_lock(&m->mu);
    DMSWSConnectCallback cb = m->on_connect;
    void* ud = m->connect_data;
    pthread_mutex_unlock(&m->mu);
    if (cb != NULL) {
        cb(m, s, ud);
    }
}

WSG_HIDDEN void wsg_dispatch_message(DMSCWSSessionManager* m, DMSCWSSession* s, int type,
                                     const char* data, size_t length) {
    pthread_mutex_lock(&m->mu);
    DMSWSMessageCallback cb = m->on_message;
    void* ud = m->message_data;
    pthread_mutex_unlock(&m->mu);
    if (cb != NULL) {
        cb(m, s, (DMSWSMessageType)type, data, length, ud);
    }
}

WSG_HIDDEN void wsg_dispatch_close(DMSCWSSessionManager* m, DMSCWSSession* s, uint16_t code,
                                   const char* reason) {
    pthread_mutex_lock(&m->mu);
    DMSWSCloseCallback cb = m->on_close;
    void* ud = m->close_data;
    pthread_mutex_unlock(&m->mu);
    if (cb != NULL) {
        cb(m, s, code, reason, ud);
    }
}

WSG_HIDDEN void wsg_dispatch_error(DMSCWSSessionManager* m, DMSCWSSession* s, int code,
                                   const char* message) {
    pthread_mutex_lock(&m->mu);
    DMSWSErrorCallback cb = m->on_error;
    void* ud = m->error_data;
    pthread_mutex_unlock(&m->mu);
    if (cb != NULL) {
        cb(m, s, code, message, ud);
    }
}
