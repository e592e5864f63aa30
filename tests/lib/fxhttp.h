/* A small HTTP/1.1 client on raw loopback sockets for the admin API tests: one request per
 * connection (Connection: close), the whole answer read, its JSON body parsed. Helpers that
 * "assert" abort the current Criterion test. */
#ifndef CONCORDKV_FXHTTP_H
#define CONCORDKV_FXHTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define FX_HTTP_MS 10000     /* deadline of one HTTP exchange */
#define FX_HTTP_CAP (1 << 20) /* the largest answer read */

struct fx_http_resp {
    int status;
    char *raw;    /* the whole response, owned */
    char *body;   /* into raw */
    json_t *json; /* the body parsed, or NULL */
};

/* Free what R owns and zero it. */
void fx_http_free(struct fx_http_resp *r);

/* METHOD PATH on 127.0.0.1:PORT with extra HEADERS ("Name: value\r\n"..., may be NULL) and a
 * BODY of BLEN bytes (may be NULL). False if no complete answer came (node down). The caller
 * frees OUT with fx_http_free. */
bool fx_http_try(int port, const char *method, const char *path, const char *headers,
                 const char *body, size_t blen, struct fx_http_resp *out);

/* fx_http_try with a NUL-terminated BODY (may be NULL), asserting an answer came. */
struct fx_http_resp fx_http(int port, const char *method, const char *path,
                            const char *headers, const char *body);
struct fx_http_resp fx_http_get(int port, const char *path);
struct fx_http_resp fx_http_post(int port, const char *path, const char *body);

/* The value of header NAME (case-insensitive) copied into OUT; false if absent. */
bool fx_http_header(const struct fx_http_resp *r, const char *name, char *out, size_t cap);

/* A string (NULL if absent) or integer (-1 if absent) field of the JSON body. */
const char *fx_http_jstr(const struct fx_http_resp *r, const char *field);
long long fx_http_jint(const struct fx_http_resp *r, const char *field);

/* Assert R is status CODE with a JSON {"error": ...} containing TEXT (NULL: any). */
void fx_http_assert_error(const struct fx_http_resp *r, int code, const char *text);

/* METHOD PATH with BODY, then fx_http_assert_error on the answer (freed). */
void fx_http_expect_error(int port, const char *method, const char *path, const char *body,
                          int code, const char *text);

#endif
