/* Unit tests of the state machine: entries applied with their own clock and apply_seq, replies
 * in order, transactions, determinism, and corrupt input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "command.h"
#include "entry.h"
#include "fsm.h"
#include "kv.h"

/* Encode the commands (each a space-separated line) into one entry at CLOCK. */
static void *entry_of(int64_t clock, size_t *len, int n, const char **lines)
{
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_COMMANDS);
    for (int i = 0; i < n; i++) {
        char *copy = strdup(lines[i]), *save = NULL;
        char *argv[16];
        size_t lens[16];
        int argc = 0;
        for (char *tok = strtok_r(copy, " ", &save); tok && argc < 16; tok = strtok_r(NULL, " ", &save)) {
            argv[argc] = tok;
            lens[argc++] = strlen(tok);
        }
        entry_builder_add(&eb, argc, argv, lens);
        free(copy);
    }
    return entry_builder_finish(&eb, clock, len);
}

/* Reply I of R as a C string (static buffer). */
static const char *reply_at(const struct fsm_result *r, uint32_t i)
{
    static char tmp[4096];
    size_t start = i ? r->ends[i - 1] : 0;
    size_t len = r->ends[i] - start;
    memcpy(tmp, r->out.data + start, len);
    tmp[len] = '\0';
    return tmp;
}

static struct fsm_result *apply_lines(struct fsm *f, int64_t clock, uint64_t seq, int n, const char **lines)
{
    size_t len;
    void *e = entry_of(clock, &len, n, lines);
    struct fsm_result *r = fsm_apply(f, e, len, seq);
    free(e);
    return r;
}

/* A batch yields one reply per command, in order, and advances apply_seq. */
Test(fsm, batch_replies_in_order)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *cmds[] = {"set a 1", "incr a", "getset a 5", "append a xy", "del a b"};
    struct fsm_result *r = apply_lines(&f, 1000, 7, 5, cmds);
    cr_assert_not_null(r);
    cr_assert_eq(r->n, 5);
    cr_assert_str_eq(reply_at(r, 0), "+OK\r\n");
    cr_assert_str_eq(reply_at(r, 1), ":2\r\n");
    cr_assert_str_eq(reply_at(r, 2), "$1\r\n2\r\n");
    cr_assert_str_eq(reply_at(r, 3), ":3\r\n");
    cr_assert_str_eq(reply_at(r, 4), ":1\r\n");
    cr_assert_eq(f.apply_seq, 7);
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* Expiry inside apply follows the entry's clock, not the machine's. */
Test(fsm, expiry_uses_entry_clock)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *set[] = {"set k v pxat 5000"};
    fsm_result_free(apply_lines(&f, 1000, 1, 1, set));
    const char *incr[] = {"append k w"};
    struct fsm_result *r = apply_lines(&f, 4999, 2, 1, incr);
    cr_assert_str_eq(reply_at(r, 0), ":2\r\n");
    fsm_result_free(r);
    r = apply_lines(&f, 5000, 3, 1, incr);
    cr_assert_str_eq(reply_at(r, 0), ":1\r\n", "the key had expired at the entry's clock");
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* Two state machines fed the same entries hold the same data. */
Test(fsm, same_log_same_digest)
{
    struct kv_store *a = kv_new(), *b = kv_new();
    struct fsm fa, fb;
    char ha[41], hb[41];
    fsm_init(&fa, a);
    fsm_init(&fb, b);
    const char *cmds[] = {"set x 1 px 100", "mset p 1 q 2", "incrbyfloat f 1.5", "setrange s 3 abc"};
    for (uint64_t i = 1; i <= 3; i++) {
        fsm_result_free(apply_lines(&fa, 1000 * (int64_t)i, i, 4, cmds));
        fsm_result_free(apply_lines(&fb, 1000 * (int64_t)i, i, 4, cmds));
    }
    kv_digest_hex(a, ha);
    kv_digest_hex(b, hb);
    cr_assert_str_eq(ha, hb);
    fsm_close(&fa);
    fsm_close(&fb);
    kv_free(a);
    kv_free(b);
}

/* Read commands, unknown names and internal-only misuse in a log entry get error replies,
 * not crashes. */
Test(fsm, non_write_records_are_refused)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *cmds[] = {"get a", "nosuch x", "set a"};
    struct fsm_result *r = apply_lines(&f, 1, 1, 3, cmds);
    cr_assert_eq(r->n, 3);
    cr_assert_eq(reply_at(r, 0)[0], '-');
    cr_assert_eq(reply_at(r, 1)[0], '-');
    cr_assert_str_eq(reply_at(r, 2), "-ERR wrong number of arguments for 'set' command\r\n");
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* A buffer that is not an entry is skipped without a result. */
Test(fsm, garbage_entry_is_skipped)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    char junk[64];
    fsm_init(&f, kv);
    memset(junk, 0xab, sizeof(junk));
    cr_assert_null(fsm_apply(&f, junk, sizeof(junk), 9));
    cr_assert_eq(f.apply_seq, 9);
    cr_assert_eq(kv_size(kv), 0);
    fsm_close(&f);
    kv_free(kv);
}

/* A transaction whose watched key changed after WATCH is aborted (nil); otherwise every
 * command runs and the replies come as one array. */
Test(fsm, transaction_watch_decided_at_apply)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *set[] = {"set w 1"};
    fsm_result_free(apply_lines(&f, 1, 1, 1, set));
    /* WATCH w saw version 1 at apply_seq 1. */
    const char *txn_ok[] = {"__txn 1 w 1 1 2 3 set w 2 2 get w"};
    struct fsm_result *r = apply_lines(&f, 2, 2, 1, txn_ok);
    cr_assert_str_eq(reply_at(r, 0), "*2\r\n+OK\r\n$1\r\n2\r\n");
    fsm_result_free(r);
    /* The same watch (version 1) is now stale: w was changed at apply_seq 2. */
    const char *txn_stale[] = {"__txn 1 w 1 1 1 3 set w 3"};
    r = apply_lines(&f, 3, 3, 1, txn_stale);
    cr_assert_str_eq(reply_at(r, 0), "*-1\r\n");
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* A key absent at WATCH time that was created and deleted again aborts the transaction. */
Test(fsm, transaction_watch_sees_create_and_delete)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *churn[] = {"set g 1", "del g"};
    fsm_result_free(apply_lines(&f, 1, 5, 2, churn));
    /* WATCH g ran at apply_seq 4 and saw no key. */
    const char *txn[] = {"__txn 1 g 0 4 1 3 set g x"};
    struct fsm_result *r = apply_lines(&f, 2, 6, 1, txn);
    cr_assert_str_eq(reply_at(r, 0), "*-1\r\n");
    fsm_result_free(r);
    cr_assert_null(kv_find(kv, "g", 1));
    fsm_close(&f);
    kv_free(kv);
}

/* A snapshot restores the keyspace, expiries, the applied count and the nodes exactly. */
Test(fsm, snapshot_round_trip)
{
    struct kv_store *a = kv_new(), *b = kv_new();
    struct fsm fa, fb;
    struct buf snap;
    char ha[41], hb[41];
    fsm_init(&fa, a);
    fsm_init(&fb, b);
    const char *cmds[] = {"set x 1 pxat 90000", "mset p 1 q 2", "incrbyfloat f 0.1", "del p"};
    fsm_result_free(apply_lines(&fa, 1000, 1, 4, cmds));
    struct entry_builder eb;
    entry_builder_init(&eb, ENTRY_NODE);
    char *node[] = {"set", "7", "127.0.0.1:6379", "127.0.0.1:8379"};
    size_t lens[] = {3, 1, 14, 14};
    entry_builder_add(&eb, 4, node, lens);
    size_t len;
    void *e = entry_builder_finish(&eb, 2000, &len);
    fsm_result_free(fsm_apply(&fa, e, len, 2));
    free(e);
    buf_init(&snap);
    fsm_serialize(&fa, &snap);
    cr_assert_eq(fsm_restore(&fb, snap.data, snap.len), 0);
    cr_assert_eq(fb.apply_seq, 2);
    kv_digest_hex(a, ha);
    kv_digest_hex(b, hb);
    cr_assert_str_eq(ha, hb);
    cr_assert_eq(kv_find(b, "x", 1)->expire_ms, 90000);
    cr_assert_eq(kv_find(b, "x", 1)->mod_seq, 1);
    cr_assert_eq(kv_tombstone(b, "p", 1), 1, "deletions survive as tombstones");
    const struct fsm_node *n = fsm_node(&fb, 7);
    cr_assert_not_null(n);
    cr_assert_str_eq(n->resp, "127.0.0.1:6379");
    cr_assert_str_eq(n->admin, "127.0.0.1:8379");
    buf_close(&snap);
    fsm_close(&fa);
    fsm_close(&fb);
    kv_free(a);
    kv_free(b);
}

/* A truncated or corrupted snapshot is refused and leaves the state as it was. */
Test(fsm, damaged_snapshot_is_refused)
{
    struct kv_store *a = kv_new(), *b = kv_new();
    struct fsm fa, fb;
    struct buf snap;
    fsm_init(&fa, a);
    fsm_init(&fb, b);
    const char *cmds[] = {"set x 1", "set y 2"};
    fsm_result_free(apply_lines(&fa, 1000, 1, 2, cmds));
    const char *mine[] = {"set mine 1"};
    fsm_result_free(apply_lines(&fb, 1000, 1, 1, mine));
    buf_init(&snap);
    fsm_serialize(&fa, &snap);
    for (size_t cut = 0; cut < snap.len; cut += 1 + cut / 3)
        cr_assert_eq(fsm_restore(&fb, snap.data, cut), -1, "accepted a snapshot cut at %zu", cut);
    /* a key length pointing far past the end */
    size_t at = snap.len - 8 - (8 + 1 + 8 + 1 + 8 + 8) * 2;
    memset(snap.data + at, 0xff, 8);
    cr_assert_eq(fsm_restore(&fb, snap.data, snap.len), -1);
    cr_assert_not_null(kv_find(b, "mine", 4), "the state is unchanged");
    cr_assert_eq(kv_size(b), 1);
    buf_close(&snap);
    fsm_close(&fa);
    fsm_close(&fb);
    kv_free(a);
    kv_free(b);
}

/* Apply records each handler's time; it reaches the commands' usec only when the proposer
 * takes the result, and a transaction's time is EXEC's. */
Test(fsm, apply_time_is_credited_on_take)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    struct command *set = command_lookup("set", 3), *incr = command_lookup("incr", 4);
    struct command *exec = command_lookup("exec", 4);
    long long set0 = set->usec, incr0 = incr->usec, exec0 = exec->usec;
    const char *cmds[] = {"set a 1", "incr a", "nosuch x", "__txn 0 1 3 set b 2"};
    struct fsm_result *r = apply_lines(&f, 1, 1, 4, cmds);
    cr_assert_eq(r->n, 4);
    cr_assert_eq(set->usec, set0, "nothing is credited during apply");
    cr_assert_eq(r->stat_cmd[0], set);
    cr_assert_eq(r->stat_cmd[1], incr);
    cr_assert_null(r->stat_cmd[2], "no handler ran for an unknown command");
    cr_assert_eq(r->stat_cmd[3], exec);
    cr_assert_str_eq(reply_at(r, 3), "*1\r\n+OK\r\n");
    int64_t t0 = r->stat_usec[0], t1 = r->stat_usec[1], t3 = r->stat_usec[3];
    cr_assert(t0 >= 0 && t1 >= 0 && t3 >= 0);
    f.last = r;
    cr_assert_eq(fsm_take_result(&f, r), r);
    cr_assert_null(f.last);
    cr_assert_eq(set->usec, set0 + t0);
    cr_assert_eq(incr->usec, incr0 + t1);
    cr_assert_eq(exec->usec, exec0 + t3);
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* ACL records apply to the replicated users; the users travel in the snapshot (format 3),
 * and a format 2 snapshot (no ACL section) restores with only the default user. */
Test(fsm, acl_records_and_snapshot_section)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    const char *cmds[] = {"__acl setuser ann on nopass ~a:* +get", "set a:1 x",
                          "__acl setuser bad +nosuch", "__acl deluser nobody"};
    struct fsm_result *r = apply_lines(&f, 1000, 1, 4, cmds);
    cr_assert_str_eq(reply_at(r, 0), "+OK\r\n");
    cr_assert_str_eq(reply_at(r, 2),
                     "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n");
    cr_assert_str_eq(reply_at(r, 3), ":0\r\n");
    fsm_result_free(r);
    cr_assert_not_null(acl_user_find(f.acl, "ann", 3));
    cr_assert_null(acl_user_find(f.acl, "bad", 3));

    struct buf b;
    buf_init(&b);
    fsm_serialize(&f, &b);
    cr_assert(memcmp(b.data, "CKSNAP04", 8) == 0);
    struct kv_store *kv2 = kv_new();
    struct fsm g;
    fsm_init(&g, kv2);
    cr_assert_eq(fsm_restore(&g, b.data, b.len), 0);
    cr_assert_not_null(acl_user_find(g.acl, "ann", 3));
    cr_assert_eq(kv_size(kv2), 1);

    /* the same state as format 2: drop the ACL section (after the nodes; none here) */
    size_t at = 8 + 8 + 8 + 8 * KV_TOMBSTONE_SLOTS + 8;
    uint64_t textlen;
    memcpy(&textlen, b.data + at + 8, 8); /* little-endian hosts only, as the codec */
    struct buf v2;
    buf_init(&v2);
    buf_append(&v2, "CKSNAP02", 8);
    buf_append(&v2, b.data + 8, at - 8);
    /* ... and the script section after it (a count of 0 here) */
    buf_append(&v2, b.data + at + 16 + textlen + 8, b.len - at - 16 - textlen - 8);
    cr_assert_eq(fsm_restore(&g, v2.data, v2.len), 0);
    cr_assert_null(acl_user_find(g.acl, "ann", 3));
    cr_assert_not_null(acl_user_find(g.acl, "default", 7));
    cr_assert_eq(kv_size(kv2), 1);

    /* a damaged ACL section refuses the whole snapshot and leaves the state as it was */
    cr_assert(memcmp(b.data + at + 16, "user ann reset ", 15) == 0);
    b.data[at + 16 + 10] = 'X'; /* "rXset": a syntax error */
    cr_assert_eq(fsm_restore(&g, b.data, b.len), -1);
    cr_assert_null(acl_user_find(g.acl, "ann", 3));
    cr_assert_eq(kv_size(kv2), 1);
    buf_close(&v2);
    buf_close(&b);
    fsm_close(&g);
    kv_free(kv2);
    fsm_close(&f);
    kv_free(kv);
}

/* ---- databases ---- */

static struct kv_entry *find_in(struct fsm *f, int db, const char *key)
{
    return kv_find(fsm_db(f, db), key, strlen(key));
}

/* An entry of database 0 alone holds no __db record and applies as before; __db n records
 * switch the database of the records after them and get no reply of their own. */
Test(fsm, db_records_switch_database)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    fsm_set_databases(&f, 16);
    cr_assert_eq(f.ndbs, 16);
    cr_assert_eq(kv_id(fsm_db(&f, 7)), 7);
    const char *cmds[] = {"set a 0", "__db 3", "set a 3", "incr a", "__db 0", "incr a"};
    struct fsm_result *r = apply_lines(&f, 1000, 1, 6, cmds);
    cr_assert_eq(r->n, 4, "no reply for the __db records");
    cr_assert_str_eq(reply_at(r, 0), "+OK\r\n");
    cr_assert_str_eq(reply_at(r, 1), "+OK\r\n");
    cr_assert_str_eq(reply_at(r, 2), ":4\r\n");
    cr_assert_str_eq(reply_at(r, 3), ":1\r\n");
    fsm_result_free(r);
    cr_assert_eq(kv_size(kv), 1);
    cr_assert_eq(kv_size(fsm_db(&f, 3)), 1);
    cr_assert(memcmp(kv_entry_val(find_in(&f, 3, "a")), "4", 1) == 0);
    /* each entry starts in database 0 */
    const char *next[] = {"incr a"};
    fsm_result_free(apply_lines(&f, 1001, 2, 1, next));
    cr_assert(memcmp(kv_entry_val(find_in(&f, 0, "a")), "2", 1) == 0);
    fsm_close(&f);
    kv_free(kv);
}

/* A database this node lacks (the databases option differs): the commands in it are refused
 * with an error, on every node alike, and change nothing. */
Test(fsm, db_record_out_of_range_is_refused)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    fsm_set_databases(&f, 4);
    const char *cmds[] = {"__db 9", "set x 1", "__db 1", "set x 1"};
    struct fsm_result *r = apply_lines(&f, 1000, 1, 4, cmds);
    cr_assert_eq(r->n, 2);
    cr_assert_str_eq(reply_at(r, 0), "-ERR DB index is out of range\r\n");
    cr_assert_str_eq(reply_at(r, 1), "+OK\r\n");
    fsm_result_free(r);
    cr_assert_eq(kv_size(kv), 0);
    cr_assert_not_null(find_in(&f, 1, "x"));
    fsm_close(&f);
    kv_free(kv);
}

/* SELECT inside a transaction switches the commands after it; the entry's next record runs
 * in the transaction's starting database again. WATCH of a key in database 2. */
Test(fsm, transaction_select_and_watch_in_a_database)
{
    struct kv_store *kv = kv_new();
    struct fsm f;
    fsm_init(&f, kv);
    fsm_set_databases(&f, 16);
    const char *cmds[] = {"__db 2", "set w 1", "__txn 0 3 3 set k v 2 select 5 3 set k w",
                          "set after 1"};
    struct fsm_result *r = apply_lines(&f, 1000, 1, 4, cmds);
    cr_assert_str_eq(reply_at(r, 1), "*3\r\n+OK\r\n+OK\r\n+OK\r\n");
    fsm_result_free(r);
    cr_assert_not_null(find_in(&f, 2, "k"));
    cr_assert_not_null(find_in(&f, 5, "k"));
    cr_assert_not_null(find_in(&f, 2, "after"), "back in the transaction's database");
    /* w changed in database 2 at apply_seq 2: a watch of version 1 there aborts */
    const char *chg[] = {"__db 2", "set w 2", "__txn 1 w 1 1@2 1 3 set k x"};
    r = apply_lines(&f, 1001, 2, 3, chg);
    cr_assert_str_eq(reply_at(r, 1), "*-1\r\n");
    fsm_result_free(r);
    /* ... while the same name watched in database 0 (absent, untouched) does not */
    const char *db0[] = {"__txn 1 w 0 2 1 3 set k y"};
    r = apply_lines(&f, 1002, 3, 1, db0);
    cr_assert_str_eq(reply_at(r, 0), "*1\r\n+OK\r\n");
    fsm_result_free(r);
    fsm_close(&f);
    kv_free(kv);
}

/* A snapshot keeps every database (format 5), restores them on a node with as many, and is
 * refused by a node with fewer; with only database 0 in use it is format 4 as before. */
Test(fsm, snapshot_keeps_every_database)
{
    struct kv_store *a = kv_new(), *b = kv_new(), *c = kv_new();
    struct fsm fa, fb, fc;
    struct buf snap;
    fsm_init(&fa, a);
    fsm_init(&fb, b);
    fsm_init(&fc, c);
    fsm_set_databases(&fa, 16);
    fsm_set_databases(&fb, 16);
    fsm_set_databases(&fc, 4);
    const char *cmds0[] = {"set x 0"};
    fsm_result_free(apply_lines(&fa, 1000, 1, 1, cmds0));
    buf_init(&snap);
    fsm_serialize(&fa, &snap);
    cr_assert(memcmp(snap.data, "CKSNAP04", 8) == 0);
    const char *cmds[] = {"__db 5", "hset h f v", "set y 5 pxat 90000", "__db 15", "set s m", "del s"};
    fsm_result_free(apply_lines(&fa, 1000, 2, 6, cmds));
    snap.len = 0;
    fsm_serialize(&fa, &snap);
    cr_assert(memcmp(snap.data, "CKSNAP05", 8) == 0);
    cr_assert_eq(fsm_restore(&fb, snap.data, snap.len), 0);
    for (int d = 0; d < 16; d++) {
        char ha[41], hb[41];
        kv_digest_hex(fsm_db(&fa, d), ha);
        kv_digest_hex(fsm_db(&fb, d), hb);
        cr_assert_str_eq(ha, hb, "database %d", d);
    }
    cr_assert_eq(find_in(&fb, 5, "y")->expire_ms, 90000);
    cr_assert_eq(kv_tombstone(fsm_db(&fb, 15), "s", 1), kv_tombstone(fsm_db(&fa, 15), "s", 1));
    cr_assert_eq(kv_tombstone(fsm_db(&fb, 15), "s", 1), 2, "database 15's tombstones too: %llu",
                 (unsigned long long)kv_tombstone(fsm_db(&fb, 15), "s", 1));
    cr_assert_null(find_in(&fb, 0, "y"));
    /* a node with 4 databases refuses it and keeps its state */
    fsm_result_free(apply_lines(&fc, 1000, 1, 1, cmds0));
    cr_assert_eq(fsm_restore(&fc, snap.data, snap.len), -1);
    cr_assert_eq(kv_size(c), 1);
    /* a format 4 snapshot restores into database 0 and empties the others */
    struct buf old;
    buf_init(&old);
    fsm_serialize(&fc, &old);
    cr_assert(memcmp(old.data, "CKSNAP04", 8) == 0);
    cr_assert_eq(fsm_restore(&fb, old.data, old.len), 0);
    cr_assert_eq(kv_size(b), 1);
    cr_assert_eq(kv_size(fsm_db(&fb, 5)), 0);
    buf_close(&old);
    buf_close(&snap);
    fsm_close(&fa);
    fsm_close(&fb);
    fsm_close(&fc);
    kv_free(a);
    kv_free(b);
    kv_free(c);
}
