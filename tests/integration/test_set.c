/* Integration tests of sets on a real 3-node cluster (free loopback ports, temp dirs): set
 * writes of both encodings, SPOP (random choices drawn from the entry) and the stores
 * replicate to the same DEBUG DIGEST on every node, through snapshots and a full restart,
 * with SMEMBERS of a hashtable set in the same order after the restart; the intset limit is
 * the proposing node's, carried in the log. Every wait polls against a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(set, .fini = fx_kill_all, .timeout = 150);

/* The reply to FMT (one %s: KEY) from the leader, flattened: bulks joined by spaces. */
static char *flat(const char *fmt, const char *key)
{
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, fmt, key);
    cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY, "not an array");
    size_t cap = 16, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < r->elements; i++) {
        size_t n = r->element[i]->len;
        while (len + n + 2 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, r->element[i]->str, n);
        len += n;
        out[len++] = ' ';
        out[len] = '\0';
    }
    freeReplyObject(r);
    return out;
}

/* Pipelined set writes with a small snapshot threshold converge to one digest on every
 * node, and to the same digest (and SMEMBERS order) after a full restart. */
Test(set, replicated_digest_equal_and_survives_restart)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "64",
                                "--snapshot-trailing", "16", NULL};
    char before[41], after[41];
    redisReply *r;
    int idx;
    redisContext *c = start_cluster_on_leader(args, &idx);

    int sent = 0;
    for (int i = 0; i < 400; i++, sent++)
        redisAppendCommand(c, "SADD big m%d", i);
    for (int i = 0; i < 300; i++, sent++)
        redisAppendCommand(c, "SADD ints %d", i * 3);
    for (int i = 0; i < 200; i++, sent++)
        redisAppendCommand(c, "SADD odd %d", i * 2 + 1);
    for (int i = 0; i < 30; i++, sent++)
        redisAppendCommand(c, "SPOP big");
    for (int i = 0; i < 5; i++, sent++)
        redisAppendCommand(c, "SPOP big 7");
    redisAppendCommand(c, "SPOP ints 250"); /* keeps the rest: the other strategy */
    redisAppendCommand(c, "SINTERSTORE inter big odd ints");
    redisAppendCommand(c, "SUNIONSTORE uni odd ints");
    redisAppendCommand(c, "SDIFFSTORE diff odd ints");
    redisAppendCommand(c, "SMOVE odd moved 1");
    sent += 5;
    for (int i = 0; i < sent; i++) {
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        cr_assert(r->type != REDIS_REPLY_ERROR, "reply %d: %s", i, r->str);
        freeReplyObject(r);
    }
    /* one entry each, past the snapshot threshold: the snapshots hold both encodings */
    for (int i = 0; i < 150; i++)
        fx_check_integer(c, 1, "SADD one:%d m", i);
    fx_check_integer(c, 335, "SCARD big");
    fx_check_integer(c, 50, "SCARD ints");
    fx_check_string(c, "hashtable", "OBJECT ENCODING big");
    fx_check_string(c, "intset", "OBJECT ENCODING odd");
    fx_check_string(c, "intset", "OBJECT ENCODING moved");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);

    char *members = flat("SMEMBERS %s", "big");
    char *uni = flat("SMEMBERS %s", "uni");
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    char *members2 = flat("SMEMBERS %s", "big");
    char *uni2 = flat("SMEMBERS %s", "uni");
    cr_assert_str_eq(members2, members);
    cr_assert_str_eq(uni2, uni);
    free(members);
    free(members2);
    free(uni);
    free(uni2);
    tc_stop_cleanly();
}

/* CONFIG SET set-max-intset-entries on the leader only: its writes carry it, so every node
 * converts at the same write, also when a restart replays the log. */
Test(set, intset_limit_carried_to_followers)
{
    char before[41], after[41];
    int idx;
    redisContext *c = start_cluster_on_leader(NULL, &idx);

    fx_check_status(c, "OK", "CONFIG SET set-max-intset-entries 4");
    fx_check_integer(c, 5, "SADD s 1 2 3 4 5");
    fx_check_string(c, "hashtable", "OBJECT ENCODING s");
    fx_check_integer(c, 3, "SADD k 1 2 3");
    fx_check_string(c, "intset", "OBJECT ENCODING k");
    fx_check_integer(c, 5, "SUNIONSTORE u s");
    fx_check_string(c, "hashtable", "OBJECT ENCODING u");
    redisFree(c);
    tc_assert_converged(NULL, NULL, before);
    tc_sigterm_all();
    tc_spawn_all();
    wait_leader();
    tc_assert_converged(NULL, before, after);
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, "OBJECT ENCODING %s", "s");
    fx_assert_string(r, "hashtable");
    freeReplyObject(r);
    tc_stop_cleanly();
}
