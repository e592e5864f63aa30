/* The admin API's POST bodies: a JSON object with known fields only, of the right types.
 * The texts are the error messages admin.c answers with. */
#include "admin_body.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cluster.h"

/* Reject fields of OBJ not in ALLOWED (NULL-terminated): a typo must not pass silently. */
static int check_fields(json_t *obj, const char *const *allowed, char *err, size_t errlen)
{
    const char *key;
    json_t *val;

    json_object_foreach(obj, key, val) {
        int known = 0;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown field '%s'", key);
            return -1;
        }
    }
    return 0;
}

/* Read the node id "id" of OBJ (0 when absent and OPTIONAL). */
static int get_id(json_t *obj, int optional, uint64_t *id, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, "id");

    *id = 0;
    if (v == NULL || json_is_null(v)) {
        if (optional)
            return 0;
        snprintf(err, errlen, "missing field 'id'");
        return -1;
    }
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "field 'id' must be an integer");
        return -1;
    }
    if (json_integer_value(v) <= 0) {
        snprintf(err, errlen, "field 'id' must be a positive integer");
        return -1;
    }
    *id = (uint64_t)json_integer_value(v);
    return 0;
}

/* Read the string FIELD of OBJ (NULL when absent or null and OPTIONAL). */
static int get_string(json_t *obj, const char *field, int optional, const char **out, char *err,
                      size_t errlen)
{
    json_t *v = json_object_get(obj, field);

    *out = NULL;
    if (v == NULL || json_is_null(v)) {
        if (optional)
            return 0;
        snprintf(err, errlen, "missing field '%s'", field);
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(err, errlen, "field '%s' must be a string", field);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int fields_ok(enum admin_op op, json_t *obj, struct admin_body *out, char *err,
                     size_t errlen)
{
    static const char *const add_fields[] = {"id", "address", "resp_address", "admin_address",
                                             NULL};
    static const char *const id_fields[] = {"id", NULL};

    if (op != ADMIN_ADD)
        return check_fields(obj, id_fields, err, errlen) == 0 &&
               get_id(obj, op == ADMIN_TRANSFER, &out->id, err, errlen) == 0;
    if (check_fields(obj, add_fields, err, errlen) != 0 ||
        get_id(obj, 0, &out->id, err, errlen) != 0 ||
        get_string(obj, "address", 0, &out->address, err, errlen) != 0 ||
        get_string(obj, "resp_address", 1, &out->resp, err, errlen) != 0 ||
        get_string(obj, "admin_address", 1, &out->admin_addr, err, errlen) != 0)
        return 0;
    if (!cluster_valid_address(out->address) || (out->resp && !cluster_valid_address(out->resp)) ||
        (out->admin_addr && !cluster_valid_address(out->admin_addr))) {
        snprintf(err, errlen, "addresses must be IPv4 ip:port (e.g. 127.0.0.1:16382)");
        return 0;
    }
    return 1;
}

int admin_body_parse(enum admin_op op, const char *body, size_t len, struct admin_body *out,
                     char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj;

    memset(out, 0, sizeof(*out));
    if (len > ADMIN_MAX_BODY) {
        snprintf(err, errlen, "the request body is larger than %d bytes", ADMIN_MAX_BODY);
        return 413;
    }
    if (len == 0 && op == ADMIN_TRANSFER) {
        obj = json_object();
    } else {
        obj = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL) {
            snprintf(err, errlen, "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                     jerr.column);
            return 400;
        }
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        snprintf(err, errlen, "the request body must be a JSON object");
        return 400;
    }
    if (!fields_ok(op, obj, out, err, errlen)) {
        json_decref(obj);
        memset(out, 0, sizeof(*out));
        return 400;
    }
    out->obj = obj;
    return 0;
}

void admin_body_close(struct admin_body *out)
{
    json_decref(out->obj);
    memset(out, 0, sizeof(*out));
}
