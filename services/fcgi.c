/* The FastCGI responders' shared loop over libfcgi. */
#include "services/fcgi.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#define MAX_DIGITS 19 /* a CONTENT_LENGTH longer than this is no length we would read */
#define BACKLOG 64
#define CHUNK (1 << 20) /* FCGX_GetStr takes an int */

struct fcgi_conn {
    FCGX_Request req;
    bool answered;
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig) {
    (void)sig;
    stopping = 1;
    FCGX_ShutdownPending(); /* only sets libfcgi's flag: async-signal-safe */
}

const char *fcgi_status_text(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

const char *fcgi_param(const fcgi_request *r, const char *name) {
    return FCGX_GetParam(name, r->conn->req.envp);
}

/* FastCGI 1.0 section 6.1 (Responder): the CGI/1.1 response (RFC 3875 6.3) on FCGI_STDOUT,
 * the Status header carrying the HTTP status. */
int fcgi_respond(fcgi_request *r, int status, const char *content_type, const void *body,
                 size_t len) {
    int rc = -1;
    if (r->conn->answered || len > INT_MAX)
        goto out;
    r->conn->answered = true;
    FCGX_Stream *o = r->conn->req.out;
    /* libfcgi's own printf knows no %zu: the header is formatted here */
    char head[512];
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n",
                     status, fcgi_status_text(status), content_type, len);
    if (n < 0 || (size_t)n >= sizeof head || FCGX_PutStr(head, n, o) != n)
        goto out;
    if (len > 0 && FCGX_PutStr(body, (int)len, o) != (int)len)
        goto out;
    rc = FCGX_FFlush(o) == 0 ? 0 : -1;
out:
    return rc;
}

int fcgi_respond_text(fcgi_request *r, int status, const char *msg) {
    char line[512];
    int n = snprintf(line, sizeof line, "%s\n", msg);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    return fcgi_respond(r, status, "text/plain; charset=utf-8", line, len);
}

/* RFC 9110 8.3.1: the media type is compared case-insensitively, parameters aside. */
static bool type_is(const char *got, const char *want) {
    size_t n = strlen(want);
    if (!got || strncasecmp(got, want, n) != 0)
        return false;
    const char *p = got + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' || *p == ';';
}

/* CONTENT_LENGTH (RFC 3875 4.1.2): decimal digits only. */
static bool parse_length(size_t *out, const char *s) {
    size_t v = 0, n = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= MAX_DIGITS)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* Reads the body of a POST into *body (malloc'd), after checking its announced length against
 * the maximum; answers the request itself when it refuses it. */
static bool read_body(uint8_t **body, size_t *len, fcgi_request *r, const fcgi_config *cfg) {
    size_t want = 0;
    const char *cl = fcgi_param(r, "CONTENT_LENGTH");
    *body = NULL;
    *len = 0;
    if (cl && *cl && !parse_length(&want, cl)) {
        fcgi_respond_text(r, 400, "the Content-Length is not a number");
        return false;
    }
    if (want > cfg->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than %zu bytes", cfg->max_body);
        fcgi_respond_text(r, 413, msg);
        return false;
    }
    if (want == 0)
        return true;
    uint8_t *b = malloc(want);
    if (!b) {
        fcgi_respond_text(r, 503, "out of memory");
        return false;
    }
    size_t got = 0;
    while (got < want) {
        size_t n = want - got < CHUNK ? want - got : CHUNK;
        int k = FCGX_GetStr((char *)b + got, (int)n, r->conn->req.in);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got != want) {
        free(b);
        fcgi_respond_text(r, 400, "the request body is shorter than its Content-Length");
        return false;
    }
    *body = b;
    *len = want;
    return true;
}

static void serve_one(struct fcgi_conn *c, const fcgi_config *cfg, fcgi_handler handler,
                      void *arg) {
    fcgi_request r = {0};
    uint8_t *body = NULL;
    r.conn = c;
    r.method = fcgi_param(&r, "REQUEST_METHOD");
    r.uri = fcgi_param(&r, "DOCUMENT_URI");
    if (!r.uri)
        r.uri = fcgi_param(&r, "SCRIPT_NAME");
    if (!r.uri)
        r.uri = "";
    r.query = fcgi_param(&r, "QUERY_STRING");
    if (!r.query)
        r.query = "";
    r.remote_addr = fcgi_param(&r, "REMOTE_ADDR");
    if (!r.remote_addr)
        r.remote_addr = "";
    bool get = r.method && (strcmp(r.method, "GET") == 0 || strcmp(r.method, "HEAD") == 0);
    bool post = r.method && strcmp(r.method, "POST") == 0;
    if (!post && !(get && cfg->allow_get)) {
        fcgi_respond_text(&r, 405,
                          cfg->allow_get ? "only GET and POST are answered here"
                                         : "only POST is answered here");
        goto out;
    }
    if (post && cfg->content_type && !type_is(fcgi_param(&r, "CONTENT_TYPE"), cfg->content_type)) {
        char msg[160];
        snprintf(msg, sizeof msg, "the request's Content-Type must be %s", cfg->content_type);
        fcgi_respond_text(&r, 415, msg);
        goto out;
    }
    if (post && !read_body(&body, &r.body_len, &r, cfg))
        goto out;
    r.body = body;
    handler(&r, arg);
    if (!c->answered)
        fcgi_respond_text(&r, 500, "the request was not answered");
out:
    free(body);
}

static int open_socket(const char *prog, const char *path) {
    struct sockaddr_un sun;
    struct stat st;
    /* libfcgi reads "host:port" as TCP, and a path longer than sun_path would not bind */
    if (strchr(path, ':') || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: %s: not a usable UNIX socket path (no ':', under %zu bytes)\n", prog,
                path, sizeof sun.sun_path);
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "%s: %s exists and is not a socket\n", prog, path);
            return -1;
        }
        unlink(path); /* a stale socket from an earlier run */
    }
    int fd = FCGX_OpenSocket(path, BACKLOG);
    if (fd < 0)
        fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, path, strerror(errno));
    return fd;
}

int fcgi_run(const char *prog, const fcgi_config *cfg, fcgi_handler handler, void *arg) {
    struct fcgi_conn c;
    struct sigaction sa;
    int fd = 0, rc = -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: a blocked accept() returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0) {
        fprintf(stderr, "%s: cannot start libfcgi\n", prog);
        return -1;
    }
    if (cfg->socket_path && (fd = open_socket(prog, cfg->socket_path)) < 0)
        return -1;
    if (FCGX_InitRequest(&c.req, fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        fprintf(stderr, "%s: cannot start libfcgi\n", prog);
        goto out;
    }
    int failures = 0;
    while (!stopping) {
        if (FCGX_Accept_r(&c.req) < 0) {
            if (stopping)
                break;
            /* a transient failure (no descriptors left, a connection reset): back off */
            struct timespec pause = {0, 100 * 1000 * 1000};
            if (++failures % 100 == 1)
                fprintf(stderr, "%s: accept failed: %s\n", prog, strerror(errno));
            nanosleep(&pause, NULL);
            continue;
        }
        failures = 0;
        c.answered = false;
        serve_one(&c, cfg, handler, arg);
        FCGX_Finish_r(&c.req);
    }
    rc = 0;
    FCGX_Free(&c.req, 1);
out:
    if (cfg->socket_path) {
        close(fd);
        unlink(cfg->socket_path);
    }
    return rc;
}
