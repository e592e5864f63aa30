/* Integration tests of ACL users as replicated state on real clusters (free loopback ports,
 * temp dirs): users set on the leader are enforced on followers (-NOPERM before any
 * redirect), reach a node that was down only through a snapshot, survive a full restart,
 * follow password changes and deletions; peers keep working when the default user may not
 * run CLUSTER; an aclfile seeds a new cluster once. Every wait polls against a deadline. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "peerauth.h"
#include "tcluster.h"

TestSuite(acl_cluster, .fini = fx_kill_all, .timeout = 180);

#define ACL_WAIT_MS 20000

/* A connection to PORT authenticated as USER/PASS (USER NULL: none); NULL if AUTH failed. */
static redisContext *connect_as(int port, const char *user, const char *pass)
{
    redisContext *c = fx_try_connect(port);
    if (c == NULL || user == NULL)
        return c;
    redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
    int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Run CMD (no formatting) on PORT as USER/PASS; the reply's text ("+OK", "-NOPERM ...",
 * "$value", ":n", "nil") into OUT. */
static void run_as(int port, const char *user, const char *pass, const char *cmd, char *out, size_t cap)
{
    redisContext *c = connect_as(port, user, pass);
    snprintf(out, cap, "%s", c ? "(no reply)" : "(auth failed)");
    redisReply *r = c ? redisCommand(c, cmd) : NULL;
    if (r != NULL) {
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(out, cap, "-%s", r->str);
        else if (r->type == REDIS_REPLY_STATUS)
            snprintf(out, cap, "+%s", r->str);
        else if (r->type == REDIS_REPLY_STRING)
            snprintf(out, cap, "$%s", r->str);
        else if (r->type == REDIS_REPLY_INTEGER)
            snprintf(out, cap, ":%lld", r->integer);
        else if (r->type == REDIS_REPLY_NIL)
            snprintf(out, cap, "nil");
        else
            snprintf(out, cap, "(type %d)", r->type);
        freeReplyObject(r);
    }
    if (c)
        redisFree(c);
}

/* Poll until CMD on PORT as USER/PASS answers a text starting with WANT. */
static void wait_reply(int port, const char *user, const char *pass, const char *cmd, const char *want)
{
    char got[512] = "";
    int64_t end = fx_now_ms() + ACL_WAIT_MS;
    while (fx_now_ms() < end) {
        run_as(port, user, pass, cmd, got, sizeof(got));
        if (strncmp(got, want, strlen(want)) == 0)
            return;
        usleep(50 * 1000);
    }
    cr_assert_fail("port %d, %s as %s: want %s..., got %s", port, cmd, user ? user : "(none)", want, got);
}

static void expect_reply(int port, const char *user, const char *pass, const char *cmd, const char *want)
{
    char got[512];
    run_as(port, user, pass, cmd, got, sizeof(got));
    cr_assert(strncmp(got, want, strlen(want)) == 0, "port %d, %s as %s: want %s..., got %s", port, cmd,
              user ? user : "(none)", want, got);
}

static void leader_ok(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    /* hiredis splits the format at spaces, not a %s argument: CMD holds no '%' */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-security"
    redisReply *r = tc_leader_cmd(TC_WRITE_MS, cmd);
#pragma GCC diagnostic pop
    cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "%s: %s", cmd, tc_reply_text(r));
    freeReplyObject(r);
}

/* What a "+@read ~app:*" user may do on node I: read app:* (a follower redirects the read,
 * after the ACL check), but neither write nor touch another key. */
static void expect_reader_limits(int i, const char *user, const char *pass, int is_leader)
{
    int port = node(i)->port;
    wait_reply(port, user, pass, "GET app:1", is_leader ? "$v1" : "-MOVED");
    expect_reply(port, user, pass, "PING", "-NOPERM this user has no permissions to run the 'ping' command");
    expect_reply(port, user, pass, "SET app:1 x", "-NOPERM this user has no permissions to run the 'set' command");
    expect_reply(port, user, pass, "GET other",
                 "-NOPERM this user has no permissions to access one of the keys used as arguments");
}

/* Users set on the leader are enforced on every node, reach a node that was down through a
 * snapshot (the log holding the user is compacted away meanwhile), and survive a restart. */
Test(acl_cluster, enforced_on_followers_through_snapshots_and_restart)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--snapshot-threshold", "32", "--snapshot-trailing", "8", NULL};
    start_cluster(args);
    int lead = wait_leader();
    leader_ok("ACL SETUSER reader on >rpw ~app:* +@read");
    leader_ok("SET app:1 v1");
    leader_ok("SET other x");
    for (int i = 0; i < 3; i++)
        expect_reader_limits(i, "reader", "rpw", i == lead);

    /* a follower down while a user is created and the log moves well past a snapshot */
    int down = (lead + 1) % 3;
    long long stopped_at = tc_info_ll(node(down)->port, "raft", "raft_last_index");
    stop_node_cleanly(down);
    leader_ok("ACL SETUSER late on >lpw ~app:* +@read");
    /* until both running nodes' snapshots are past what the stopped node holds plus the
     * trailing (a slow snapshot, as under a sanitizer, delays the next one): either may lead
     * when the stopped node comes back (an election under load), and only a leader that has
     * compacted those entries sends it a snapshot */
    int64_t t0 = fx_now_ms();
    int other = 3 - lead - down;
    for (int k = 0; k < 120 || tc_info_ll(node(lead)->port, "raft", "raft_snapshot_index") < stopped_at + 16 ||
                    tc_info_ll(node(other)->port, "raft", "raft_snapshot_index") < stopped_at + 16;
         k++) {
        cr_assert_lt(ms_since(t0), 60000, "no snapshot past index %lld on both running nodes", stopped_at + 16);
        leader_ok("SET fill:%d %d", k, k);
    }
    restart_node(down);
    tc_assert_converged(NULL, NULL, NULL);
    expect_reader_limits(down, "late", "lpw", 0);
    cr_assert_geq(tc_info_ll(node(down)->port, "raft", "raft_restores"), 1,
                  "the restarted node should have installed a snapshot");

    /* a full restart: every node recovers the users from its snapshot and log */
    tc_drop_leader_conn();
    tc_sigterm_all();
    tc_spawn_all();
    lead = wait_leader();
    for (int i = 0; i < 3; i++) {
        expect_reader_limits(i, "reader", "rpw", i == lead);
        expect_reader_limits(i, "late", "lpw", i == lead);
    }
    tc_stop_cleanly();
}

/* Password changes and deletions made on the leader reach the followers; writes of ACL
 * users on a follower are redirected like any write; GETUSER has Redis 7.0's shape. */
Test(acl_cluster, changes_and_deletions_propagate)
{
    start_cluster(NULL);
    int lead = wait_leader();
    int f = (lead + 1) % 3;
    int fport = node(f)->port;
    leader_ok("ACL SETUSER u on >a ~* +@all");
    wait_reply(fport, "u", "a", "PING", "+PONG");
    expect_reply(fport, NULL, NULL, "ACL SETUSER v on", "-MOVED");
    expect_reply(fport, NULL, NULL, "ACL DELUSER u", "-MOVED");
    leader_ok("ACL SETUSER u resetpass >b");
    wait_reply(fport, "u", "b", "PING", "+PONG");
    expect_reply(fport, "u", "a", "PING", "(auth failed)");
    expect_reply(fport, NULL, NULL, "HELLO 2 AUTH u b", "(type 2)"); /* the HELLO map, RESP2 array */
    expect_reply(fport, NULL, NULL, "HELLO 2 AUTH u a", "-WRONGPASS");

    redisContext *c = fx_connect(node(lead)->port);
    redisReply *r = fx_cmd(c, "ACL GETUSER u");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 12);
    cr_assert_str_eq(r->element[0]->str, "flags");
    cr_assert_str_eq(r->element[2]->str, "passwords");
    cr_assert_eq(r->element[3]->elements, 1);
    cr_assert_str_eq(r->element[4]->str, "commands");
    cr_assert_str_eq(r->element[5]->str, "+@all");
    cr_assert_str_eq(r->element[7]->str, "~*");
    freeReplyObject(r);
    fx_check_integer(c, 1, "ACL DELUSER u nosuch");
    fx_check_error(c, "ERR The 'default' user cannot be removed", "ACL DELUSER default");
    redisFree(c);
    wait_reply(fport, "u", "b", "PING", "(auth failed)");
    tc_stop_cleanly();
}

/* With CLUSTER forbidden to the default user, a node still joins (CLUSTER JOIN and SETNODE
 * go through peer.c as the peer user), while default gets -NOPERM for CLUSTER. */
Test(acl_cluster, peers_work_when_default_is_restricted)
{
    start_cluster(NULL);
    int lead = wait_leader();
    leader_ok("ACL SETUSER root on >rootpw ~* &* +@all");
    leader_ok("ACL SETUSER default -cluster");
    int lport = node(lead)->port;
    expect_reply(lport, NULL, NULL, "CLUSTER NODES", "-NOPERM this user has no permissions to run the 'cluster' command");

    char proof[PEERAUTH_JOIN_PROOF_SIZE];
    peerauth_join_proof(FX_CLUSTER_SECRET, 0, "__cluster", "", "", proof);
    char got[512];
    run_as(lport, "__cluster", proof, "ACL WHOAMI", got, sizeof(got));
    cr_assert_str_eq(got, "nil", "the peer user is no ACL user");
    run_as(lport, "__cluster", "wrong", "PING", got, sizeof(got));
    cr_assert_str_eq(got, "(auth failed)");

    tc_start_new_node(4, lport);
    int64_t end = fx_now_ms() + TC_CHANGE_MS;
    int voters = 0;
    while (fx_now_ms() < end && voters < 4) {
        redisContext *c = connect_as(lport, "root", "rootpw");
        redisReply *r = c ? redisCommand(c, "CLUSTER NODES") : NULL;
        voters = 0;
        for (const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : ""; (p = strchr(p, '\n')) != NULL; p++)
            voters++;
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (voters < 4)
            usleep(100 * 1000);
    }
    cr_assert_eq(voters, 4, "node 4 did not join while default may not run CLUSTER");
    /* node 4 applied the log: its default user is restricted too */
    wait_reply(tc_node(4)->port, NULL, NULL, "CLUSTER INFO", "-NOPERM");
    tc_stop_all();
}

/* An aclfile seeds the users of a new cluster once: a later restart with another file does
 * not replace them, ACL LOAD does; a bad file stops startup naming the option. */
Test(acl_cluster, aclfile_seeds_once)
{
    char *dir = fx_tmpdir_new("aclfile");
    char path[512];
    snprintf(path, sizeof(path), "%s/users.acl", dir);
    FILE *fp = fopen(path, "w");
    cr_assert_not_null(fp);
    fprintf(fp, "# seed\nuser seeded on >spw ~s:* +@all\n");
    fclose(fp);
    const char *const args[] = {"--aclfile", path, NULL};
    struct fx_server *s = fx_server_new(1, args);
    cr_assert_eq(fx_server_start(s), 0);
    wait_reply(s->port, "seeded", "spw", "SET s:1 v", "+OK");
    expect_reply(s->port, "seeded", "spw", "SET t:1 v", "-NOPERM");

    fp = fopen(path, "w");
    fprintf(fp, "user other on >opw +@all ~*\n");
    fclose(fp);
    cr_assert_eq(fx_server_stop(s), 0);
    cr_assert_eq(fx_server_start(s), 0);
    wait_reply(s->port, "seeded", "spw", "PING", "+PONG");
    expect_reply(s->port, "other", "opw", "PING", "(auth failed)");
    expect_reply(s->port, NULL, NULL, "ACL LOAD", "+OK");
    wait_reply(s->port, "other", "opw", "PING", "+PONG");
    expect_reply(s->port, "seeded", "spw", "PING", "(auth failed)");

    fp = fopen(path, "w");
    fprintf(fp, "user broken on +nosuchcommand\n");
    fclose(fp);
    expect_reply(s->port, NULL, NULL, "ACL LOAD", "-ERR");
    expect_reply(s->port, "other", "opw", "PING", "+PONG");
    cr_assert_eq(fx_server_stop(s), 0);
    fx_server_free(s);
    fx_rm_rf(dir);
    free(dir);
}

/* Whether PORT's newest ACL LOG entry is a denial in a script of OBJECT for USER. */
static int last_lua_denial_is(int port, const char *object, const char *user)
{
    redisContext *c = fx_try_connect(port);
    redisReply *r = c ? redisCommand(c, "ACL LOG 1") : NULL;
    int ok = r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 10 &&
             strcmp(r->element[0]->element[5]->str, "lua") == 0 &&
             strcmp(r->element[0]->element[7]->str, object) == 0 &&
             strcmp(r->element[0]->element[9]->str, user) == 0;
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

/* A script runs its commands with its caller's permissions on every node: the refused SET
 * writes nothing anywhere and the allowed INCR is applied everywhere (one digest), every
 * node's ACL LOG records the refusal (apply checks it, from the user the entry carries), and
 * EVAL_RO is checked against the connection's user on the leader. */
Test(acl_cluster, scripts_run_with_the_callers_permissions)
{
    start_cluster(NULL);
    int lead = wait_leader();
    int lport = node(lead)->port;
    leader_ok("ACL SETUSER s on >spw ~* +@all -set");
    leader_ok("ACL SETUSER r on >rpw ~app:* +@all");
    wait_reply(lport, "s", "spw", "EVAL return(redis.call('incr','n')) 0", ":1");
    expect_reply(lport, "s", "spw", "EVAL return(redis.call('set','k','v')) 0",
                 "-ERR The user executing the script can't run this command or subcommand script: ");
    expect_reply(lport, "r", "rpw", "EVAL_RO return(redis.call('get','other')) 0",
                 "-ERR The user executing the script can't access at least one of the keys");
    expect_reply(lport, "r", "rpw", "EVAL_RO return(redis.call('get','app:1')) 0", "nil");
    expect_reply(lport, NULL, NULL, "EXISTS k", ":0");
    tc_assert_converged(NULL, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        if (i == lead)
            continue;
        int64_t end = fx_now_ms() + ACL_WAIT_MS;
        while (!last_lua_denial_is(node(i)->port, "set", "s") && fx_now_ms() < end)
            usleep(50 * 1000);
        cr_assert(last_lua_denial_is(node(i)->port, "set", "s"),
                  "node %d: no ACL LOG entry for the script's refused SET", i);
    }
    tc_stop_cleanly();
}

/* acl-pubsub-default: the leader's value when a user is created goes with the entry, so a
 * follower with the other value makes the same user (ACL DRYRUN of a PUBLISH on it). */
Test(acl_cluster, pubsub_default_is_the_proposers)
{
    start_cluster(NULL);
    int lead = wait_leader();
    int f = (lead + 1) % 3, lport = node(lead)->port, fport = node(f)->port;
    expect_reply(lport, NULL, NULL, "CONFIG SET acl-pubsub-default allchannels", "+OK");
    expect_reply(fport, NULL, NULL, "CONFIG GET acl-pubsub-default", "(type 2)");
    leader_ok("ACL SETUSER pall on nopass +@all");
    wait_reply(fport, NULL, NULL, "ACL DRYRUN pall PUBLISH news hi", "+OK");
    expect_reply(lport, NULL, NULL, "ACL SETUSER pbad &news",
                 "-ERR Error in ACL SETUSER modifier '&news': Adding a pattern after the * pattern");
    expect_reply(lport, NULL, NULL, "CONFIG SET acl-pubsub-default resetchannels", "+OK");
    expect_reply(fport, NULL, NULL, "CONFIG SET acl-pubsub-default allchannels", "+OK");
    leader_ok("ACL SETUSER pnone on nopass +@all");
    wait_reply(fport, NULL, NULL, "ACL DRYRUN pnone PING", "+OK");
    expect_reply(fport, NULL, NULL, "ACL DRYRUN pnone PUBLISH news hi", "$This user has no permissions");
    expect_reply(lport, NULL, NULL, "ACL DRYRUN pall PUBLISH news hi", "+OK");
    expect_reply(lport, NULL, NULL, "CONFIG SET acl-pubsub-default nosuch", "-ERR");
    tc_stop_cleanly();
}
