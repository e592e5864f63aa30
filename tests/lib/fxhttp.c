/* The admin-API HTTP client of fxhttp.h. */
#include "fxhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"

void fx_http_free(struct fx_http_resp *r)
{
    free(r->raw);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* METHOD PATH on 127.0.0.1:PORT with extra HEADERS ("Name: value\r\n"..., may be NULL) and a
 * BODY of BLEN bytes (may be NULL). False if no complete answer came (node down). */
bool fx_http_try(int port, const char *method, const char *path, const char *headers,
                 const char *body, size_t blen, struct fx_http_resp *out)
{
    char head[2048];
    struct fx_raw_result res;
    int fd = fx_raw_try_connect(port);
    char *sep;

    memset(out, 0, sizeof(*out));
    if (fd < 0)
        return false;
    snprintf(head, sizeof(head),
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s%s"
             "Content-Length: %zu\r\n\r\n",
             method, path, port, headers ? headers : "",
             /* the admin API requires a JSON Content-Type on every POST */
             strcmp(method, "POST") == 0 && (headers == NULL || strcasestr(headers, "Content-Type:") == NULL)
                 ? "Content-Type: application/json\r\n" : "",
             body ? blen : 0);
    if (fx_raw_send_str(fd, head) != 0 || (body && blen && fx_raw_send(fd, body, blen) != 0)) {
        close(fd);
        return false;
    }
    out->raw = malloc(FX_HTTP_CAP);
    cr_assert(out->raw != NULL);
    res = fx_raw_read(fd, out->raw, FX_HTTP_CAP, 0, NULL, FX_HTTP_MS);
    close(fd);
    sep = strstr(out->raw, "\r\n\r\n");
    if (res.timed_out || sep == NULL || sscanf(out->raw, "HTTP/1.%*d %d", &out->status) != 1) {
        fx_http_free(out);
        return false;
    }
    out->body = sep + 4;
    out->json = json_loads(out->body, 0, NULL);
    return true;
}

struct fx_http_resp fx_http(int port, const char *method, const char *path,
                            const char *headers, const char *body)
{
    struct fx_http_resp r;

    cr_assert(fx_http_try(port, method, path, headers, body, body ? strlen(body) : 0, &r),
              "%s %s on admin port %d: no answer", method, path, port);
    return r;
}

struct fx_http_resp fx_http_get(int port, const char *path)
{
    return fx_http(port, "GET", path, NULL, NULL);
}

struct fx_http_resp fx_http_post(int port, const char *path, const char *body)
{
    return fx_http(port, "POST", path, NULL, body);
}

/* The value of header NAME (case-insensitive) copied into OUT; false if absent. */
bool fx_http_header(const struct fx_http_resp *r, const char *name, char *out, size_t cap)
{
    size_t nlen = strlen(name);

    for (const char *p = strstr(r->raw, "\r\n"); p && p + 2 < r->body; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1, *end = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(end - v), v);
            return true;
        }
    }
    return false;
}

const char *fx_http_jstr(const struct fx_http_resp *r, const char *field)
{
    json_t *v = json_object_get(r->json, field);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long fx_http_jint(const struct fx_http_resp *r, const char *field)
{
    json_t *v = json_object_get(r->json, field);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* Assert R is status CODE with a JSON {"error": ...} containing TEXT (NULL: any). */
void fx_http_assert_error(const struct fx_http_resp *r, int code, const char *text)
{
    char ctype[128] = "";
    const char *err = fx_http_jstr(r, "error");

    cr_assert_eq(r->status, code, "expected HTTP %d, got %d: %s", code, r->status, r->body);
    cr_assert(fx_http_header(r, "Content-Type", ctype, sizeof(ctype)) &&
                  strcmp(ctype, "application/json") == 0,
              "HTTP %d has Content-Type '%s'", code, ctype);
    cr_assert(err != NULL, "HTTP %d without an error field: %s", code, r->body);
    if (text != NULL)
        cr_assert(strstr(err, text) != NULL, "error '%s' does not mention '%s'", err, text);
}

void fx_http_expect_error(int port, const char *method, const char *path, const char *body,
                          int code, const char *text)
{
    struct fx_http_resp r = fx_http(port, method, path, NULL, body);
    fx_http_assert_error(&r, code, text);
    fx_http_free(&r);
}
