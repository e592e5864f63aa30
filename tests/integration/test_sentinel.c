/* Integration tests of Sentinel discovery on a real 3-node cluster (free loopback ports, temp
 * dirs): the SENTINEL replies on the leader and on both followers name the leader as the
 * master of cluster-name, its followers as replicas and the other nodes as sentinels; an
 * unknown name gets nil or Redis's error; a subscriber to +switch-master on a follower hears
 * the switch after CLUSTER TRANSFER; a node's sentinel-port answers only what a Sentinel
 * does. Every wait polls against a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <criterion/criterion.h>

#include "cluster_suite.h"
#include "fixture.h"
#include "tcluster.h"

TestSuite(sentinel, .fini = fx_kill_all, .timeout = 120);

/* The value of FIELD in the flat field-value list R, or NULL. */
static const char *field(const redisReply *r, const char *name)
{
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1]->type == REDIS_REPLY_STRING ? r->element[i + 1]->str : NULL;
    return NULL;
}

static long long field_ll(const redisReply *r, const char *name)
{
    const char *v = field(r, name);
    return v ? atoll(v) : -1;
}

static void runid_of(char out[41], int id)
{
    snprintf(out, 41, "%040x", id);
}

/* Every node knows every node's RESP address (the followers announce theirs after start). */
static bool addresses_known(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        redisReply *r = tc_port_cmd(node(i)->port, "SENTINEL master mymaster");
        bool ok = field_ll(r, "num-slaves") == 2 && field_ll(r, "num-other-sentinels") == 2;
        if (r)
            freeReplyObject(r);
        if (!ok)
            return false;
    }
    return true;
}

/* The 3-node cluster with every node agreeing on the leader and knowing every address; the
 * leader's index. */
static int start_agreed(void)
{
    struct tc_agreement ag;
    start_cluster(NULL);
    wait_leader();
    tc_wait_agreement(&ag);
    cr_assert(fx_wait_until(addresses_known, NULL, TC_CONVERGE_MS), "the nodes' addresses were not all announced");
    return (int)ag.leader_id - 1;
}

/* What node I says of the master: get-master-addr-by-name, MASTERS, MASTER. */
static void assert_master_is(int i, int leader)
{
    char runid[41];
    redisReply *r = tc_port_cmd(node(i)->port, "SENTINEL get-master-addr-by-name mymaster");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "node %d: %s", i, tc_reply_text(r));
    cr_assert_str_eq(r->element[0]->str, "127.0.0.1");
    cr_assert_eq(atoi(r->element[1]->str), node(leader)->port, "node %d names port %s, leader is %d", i,
                 r->element[1]->str, node(leader)->port);
    freeReplyObject(r);

    runid_of(runid, leader + 1);
    r = tc_port_cmd(node(i)->port, "SENTINEL masters");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "node %d: %s", i, tc_reply_text(r));
    const redisReply *m = r->element[0];
    cr_assert_eq(m->elements % 2, 0);
    cr_assert_str_eq(m->element[0]->str, "name", "the first field is the name");
    cr_assert_str_eq(field(m, "name"), "mymaster");
    cr_assert_str_eq(field(m, "ip"), "127.0.0.1");
    cr_assert_eq(field_ll(m, "port"), node(leader)->port);
    cr_assert_str_eq(field(m, "runid"), runid);
    cr_assert_str_eq(field(m, "flags"), "master");
    cr_assert_str_eq(field(m, "role-reported"), "master");
    cr_assert_eq(field_ll(m, "num-slaves"), 2);
    cr_assert_eq(field_ll(m, "num-other-sentinels"), 2);
    cr_assert_eq(field_ll(m, "quorum"), 2);
    cr_assert_geq(field_ll(m, "config-epoch"), 1);
    freeReplyObject(r);

    r = tc_port_cmd(node(i)->port, "SENTINEL master mymaster");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY, "node %d: %s", i, tc_reply_text(r));
    cr_assert_eq(field_ll(r, "port"), node(leader)->port);
    cr_assert_str_eq(field(r, "flags"), "master");
    freeReplyObject(r);
}

/* REPLICAS (and SLAVES) on node I: the two followers of LEADER, linked to it. */
static void assert_replicas(int i, int leader, const char *sub)
{
    int seen = 0;
    redisReply *r = tc_port_cmd(node(i)->port, "SENTINEL %s mymaster", sub);
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "node %d %s: %s", i, sub, tc_reply_text(r));
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *s = r->element[k];
        char name[64], runid[41];
        int port = (int)field_ll(s, "port"), j;
        for (j = 0; j < 3 && node(j)->port != port; j++)
            ;
        cr_assert(j < 3 && j != leader, "node %d: replica port %d is not a follower's", i, port);
        seen |= 1 << j;
        snprintf(name, sizeof(name), "127.0.0.1:%d", port);
        runid_of(runid, j + 1);
        cr_assert_str_eq(field(s, "name"), name);
        cr_assert_str_eq(field(s, "runid"), runid);
        cr_assert_str_eq(field(s, "flags"), "slave");
        cr_assert_str_eq(field(s, "master-link-status"), "ok");
        cr_assert_str_eq(field(s, "master-host"), "127.0.0.1");
        cr_assert_eq(field_ll(s, "master-port"), node(leader)->port);
        cr_assert_geq(field_ll(s, "slave-repl-offset"), 1);
    }
    cr_assert_eq(seen, 7 & ~(1 << leader), "both followers listed once");
    freeReplyObject(r);
}

/* SENTINELS on node I: the two other nodes, whoever leads. */
static void assert_sentinels(int i)
{
    int seen = 0;
    redisReply *r = tc_port_cmd(node(i)->port, "SENTINEL sentinels mymaster");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "node %d: %s", i, tc_reply_text(r));
    for (size_t k = 0; k < r->elements; k++) {
        const redisReply *s = r->element[k];
        char runid[41];
        int port = (int)field_ll(s, "port"), j;
        for (j = 0; j < 3 && node(j)->port != port; j++)
            ;
        cr_assert(j < 3 && j != i, "node %d: sentinel port %d", i, port);
        seen |= 1 << j;
        runid_of(runid, j + 1);
        cr_assert_str_eq(field(s, "name"), runid);
        cr_assert_str_eq(field(s, "runid"), runid);
        cr_assert_str_eq(field(s, "flags"), "sentinel");
        cr_assert_str_eq(field(s, "ip"), "127.0.0.1");
    }
    cr_assert_eq(seen, 7 & ~(1 << i));
    freeReplyObject(r);
}

Test(sentinel, replies_on_leader_and_followers)
{
    int leader = start_agreed();
    for (int i = 0; i < 3; i++) {
        char runid[41];
        assert_master_is(i, leader);
        assert_replicas(i, leader, "replicas");
        assert_replicas(i, leader, "slaves");
        assert_sentinels(i);
        runid_of(runid, i + 1);
        redisReply *r = tc_port_cmd(node(i)->port, "SENTINEL myid");
        cr_assert(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, runid) == 0, "%s", tc_reply_text(r));
        freeReplyObject(r);
        r = tc_port_cmd(node(i)->port, "SENTINEL ckquorum mymaster");
        cr_assert(r && r->type == REDIS_REPLY_STATUS &&
                  strcmp(r->str, "OK 3 usable Sentinels. Quorum and failover authorization can be reached") == 0,
                  "%s", tc_reply_text(r));
        freeReplyObject(r);
        /* Our leader is not down; asked for a vote, a node names the raft leader of its term. */
        r = tc_port_cmd(node(i)->port, "SENTINEL is-master-down-by-addr 127.0.0.1 %d 0 *", node(leader)->port);
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
        cr_assert(r->element[0]->integer == 0 && strcmp(r->element[1]->str, "*") == 0 && r->element[2]->integer == 0);
        freeReplyObject(r);
        r = tc_port_cmd(node(i)->port, "SENTINEL is-master-down-by-addr 127.0.0.1 %d 7 abc", node(leader)->port);
        runid_of(runid, leader + 1);
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
        cr_assert(r->element[0]->integer == 0 && strcmp(r->element[1]->str, runid) == 0 && r->element[2]->integer >= 1,
                  "node %d: [%lld, %s, %lld]", i, r->element[0]->integer, r->element[1]->str, r->element[2]->integer);
        freeReplyObject(r);
    }
    tc_stop_cleanly();
}

/* R is the error MSG exactly. */
static void expect_error(int port, const char *msg, const char *cmd)
{
    redisReply *r = tc_port_cmd(port, cmd);
    cr_assert(r && r->type == REDIS_REPLY_ERROR && strcmp(r->str, msg) == 0, "%s: %s", cmd, tc_reply_text(r));
    freeReplyObject(r);
}

Test(sentinel, unknown_name_and_bad_arguments)
{
    int leader = start_agreed();
    for (int i = 0; i < 3; i++) {
        int port = node(i)->port;
        redisReply *r = tc_port_cmd(port, "SENTINEL get-master-addr-by-name nosuch");
        cr_assert(r && r->type == REDIS_REPLY_NIL, "node %d: %s", i, tc_reply_text(r));
        freeReplyObject(r);
        for (const char *const *c = (const char *const[]){"SENTINEL master nosuch", "SENTINEL replicas nosuch",
                                                           "SENTINEL slaves nosuch", "SENTINEL sentinels nosuch",
                                                           "SENTINEL ckquorum nosuch", NULL};
             *c; c++)
            expect_error(port, "ERR No such master with that name", *c);
        expect_error(port, "ERR unknown subcommand 'nosuch'. Try SENTINEL HELP.", "SENTINEL nosuch");
        expect_error(port, "ERR wrong number of arguments for 'sentinel|masters' command", "SENTINEL masters x");
        expect_error(port, "ERR wrong number of arguments for 'sentinel|get-master-addr-by-name' command",
                     "SENTINEL get-master-addr-by-name");
        expect_error(port, "ERR wrong number of arguments for 'sentinel' command", "SENTINEL");
        expect_error(port, "ERR wrong number of arguments for 'sentinel|help' command", "SENTINEL help x");
        expect_error(port, "ERR value is not an integer or out of range",
                     "SENTINEL is-master-down-by-addr 127.0.0.1 port 1 *");
        r = tc_port_cmd(port, "SENTINEL is-master-down-by-addr 10.9.9.9 1 1 abc");
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->integer == 0 &&
                  strcmp(r->element[1]->str, "*") == 0, "%s", tc_reply_text(r));
        freeReplyObject(r);
        r = tc_port_cmd(port, "SENTINEL help");
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements > 10 &&
                  strncmp(r->element[0]->str, "SENTINEL <subcommand>", 21) == 0, "%s", tc_reply_text(r));
        freeReplyObject(r);
        r = tc_port_cmd(port, "CONFIG GET cluster-name");
        cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && strcmp(r->element[1]->str, "mymaster") == 0,
                  "%s", tc_reply_text(r));
        freeReplyObject(r);
    }
    assert_master_is(0, leader); /* nothing changed */
    tc_stop_cleanly();
}

/* Node I's port names the master at PORT (get-master-addr-by-name). */
struct master_wait {
    int i, port;
};

static bool master_is(void *arg)
{
    struct master_wait *w = arg;
    redisReply *r = tc_port_cmd(node(w->i)->port, "SENTINEL get-master-addr-by-name mymaster");
    bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && atoi(r->element[1]->str) == w->port;
    if (r)
        freeReplyObject(r);
    return ok;
}

Test(sentinel, switch_master_heard_on_a_follower_after_transfer)
{
    int leader = start_agreed();
    int f = (leader + 1) % 3, to = (leader + 2) % 3;
    char want[160];
    struct timeval tv = {10, 0};

    /* A subscriber on the follower that stays a follower, one on the old leader (pattern). */
    redisContext *sub = fx_connect(node(f)->port), *psub = fx_connect(node(leader)->port);
    redisSetTimeout(sub, tv);
    redisSetTimeout(psub, tv);
    redisReply *r = redisCommand(sub, "SUBSCRIBE +switch-master");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = redisCommand(psub, "PSUBSCRIBE +switch*");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
    freeReplyObject(r);

    r = tc_port_cmd(node(leader)->port, "CLUSTER TRANSFER %d", to + 1);
    cr_assert(r && r->type == REDIS_REPLY_STATUS, "transfer: %s", tc_reply_text(r));
    freeReplyObject(r);

    snprintf(want, sizeof(want), "mymaster 127.0.0.1 %d 127.0.0.1 %d", node(leader)->port, node(to)->port);
    r = NULL;
    cr_assert(redisGetReply(sub, (void **)&r) == REDIS_OK && r, "follower: no message (%s)", sub->errstr);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
    cr_assert_str_eq(r->element[0]->str, "message");
    cr_assert_str_eq(r->element[1]->str, "+switch-master");
    cr_assert_str_eq(r->element[2]->str, want);
    freeReplyObject(r);
    r = NULL;
    cr_assert(redisGetReply(psub, (void **)&r) == REDIS_OK && r, "old leader: no message (%s)", psub->errstr);
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 4, "%s", tc_reply_text(r));
    cr_assert_str_eq(r->element[0]->str, "pmessage");
    cr_assert_str_eq(r->element[2]->str, "+switch-master");
    cr_assert_str_eq(r->element[3]->str, want);
    freeReplyObject(r);
    redisFree(sub);
    redisFree(psub);

    for (int i = 0; i < 3; i++) {
        struct master_wait w = {i, node(to)->port};
        cr_assert(fx_wait_until(master_is, &w, TC_LEADER_MS), "node %d still names another master", i);
    }
    struct tc_agreement ag;
    tc_wait_agreement(&ag);
    cr_assert_eq(ag.leader_id, to + 1);
    for (int i = 0; i < 3; i++) {
        assert_master_is(i, to);
        assert_replicas(i, to, "replicas");
    }
    tc_stop_cleanly();
}

/* One node with its own cluster-name and a sentinel-port: the second listener answers the
 * SENTINEL commands with the RESP port's address, refuses the keyspace as Redis Sentinel
 * does (unknown command), and the RESP port answers SENTINEL too. */
Test(sentinel, sentinel_port_and_cluster_name)
{
    char sport[16];
    snprintf(sport, sizeof(sport), "%d", fx_free_port());
    struct fx_server *s = fx_server_up((const char *const[]){"--cluster-name", "shop", "--sentinel-port", sport, NULL});
    int sp = atoi(sport);
    redisReply *r = tc_port_cmd(sp, "SENTINEL get-master-addr-by-name shop");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && atoi(r->element[1]->str) == s->port,
              "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_port_cmd(sp, "SENTINEL get-master-addr-by-name mymaster");
    cr_assert(r && r->type == REDIS_REPLY_NIL, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_port_cmd(sp, "SENTINEL masters");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 1, "%s", tc_reply_text(r));
    cr_assert_str_eq(field(r->element[0], "name"), "shop");
    cr_assert_eq(field_ll(r->element[0], "num-other-sentinels"), 0);
    cr_assert_eq(field_ll(r->element[0], "num-slaves"), 0);
    freeReplyObject(r);
    expect_error(sp, "ERR unknown command 'GET', with args beginning with: 'x' ", "GET x");
    expect_error(sp, "ERR unknown command 'SET', with args beginning with: 'x' 'y' ", "SET x y");
    r = tc_port_cmd(sp, "PING");
    cr_assert(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_port_cmd(sp, "SUBSCRIBE +switch-master");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_port_cmd(s->port, "SENTINEL master shop");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && field_ll(r, "port") == s->port, "%s", tc_reply_text(r));
    freeReplyObject(r);
    r = tc_port_cmd(s->port, "CONFIG GET cluster-name");
    cr_assert(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && strcmp(r->element[1]->str, "shop") == 0,
              "%s", tc_reply_text(r));
    freeReplyObject(r);
    cr_assert_eq(fx_server_stop(s), 0, "clean exit");
    fx_server_free(s);
}
