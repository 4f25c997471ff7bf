/*
 * The usage example of the specification (dmsc/c/ws.rs, "Usage Example") as
 * a complete program. The block inside main() between the two "--- begin"
 * and "--- end" markers is the specification's, with its calls and their
 * order unchanged. It did not compile as written; the only fixes are:
 *   - the second `uint32_t room_count` (room members) is renamed
 *     `room_member_count`, since room_count is already declared above it;
 *   - session_ids, max_sessions and running are declared (running is a flag
 *     that SIGINT/SIGTERM clear, so the main loop ends on Ctrl-C).
 * Everything around the block (includes, callbacks, the helper functions the
 * loop calls, main) is what the specification leaves to the reader.
 *
 * Build: make (see Makefile). Run: ./ws_example, connect clients to
 * ws://127.0.0.1:8080/ (the configured host is 0.0.0.0), stop with Ctrl-C:
 * the program then broadcasts, welcomes the first ten sessions, exercises a
 * room and shuts down gracefully.
 */
#define _XOPEN_SOURCE 700 /* sigaction, SA_ONSTACK */

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dmsc_ws.h"

#define ERROR_INIT 1
#define ERROR_START 2

static volatile sig_atomic_t running = 1;
static bool health_due = false;

static void on_signal(int sig) {
    (void)sig;
    running = 0;
}

static void on_connect_callback(DMSCWSSessionManager* manager, DMSCWSSession* session, void* user_data) {
    (void)manager;
    (void)user_data;
    printf("connected %u from %s\n", dmsc_ws_session_get_id(session), dmsc_ws_session_get_remote_addr(session));
    health_due = true;
}

static void on_message_callback(DMSCWSSessionManager* manager, DMSCWSSession* session, DMSWSMessageType type,
                                const char* data, size_t length, void* user_data) {
    (void)manager;
    (void)user_data;
    printf("message %u (%s, %zu bytes): %.*s\n", dmsc_ws_session_get_id(session),
           type == DMSC_WS_MESSAGE_TEXT ? "text" : "binary", length, (int)length, data);
    health_due = true;
}

static void on_close_callback(DMSCWSSessionManager* manager, DMSCWSSession* session, uint16_t code,
                              const char* reason, void* user_data) {
    (void)manager;
    (void)user_data;
    printf("closed %u: %u %s\n", dmsc_ws_session_get_id(session), code, reason);
    health_due = true;
}

static void on_error_callback(DMSCWSSessionManager* manager, DMSCWSSession* session, int error_code,
                              const char* error_message, void* user_data) {
    (void)manager;
    (void)user_data;
    printf("error %u: %d %s\n", dmsc_ws_session_get_id(session), error_code, error_message);
}

static void process_application_tasks(void) {
    fflush(stdout);
}

/* Print the counts after anything happened, not on every idle second. */
static bool should_check_health(void) {
    bool due = health_due;
    health_due = false;
    return due;
}

int main(void) {
    /* Go needs SA_ONSTACK on every handler the host installs. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    uint32_t session_ids[100];
    uint32_t max_sessions = 100;

    /* --- begin: the specification's example --- */
    // Create WebSocket server configuration
    DMSCWSServerConfig* config = dmsc_ws_server_config_new();
    if (config == NULL) {
        fprintf(stderr, "Failed to create WebSocket config\n");
        return ERROR_INIT;
    }

    // Configure server settings
    dmsc_ws_server_config_set_host(config, "0.0.0.0");
    dmsc_ws_server_config_set_port(config, 8080);
    dmsc_ws_server_config_set_max_connections(config, 10000);
    dmsc_ws_server_config_set_max_message_size(config, 1024 * 1024); // 1MB
    dmsc_ws_server_config_set_ping_interval(config, 30000); // 30 seconds
    dmsc_ws_server_config_set_ping_timeout(config, 5000); // 5 seconds

    // Enable compression
    dmsc_ws_server_config_set_compression_enabled(config, true);
    dmsc_ws_server_config_set_compression_level(config, 6);

    // Enable security features
    dmsc_ws_server_config_set_origin_validation(config, true);
    dmsc_ws_server_config_add_allowed_origin(config, "https://example.com");
    dmsc_ws_server_config_set_rate_limit_enabled(config, true);
    dmsc_ws_server_config_set_rate_limit_messages(config, 100);
    dmsc_ws_server_config_set_rate_limit_window(config, 1000); // 1 second

    // Create session manager
    DMSCWSSessionManager* manager = dmsc_ws_session_manager_new(config);
    if (manager == NULL) {
        fprintf(stderr, "Failed to create session manager\n");
        dmsc_ws_server_config_free(config);
        return ERROR_INIT;
    }

    // Start WebSocket server
    int result = dmsc_ws_session_manager_start(manager);
    if (result != 0) {
        fprintf(stderr, "Failed to start WebSocket server: %d\n", result);
        dmsc_ws_session_manager_free(manager);
        dmsc_ws_server_config_free(config);
        return ERROR_START;
    }

    printf("WebSocket server started on port %d\n",
        dmsc_ws_server_config_get_port(config));

    // Set up event callbacks
    dmsc_ws_session_manager_set_on_connect(manager, on_connect_callback, NULL);
    dmsc_ws_session_manager_set_on_message(manager, on_message_callback, NULL);
    dmsc_ws_session_manager_set_on_close(manager, on_close_callback, NULL);
    dmsc_ws_session_manager_set_on_error(manager, on_error_callback, NULL);

    // Application main loop - process events
    while (running) {
        // Handle events with timeout
        dmsc_ws_session_manager_poll(manager, 1000); // 1 second timeout

        // Process pending operations
        process_application_tasks();

        // Periodic tasks
        if (should_check_health()) {
            uint32_t active_count = dmsc_ws_session_manager_get_active_count(manager);
            uint32_t total_count = dmsc_ws_session_manager_get_total_count(manager);
            uint64_t total_messages = dmsc_ws_session_manager_get_total_messages(manager);

            printf("Active sessions: %u/%u, Messages: %lu\n",
                active_count, total_count, total_messages);
        }
    }

    // Broadcast message to all clients
    const char* broadcast_msg = "{\"type\": \"broadcast\", \"message\": \"Hello all!\"}";
    int send_count = dmsc_ws_session_manager_broadcast(manager, broadcast_msg, strlen(broadcast_msg));
    printf("Broadcast sent to %d clients\n", send_count);

    // Get session information
    uint32_t session_count = dmsc_ws_session_manager_get_session_ids(manager, session_ids, max_sessions);

    for (uint32_t i = 0; i < session_count && i < 10; i++) {
        DMSCWSSession* session = dmsc_ws_session_manager_get_session(manager, session_ids[i]);
        if (session != NULL) {
            const char* remote_addr = dmsc_ws_session_get_remote_addr(session);
            uint64_t connected_at = dmsc_ws_session_get_connected_at(session);
            uint64_t messages_sent = dmsc_ws_session_get_messages_sent(session);
            uint64_t bytes_sent = dmsc_ws_session_get_bytes_sent(session);

            printf("Session %u: %s, connected: %lu, sent: %lu/%lu\n",
                session_ids[i], remote_addr, connected_at, messages_sent, bytes_sent);

            // Send message to specific session
            dmsc_ws_session_send(session, "Welcome!", 8);

            dmsc_ws_session_free(session);
        }
    }

    // Room management example
    const char* room_name = "chat_room_1";
    dmsc_ws_session_manager_join_room(manager, session_ids[0], room_name);

    // Send to room members only
    const char* room_msg = "{\"type\": \"room\", \"content\": \"Hello room!\"}";
    int room_count = dmsc_ws_session_manager_send_to_room(manager, room_name, room_msg, strlen(room_msg));
    printf("Room message sent to %d clients\n", room_count);

    // Send to room except sender
    dmsc_ws_session_manager_send_to_room_except(
        manager, room_name, session_ids[0],
        room_msg, strlen(room_msg)
    );

    // Leave room
    dmsc_ws_session_manager_leave_room(manager, session_ids[0], room_name);

    // Get room members
    uint32_t room_members[100];
    uint32_t room_member_count = dmsc_ws_session_manager_get_room_members(
        manager, room_name, room_members, 100
    );
    printf("Room '%s' has %u members\n", room_name, room_member_count);

    // Graceful shutdown
    printf("Shutting down WebSocket server...\n");
    dmsc_ws_session_manager_stop(manager, 5000); // 5 second timeout
    dmsc_ws_session_manager_free(manager);
    dmsc_ws_server_config_free(config);

    printf("WebSocket server shutdown complete\n");
    /* --- end: the specification's example --- */
    return 0;
}
