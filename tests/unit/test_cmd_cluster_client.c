/* Unit tests of CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT (cmd_cluster_client.c) through the
 * command harness: exact RESP replies, Redis 7.0's error texts, keys grouped by hash tag. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cmdtest.h"
#include "util.h"

#define T0 1700000000000LL

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
}

static void teardown(void)
{
    ct_close(&t);
}

TestSuite(cmd_cluster_client, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)

Test(cmd_cluster_client, counts_and_lists_the_keys_of_a_slot)
{
    unsigned slot = util_keyslot("user", 4);
    char want[32];
    RUN(":0\r\n", "CLUSTER COUNTKEYSINSLOT %u", slot);
    RUN("*0\r\n", "CLUSTER GETKEYSINSLOT %u 10", slot);
    for (int i = 0; i < 5; i++)
        RUN("+OK\r\n", "SET {user}:%d v", i);
    RUN("+OK\r\n", "SET other v");
    snprintf(want, sizeof(want), ":%d\r\n", slot == util_keyslot("other", 5) ? 6 : 5);
    RUN(want, "CLUSTER COUNTKEYSINSLOT %u", slot);
    const char *r = ct_run(&t, "CLUSTER GETKEYSINSLOT %u 3", slot);
    cr_assert_eq(strncmp(r, "*3\r\n", 4), 0, "%s", r);
    cr_assert_eq(strncmp(r + 4, "$8\r\n{user}:", 11), 0, "%s", r);
    r = ct_run(&t, "CLUSTER GETKEYSINSLOT %u 100", slot);
    cr_assert_eq(strncmp(r, "*5\r\n", 4), 0, "%s", r);
    RUN("*0\r\n", "CLUSTER GETKEYSINSLOT %u 0", slot);
    RUN(":1\r\n", "DEL {user}:0");
    RUN(":4\r\n", "CLUSTER COUNTKEYSINSLOT %u", slot);
}

Test(cmd_cluster_client, bad_slots_and_counts_get_redis_errors)
{
    RUN("-ERR Invalid slot\r\n", "CLUSTER COUNTKEYSINSLOT 16384");
    RUN("-ERR Invalid slot\r\n", "CLUSTER COUNTKEYSINSLOT -1");
    RUN("-ERR value is not an integer or out of range\r\n", "CLUSTER COUNTKEYSINSLOT 1.5");
    RUN("-ERR Invalid slot or number of keys\r\n", "CLUSTER GETKEYSINSLOT 16384 1");
    RUN("-ERR Invalid slot or number of keys\r\n", "CLUSTER GETKEYSINSLOT 0 -1");
    RUN("-ERR value is not an integer or out of range\r\n", "CLUSTER GETKEYSINSLOT x 1");
    RUN("-ERR value is not an integer or out of range\r\n", "CLUSTER GETKEYSINSLOT 0 y");
}
