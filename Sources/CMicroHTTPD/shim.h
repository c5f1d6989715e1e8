#ifndef CMICROHTTPD_SHIM_H
#define CMICROHTTPD_SHIM_H
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <microhttpd.h>

#include <stdarg.h>

// libmicrohttpd's error log, minus what is routine: a client that leaves while its response or
// stream is being sent ("Failed to send ...") is how every stream ends, not an error worth a
// line. Everything else goes to standard error, prefixed.
static void CMicroHTTPD_log(void *cls, const char *format, va_list ap)
{
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, format, ap);
    if (strstr(line, "Failed to send") != NULL) return;
    fprintf(stderr, "libmicrohttpd: %s%s", line, (strlen(line) > 0 && line[strlen(line) - 1] == '\n') ? "" : "\n");
}

// MHD_start_daemon and MHD_get_connection_info are variadic, which Swift cannot call. These typed
// wrappers pass the options the server uses; each option is documented in the Swift caller.
typedef struct {
    unsigned int flags;
    uint16_t port;
    const struct sockaddr *bind_address;   // NULL: all interfaces
    unsigned int thread_pool_size;         // 0 or 1: a single internal thread
    unsigned int connection_limit;
    unsigned int connection_timeout;       // seconds
    size_t connection_memory_limit;        // bytes per connection for headers and buffers
    int listen_backlog;
    MHD_NotifyConnectionCallback notify_connection;  // connection opened/closed (admission counts)
    void *notify_connection_cls;
} CMicroHTTPD_Options;

static inline struct MHD_Daemon *CMicroHTTPD_start(
    const CMicroHTTPD_Options *o,
    MHD_AccessHandlerCallback handler, void *handler_cls,
    MHD_RequestCompletedCallback completed, void *completed_cls,
    void *(*uri_logger)(void *cls, const char *uri, struct MHD_Connection *con), void *uri_logger_cls)
{
    if (o->bind_address != NULL) {
        return MHD_start_daemon(o->flags, o->port, NULL, NULL, handler, handler_cls,
            MHD_OPTION_EXTERNAL_LOGGER, CMicroHTTPD_log, NULL,   // first, or libmicrohttpd warns
            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
            MHD_OPTION_URI_LOG_CALLBACK, uri_logger, uri_logger_cls,
            MHD_OPTION_THREAD_POOL_SIZE, o->thread_pool_size,
            MHD_OPTION_CONNECTION_LIMIT, o->connection_limit,
            MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->connection_memory_limit,
            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)o->listen_backlog,
            MHD_OPTION_NOTIFY_CONNECTION, o->notify_connection, o->notify_connection_cls,
            MHD_OPTION_SOCK_ADDR, o->bind_address,
            MHD_OPTION_END);
    }
    return MHD_start_daemon(o->flags, o->port, NULL, NULL, handler, handler_cls,
        MHD_OPTION_EXTERNAL_LOGGER, CMicroHTTPD_log, NULL,   // first, or libmicrohttpd warns
        MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
        MHD_OPTION_URI_LOG_CALLBACK, uri_logger, uri_logger_cls,
        MHD_OPTION_THREAD_POOL_SIZE, o->thread_pool_size,
        MHD_OPTION_CONNECTION_LIMIT, o->connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->connection_memory_limit,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)o->listen_backlog,
        MHD_OPTION_NOTIFY_CONNECTION, o->notify_connection, o->notify_connection_cls,
        MHD_OPTION_END);
}

/// The bound port (useful after asking for port 0).
static inline uint16_t CMicroHTTPD_bound_port(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

/// The client's address as text ("127.0.0.1", "::1"); writes an empty string when unknown.
static inline void CMicroHTTPD_client_address(struct MHD_Connection *c, char *out, size_t len) {
    out[0] = 0;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL) return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
    }
}

/// The client's address as text, from a sockaddr (for the connection-notify callback, which
/// gets no connection info helper of its own); writes an empty string when unknown.
static inline void CMicroHTTPD_sockaddr_text(const struct sockaddr *sa, char *out, size_t len) {
    out[0] = 0;
    if (sa == NULL) return;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)len);
    }
}

/// The connection's client sockaddr as libmicrohttpd keeps it, or NULL.
static inline const struct sockaddr *CMicroHTTPD_client_sockaddr(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info == NULL ? NULL : info->client_addr;
}

/// The connection's socket, or -1.
static inline int CMicroHTTPD_connection_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/// Whether the peer of a socket has closed or reset it, without consuming anything: a suspended
/// connection (an idle stream) is not watched by libmicrohttpd, so a client that left would
/// otherwise be noticed only at the next write.
static inline int CMicroHTTPD_peer_gone(int fd) {
    if (fd < 0) return 0;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return 1;
    if (n < 0 && (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE)) return 1;
    return 0;
}

/// Whether a request header's value was cut short by a NUL byte. libmicrohttpd 0.9.75 parses
/// headers in place and measures values as C strings, so "a<NUL>b" arrives as "a" with no trace
/// but the buffer: a line it ended itself is followed by the NULs it wrote over CR LF (after any
/// blanks it trimmed), while a NUL the client sent is followed by the rest of the value. A line
/// ended by a bare LF also looks like this and is refused with it (RFC 9112 allows that).
static inline int CMicroHTTPD_value_hides_nul(const char *value, size_t size) {
    if (value == NULL || value[size] != 0) return 0;
    const char *p = value + size + 1;
    while (*p == ' ' || *p == '\t') p++;
    return *p != 0;
}

/// MHD_CONTENT_READER_END_OF_STREAM and _END_WITH_ERROR are macros on (ssize_t)-1 / -2.
static inline ssize_t CMicroHTTPD_end_of_stream(void) { return MHD_CONTENT_READER_END_OF_STREAM; }
static inline ssize_t CMicroHTTPD_end_with_error(void) { return MHD_CONTENT_READER_END_WITH_ERROR; }
static inline uint64_t CMicroHTTPD_size_unknown(void) { return MHD_SIZE_UNKNOWN; }

/// Relaxed atomic add on a counter shared by the worker threads; returns the new value.
static inline int64_t CMicroHTTPD_atomic_add(int64_t *counter, int64_t delta) {
    return __atomic_add_fetch(counter, delta, __ATOMIC_RELAXED);
}
static inline int64_t CMicroHTTPD_atomic_load(int64_t *counter) {
    return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

#endif
