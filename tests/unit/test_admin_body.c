/* Unit tests for admin_body.c: the admin API's POST bodies, their status codes and the
 * messages the API answers with. */
#include <criterion/criterion.h>
#include <string.h>

#include "admin_body.h"

static int parse(enum admin_op op, const char *body, struct admin_body *out, char *err)
{
    return admin_body_parse(op, body, strlen(body), out, err, 300);
}

Test(admin_body, add_reads_every_field)
{
    struct admin_body b;
    char err[300];
    cr_assert_eq(parse(ADMIN_ADD, "{\"id\": 4, \"address\": \"127.0.0.1:16384\", \"resp_address\": "
                                  "\"127.0.0.1:6384\"}", &b, err), 0);
    cr_assert_eq(b.id, 4);
    cr_assert_str_eq(b.address, "127.0.0.1:16384");
    cr_assert_str_eq(b.resp, "127.0.0.1:6384");
    cr_assert_null(b.admin_addr);
    admin_body_close(&b);
}

Test(admin_body, refusals_name_the_problem)
{
    struct admin_body b;
    char err[300];
    cr_assert_eq(parse(ADMIN_ADD, "{\"id\": 4, \"adress\": \"x\"}", &b, err), 400);
    cr_assert_str_eq(err, "unknown field 'adress'");
    cr_assert_null(b.obj);
    cr_assert_eq(parse(ADMIN_REMOVE, "{\"id\": 0}", &b, err), 400);
    cr_assert_str_eq(err, "field 'id' must be a positive integer");
    cr_assert_eq(parse(ADMIN_REMOVE, "{\"id\": \"2\"}", &b, err), 400);
    cr_assert_str_eq(err, "field 'id' must be an integer");
    cr_assert_eq(parse(ADMIN_REMOVE, "[1]", &b, err), 400);
    cr_assert_str_eq(err, "the request body must be a JSON object");
    cr_assert_eq(parse(ADMIN_REMOVE, "{\"id\": 1, \"id\": 2}", &b, err), 400);
    cr_assert(strncmp(err, "malformed JSON: ", 16) == 0, "%s", err);
    cr_assert_eq(parse(ADMIN_ADD, "{\"id\": 4, \"address\": \"localhost:1\"}", &b, err), 400);
    cr_assert_str_eq(err, "addresses must be IPv4 ip:port (e.g. 127.0.0.1:16382)");
    cr_assert_eq(parse(ADMIN_REMOVE, "", &b, err), 400, "only transfer takes an empty body");
}

Test(admin_body, transfer_id_is_optional)
{
    struct admin_body b;
    char err[300];
    cr_assert_eq(parse(ADMIN_TRANSFER, "", &b, err), 0);
    cr_assert_eq(b.id, 0);
    admin_body_close(&b);
    cr_assert_eq(parse(ADMIN_TRANSFER, "{\"id\": null}", &b, err), 0);
    cr_assert_eq(b.id, 0);
    admin_body_close(&b);
}

Test(admin_body, large_body_is_413)
{
    struct admin_body b;
    char err[300];
    cr_assert_eq(admin_body_parse(ADMIN_ADD, NULL, ADMIN_MAX_BODY + 1, &b, err, sizeof(err)), 413);
    cr_assert_null(b.obj);
}
