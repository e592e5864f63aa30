/* Fuzz target: the admin API's POST bodies (admin_body_parse in src/admin_body.c). The
 * first byte picks the endpoint (add, remove, transfer). Checks: an accepted body has the
 * fields its endpoint needs (a positive id, valid addresses), a refused one a status of 400
 * or 413 and a message. */
#include <string.h>

#include "admin_body.h"
#include "cluster.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct admin_body body;
    char err[512] = "";
    enum admin_op op;
    int rc;

    if (size < 1)
        return 0;
    op = (enum admin_op)(data[0] % 3);
    rc = admin_body_parse(op, (const char *)data + 1, size - 1, &body, err, sizeof(err));
    if (rc != 0) {
        FUZZ_CHECK(rc == 400 || rc == 413);
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(body.obj == NULL);
        return 0;
    }
    FUZZ_CHECK(body.obj != NULL);
    if (op == ADMIN_ADD) {
        FUZZ_CHECK(body.id > 0 && body.address != NULL);
        FUZZ_CHECK(cluster_valid_address(body.address));
        FUZZ_CHECK(body.resp == NULL || cluster_valid_address(body.resp));
        FUZZ_CHECK(body.admin_addr == NULL || cluster_valid_address(body.admin_addr));
    } else if (op == ADMIN_REMOVE) {
        FUZZ_CHECK(body.id > 0);
    }
    FUZZ_CHECK(body.id <= (uint64_t)INT64_MAX);
    admin_body_close(&body);
    return 0;
}
