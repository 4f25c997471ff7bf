/*
 * bridge.h - internal to libwsgate: the C side of the opaque objects and the
 * helpers the Go code calls. Not installed; users include include/dmsc_ws.h.
 * It only declares, because cgo copies export files' preambles (which
 * include it) into two C files.
 */
#ifndef WSGATE_CAPI_BRIDGE_H
#define WSGATE_CAPI_BRIDGE_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/dmsc_ws.h"

#define WSG_HIDDEN __attribute__((visibility("hidden")))

/* cgo writes export prototypes without const; using this typedef in Go
 * signatures makes them match the header's const char*. */
typedef const char wsg_cchar;

/* Each opaque object is a small C allocation holding the cgo.Handle of its
 * Go object; the Go side keeps a table of live addresses and never reads a
 * handle from an address that is not in it. */
struct DMSCWSServerConfig {
    uintptr_t handle;
};

struct DMSCWSSession {
    uintptr_t handle;
    char* remote_addr; /* owned; freed with the object */
    int borrowed;      /* 1 for the session passed to a callback */
};

struct DMSCWSSessionManager {
    uintptr_t handle;
    /* mu guards the callbacks and user data below. The callbacks and
     * user_data live only here, in C memory: Go never holds them, since a
     * user_data such as (void*)1 held as a Go pointer can abort the
     * runtime. */
    pthread_mutex_t mu;
    DMSWSConnectCallback on_connect;
    void* connect_data;
    DMSWSMessageCallback on_message;
    void* message_data;
    DMSWSCloseCallback on_close;
    void* close_data;
    DMSWSErrorCallback on_error;
    void* error_data;
};

WSG_HIDDEN DMSCWSServerConfig* wsg_config_alloc(void);
WSG_HIDDEN DMSCWSSessionManager* wsg_manager_alloc(void);
WSG_HIDDEN void wsg_manager_release(DMSCWSSessionManager* m);
WSG_HIDDEN DMSCWSSession* wsg_session_alloc(const char* remote_addr, size_t n, int borrowed);
WSG_HIDDEN void wsg_session_release(DMSCWSSession* s);

WSG_HIDDEN void wsg_set_last_error(const char* msg, size_t n);

WSG_HIDDEN void wsg_dispatch_connect(DMSCWSSessionManager* m, DMSCWSSession* s);
WSG_HIDDEN void wsg_dispatch_message(DMSCWSSessionManager* m, DMSCWSSession* s, int type, const char* data, size_t length);
WSG_HIDDEN void wsg_dispatch_close(DMSCWSSessionManager* m, DMSCWSSession* s, uint16_t code, const char* reason);
WSG_HIDDEN void wsg_dispatch_error(DMSCWSSessionManager* m, DMSCWSSession* s, int code, const char* message);

#endif
