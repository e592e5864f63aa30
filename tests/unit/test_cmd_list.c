/* Unit tests of the list commands (cmd_list.c) through the command harness: exact RESP
 * replies and Redis 7.0 error texts, WRONGTYPE on every command, emptied lists deleting
 * their key, negative indexes and ranges, the pops with a count, LMPOP, LMOVE/RPOPLPUSH
 * (same key too), LPOS's options, LINSERT/LREM/LTRIM/LSET, the fill limits carried by the
 * request (listpack -> quicklist), snapshots, COPY, DEBUG DIGEST order and lazy free. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtest.h"
#include "command.h"
#include "kv.h"
#include "qlist.h"

#define T0 1700000000000LL

#define OK "+OK\r\n"
#define NIL "$-1\r\n"
#define NILARR "*-1\r\n"
#define EMPTY "*0\r\n"
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define NOTINT "-ERR value is not an integer or out of range\r\n"
#define SYNTAX "-ERR syntax error\r\n"

static struct cmdtest t;

static void setup(void)
{
    ct_init(&t, T0);
    qlist_configure(QLIST_DEFAULT_FILL);
}

static void teardown(void)
{
    ct_close(&t);
    qlist_configure(QLIST_DEFAULT_FILL);
}

TestSuite(cmd_list, .init = setup, .fini = teardown);

#define RUN(expected, ...) cr_assert_str_eq(ct_run(&t, __VA_ARGS__), expected)
#define APPLY(expected, ...) cr_assert_str_eq(ct_apply(&t, __VA_ARGS__), expected)
#define arr ct_bulks

Test(cmd_list, push_and_range)
{
    RUN(":3\r\n", "RPUSH l a b c");
    RUN(":5\r\n", "LPUSH l y z");
    RUN(arr(5, "z", "y", "a", "b", "c"), "LRANGE l 0 -1");
    RUN(arr(2, "b", "c"), "LRANGE l -2 100");
    RUN(arr(1, "z"), "LRANGE l -100 0");
    RUN(EMPTY, "LRANGE l 3 1");
    RUN(EMPTY, "LRANGE l 5 10");
    RUN(EMPTY, "LRANGE nokey 0 -1");
    RUN(NOTINT, "LRANGE l a 1");
    RUN(NOTINT, "LRANGE nokey 0 x");
    RUN(":5\r\n", "LLEN l");
    RUN(":0\r\n", "LLEN nokey");
    RUN(":0\r\n", "LPUSHX nokey a");
    RUN(":0\r\n", "RPUSHX nokey a");
    RUN(":0\r\n", "EXISTS nokey");
    RUN(":7\r\n", "RPUSHX l d e");
    RUN(":8\r\n", "LPUSHX l x");
    RUN(arr(3, "x", "z", "y"), "LRANGE l 0 2");
    RUN("+list\r\n", "TYPE l");
    RUN("-ERR wrong number of arguments for 'lpush' command\r\n", "LPUSH l");
    RUN("-ERR wrong number of arguments for 'rpushx' command\r\n", "RPUSHX l");
}

Test(cmd_list, pops_and_counts)
{
    RUN(":5\r\n", "RPUSH l a b c d e");
    RUN("$1\r\na\r\n", "LPOP l");
    RUN("$1\r\ne\r\n", "RPOP l");
    RUN(arr(2, "b", "c"), "LPOP l 2");
    RUN(EMPTY, "LPOP l 0");
    RUN("-ERR value is out of range, must be positive\r\n", "LPOP l -1");
    RUN("-ERR value is out of range, must be positive\r\n", "RPOP l x");
    RUN("-ERR wrong number of arguments for 'lpop' command\r\n", "LPOP l 1 2");
    RUN(arr(1, "d"), "RPOP l 10");
    RUN(":0\r\n", "EXISTS l"); /* emptied: deleted */
    RUN(NIL, "LPOP l");
    RUN(NILARR, "LPOP l 1");
    RUN(NILARR, "RPOP l 0");
    RUN(":3\r\n", "RPUSH r 1 2 3");
    RUN(arr(3, "3", "2", "1"), "RPOP r 5");
    RUN(":0\r\n", "EXISTS r");
}

Test(cmd_list, lmpop)
{
    RUN(":3\r\n", "RPUSH b 1 2 3");
    RUN(":1\r\n", "RPUSH c x");
    RUN("*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n", "LMPOP 3 a b c LEFT");
    RUN("*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n", "LMPOP 2 a b RIGHT COUNT 10");
    RUN(":0\r\n", "EXISTS b");
    RUN("*2\r\n$1\r\nc\r\n*1\r\n$1\r\nx\r\n", "LMPOP 2 b c left count 1");
    RUN(NILARR, "LMPOP 2 b c LEFT");
    RUN("-ERR numkeys should be greater than 0\r\n", "LMPOP 0 a LEFT");
    RUN("-ERR numkeys should be greater than 0\r\n", "LMPOP x a LEFT");
    RUN(SYNTAX, "LMPOP 2 a LEFT");
    RUN(SYNTAX, "LMPOP 1 a MIDDLE");
    RUN(SYNTAX, "LMPOP 1 a LEFT COUNT");
    RUN(SYNTAX, "LMPOP 1 a LEFT COUNT 1 COUNT 1");
    RUN("-ERR count should be greater than 0\r\n", "LMPOP 1 a LEFT COUNT 0");
    RUN("+OK\r\n", "SET s v");
    RUN(WRONGTYPE, "LMPOP 2 a s LEFT");
}

Test(cmd_list, lmove_and_rpoplpush)
{
    RUN(":3\r\n", "RPUSH src a b c");
    RUN("$1\r\nc\r\n", "LMOVE src dst RIGHT LEFT");
    RUN("$1\r\na\r\n", "LMOVE src dst LEFT RIGHT");
    RUN(arr(2, "c", "a"), "LRANGE dst 0 -1");
    RUN("$1\r\nb\r\n", "RPOPLPUSH src dst");
    RUN(":0\r\n", "EXISTS src");
    RUN(arr(3, "b", "c", "a"), "LRANGE dst 0 -1");
    RUN(NIL, "LMOVE src dst LEFT LEFT");
    RUN(NIL, "RPOPLPUSH src dst");
    RUN("$1\r\na\r\n", "RPOPLPUSH dst dst"); /* rotation */
    RUN(arr(3, "a", "b", "c"), "LRANGE dst 0 -1");
    RUN(":1\r\n", "RPUSH one x");
    RUN("$1\r\nx\r\n", "LMOVE one one LEFT RIGHT"); /* a single element moved onto itself */
    RUN(arr(1, "x"), "LRANGE one 0 -1");
    RUN(SYNTAX, "LMOVE dst x UP LEFT");
    RUN(SYNTAX, "LMOVE dst x LEFT DOWN");
    RUN("+OK\r\n", "SET s v");
    RUN(WRONGTYPE, "LMOVE dst s LEFT LEFT");
    RUN(WRONGTYPE, "LMOVE s dst LEFT LEFT");
    RUN(WRONGTYPE, "RPOPLPUSH dst s");
    RUN(arr(3, "a", "b", "c"), "LRANGE dst 0 -1"); /* untouched by the refusals */
    RUN("-ERR wrong number of arguments for 'lmove' command\r\n", "LMOVE a b LEFT");
    RUN("-ERR wrong number of arguments for 'lmove' command\r\n", "LMOVE a b LEFT LEFT x");
    RUN("-ERR wrong number of arguments for 'rpoplpush' command\r\n", "RPOPLPUSH a b c");
}

/* As applied, the blocking list pops never block: [key, element] from the first non-empty
 * list, a null array (BLPOP, BRPOP, BLMPOP) or a null bulk (BLMOVE, BRPOPLPUSH) when it is
 * empty, with the timeout checked where Redis checks it. */
Test(cmd_list, blocking_pops_as_applied)
{
    RUN(NILARR, "BLPOP a b 0");
    RUN(":3\r\n", "RPUSH b 1 2 3");
    RUN(arr(2, "b", "1"), "BLPOP a b 0");
    RUN(arr(2, "b", "3"), "BRPOP a b 1.5");
    RUN("*2\r\n$1\r\nb\r\n*1\r\n$1\r\n2\r\n", "BLMPOP 0 2 a b LEFT COUNT 9");
    RUN(NILARR, "BLMPOP 0 2 a b LEFT");
    RUN(":0\r\n", "EXISTS b");
    RUN(":2\r\n", "RPUSH src x y");
    RUN("$1\r\ny\r\n", "BRPOPLPUSH src dst 0");
    RUN("$1\r\nx\r\n", "BLMOVE src dst LEFT RIGHT 0");
    RUN(arr(2, "y", "x"), "LRANGE dst 0 -1");
    RUN(NIL, "BLMOVE src dst LEFT RIGHT 0");
    RUN(NIL, "BRPOPLPUSH src dst 0");
    RUN("-ERR timeout is not a float or out of range\r\n", "BLPOP a x");
    RUN("-ERR timeout is negative\r\n", "BRPOP a -1");
    RUN(SYNTAX, "BLMOVE a b UP LEFT -1");  /* the directions before the timeout */
    RUN("-ERR timeout is negative\r\n", "BLMOVE a b LEFT LEFT -1");
    RUN("-ERR timeout is negative\r\n", "BRPOPLPUSH a b -1");
    RUN("-ERR numkeys should be greater than 0\r\n", "BLMPOP x 0 a LEFT");
    RUN(SYNTAX, "BLMPOP x 1 a MIDDLE");
    RUN("-ERR timeout is not a float or out of range\r\n", "BLMPOP x 1 a LEFT");
    RUN("-ERR wrong number of arguments for 'blmove' command\r\n", "BLMOVE a b LEFT LEFT");
    RUN("-ERR wrong number of arguments for 'brpoplpush' command\r\n", "BRPOPLPUSH a b 0 0");
    RUN("+OK\r\n", "SET s v");
    RUN(WRONGTYPE, "BLPOP a s 0");
    RUN(WRONGTYPE, "BLMOVE s dst LEFT LEFT 0");
    RUN(WRONGTYPE, "BLMOVE dst s LEFT LEFT 0");
    RUN(arr(2, "y", "x"), "LRANGE dst 0 -1");
}

Test(cmd_list, lindex_lset)
{
    RUN(":3\r\n", "RPUSH l a b c");
    RUN("$1\r\na\r\n", "LINDEX l 0");
    RUN("$1\r\nc\r\n", "LINDEX l -1");
    RUN("$1\r\na\r\n", "LINDEX l -3");
    RUN(NIL, "LINDEX l 3");
    RUN(NIL, "LINDEX l -4");
    RUN(NIL, "LINDEX nokey x"); /* the key is looked up first */
    RUN(NOTINT, "LINDEX l x");
    RUN(OK, "LSET l -1 C");
    RUN(OK, "LSET l 0 longer-than-before");
    RUN(arr(3, "longer-than-before", "b", "C"), "LRANGE l 0 -1");
    RUN("-ERR index out of range\r\n", "LSET l 3 x");
    RUN("-ERR index out of range\r\n", "LSET l -4 x");
    RUN("-ERR no such key\r\n", "LSET nokey 0 x");
    RUN(NOTINT, "LSET l x y");
}

Test(cmd_list, linsert_lrem_ltrim)
{
    RUN(":4\r\n", "RPUSH l a b a c");
    RUN(":5\r\n", "LINSERT l BEFORE a x");
    RUN(":6\r\n", "LINSERT l after c y");
    RUN(arr(6, "x", "a", "b", "a", "c", "y"), "LRANGE l 0 -1");
    RUN(":-1\r\n", "LINSERT l BEFORE nope z");
    RUN(":0\r\n", "LINSERT nokey BEFORE a z");
    RUN(SYNTAX, "LINSERT l MIDDLE a z");
    RUN("-ERR wrong number of arguments for 'linsert' command\r\n", "LINSERT l BEFORE a");
    RUN(":5\r\n", "RPUSH r a b a c a");
    RUN(":9\r\n", "RPUSH r a b a c");
    RUN(":1\r\n", "LREM r -1 a");
    RUN(arr(8, "a", "b", "a", "c", "a", "a", "b", "c"), "LRANGE r 0 -1");
    RUN(":2\r\n", "LREM r 2 a");
    RUN(arr(6, "b", "c", "a", "a", "b", "c"), "LRANGE r 0 -1");
    RUN(":2\r\n", "LREM r 0 b");
    RUN(":0\r\n", "LREM r 0 zzz");
    RUN(":0\r\n", "LREM nokey 0 a");
    RUN(NOTINT, "LREM r x a");
    RUN(":2\r\n", "LREM r 0 a");
    RUN(":2\r\n", "LREM r 0 c");
    RUN(":0\r\n", "EXISTS r");
    RUN(OK, "LTRIM l 1 -2");
    RUN(arr(4, "a", "b", "a", "c"), "LRANGE l 0 -1");
    RUN(OK, "LTRIM l -3 100");
    RUN(arr(3, "b", "a", "c"), "LRANGE l 0 -1");
    RUN(OK, "LTRIM nokey 0 1");
    RUN(NOTINT, "LTRIM l 0 x");
    RUN(OK, "LTRIM l 2 1");
    RUN(":0\r\n", "EXISTS l");
}

Test(cmd_list, lpos)
{
    RUN(":8\r\n", "RPUSH l a b c 1 2 3 c c");
    RUN(":2\r\n", "LPOS l c");
    RUN(":6\r\n", "LPOS l c RANK 2");
    RUN(":7\r\n", "LPOS l c RANK -1");
    RUN(":6\r\n", "LPOS l c RANK -2");
    RUN(NIL, "LPOS l c RANK 4");
    RUN(NIL, "LPOS l x");
    RUN("*3\r\n:2\r\n:6\r\n:7\r\n", "LPOS l c COUNT 0");
    RUN("*2\r\n:2\r\n:6\r\n", "LPOS l c COUNT 2");
    RUN("*2\r\n:7\r\n:6\r\n", "LPOS l c RANK -1 COUNT 2");
    RUN("*2\r\n:6\r\n:7\r\n", "LPOS l c RANK 2 COUNT 5");
    RUN("*1\r\n:2\r\n", "LPOS l c COUNT 0 MAXLEN 3");
    RUN(NIL, "LPOS l c MAXLEN 2");
    RUN(EMPTY, "LPOS l x COUNT 1");
    RUN(EMPTY, "LPOS nokey x COUNT 1");
    RUN(NIL, "LPOS nokey x");
    RUN("-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
        "or use negative to start from the end of the list\r\n",
        "LPOS l c RANK 0");
    RUN("-ERR COUNT can't be negative\r\n", "LPOS l c COUNT -1");
    RUN("-ERR COUNT can't be negative\r\n", "LPOS l c COUNT x");
    RUN("-ERR MAXLEN can't be negative\r\n", "LPOS l c MAXLEN -1");
    RUN(NOTINT, "LPOS l c RANK x");
    RUN(SYNTAX, "LPOS l c RANK");
    RUN(SYNTAX, "LPOS l c FOO 1");
}

Test(cmd_list, wrongtype_everywhere)
{
    RUN(OK, "SET s v");
    const char *cmds[] = {"LPUSH s a", "RPUSH s a", "LPUSHX s a", "RPUSHX s a", "LPOP s",
                          "RPOP s 2", "LLEN s", "LRANGE s 0 -1", "LINDEX s 0", "LSET s 0 a",
                          "LINSERT s BEFORE a b", "LREM s 0 a", "LTRIM s 0 1", "LPOS s a",
                          "LMOVE s d LEFT LEFT", "RPOPLPUSH s d", "LMPOP 1 s LEFT"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        cr_assert_str_eq(ct_run(&t, "%s", cmds[i]), WRONGTYPE, "%s", cmds[i]);
    RUN("$1\r\nv\r\n", "GET s");
    RUN(":0\r\n", "EXISTS d");
    RUN(":1\r\n", "RPUSH l a");
    RUN(WRONGTYPE, "GET l");
    RUN(WRONGTYPE, "SADD l x");
}

/* The fill travels in the request: apply with "2:8192" cuts 2-element nodes whatever the
 * node's configuration; without it the write is refused. */
Test(cmd_list, fill_carried_encoding)
{
    RUN(":3\r\n", "RPUSH l a b c");
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING l");
    qlist_configure(2);
    cr_assert_str_eq(ct_prepare(&t, "RPUSH x a"), "RPUSH x a 2:8192");
    cr_assert_str_eq(ct_prepare(&t, "LMOVE a b LEFT RIGHT"), "LMOVE a b LEFT RIGHT 2:8192");
    qlist_configure(QLIST_DEFAULT_FILL);
    cr_assert_str_eq(ct_prepare(&t, "LINSERT a BEFORE b c"), "LINSERT a BEFORE b c 65535:8192");
    APPLY(":3\r\n", "RPUSH q a b c 2:8192");
    RUN("$9\r\nquicklist\r\n", "OBJECT ENCODING q");
    APPLY("-ERR malformed list write: the fill limits are missing\r\n", "RPUSH q a");
    APPLY("-ERR malformed list write: the fill limits are missing\r\n", "LMOVE q q LEFT LEFT");
    RUN(arr(3, "a", "b", "c"), "LRANGE q 0 -1");
    /* an 8kb node: a few long elements overflow it */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 2; i++)
        ct_run(&t, "RPUSH b %s", big);
    RUN("$8\r\nlistpack\r\n", "OBJECT ENCODING b");
    ct_run(&t, "RPUSH b %s", big);
    RUN("$9\r\nquicklist\r\n", "OBJECT ENCODING b");
    RUN(OK, "LTRIM b 0 0"); /* shrinking does not convert back */
    RUN("$9\r\nquicklist\r\n", "OBJECT ENCODING b");
}

Test(cmd_list, snapshot_copy_digest)
{
    qlist_configure(3);
    for (int i = 0; i < 20; i++)
        ct_run(&t, "RPUSH l e%d", i);
    RUN(":2\r\n", "RPUSH small a b");
    struct kv_store *into = kv_new();
    struct buf snap;
    buf_init(&snap);
    char da[41], db[41];
    cr_assert_eq(ct_snapshot_into(&t, into, &snap, da, db), 0);
    cr_assert_str_eq(da, db);
    struct kv_entry *e = kv_find(into, "l", 1);
    cr_assert_not_null(e);
    cr_assert_eq(e->type, KV_LIST);
    struct qlist *q = kv_entry_obj(e);
    cr_assert_eq(qlist_len(q), 20);
    cr_assert_eq(q->nodes, 7);
    cr_assert_str_eq(qlist_encoding_name(q), "quicklist");
    cr_assert_str_eq(qlist_encoding_name(kv_entry_obj(kv_find(into, "small", 5))), "listpack");
    /* a damaged snapshot is refused */
    cr_assert_neq(ct_restore(into, &snap, snap.len - 3), 0);
    buf_close(&snap);
    kv_free(into);

    RUN(":1\r\n", "COPY l l2");
    RUN("$9\r\nquicklist\r\n", "OBJECT ENCODING l2");
    RUN(arr(3, "e17", "e18", "e19"), "LRANGE l2 -3 -1");
    /* order is content: swapping two elements changes the digest */
    const char *d1 = ct_digest(&t);
    char keep[41];
    strcpy(keep, d1);
    RUN(OK, "LSET small 0 b");
    RUN(OK, "LSET small 1 a");
    cr_assert_str_neq(ct_digest(&t), keep);
    RUN(OK, "LSET small 0 a");
    RUN(OK, "LSET small 1 b");
    cr_assert_str_eq(ct_digest(&t), keep);
}

/* A big list goes to the lazy-free queue on DEL and is released in steps. */
Test(cmd_list, lazy_free)
{
    qlist_configure(10); /* 50 nodes: freed a few at a time */
    for (int i = 0; i < 50; i++)
        ct_run(&t, "RPUSH l a b c d e f g h i j");
    RUN(":1\r\n", "DEL l");
    cr_assert_eq(kv_lazy_pending(t.kv), 1);
    int steps = 0;
    while (kv_lazy_free_step(t.kv, 64) > 0)
        steps++;
    cr_assert_geq(steps, 3);
    RUN(":0\r\n", "EXISTS l");
}

/* SCAN TYPE list finds lists only; MEMORY USAGE grows with the elements; COMMAND knows the
 * rows (the list group, the fill-carrying arities). */
Test(cmd_list, scan_type_memory_command)
{
    RUN(":2\r\n", "RPUSH l a b");
    RUN(":1\r\n", "SADD s a");
    RUN("*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n", "SCAN 0 TYPE list");
    const char *r = ct_run(&t, "MEMORY USAGE l");
    cr_assert_eq(r[0], ':', "%s", r);
    long small = strtol(r + 1, NULL, 10);
    for (int i = 0; i < 100; i++)
        ct_run(&t, "RPUSH l element-%d", i);
    r = ct_run(&t, "MEMORY USAGE l");
    cr_assert_gt(strtol(r + 1, NULL, 10), small + 1000, "%s", r);
    struct command *c = command_lookup("lmove", 5);
    cr_assert_not_null(c);
    cr_assert_str_eq(c->group, "list");
    cr_assert_eq(c->arity, -5);
    cr_assert(c->flags & CMD_WRITE);
    cr_assert_not_null(command_lookup("lpos", 4));
    cr_assert(command_lookup("lrange", 6)->flags & CMD_READONLY);
}
