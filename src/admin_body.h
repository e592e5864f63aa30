/* The admin API's POST bodies: JSON parsing and field validation, apart from evhttp so that
 * they can be tested and fuzzed on their own. Pure: no sockets, no loop. */
#ifndef CONCORDKV_ADMIN_BODY_H
#define CONCORDKV_ADMIN_BODY_H

#include <stddef.h>
#include <stdint.h>

enum admin_op { ADMIN_ADD, ADMIN_REMOVE, ADMIN_TRANSFER };

#define ADMIN_MAX_BODY (64 * 1024) /* larger bodies get our JSON 413 */

/* A validated body. The strings belong to OBJ (a json_t *); admin_body_close frees it. */
struct admin_body {
    void *obj;
    uint64_t id;             /* 0 when absent (only TRANSFER allows that) */
    const char *address;     /* ADD: the raft address */
    const char *resp;        /* ADD: optional, NULL when absent */
    const char *admin_addr;  /* ADD: optional, NULL when absent */
};

/* Parse and validate the body of OP (LEN bytes, not NUL-terminated; an empty body is {} for
 * TRANSFER). Returns 0 with OUT filled in, or the HTTP status to answer (400 or 413) with
 * the message in ERR; OUT then owns nothing. */
int admin_body_parse(enum admin_op op, const char *body, size_t len, struct admin_body *out,
                     char *err, size_t errlen);
/* Free what OUT owns (NULL-safe fields). */
void admin_body_close(struct admin_body *out);

#endif
