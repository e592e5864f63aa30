/* Unit tests of Pub/Sub (pubsub.c, notify.c, cmd_pubsub.c): the registry (subscribe,
 * unsubscribe, counts, closing a subscriber), Redis 7.0's reply shapes, glob patterns as
 * stringmatchlen, which commands subscribed mode allows, PUBLISH and keyspace events as apply
 * runs them (through the command harness), and notify-keyspace-events' letters. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cmdtest.h"
#include "command.h"
#include "config.h"
#include "notify.h"
#include "pubsub.h"
#include "util.h"

/* What the deliver callback saw: "<owner>:<message>" lines. */
static struct buf seen;
static struct pubsub ps;
static struct pubsub_sub a, b;
static char owner_a = 'a', owner_b = 'b';

static void record(void *arg, void *owner, const char *msg, size_t len)
{
    (void)arg;
    buf_printf(&seen, "%c:", *(char *)owner);
    buf_append(&seen, msg, len);
    buf_append_str(&seen, "|");
}

static const char *seen_text(void)
{
    buf_reserve(&seen, 1)[0] = '\0';
    return seen.data;
}

static void setup(void)
{
    buf_init(&seen);
    pubsub_init(&ps, record, NULL);
    pubsub_sub_init(&a, &owner_a);
    pubsub_sub_init(&b, &owner_b);
    command_init();
}

static void teardown(void)
{
    pubsub_sub_close(&ps, &a);
    pubsub_sub_close(&ps, &b);
    pubsub_close(&ps);
    buf_close(&seen);
}

TestSuite(pubsub, .init = setup, .fini = teardown);

static struct buf out;

static const char *sub(struct pubsub_sub *s, enum pubsub_kind k, const char *name)
{
    out.len = 0;
    pubsub_subscribe(&ps, s, k, name, strlen(name), &out);
    buf_reserve(&out, 1)[0] = '\0';
    return out.data;
}

static const char *unsub(struct pubsub_sub *s, enum pubsub_kind k, const char *name)
{
    out.len = 0;
    if (name)
        pubsub_unsubscribe(&ps, s, k, name, strlen(name), &out);
    else
        pubsub_unsubscribe_all(&ps, s, k, &out);
    buf_reserve(&out, 1)[0] = '\0';
    return out.data;
}

/* SUBSCRIBE answers ["subscribe", channel, count], the count of channels and patterns. */
Test(pubsub, subscribe_reply_counts_channels_and_patterns)
{
    cr_assert_str_eq(sub(&a, PUBSUB_CHANNEL, "c1"), "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:1\r\n");
    cr_assert_str_eq(sub(&a, PUBSUB_PATTERN, "c*"), "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n");
    cr_assert_str_eq(sub(&a, PUBSUB_CHANNEL, "c1"), "*3\r\n$9\r\nsubscribe\r\n$2\r\nc1\r\n:2\r\n");
    /* shard channels count apart */
    cr_assert_str_eq(sub(&a, PUBSUB_SHARD, "s1"), "*3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n");
    cr_assert_eq(pubsub_sub_total(&a), 3);
    buf_close(&out);
}

/* UNSUBSCRIBE with no channel and no subscriptions answers once with a null channel. */
Test(pubsub, unsubscribe_all_when_none_answers_null)
{
    cr_assert_str_eq(unsub(&a, PUBSUB_CHANNEL, NULL), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    cr_assert_str_eq(unsub(&a, PUBSUB_PATTERN, NULL), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    cr_assert_str_eq(unsub(&a, PUBSUB_SHARD, NULL), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
    buf_close(&out);
}

/* UNSUBSCRIBE with no channel leaves every channel, counting down, patterns still counted. */
Test(pubsub, unsubscribe_all_counts_down)
{
    sub(&a, PUBSUB_CHANNEL, "x");
    sub(&a, PUBSUB_CHANNEL, "y");
    sub(&a, PUBSUB_PATTERN, "p*");
    const char *r = unsub(&a, PUBSUB_CHANNEL, NULL);
    cr_assert(strstr(r, "\r\n:2\r\n") != NULL && strstr(r, "\r\n:1\r\n") != NULL, "%s", r);
    cr_assert_eq(pubsub_sub_count(&a, PUBSUB_CHANNEL), 1);
    cr_assert_eq(pubsub_numsub(&ps, PUBSUB_CHANNEL, "x", 1), 0);
    cr_assert_str_eq(unsub(&a, PUBSUB_PATTERN, "p*"), "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n");
    cr_assert_eq(pubsub_sub_total(&a), 0);
    cr_assert_eq(pubsub_numpat(&ps), 0);
    buf_close(&out);
}

/* PUBLISH reaches channel subscribers then matching patterns; the count is the receivers. */
Test(pubsub, publish_delivers_message_and_pmessage)
{
    sub(&a, PUBSUB_CHANNEL, "news");
    sub(&b, PUBSUB_PATTERN, "n*s");
    sub(&b, PUBSUB_PATTERN, "x*");
    cr_assert_eq(pubsub_publish(&ps, 0, "news", 4, "hi", 2), 2);
    cr_assert_str_eq(seen_text(), "a:*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n|"
                                  "b:*4\r\n$8\r\npmessage\r\n$3\r\nn*s\r\n$4\r\nnews\r\n$2\r\nhi\r\n|");
    cr_assert_eq(pubsub_publish(&ps, 0, "none", 4, "hi", 2), 0);
    /* a shard publish reaches shard subscribers only */
    cr_assert_eq(pubsub_publish(&ps, 1, "news", 4, "hi", 2), 0);
    buf_close(&out);
}

/* SPUBLISH answers ["smessage", channel, message] to SSUBSCRIBE's subscribers. */
Test(pubsub, spublish_delivers_smessage)
{
    sub(&a, PUBSUB_SHARD, "sc");
    sub(&b, PUBSUB_CHANNEL, "sc");
    cr_assert_eq(pubsub_publish(&ps, 1, "sc", 2, "m", 1), 1);
    cr_assert_str_eq(seen_text(), "a:*3\r\n$8\r\nsmessage\r\n$2\r\nsc\r\n$1\r\nm\r\n|");
    cr_assert_eq(pubsub_numsub(&ps, PUBSUB_SHARD, "sc", 2), 1);
    buf_close(&out);
}

/* Delivery follows subscription order, and a closed subscriber receives nothing. */
Test(pubsub, order_and_close)
{
    sub(&b, PUBSUB_CHANNEL, "c");
    sub(&a, PUBSUB_CHANNEL, "c");
    pubsub_publish(&ps, 0, "c", 1, "1", 1);
    cr_assert(strncmp(seen_text(), "b:", 2) == 0);
    cr_assert(strstr(seen_text(), "|a:") != NULL);
    pubsub_sub_close(&ps, &b);
    seen.len = 0;
    cr_assert_eq(pubsub_publish(&ps, 0, "c", 1, "2", 1), 1);
    cr_assert(strncmp(seen_text(), "a:", 2) == 0);
    cr_assert_eq(pubsub_numsub(&ps, PUBSUB_CHANNEL, "c", 1), 1);
    buf_close(&out);
}

/* PUBSUB CHANNELS filters with a glob; NUMSUB counts; patterns match as stringmatchlen. */
Test(pubsub, channels_and_patterns_glob)
{
    sub(&a, PUBSUB_CHANNEL, "news.tech");
    sub(&a, PUBSUB_CHANNEL, "sport");
    out.len = 0;
    pubsub_reply_channels(&ps, PUBSUB_CHANNEL, "news.*", 6, &out);
    buf_reserve(&out, 1)[0] = '\0';
    cr_assert_str_eq(out.data, "*1\r\n$9\r\nnews.tech\r\n");
    sub(&b, PUBSUB_PATTERN, "h[ae]llo");
    sub(&b, PUBSUB_PATTERN, "h\\*");
    sub(&b, PUBSUB_PATTERN, "h?[^x]");
    cr_assert_eq(pubsub_publish(&ps, 0, "hello", 5, "", 0), 1);
    cr_assert_eq(pubsub_publish(&ps, 0, "h*", 2, "", 0), 1);
    cr_assert_eq(pubsub_publish(&ps, 0, "hix", 3, "", 0), 0);
    cr_assert_eq(pubsub_publish(&ps, 0, "hiy", 3, "", 0), 1);
    cr_assert_eq(pubsub_publish(&ps, 0, "Hello", 5, "", 0), 0); /* case-sensitive */
    cr_assert_eq(pubsub_numpat(&ps), 3);
    buf_close(&out);
}

/* Subscribed mode allows only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET. */
Test(pubsub, subscribed_mode_allows_redis_set)
{
    const char *allowed[] = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                             "ssubscribe", "sunsubscribe", "ping", "quit", "reset"};
    const char *refused[] = {"get", "set", "publish", "pubsub", "info", "multi", "echo"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(*allowed); i++)
        cr_assert(cmd_pubsub_allowed_subscribed(command_lookup(allowed[i], strlen(allowed[i]))),
                  "%s", allowed[i]);
    for (size_t i = 0; i < sizeof(refused) / sizeof(*refused); i++)
        cr_assert(!cmd_pubsub_allowed_subscribed(command_lookup(refused[i], strlen(refused[i]))),
                  "%s", refused[i]);
}

/* notify-keyspace-events: Redis's letters, A, and the normal form CONFIG GET shows. */
Test(pubsub, notify_flags_letters)
{
    char text[32];
    cr_assert_eq(notify_flags_parse("KEA"), NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL);
    notify_flags_text(notify_flags_parse("KEA"), text, sizeof text);
    cr_assert_str_eq(text, "AKE");
    notify_flags_text(notify_flags_parse("Ex$"), text, sizeof text);
    cr_assert_str_eq(text, "$xE");
    notify_flags_text(notify_flags_parse("g$lshzxetdKEmn"), text, sizeof text);
    cr_assert_str_eq(text, "AnKEm");
    cr_assert_eq(notify_flags_parse(""), 0);
    cr_assert_eq(notify_flags_parse("KQ"), -1);
}

/* CONFIG SET notify-keyspace-events refuses an unknown letter with Redis's text. */
Test(pubsub, config_notify_option)
{
    struct config cfg;
    char err[256], v[64];
    config_init(&cfg);
    cr_assert_eq(config_set(&cfg, "notify-keyspace-events", "Elg", 1, err, sizeof err), 0);
    config_text(&cfg, "notify-keyspace-events", v, sizeof v);
    cr_assert_str_eq(v, "glE");
    cr_assert_eq(config_set(&cfg, "notify-keyspace-events", "y", 1, err, sizeof err), -1);
    cr_assert(strstr(err, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.") != NULL, "%s", err);
    config_close(&cfg);
}

/* PUBLISH as apply runs it delivers to the node's registry and answers its count. */
Test(pubsub, publish_command_in_apply)
{
    struct cmdtest t;
    ct_init(&t, 1700000000000LL);
    t.pubsub = &ps;
    sub(&a, PUBSUB_CHANNEL, "ch");
    cr_assert_str_eq(ct_run(&t, "publish ch hello"), ":1\r\n");
    cr_assert_str_eq(ct_run(&t, "spublish ch hello"), ":0\r\n");
    cr_assert_str_eq(seen_text(), "a:*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n|");
    t.pubsub = NULL;
    cr_assert_str_eq(ct_run(&t, "publish ch hello"), ":0\r\n"); /* no registry: no receiver */
    ct_close(&t);
    buf_close(&out);
}

/* The events of seen_text, in order: "set,sadd,..." of the __keyevent@0__ channels. */
static void expect_events_in_order(const char *const *want, size_t n)
{
    const char *p = seen_text();
    for (size_t i = 0; i < n; i++) {
        char ch[64];
        snprintf(ch, sizeof ch, "__keyevent@0__:%s\r\n", want[i]);
        const char *q = strstr(p, ch);
        cr_assert(q != NULL, "no %s (event %zu) in what is left: %s", want[i], i, p);
        p = q + strlen(ch);
    }
    cr_assert_null(strstr(p, "__keyevent@0__:"), "more events than expected: %s", p);
}

/* List writes signal Redis 7.0's events: lpush/rpush, lpop/rpop (LMOVE: the push on the
 * destination, then the pop on the source, also when they are one key), lset, linsert,
 * lrem, ltrim (even when nothing was trimmed), and del when the list empties. Commands that
 * change nothing signal nothing. */
Test(pubsub, keyspace_events_of_list_writes)
{
    struct cmdtest t;
    long long flags = NOTIFY_KEYEVENT | NOTIFY_ALL;
    ct_init(&t, 1700000000000LL);
    t.pubsub = &ps;
    ps.notify_flags = &flags;
    sub(&a, PUBSUB_PATTERN, "__keyevent@0__:*");
    ct_run(&t, "rpush l a b c");
    ct_run(&t, "lpushx l z");
    ct_run(&t, "lpop l");
    ct_run(&t, "lmove l l2 left right");
    ct_run(&t, "lmove l l left right");
    ct_run(&t, "lset l 0 x");
    ct_run(&t, "linsert l before x y");
    ct_run(&t, "linsert l before nothere y"); /* no pivot: no event */
    ct_run(&t, "lrem l 1 y");
    ct_run(&t, "lrem l 1 nothere"); /* nothing removed: no event */
    ct_run(&t, "ltrim l 0 -1");
    ct_run(&t, "lmpop 1 l right count 5");
    ct_run(&t, "rpop l2 0"); /* count 0: nothing popped */
    ct_run(&t, "rpoplpush l2 l3");
    const char *want[] = {"rpush", "lpush", "lpop", "rpush", "lpop", "rpush", "lpop", "lset",
                          "linsert", "lrem", "ltrim", "rpop", "del", "lpush", "rpop", "del"};
    expect_events_in_order(want, sizeof(want) / sizeof(*want));
    ps.notify_flags = NULL;
    ct_close(&t);
    buf_close(&out);
}

/* Keyspace events come from the writes in apply, filtered by the node's flags. */
Test(pubsub, keyspace_events_of_writes)
{
    struct cmdtest t;
    long long flags = NOTIFY_KEYEVENT | NOTIFY_ALL;
    ct_init(&t, 1700000000000LL);
    t.pubsub = &ps;
    ps.notify_flags = &flags;
    sub(&a, PUBSUB_PATTERN, "__keyevent@0__:*");
    ct_run(&t, "set k v");
    ct_run(&t, "sadd s m");
    ct_run(&t, "srem s m");
    ct_run(&t, "zadd z 1 m");
    ct_run(&t, "zincrby z 1 m");
    ct_run(&t, "hincrby h f 1");
    ct_run(&t, "rename k k2");
    ct_run(&t, "pexpire k2 10");
    t.now_ms += 20;
    ct_apply(&t, "__expired k2");
    const char *want[] = {"set", "sadd", "srem", "del", "zadd", "zincr", "hincrby", "rename_from",
                          "rename_to", "expire", "expired"};
    expect_events_in_order(want, sizeof(want) / sizeof(*want));
    /* a class that is off is not delivered, nor anything without K or E */
    seen.len = 0;
    flags = NOTIFY_KEYEVENT | NOTIFY_HASH;
    ct_run(&t, "set k v");
    cr_assert_eq(seen.len, 0);
    flags = NOTIFY_ALL;
    ct_run(&t, "hset h f v");
    cr_assert_eq(seen.len, 0);
    ps.notify_flags = NULL;
    ct_close(&t);
    buf_close(&out);
}
