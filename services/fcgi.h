/* The FastCGI responders' shared loop, over libfcgi (FastCGI Specification 1.0): accept a
 * request from nginx, check its method, content type and length, read the body up to a
 * maximum, let the program answer, send the answer. One request at a time per process. */
#ifndef ESEAL_SERVICES_FCGI_H
#define ESEAL_SERVICES_FCGI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fcgi_config {
    /* The UNIX socket to listen on (created, a stale one replaced); NULL: the listening
     * socket on stdin, as when the web server starts the program as a FastCGI child. */
    const char *socket_path;
    /* Request bodies longer than this are refused with 413 before they are read. */
    size_t max_body;
    /* GET (and HEAD) requests are passed on with an empty body; else they get 405. POST is
     * always allowed; any other method gets 405. */
    bool allow_get;
    /* A POST's Content-Type must be this media type (parameters after ';' are ignored,
     * case-insensitive); else 415. NULL: any. */
    const char *content_type;
} fcgi_config;

/* One request, valid during the handler call. */
typedef struct fcgi_request {
    const char *method;      /* "GET", "POST" */
    const char *uri;         /* DOCUMENT_URI (or SCRIPT_NAME), without the query; never NULL */
    const char *query;       /* QUERY_STRING; "" when none */
    const char *remote_addr; /* REMOTE_ADDR; "" when unknown */
    const uint8_t *body;     /* the POST body (NULL when empty) */
    size_t body_len;
    struct fcgi_conn *conn; /* the helper's own */
} fcgi_request;

/* Answers a request; called once per request by the program's handler. status is an HTTP status
 * (200, 400, ...), content_type a media type. Returns 0, or -1 when the answer could not be
 * sent (the peer went away), or when the request was already answered. */
int fcgi_respond(fcgi_request *r, int status, const char *content_type, const void *body,
                 size_t len);
/* A one-line text/plain answer (the message and a line end). */
int fcgi_respond_text(fcgi_request *r, int status, const char *msg);
/* Any FastCGI parameter of the request (CGI/1.1 meta-variable), or NULL. */
const char *fcgi_param(const fcgi_request *r, const char *name);

/* The program's answer to one request. A handler that does not answer gets a 500 sent for it. */
typedef void (*fcgi_handler)(fcgi_request *r, void *arg);

/* Opens the socket and answers requests until SIGTERM or SIGINT; SIGPIPE is ignored (a client
 * that goes away costs only its own request). Returns 0 after a signal, -1 when the socket
 * cannot be opened (with one line on stderr naming the cause, prefixed by prog). */
int fcgi_run(const char *prog, const fcgi_config *cfg, fcgi_handler handler, void *arg);

/* The reason phrase of an HTTP status ("Payload Too Large"); "Unknown" for others. */
const char *fcgi_status_text(int status);

#endif
