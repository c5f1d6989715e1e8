/*
 * agents_baseline: the benchmark's baseline, a minimal libmicrohttpd server in C.
 *
 * It serves fixed bytes for a few paths with the same daemon settings as the gateway's
 * HTTPServer (Sources/HTTPServer/HTTPServer.swift): it is what "libmicrohttpd with no Swift in
 * between" costs, so the gateway can be compared with it on the same machine in the same run.
 *
 *   agents_baseline PORT THREADS PATH=BODY[,HEADERS] ...
 *
 *   PORT     TCP port on 127.0.0.1 (0 picks a free one; the bound port is printed)
 *   THREADS  size of libmicrohttpd's epoll thread pool (the gateway uses the number of cores)
 *   PATH     an exact request path, e.g. /agents or /catalog (the query string is ignored,
 *            as MHD hands the path without it)
 *   BODY     a file whose bytes are the response body
 *   HEADERS  optional: a file of "Name: Value" lines (a captured response head, e.g. from
 *            `curl -D`); the status line and Date, Content-Length, Connection, Transfer-Encoding
 *            and X-Request-Id are skipped (MHD writes the first four; the last is generated per
 *            request, like the gateway's). Without it: Content-Type: application/json.
 *
 * Any other path answers 404 with an empty body. Every response carries a per-request
 * X-Request-Id of the gateway's shape (req_<random>_<counter>, base 36), so the bytes on the
 * wire match the gateway's to within the id's length.
 *
 * Request flow is the canonical MHD one (and the gateway's): the first access-handler call
 * only marks the request, the second queues a response built from a persistent buffer (no
 * copy of the body), which MHD destroys after sending.
 *
 * Build: gcc -O2 -o agents-baseline agents_baseline.c $(pkg-config --cflags --libs libmicrohttpd)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#define MAX_ROUTES 16
#define MAX_HEADERS 32

struct header { char *name; char *value; };

struct route {
    char *path;
    char *body;
    size_t body_len;
    struct header headers[MAX_HEADERS];
    int header_count;
};

static struct route routes[MAX_ROUTES];
static int route_count;
static char id_prefix[16];
static uint64_t id_counter;
static int marker;  /* its address marks "first call seen" in the connection context */

static void die(const char *what, const char *detail) {
    fprintf(stderr, "agents_baseline: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) die("cannot open", path);
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek", path);
    long size = ftell(f);
    if (size < 0) die("cannot size", path);
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL) die("out of memory", NULL);
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) die("cannot read", path);
    buf[size] = 0;
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static int skipped_header(const char *name) {
    static const char *skip[] = {"Date", "Content-Length", "Connection", "Transfer-Encoding", "X-Request-Id",
                                 "Keep-Alive", NULL};
    for (int i = 0; skip[i]; i++)
        if (strcasecmp(name, skip[i]) == 0) return 1;
    return 0;
}

static void add_header(struct route *r, const char *name, const char *value) {
    if (r->header_count == MAX_HEADERS) die("too many headers for", r->path);
    r->headers[r->header_count].name = strdup(name);
    r->headers[r->header_count].value = strdup(value);
    r->header_count++;
}

static void load_headers(struct route *r, const char *path) {
    size_t len;
    char *text = read_file(path, &len);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ')) line[--n] = 0;
        if (n == 0 || strncmp(line, "HTTP/", 5) == 0) continue;
        char *colon = strchr(line, ':');
        if (colon == NULL) continue;
        *colon = 0;
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        if (!skipped_header(line)) add_header(r, line, value);
    }
    free(text);
}

static void parse_route(char *spec) {
    if (route_count == MAX_ROUTES) die("too many routes", NULL);
    char *eq = strchr(spec, '=');
    if (eq == NULL || spec[0] != '/') die("a route is PATH=BODY[,HEADERS], not", spec);
    *eq = 0;
    struct route *r = &routes[route_count++];
    r->path = spec;
    char *files = eq + 1;
    char *comma = strchr(files, ',');
    if (comma) *comma = 0;
    r->body = read_file(files, &r->body_len);
    if (comma) load_headers(r, comma + 1);
    else add_header(r, "Content-Type", "application/json");
}

static void base36(uint64_t v, char *out) {
    char tmp[16];
    int n = 0;
    do { tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]; v /= 36; } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **context) {
    (void)cls; (void)method; (void)version; (void)upload_data;
    if (*context == NULL) {  /* first call: headers are in, nothing to do yet */
        *context = &marker;
        return MHD_YES;
    }
    *upload_data_size = 0;

    const struct route *r = NULL;
    for (int i = 0; i < route_count; i++)
        if (strcmp(url, routes[i].path) == 0) { r = &routes[i]; break; }

    struct MHD_Response *response = r
        ? MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_PERSISTENT)
        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (response == NULL) return MHD_NO;
    if (r)
        for (int i = 0; i < r->header_count; i++)
            MHD_add_response_header(response, r->headers[i].name, r->headers[i].value);

    char id[48], counter[16];
    base36(__atomic_add_fetch(&id_counter, 1, __ATOMIC_RELAXED), counter);
    snprintf(id, sizeof id, "req_%s_%s", id_prefix, counter);
    MHD_add_response_header(response, "X-Request-Id", id);

    enum MHD_Result ret = MHD_queue_response(connection, r ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, response);
    MHD_destroy_response(response);
    return ret;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT THREADS PATH=BODY[,HEADERS] ...\n", argv[0]);
        return 2;
    }
    long port = strtol(argv[1], NULL, 10);
    long threads = strtol(argv[2], NULL, 10);
    if (port < 0 || port > 65535) die("bad port", argv[1]);
    if (threads < 1 || threads > 256) die("bad thread count", argv[2]);
    for (int i = 3; i < argc; i++) parse_route(argv[i]);

    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    base36(((uint64_t)rand() << 16 ^ (uint64_t)rand()) & 0xffffffffu, id_prefix);

    /* Block the stop signals before MHD's threads exist, so they inherit the mask and
     * sigwait() below is the one to take them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);

    /* The gateway's settings, option for option (HTTPServer.start()). */
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
        handler, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),  /* as the gateway */
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_END);
    if (daemon == NULL) die("could not start libmicrohttpd (port in use?)", argv[1]);

    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("agents_baseline: listening on http://127.0.0.1:%u with %ld threads, %d routes\n",
           info ? info->port : (unsigned)port, threads, route_count);
    fflush(stdout);

    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(daemon);
    return 0;
}
