/* Integration tests of the operator commands (issue 14): CLIENT KILL by each filter and
 * SKIPME, CLIENT PAUSE WRITE/ALL and UNPAUSE (held in order, killable), CLIENT REPLY
 * OFF/SKIP, TOUCH, keyspace_hits/misses, errorstats, INFO's section selection, CONFIG
 * REWRITE round trip, DEBUG SLEEP, MEMORY STATS/DOCTOR, WAIT, and ROLE on a 3-node cluster.
 * Every wait polls a deadline; nothing asserts a duration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

#define READ_MS 10000

TestSuite(ops, .fini = fx_kill_all, .timeout = 120);

/* The value of "FIELD=" in C's CLIENT INFO line, into OUT. */
static void client_field(redisContext *c, const char *field, char *out, size_t cap)
{
    redisReply *r = fx_cmd(c, "CLIENT INFO");
    char key[32];
    snprintf(key, sizeof(key), "%s=", field);
    const char *p = strstr(r->str, key);
    cr_assert(p != NULL, "no %s in %s", field, r->str);
    p += strlen(key);
    size_t n = strcspn(p, " \n");
    cr_assert(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
    freeReplyObject(r);
}

static long long client_id(redisContext *c)
{
    redisReply *r = fx_cmd(c, "CLIENT ID");
    long long id = r->integer;
    freeReplyObject(r);
    return id;
}

/* True when the server closed C: a command gets no reply. */
static bool closed(redisContext *c)
{
    redisReply *r = redisCommand(c, "PING");
    if (r == NULL)
        return true;
    freeReplyObject(r);
    return false;
}

struct info_wait {
    int port;
    const char *section, *field;
    long long want;
};

static bool info_is(void *arg)
{
    struct info_wait *w = arg;
    return tc_info_ll(w->port, w->section, w->field) == w->want;
}

static void wait_info(int port, const char *section, const char *field, long long want)
{
    struct info_wait w = {port, section, field, want};
    cr_assert(fx_wait_until(info_is, &w, READ_MS), "INFO %s %s never became %lld (is %lld)", section,
              field, want, tc_info_ll(port, section, field));
}

/* CLIENT KILL: the old addr form, then ID, ADDR, LADDR, USER, TYPE and SKIPME, with Redis's
 * errors for bad filters; CLIENT LIST TYPE and ID. */
Test(ops, client_kill_filters)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *me = fx_connect(s->port), *a = fx_connect(s->port), *b = fx_connect(s->port);
    char addr[64], laddr[64];

    fx_check_error(me, "ERR No such client", "CLIENT KILL 10.0.0.1:1");
    fx_check_error(me, "ERR client-id should be greater than 0", "CLIENT KILL ID 0");
    fx_check_error(me, "ERR Unknown client type 'foo'", "CLIENT KILL TYPE foo");
    fx_check_error(me, "ERR No such user 'ghost'", "CLIENT KILL USER ghost");
    fx_check_error(me, "ERR syntax error", "CLIENT KILL SKIPME maybe");
    fx_check_error(me, "ERR syntax error", "CLIENT KILL ID 1 ADDR");
    fx_check_integer(me, 0, "CLIENT KILL ID 999999");

    client_field(a, "addr", addr, sizeof(addr));
    fx_check_status(me, "OK", "CLIENT KILL %s", addr); /* the old form */
    cr_assert(closed(a));
    redisFree(a);

    fx_check_integer(me, 1, "CLIENT KILL ID %lld", client_id(b));
    cr_assert(closed(b));
    redisFree(b);

    a = fx_connect(s->port);
    client_field(a, "addr", addr, sizeof(addr));
    fx_check_integer(me, 1, "CLIENT KILL ADDR %s", addr);
    cr_assert(closed(a));
    redisFree(a);

    /* USER: only the connection authenticated as that user */
    fx_check_status(me, "OK", "ACL SETUSER op on >pw +@all ~*");
    a = fx_connect(s->port);
    b = fx_connect(s->port);
    fx_check_status(a, "OK", "AUTH op pw");
    fx_check_integer(me, 1, "CLIENT KILL USER op");
    cr_assert(closed(a));
    cr_assert(!closed(b));
    redisFree(a);

    /* TYPE pubsub, then TYPE normal (SKIPME yes by default: not this connection) */
    a = fx_connect(s->port);
    redisReply *r = fx_cmd(a, "SUBSCRIBE ch");
    freeReplyObject(r);
    r = fx_cmd(me, "CLIENT LIST TYPE pubsub");
    cr_assert(strstr(r->str, "flags=P") != NULL && strchr(r->str, '\n') == r->str + r->len - 1, "%s", r->str);
    freeReplyObject(r);
    r = fx_cmd(me, "CLIENT LIST ID %lld", client_id(me));
    cr_assert(strstr(r->str, "cmd=client") != NULL && strchr(r->str, '\n') == r->str + r->len - 1, "%s", r->str);
    freeReplyObject(r);
    fx_check_error(me, "ERR Unknown client type 'foo'", "CLIENT LIST TYPE foo");
    fx_check_integer(me, 1, "CLIENT KILL TYPE pubsub");
    redisFree(a);
    fx_check_integer(me, 1, "CLIENT KILL TYPE normal");
    cr_assert(closed(b));
    redisFree(b);

    /* LADDR: every connection to this port but this one; SKIPME no includes it */
    a = fx_connect(s->port);
    client_field(me, "laddr", laddr, sizeof(laddr));
    fx_check_integer(me, 1, "CLIENT KILL LADDR %s", laddr);
    cr_assert(closed(a));
    redisFree(a);
    fx_check_integer(me, 1, "CLIENT KILL ID %lld SKIPME no", client_id(me));
    cr_assert(closed(me));
    redisFree(me);
    fx_server_free(s);
}

/* CLIENT PAUSE WRITE holds a client at its first write (and what it sent after) while other
 * clients' reads go on; UNPAUSE answers the held commands in order. PAUSE ALL holds reads
 * too, until its deadline. */
Test(ops, pause_write_holds_writes_in_order)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *ctl = fx_connect(s->port), *reader = fx_connect(s->port);
    char buf[256];

    fx_check_status(ctl, "OK", "SET k v0");
    fx_check_status(ctl, "OK", "CLIENT PAUSE 100000 WRITE");
    int w = fx_raw_connect(s->port);
    cr_assert_eq(fx_raw_send_str(w, "SET k v1\r\nINCR n\r\nGET k\r\n"), 0);
    wait_info(s->port, "clients", "blocked_clients", 1);
    fx_check_string(reader, "v0", "GET k"); /* reads are not paused */
    cr_assert(fx_raw_nothing_pending(w), "a held write was answered");
    redisReply *r = fx_cmd(reader, "CLIENT LIST");
    cr_assert(strstr(r->str, " flags=b ") != NULL, "%s", r->str);
    freeReplyObject(r);

    fx_check_status(ctl, "OK", "CLIENT UNPAUSE");
    fx_raw_expect(w, "+OK\r\n:1\r\n$2\r\nv1\r\n", READ_MS);
    wait_info(s->port, "clients", "blocked_clients", 0);

    /* ALL: a read waits for the deadline (a short pause: answered once it passes) */
    fx_check_status(ctl, "OK", "CLIENT PAUSE 300 ALL");
    cr_assert_eq(fx_raw_send_str(w, "GET k\r\n"), 0);
    struct fx_raw_result rr = fx_raw_read(w, buf, sizeof(buf), 8, NULL, READ_MS);
    cr_assert(rr.len == 8 && strcmp(buf, "$2\r\nv1\r\n") == 0, "got '%s'", buf);
    close(w);
    redisFree(ctl);
    redisFree(reader);
    fx_server_free(s);
}

/* A client held by CLIENT PAUSE can be killed; its write is never executed. */
Test(ops, paused_client_can_be_killed)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *ctl = fx_connect(s->port), *w = fx_connect(s->port);
    long long id = client_id(w);
    fx_check_status(ctl, "OK", "CLIENT PAUSE 100000 WRITE");
    cr_assert_eq(redisAppendCommand(w, "SET held 1"), REDIS_OK);
    int done = 0;
    while (!done)
        cr_assert_eq(redisBufferWrite(w, &done), REDIS_OK);
    wait_info(s->port, "clients", "blocked_clients", 1);
    fx_check_integer(ctl, 1, "CLIENT KILL ID %lld", id);
    wait_info(s->port, "clients", "blocked_clients", 0);
    fx_check_status(ctl, "OK", "CLIENT UNPAUSE");
    fx_check_nil(ctl, "GET held");
    redisFree(w);
    redisFree(ctl);
    fx_server_free(s);
}

/* CLIENT REPLY OFF drops every reply until ON (which answers OK); SKIP drops the next one. */
Test(ops, client_reply_off_and_skip)
{
    struct fx_server *s = fx_server_up(NULL);
    int fd = fx_raw_connect(s->port);
    cr_assert_eq(fx_raw_send_str(fd, "CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nNOSUCH\r\nCLIENT REPLY ON\r\n"
                                     "GET a\r\nCLIENT REPLY SKIP\r\nGET a\r\nPING\r\n"), 0);
    fx_raw_expect(fd, "+OK\r\n$1\r\n1\r\n+PONG\r\n", READ_MS);
    redisContext *c = fx_connect(s->port);
    fx_check_error(c, "ERR syntax error", "CLIENT REPLY maybe");
    fx_check_status(c, "OK", "CLIENT NO-EVICT on");
    char flags[16];
    client_field(c, "flags", flags, sizeof(flags));
    cr_assert_str_eq(flags, "e");
    fx_check_error(c, "ERR syntax error", "CLIENT NO-EVICT maybe");
    redisFree(c);
    close(fd);
    fx_server_free(s);
}

/* TOUCH counts the keys that exist; keyspace_hits/misses count the lookups of the reads
 * served (TOUCH's too), not writes, not even a no-op write answered as a read. */
Test(ops, touch_and_keyspace_hits)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "OK", "SET a 1");
    fx_check_status(c, "OK", "CONFIG RESETSTAT");
    fx_check_integer(c, 2, "TOUCH a b a");
    fx_check_string(c, "1", "GET a");
    fx_check_nil(c, "GET zz");
    fx_check_status(c, "OK", "SET b 2");
    fx_check_integer(c, 1, "SADD st m");
    fx_check_integer(c, 0, "SADD st m"); /* a no-op write answered on the read path */
    cr_assert_eq(tc_info_ll(s->port, "stats", "noop_writes_as_reads"), 1);
    cr_assert_eq(tc_info_ll(s->port, "stats", "keyspace_hits"), 3);
    cr_assert_eq(tc_info_ll(s->port, "stats", "keyspace_misses"), 2);
    fx_check_error(c, "ERR wrong number of arguments for 'touch' command", "TOUCH");
    redisFree(c);
    fx_server_free(s);
}

/* errorstats counts error replies by prefix where they are answered: local commands, reads
 * and writes answered by apply; CONFIG RESETSTAT clears them. */
Test(ops, errorstats_by_prefix)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    char v[64];
    fx_check_status(c, "OK", "SET s x");
    fx_check_status(c, "OK", "CONFIG RESETSTAT");
    redisReply *r = fx_cmd(c, "NOSUCH");
    freeReplyObject(r);
    fx_check_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value", "LPUSH s x");
    fx_check_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value", "LRANGE s 0 -1");
    cr_assert(tc_info_field(s->port, "errorstats", "errorstat_ERR", v, sizeof(v)));
    cr_assert_str_eq(v, "count=1");
    cr_assert(tc_info_field(s->port, "errorstats", "errorstat_WRONGTYPE", v, sizeof(v)));
    cr_assert_str_eq(v, "count=2");
    cr_assert_eq(tc_info_ll(s->port, "stats", "total_error_replies"), 3);
    fx_check_status(c, "OK", "CONFIG RESETSTAT");
    cr_assert(!tc_info_field(s->port, "errorstats", "errorstat_ERR", v, sizeof(v)));
    redisFree(c);
    fx_server_free(s);
}

/* Section headers of INFO ARGS, as "# Server# Clients..." into OUT. */
static void sections(redisContext *c, const char *args, char *out, size_t cap)
{
    redisReply *r = fx_cmd(c, args);
    out[0] = '\0';
    for (const char *p = r->str; (p = strstr(p, "# ")) != NULL; p++) {
        size_t n = strcspn(p, "\r");
        strncat(out, p, n < cap - strlen(out) - 1 ? n : cap - strlen(out) - 1);
    }
    freeReplyObject(r);
}

/* Redis 7.0's selection: plain INFO and INFO default leave commandstats out, all and
 * everything print it, names can be combined; the new sections and fields are there. */
Test(ops, info_sections)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    char got[512];
    const char *def = "# Server# Clients# Memory# Persistence# Stats# Replication# CPU# Raft# Errorstats# Cluster# Keyspace";
    sections(c, "INFO", got, sizeof(got));
    cr_assert_str_eq(got, def);
    sections(c, "INFO default", got, sizeof(got));
    cr_assert_str_eq(got, def);
    sections(c, "INFO all", got, sizeof(got));
    cr_assert(strstr(got, "# Commandstats# Errorstats") != NULL, "%s", got);
    sections(c, "INFO everything", got, sizeof(got));
    cr_assert(strstr(got, "# Commandstats") != NULL, "%s", got);
    sections(c, "INFO server clients", got, sizeof(got));
    cr_assert_str_eq(got, "# Server# Clients");
    sections(c, "INFO commandstats", got, sizeof(got));
    cr_assert_str_eq(got, "# Commandstats");
    cr_assert_geq(tc_info_ll(s->port, "stats", "instantaneous_ops_per_sec"), 0);
    cr_assert_geq(tc_info_ll(s->port, "memory", "used_memory_peak"), tc_info_ll(s->port, "memory", "used_memory") / 2);
    cr_assert_eq(tc_info_ll(s->port, "persistence", "aof_enabled"), 1);
    cr_assert_eq(tc_info_ll(s->port, "persistence", "loading"), 0);
    cr_assert(tc_info_field(s->port, "cpu", "used_cpu_user", got, sizeof(got)));
    redisFree(c);
    fx_server_free(s);
}

/* CONFIG REWRITE keeps the file's comments, updates the changed option in place, appends the
 * rest (command-line options included) after the marker, and a restart reads it back. */
Test(ops, config_rewrite_round_trip)
{
    struct fx_server *s = fx_server_new(1, NULL);
    char *path = NULL, text[8192];
    cr_assert(asprintf(&path, "%s.conf", s->dir) > 0);
    FILE *fp = fopen(path, "w");
    cr_assert(fp != NULL);
    fputs("# operator's comment\nloglevel notice\n\n# end of my part\n", fp);
    fclose(fp);
    s->config_file = strdup(path);
    cr_assert(fx_server_start(s) == 0);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "OK", "CONFIG SET loglevel warning");
    fx_check_status(c, "OK", "CONFIG SET request-timeout 4321");
    fx_check_status(c, "OK", "CONFIG REWRITE");
    redisFree(c);
    fp = fopen(path, "r");
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    cr_assert(strncmp(text, "# operator's comment\nloglevel warning\n\n# end of my part\n"
                            "# Generated by CONFIG REWRITE\n", 86) == 0, "%s", text);
    cr_assert(strstr(text, "\nrequest-timeout 4321\n") != NULL, "%s", text);
    char port[32];
    snprintf(port, sizeof(port), "\nport %d\n", s->port);
    cr_assert(strstr(text, port) != NULL, "a command-line option was not written: %s", text);
    cr_assert_eq(fx_server_stop(s), 0);
    cr_assert(fx_server_start(s) == 0);
    c = fx_connect(s->port);
    redisReply *r = fx_cmd(c, "CONFIG GET request-timeout");
    cr_assert(r->elements == 2 && strcmp(r->element[1]->str, "4321") == 0);
    freeReplyObject(r);
    redisFree(c);
    unlink(path);
    free(path);
    fx_server_free(s);

    s = fx_server_up(NULL);
    c = fx_connect(s->port);
    fx_check_error(c, "ERR The server is running without a config file", "CONFIG REWRITE");
    redisFree(c);
    fx_server_free(s);
}

/* DEBUG SLEEP, MEMORY STATS and DOCTOR, WAIT's checks on a single node (no followers). */
Test(ops, debug_sleep_memory_wait)
{
    struct fx_server *s = fx_server_up(NULL);
    redisContext *c = fx_connect(s->port);
    fx_check_status(c, "OK", "DEBUG SLEEP 0");
    fx_check_status(c, "OK", "DEBUG SLEEP 0.1");
    fx_check_error(c, "ERR value is not a valid float", "DEBUG SLEEP soon");
    fx_check_status(c, "OK", "SET k v");
    redisReply *r = fx_cmd(c, "MEMORY STATS");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_str_eq(r->element[0]->str, "peak.allocated");
    long long keys = -1;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, "keys.count") == 0)
            keys = r->element[i + 1]->integer;
    cr_assert_eq(keys, 1);
    freeReplyObject(r);
    r = fx_cmd(c, "MEMORY DOCTOR");
    cr_assert(r->type == REDIS_REPLY_STRING && r->len > 0);
    freeReplyObject(r);
    fx_check_integer(c, 0, "WAIT 0 0");
    fx_check_integer(c, 0, "WAIT 1 50");
    fx_check_error(c, "ERR timeout is negative", "WAIT 1 -1");
    fx_check_error(c, "ERR timeout is not an integer or out of range", "WAIT 1 x");
    fx_check_error(c, "ERR value is not an integer or out of range", "WAIT x 0");
    redisFree(c);
    fx_server_free(s);
}

/* The follower ROLE of node I names the leader's RESP port and is connected. */
struct role_wait {
    int port, leader_port;
};

static bool follower_role_ok(void *arg)
{
    struct role_wait *w = arg;
    redisReply *r = tc_port_cmd(w->port, "ROLE");
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 5 &&
              strcmp(r->element[0]->str, "slave") == 0 && strcmp(r->element[1]->str, "127.0.0.1") == 0 &&
              r->element[2]->integer == w->leader_port && strcmp(r->element[3]->str, "connected") == 0 &&
              r->element[4]->type == REDIS_REPLY_INTEGER;
    if (r != NULL)
        freeReplyObject(r);
    return ok;
}

/* The leader's ROLE: master, its applied index, its two followers by RESP address (known
 * once they have announced them), each with an offset. */
static bool leader_role_ok(void *arg)
{
    struct role_wait *w = arg;
    redisReply *r = tc_port_cmd(w->port, "ROLE");
    bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
              strcmp(r->element[0]->str, "master") == 0 && r->element[1]->type == REDIS_REPLY_INTEGER &&
              r->element[2]->elements == 2;
    for (size_t i = 0; ok && i < 2; i++) {
        const redisReply *f = r->element[2]->element[i];
        ok = f->elements == 3 && strcmp(f->element[0]->str, "127.0.0.1") == 0 &&
             f->element[2]->type == REDIS_REPLY_STRING;
        int port = ok ? atoi(f->element[1]->str) : 0;
        ok = ok && port != w->port &&
             (port == node(0)->port || port == node(1)->port || port == node(2)->port);
    }
    if (r != NULL)
        freeReplyObject(r);
    return ok;
}

/* ROLE on a 3-node cluster: the leader is master with its two followers' RESP addresses;
 * each follower is a slave of the leader's RESP address. WAIT on the leader counts the
 * followers holding the last write; on a follower it is refused as Redis refuses it. */
Test(ops, role_and_wait_on_cluster)
{
    int li;
    redisContext *c = start_cluster_on_leader(NULL, &li);
    fx_check_status(c, "OK", "SET k v");
    struct role_wait lw = {node(li)->port, 0};
    cr_assert(fx_wait_until(leader_role_ok, &lw, READ_MS), "the leader's ROLE");
    redisReply *r;
    fx_check_integer(c, 2, "WAIT 2 20000");
    for (int i = 0; i < 3; i++) {
        if (i == li)
            continue;
        struct role_wait w = {node(i)->port, node(li)->port};
        cr_assert(fx_wait_until(follower_role_ok, &w, READ_MS), "node %d's ROLE", i + 1);
        r = tc_port_cmd(node(i)->port, "WAIT 0 0");
        cr_assert(tc_is_error(r, "ERR WAIT cannot be used with replica instances"), "%s", tc_reply_text(r));
        freeReplyObject(r);
    }
    redisFree(c);
    tc_stop_cleanly();
}
