/* Integration tests of MONITOR, SLOWLOG and LATENCY against real servers (free loopback ports,
 * temp dirs): a monitor sees other clients' commands in Redis's line format, redacted and
 * without admin commands, and only non-keyspace commands of its own; a follower's monitor sees
 * what that follower serves and the leader's the expiry cycle's deletes; SLOWLOG logs reads,
 * writes (as sent) and local commands with the client's address and name, trims to its
 * max-len; LATENCY records a slow command and resets. No timing assertions: every wait polls
 * against a deadline, and only events that are certain are asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(introspect, .fini = fx_kill_all, .timeout = 120);

#define MON_CAP (64 * 1024)

/* A raw connection to PORT in monitor mode (+OK read). */
static int monitor_on(int port)
{
    int fd = fx_raw_connect(port);
    fx_raw_send_str(fd, "MONITOR\r\n");
    fx_raw_expect(fd, "+OK\r\n", 5000);
    return fd;
}

/* Read FD's monitor lines into BUF (MON_CAP bytes; *LEN held so far, kept across calls so
 * that nothing read is lost) until PATTERN shows up in them (10 s at most). */
static void monitor_until(int fd, char *buf, size_t *len, const char *pattern)
{
    int64_t deadline = fx_now_ms() + 10000;
    buf[*len] = '\0';
    while (strstr(buf, pattern) == NULL) {
        int64_t left = deadline - fx_now_ms();
        cr_assert(left > 0 && *len + 1 < MON_CAP, "no %s in the monitor's output: %s", pattern, buf);
        struct fx_raw_result r = fx_raw_read(fd, buf + *len, MON_CAP - *len, 1, NULL, (int)left);
        cr_assert(!r.eof, "the monitor was closed: %s", buf);
        *len += r.len;
    }
}

/* The address of C's connection as the server sees it ("127.0.0.1:port"), from CLIENT INFO. */
static void client_addr(redisContext *c, char *out, size_t cap)
{
    redisReply *r = fx_cmd(c, "CLIENT INFO");
    cr_assert(r->type == REDIS_REPLY_STRING, "%s", tc_reply_text(r));
    const char *p = strstr(r->str, "addr=");
    cr_assert(p != NULL);
    p += 5;
    size_t n = strcspn(p, " ");
    cr_assert(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    freeReplyObject(r);
}

/* A monitor sees SET and GET from another client as Redis prints them, AUTH redacted, no
 * admin command; its own PING after the PONG; keyspace commands of its own are refused;
 * CLIENT LIST flags it O; RESET ends it; MONITOR inside MULTI fails at EXEC. */
Test(introspect, monitor_sees_other_clients)
{
    struct fx_server *s = fx_server_up(NULL);
    char *buf = malloc(MON_CAP), addr[64], line[256];
    int mon = monitor_on(s->port);
    redisContext *c = fx_connect(s->port);
    client_addr(c, addr, sizeof(addr));

    fx_check_status(c, "OK", "SET %s %s", "k", "a \"b\"\n");
    freeReplyObject(fx_cmd(c, "AUTH secret"));
    freeReplyObject(fx_cmd(c, "CONFIG GET port"));
    fx_check_string(c, "a \"b\"\n", "GET k");
    fx_check_string(c, "marker", "ECHO marker");
    size_t len = 0;
    monitor_until(mon, buf, &len, "\"ECHO\" \"marker\"\r\n");
    snprintf(line, sizeof(line), " [0 %s] \"SET\" \"k\" \"a \\\"b\\\"\\n\"\r\n", addr);
    cr_assert(strstr(buf, line) != NULL, "want %s in %s", line, buf);
    cr_assert(buf[0] == '+' && strchr(buf, '.') - buf == 11, "a +<sec>.<usec> stamp: %s", buf);
    snprintf(line, sizeof(line), " [0 %s] \"AUTH\" \"(redacted)\"\r\n", addr);
    cr_assert(strstr(buf, line) != NULL, "want %s in %s", line, buf);
    snprintf(line, sizeof(line), " [0 %s] \"GET\" \"k\"\r\n", addr);
    cr_assert(strstr(buf, line) != NULL, "want %s in %s", line, buf);
    cr_assert(strstr(buf, "\"config\"") == NULL && strstr(buf, "\"CONFIG\"") == NULL,
              "admin commands are not shown: %s", buf);
    cr_assert(strstr(buf, "secret") == NULL);

    /* its own non-keyspace commands: shown after their reply */
    fx_raw_send_str(mon, "PING\r\n");
    fx_raw_read(mon, buf, MON_CAP, 0, "\"PING\"\r\n", 10000);
    cr_assert(strncmp(buf, "+PONG\r\n+", 8) == 0, "%s", buf);
    fx_raw_send_str(mon, "GET k\r\n");
    fx_raw_expect(mon, "-ERR Replica can't interact with the keyspace\r\n", 5000);

    redisReply *r = fx_cmd(c, "CLIENT LIST");
    cr_assert(strstr(r->str, "flags=O") != NULL, "%s", r->str);
    freeReplyObject(r);
    /* MONITOR, SLOWLOG and LATENCY are @admin @dangerous */
    r = fx_cmd(c, "ACL CAT dangerous");
    int found = 0;
    for (size_t i = 0; i < r->elements; i++)
        found += !strcmp(r->element[i]->str, "monitor") || !strcmp(r->element[i]->str, "slowlog") ||
                 !strcmp(r->element[i]->str, "latency");
    cr_assert_eq(found, 3);
    freeReplyObject(r);

    /* RESET ends monitor mode: a SET from the other client no longer shows up */
    fx_raw_send_str(mon, "RESET\r\n");
    fx_raw_read(mon, buf, MON_CAP, 0, "+RESET\r\n", 5000);
    cr_assert(strstr(buf, "+RESET\r\n") != NULL, "%s", buf);
    fx_check_status(c, "OK", "SET k2 v");
    fx_raw_send_str(mon, "ECHO x\r\n");
    fx_raw_expect(mon, "$1\r\nx\r\n", 5000);
    cr_assert(fx_raw_nothing_pending(mon));

    /* MONITOR in MULTI: queued, refused as EXEC runs it */
    fx_raw_send_str(mon, "MULTI\r\nMONITOR\r\nEXEC\r\n");
    fx_raw_expect(mon, "+OK\r\n+QUEUED\r\n*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n", 5000);
    close(mon);
    redisFree(c);
    free(buf);
    fx_server_free(s);
}

/* A 3-node cluster: a connection to its leader (index in *LEADER) and a follower's index. */
static redisContext *cluster_leader_and_follower(int *leader, int *follower)
{
    redisContext *lc = start_cluster_on_leader(NULL, leader);
    *follower = (*leader + 1) % 3;
    return lc;
}

/* On a 3-node cluster a follower's monitor shows what the follower serves (ECHO), not the
 * read it redirects nor the leader's writes; the leader's monitor shows the SET and the
 * expiry cycle's __expired delete, from the leader's raft address. */
Test(introspect, follower_monitor_sees_what_it_serves)
{
    int leader, follower;
    redisContext *lc = cluster_leader_and_follower(&leader, &follower);
    char *buf = malloc(MON_CAP), *lbuf = malloc(MON_CAP), want[128];
    int fmon = monitor_on(node(follower)->port);
    int lmon = monitor_on(node(leader)->port);
    redisContext *fc = fx_connect(node(follower)->port);

    fx_check_string(fc, "hello", "ECHO hello");
    redisReply *r = fx_cmd(fc, "GET k");
    cr_assert(tc_is_redirect(r), "%s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_status(lc, "OK", "SET k v");
    fx_check_status(lc, "OK", "SET e v PX 50");
    r = fx_cmd(lc, "EVAL %s 0", "return redis.call('incr', 'n')");
    cr_assert(r->type == REDIS_REPLY_INTEGER && r->integer == 1, "%s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(fc, "marker", "ECHO marker");
    size_t len = 0, llen = 0;
    monitor_until(fmon, buf, &len, "\"ECHO\" \"marker\"\r\n");
    cr_assert(strstr(buf, "\"ECHO\" \"hello\"\r\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\"GET\"") == NULL, "a redirected read is not served: %s", buf);
    cr_assert(strstr(buf, "\"SET\"") == NULL, "the leader's writes are not the follower's: %s", buf);
    cr_assert(strstr(buf, "lua") == NULL, "nor its scripts' calls: %s", buf);

    /* the leader: its writes as sent, the script's call (on the node that served the EVAL
     * only), and the expiry cycle's delete of e */
    monitor_until(lmon, lbuf, &llen, " [0 lua] \"incr\" \"n\"\r\n");
    cr_assert(strstr(lbuf, "\"SET\" \"k\" \"v\"\r\n") != NULL, "%s", lbuf);
    cr_assert(strstr(lbuf, "\"SET\" \"e\" \"v\" \"PX\" \"50\"\r\n") != NULL, "%s", lbuf);
    cr_assert(strstr(lbuf, "\"EVAL\" \"return redis.call('incr', 'n')\" \"0\"\r\n") != NULL, "%s", lbuf);
    snprintf(want, sizeof(want), "[0 127.0.0.1:%d] \"__expired\" \"e\"\r\n", node(leader)->raft_port);
    monitor_until(lmon, lbuf, &llen, want);
    close(fmon);
    close(lmon);
    redisFree(fc);
    redisFree(lc);
    free(buf);
    free(lbuf);
    tc_stop_cleanly();
}

/* Entry I of a SLOWLOG GET reply R: its arguments joined by spaces into OUT. */
static void entry_args(const redisReply *r, size_t i, char *out, size_t cap)
{
    cr_assert(i < r->elements);
    const redisReply *e = r->element[i];
    cr_assert(e->type == REDIS_REPLY_ARRAY && e->elements == 6, "%s", tc_reply_text(e));
    cr_assert(e->element[0]->type == REDIS_REPLY_INTEGER && e->element[1]->type == REDIS_REPLY_INTEGER &&
              e->element[2]->type == REDIS_REPLY_INTEGER && e->element[3]->type == REDIS_REPLY_ARRAY);
    size_t n = 0;
    out[0] = '\0';
    for (size_t k = 0; k < e->element[3]->elements; k++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", k ? " " : "", e->element[3]->element[k]->str);
}

/* CONFIG GET NAME's value on C into OUT. */
static void config_value(redisContext *c, const char *name, char *out, size_t cap)
{
    redisReply *r = fx_cmd(c, "CONFIG GET %s", name);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "%s", tc_reply_text(r));
    snprintf(out, cap, "%s", r->element[1]->str);
    freeReplyObject(r);
}

static long long slowlog_len(redisContext *c)
{
    redisReply *r = fx_cmd(c, "SLOWLOG LEN");
    cr_assert(r->type == REDIS_REPLY_INTEGER, "%s", tc_reply_text(r));
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* With slowlog-log-slower-than 0 every command is logged, newest first, with the arguments as
 * sent (a write's before prepare rewrites them), the client's address and name; arguments are
 * trimmed as Redis trims them; slowlog-max-len trims the log; RESET and LEN work; CONFIG
 * RESETSTAT leaves it alone, -1 turns it off. */
Test(introspect, slowlog_logs_commands_with_client)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    char addr[64], args[4096], v[64];
    config_value(c, "slowlog-log-slower-than", v, sizeof(v));
    cr_assert_str_eq(v, "10000");
    config_value(c, "slowlog-max-len", v, sizeof(v));
    cr_assert_str_eq(v, "128");
    fx_check_status(c, "OK", "CONFIG SET slowlog-log-slower-than 0");
    fx_check_error(c, "ERR count should be greater than or equal to -1", "SLOWLOG GET -2");
    fx_check_status(c, "OK", "SLOWLOG RESET");
    client_addr(c, addr, sizeof(addr));
    fx_check_status(c, "OK", "CLIENT SETNAME app");
    fx_check_status(c, "OK", "SET k v EX 100");
    fx_check_string(c, "v", "GET k");
    const char *argv[45];
    size_t lens[45];
    char big[300];
    memset(big, 'x', sizeof(big));
    argv[0] = "RPUSH";
    argv[1] = "list";
    for (int i = 2; i < 44; i++)
        argv[i] = "e";
    argv[44] = big;
    for (int i = 0; i < 45; i++)
        lens[i] = i == 44 ? sizeof(big) : strlen(argv[i]);
    freeReplyObject(fx_cmd_argv(c, 45, argv, lens));
    fx_check_status(c, "OK", "SET long %b", big, sizeof(big));

    redisReply *r = fx_cmd(c, "SLOWLOG GET -1");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements >= 6, "%s", tc_reply_text(r));
    entry_args(r, 0, args, sizeof(args));
    cr_assert(strncmp(args, "SET long xxxx", 13) == 0 && strstr(args, "... (172 more bytes)") != NULL, "%s", args);
    entry_args(r, 1, args, sizeof(args));
    cr_assert(strncmp(args, "RPUSH list e e", 14) == 0, "%s", args);
    cr_assert_eq(r->element[1]->element[3]->elements, 32);
    cr_assert_str_eq(r->element[1]->element[3]->element[31]->str, "... (14 more arguments)");
    entry_args(r, 2, args, sizeof(args));
    cr_assert_str_eq(args, "GET k");
    entry_args(r, 3, args, sizeof(args));
    cr_assert_str_eq(args, "SET k v EX 100", "a write is logged as sent");
    entry_args(r, 4, args, sizeof(args));
    cr_assert_str_eq(args, "CLIENT SETNAME app");
    const redisReply *e = r->element[3];
    cr_assert_str_eq(e->element[4]->str, addr);
    cr_assert_str_eq(e->element[5]->str, "app");
    cr_assert(e->element[0]->integer < r->element[2]->element[0]->integer, "ids grow");
    long long now = (long long)time(NULL);
    cr_assert(e->element[1]->integer > now - 600 && e->element[1]->integer <= now + 1, "unix time");
    cr_assert(e->element[2]->integer >= 0);
    freeReplyObject(r);
    r = fx_cmd(c, "SLOWLOG GET");
    cr_assert_eq(r->elements, 8, "RESET, CLIENT INFO and SETNAME, SET, GET, RPUSH, SET, GET -1");
    freeReplyObject(r);

    long long before = slowlog_len(c);
    fx_check_status(c, "OK", "CONFIG RESETSTAT");
    cr_assert_geq(slowlog_len(c), before, "RESETSTAT does not reset the slow log");
    fx_check_status(c, "OK", "CONFIG SET slowlog-max-len 2");
    fx_check_string(c, "a", "ECHO a");
    cr_assert_eq(slowlog_len(c), 2);
    fx_check_error(c, "ERR value is not an integer or out of range", "SET k v EX abc");
    r = fx_cmd(c, "SLOWLOG GET 1");
    entry_args(r, 0, args, sizeof(args));
    cr_assert_str_eq(args, "SET k v EX abc", "a write its checks refused is logged too");
    freeReplyObject(r);
    fx_check_status(c, "OK", "SLOWLOG RESET");
    cr_assert_eq(slowlog_len(c), 1, "RESET logs itself once it has run");
    fx_check_status(c, "OK", "CONFIG SET slowlog-log-slower-than -1");
    fx_check_status(c, "OK", "SLOWLOG RESET");
    fx_check_string(c, "v", "GET k");
    cr_assert_eq(slowlog_len(c), 0);
    fx_check_error(c, "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
                      "argument must be between -1 and 4611686018427387904 inclusive",
                   "CONFIG SET slowlog-log-slower-than -2");
    redisFree(c);
    fx_server_free(s);
}

/* A follower logs in SLOWLOG what it serves (its own local commands), not the leader's writes. */
Test(introspect, follower_slowlog_is_its_own)
{
    int leader, follower;
    redisContext *lc = cluster_leader_and_follower(&leader, &follower);
    redisContext *fc = fx_connect(node(follower)->port);
    char args[256];
    fx_check_status(fc, "OK", "CONFIG SET slowlog-log-slower-than 0");
    fx_check_status(fc, "OK", "SLOWLOG RESET");
    fx_check_status(lc, "OK", "SET k v");
    fx_check_string(fc, "here", "ECHO here");
    redisReply *r = fx_cmd(fc, "SLOWLOG GET");
    cr_assert_eq(r->elements, 2, "%s", tc_reply_text(r));
    entry_args(r, 0, args, sizeof(args));
    cr_assert_str_eq(args, "ECHO here");
    freeReplyObject(r);
    redisFree(fc);
    redisFree(lc);
    tc_stop_cleanly();
}

/* LATENCY: with latency-monitor-threshold 1 a SORT_RO of 100,000 elements (certainly over a
 * millisecond) is a "command" event in LATEST and HISTORY, DOCTOR and GRAPH describe it; every
 * event recorded has LATEST's shape; RESET clears them (the monitor off first, so that no new
 * event can come in between). */
Test(introspect, latency_records_and_resets)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    char v[64];
    config_value(c, "latency-monitor-threshold", v, sizeof(v));
    cr_assert_str_eq(v, "0");
    redisReply *r = fx_cmd(c, "LATENCY LATEST");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 0, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "LATENCY DOCTOR");
    cr_assert(r->type == REDIS_REPLY_STRING && strstr(r->str, "disabled") != NULL, "%s", tc_reply_text(r));
    freeReplyObject(r);

    fx_check_status(c, "OK", "CONFIG SET latency-monitor-threshold 1");
    static const char *argv[10002];
    static size_t lens[10002];
    static char nums[10000][8];
    argv[0] = "RPUSH";
    argv[1] = "l";
    lens[0] = 5;
    lens[1] = 1;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 10000; i++) {
            lens[i + 2] = (size_t)snprintf(nums[i], sizeof(nums[i]), "%d", (i * 7919 + round * 104729) % 1000003);
            argv[i + 2] = nums[i];
        }
        r = fx_cmd_argv(c, 10002, argv, lens);
        cr_assert(r->type == REDIS_REPLY_INTEGER, "%s", tc_reply_text(r));
        freeReplyObject(r);
    }
    r = fx_cmd(c, "SORT_RO l");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 100000);
    freeReplyObject(r);

    r = fx_cmd(c, "LATENCY LATEST");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements >= 1, "%s", tc_reply_text(r));
    int command = 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        cr_assert(e->type == REDIS_REPLY_ARRAY && e->elements == 4 && e->element[0]->type == REDIS_REPLY_STRING &&
                  e->element[1]->type == REDIS_REPLY_INTEGER && e->element[2]->type == REDIS_REPLY_INTEGER &&
                  e->element[3]->type == REDIS_REPLY_INTEGER, "entry %zu", i);
        cr_assert_geq(e->element[2]->integer, 1);
        cr_assert_geq(e->element[3]->integer, e->element[2]->integer);
        const char *name = e->element[0]->str;
        cr_assert(!strcmp(name, "command") || !strcmp(name, "fast-command") || !strcmp(name, "fsync-raft-log") ||
                  !strcmp(name, "snapshot") || !strcmp(name, "apply"), "event %s", name);
        command += !strcmp(name, "command");
    }
    cr_assert_eq(command, 1, "the SORT_RO is a command event");
    freeReplyObject(r);
    r = fx_cmd(c, "LATENCY HISTORY command");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->elements == 2);
    freeReplyObject(r);
    r = fx_cmd(c, "LATENCY DOCTOR");
    cr_assert(r->type == REDIS_REPLY_STRING && strstr(r->str, ". command: ") != NULL, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "LATENCY GRAPH command");
    cr_assert(r->type == REDIS_REPLY_STRING && strncmp(r->str, "command - high ", 15) == 0, "%s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_error(c, "ERR No samples available for event 'nosuch'", "LATENCY GRAPH nosuch");
    fx_check_error(c, "ERR wrong number of arguments for 'latency|history' command", "LATENCY HISTORY");
    fx_check_error(c, "ERR unknown subcommand 'NOPE'. Try LATENCY HELP.", "LATENCY NOPE");

    fx_check_status(c, "OK", "CONFIG SET latency-monitor-threshold 0");
    r = fx_cmd(c, "LATENCY RESET");
    cr_assert(r->type == REDIS_REPLY_INTEGER && r->integer >= 1, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "LATENCY LATEST");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 0, "%s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(c);
    fx_server_free(s);
}
