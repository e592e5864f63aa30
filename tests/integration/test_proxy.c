/* Integration tests of follower proxying (follower-mode) on real 3-node clusters: a plain
 * client on a follower has its writes and consistent reads forwarded to the leader, pipelined
 * replies in order; MULTI/EXEC, WATCH and BLPOP through a follower; a cluster-aware client
 * and follower-mode moved get -MOVED (EXECABORT after MOVED inside MULTI); a SIGKILLed leader
 * answers the requests in flight -UNCERTAIN (or their real reply), then the follower forwards
 * to the new leader; the follower enforces ACL rules; redis-cli --pipe/--scan/--bigkeys/--memkeys and
 * redis-py against a follower. Every wait polls against a deadline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "tcluster.h"

TestSuite(proxy, .fini = fx_kill_all, .timeout = 180);

static const char *const auto_args[] = {TC_FAST_TIMEOUTS, "--follower-mode", "auto", NULL};

/* Start 3 nodes with ARGS and wait until every node knows the leader's address; return a
 * follower's id, the leader's in *LEADER. */
static int start_cluster(const char *const *args, int *leader)
{
    struct tc_agreement ag;
    tc_start(3, args ? args : auto_args);
    tc_wait_agreement(&ag);
    *leader = (int)ag.leader_id;
    return *leader == 1 ? 2 : 1;
}

static redisContext *connect_node(int id)
{
    return fx_connect(tc_node(id)->port);
}

/* SET/GET/INCR and a pipeline of 1000 mixed commands through a follower: every reply right
 * and in order, local commands (PING, ECHO) interleaved where they were sent. */
Test(proxy, plain_client_on_follower_gets_leader_replies_in_order)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    fx_check_status(c, "OK", "SET k v");
    fx_check_string(c, "v", "GET k");
    fx_check_integer(c, 1, "INCR n");
    fx_check_integer(c, 2, "INCR n");
    fx_check_nil(c, "GET missing");
    fx_check_error(c, "WRONGTYPE Operation against a key holding the wrong kind of value", "LPUSH k x");
    enum { N = 1000 };
    for (int i = 0; i < N; i++) {
        switch (i % 5) {
        case 0: redisAppendCommand(c, "SET p%d %d", i, i); break;
        case 1: redisAppendCommand(c, "GET p%d", i - 1); break;
        case 2: redisAppendCommand(c, "INCR ctr"); break;
        case 3: redisAppendCommand(c, "PING"); break;
        default: redisAppendCommand(c, "ECHO e%d", i); break;
        }
    }
    char want[32];
    long long ctr = 0;
    for (int i = 0; i < N; i++) {
        redisReply *r;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        switch (i % 5) {
        case 0: fx_assert_status(r, "OK"); break;
        case 1: snprintf(want, sizeof(want), "%d", i - 1); fx_assert_string(r, want); break;
        case 2: fx_assert_integer(r, ++ctr); break;
        case 3: fx_assert_status(r, "PONG"); break;
        default: snprintf(want, sizeof(want), "e%d", i); fx_assert_string(r, want); break;
        }
        freeReplyObject(r);
    }
    cr_assert_geq(tc_info_ll(tc_node(f)->port, "stats", "proxied_commands"), 3 * N / 5);
    /* the leader holds what the follower forwarded */
    redisContext *l = connect_node(leader);
    fx_check_string(l, "995", "GET p995");
    redisFree(l);
    redisFree(c);
    tc_stop_cleanly();
}

/* MULTI/EXEC on a follower runs on the leader as one transaction; WATCH aborts on a conflict
 * made on the leader; a command refused at queue time makes EXEC answer EXECABORT. */
Test(proxy, multi_exec_and_watch_on_follower)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    redisContext *l = connect_node(leader);
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t 1");
    fx_check_status(c, "QUEUED", "INCR t");
    fx_check_status(c, "QUEUED", "PING");
    redisReply *r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "EXEC: %s", tc_reply_text(r));
    cr_assert_eq(r->elements, 3);
    fx_assert_status(r->element[0], "OK");
    fx_assert_integer(r->element[1], 2);
    fx_assert_status(r->element[2], "PONG");
    freeReplyObject(r);
    fx_check_string(l, "2", "GET t");

    /* WATCH: a write on the leader between WATCH and EXEC aborts it */
    fx_check_status(c, "OK", "WATCH t");
    fx_check_string(c, "2", "GET t");
    fx_check_status(l, "OK", "SET t changed");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t mine");
    r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_NIL, "EXEC after a conflict: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(l, "changed", "GET t");
    /* ... and without a conflict it runs */
    fx_check_status(c, "OK", "WATCH t");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t mine");
    r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "EXEC: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(l, "mine", "GET t");

    /* an error at queue time (arity, checked here) discards the transaction */
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t other");
    fx_check_error(c, "ERR wrong number of arguments for 'get' command", "GET");
    fx_check_error(c, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    fx_check_string(l, "mine", "GET t");
    /* DISCARD, then plain commands go through the pool again */
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t discarded");
    fx_check_status(c, "OK", "DISCARD");
    fx_check_string(c, "mine", "GET t");
    redisFree(l);
    redisFree(c);
    tc_stop_cleanly();
}

/* BLPOP on a follower blocks on the leader and is woken by an LPUSH there; a command
 * pipelined after it is answered after it. */
Test(proxy, blpop_on_follower_woken_by_push_on_leader)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    redisContext *l = connect_node(leader);
    redisAppendCommand(c, "BLPOP q 0");
    redisAppendCommand(c, "PING");
    int done = 0;
    while (!done)
        cr_assert(redisBufferWrite(c, &done) == REDIS_OK);
    /* wait until the leader has it blocked, then wake it */
    int64_t deadline = fx_now_ms() + 10000;
    while (tc_info_ll(tc_node(leader)->port, "clients", "blocked_clients") < 1)
        cr_assert_lt(fx_now_ms(), deadline, "the BLPOP never blocked on the leader");
    fx_check_integer(l, 1, "LPUSH q hello");
    redisReply *r;
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "%s", c->errstr);
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "BLPOP: %s", tc_reply_text(r));
    cr_assert_eq(r->elements, 2);
    fx_assert_string(r->element[0], "q");
    fx_assert_string(r->element[1], "hello");
    freeReplyObject(r);
    cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "%s", c->errstr);
    fx_assert_status(r, "PONG");
    freeReplyObject(r);
    /* a timed-out BLPOP answers nil, and the client keeps working */
    fx_check_nil(c, "BLPOP q 0.1");
    fx_check_status(c, "OK", "SET after-blpop 1");
    fx_check_string(l, "1", "GET after-blpop");
    redisFree(l);
    redisFree(c);
    tc_stop_cleanly();
}

static bool is_moved(const redisReply *r)
{
    return tc_is_error(r, "MOVED ");
}

/* In auto mode a client that sent CLUSTER SLOTS (or NODES) gets MOVED; proxy mode forwards
 * for it too; moved mode gives MOVED to everyone, inside MULTI at the first keyed command,
 * and EXEC then answers EXECABORT. */
Test(proxy, follower_modes_and_cluster_aware_clients)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *aware = connect_node(f);
    redisContext *plain = connect_node(f);
    redisReply *r = fx_cmd(aware, "CLUSTER SLOTS");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    r = fx_cmd(aware, "SET k v");
    cr_assert(is_moved(r), "a cluster-aware client in auto mode: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_status(plain, "OK", "SET k v");

    fx_check_status(plain, "OK", "CONFIG SET follower-mode proxy");
    fx_check_status(aware, "OK", "SET k v2");
    fx_check_string(aware, "v2", "GET k");

    fx_check_status(plain, "OK", "CONFIG SET follower-mode moved");
    r = fx_cmd(plain, "CONFIG GET follower-mode");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(r->elements, 2);
    fx_assert_string(r->element[1], "moved");
    freeReplyObject(r);
    r = fx_cmd(plain, "GET k");
    cr_assert(is_moved(r), "moved mode: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_status(plain, "OK", "MULTI");
    fx_check_status(plain, "QUEUED", "PING");
    r = fx_cmd(plain, "SET k v3");
    cr_assert(is_moved(r), "SET inside MULTI in moved mode: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_error(plain, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    fx_check_status(plain, "OK", "CONFIG SET follower-mode auto");
    fx_check_string(plain, "v2", "GET k");
    r = fx_cmd(plain, "CONFIG SET follower-mode sometimes");
    cr_assert(r->type == REDIS_REPLY_ERROR, "a bad follower-mode: %s", tc_reply_text(r));
    freeReplyObject(r);
    redisFree(aware);
    redisFree(plain);
    tc_stop_cleanly();
}

/* An ACL-restricted user on a follower is refused by the follower itself (and the denial is
 * in the follower's ACL LOG); what it may run is forwarded; a script it runs through the
 * follower is held to its rules on the leader (CLUSTER ASUSER), and CLUSTER ASUSER from a
 * client is refused. */
Test(proxy, acl_restricted_user_refused_by_follower)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *l = connect_node(leader);
    fx_check_status(l, "OK", "ACL SETUSER reader on >pw ~* +get +auth +eval +multi +exec");
    fx_check_status(l, "OK", "SET k v");
    redisContext *c = connect_node(f);
    int64_t deadline = fx_now_ms() + 10000;
    for (;;) { /* until the follower applied the user */
        redisReply *r = fx_cmd(c, "AUTH reader pw");
        bool ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (ok)
            break;
        cr_assert_lt(fx_now_ms(), deadline, "the user never reached the follower");
        usleep(20000);
    }
    redisReply *r = fx_cmd(c, "SET k mine");
    cr_assert(tc_is_error(r, "NOPERM "), "SET by a user without +set: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(c, "v", "GET k");
    fx_check_string(l, "v", "GET k");
    r = fx_cmd(c, "EVAL %s 1 k", "return redis.call('set', KEYS[1], 'script')");
    cr_assert(tc_is_error(r, "ERR The user executing the script can't run this command"),
              "a script's SET by a user without +set, through the follower: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_string(c, "v", "EVAL %s 1 k", "return redis.call('get', KEYS[1])");
    fx_check_string(l, "v", "GET k");
    fx_check_error(l, "ERR CLUSTER ASUSER is for cluster nodes only", "CLUSTER ASUSER default");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "EVAL %s 1 k", "return redis.call('set', KEYS[1], 'multi')");
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 1, "EXEC: %s", tc_reply_text(r));
    cr_assert(tc_is_error(r->element[0], "ERR The user executing the script can't run this command"),
              "a script's SET inside MULTI: %s", tc_reply_text(r->element[0]));
    freeReplyObject(r);
    fx_check_string(l, "v", "GET k");
    redisContext *d = connect_node(f);
    r = fx_cmd(d, "ACL LOG");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
    cr_assert_geq(r->elements, 1, "the follower logged no denial");
    freeReplyObject(r);
    redisFree(d);
    redisFree(c);
    redisFree(l);
    tc_stop_cleanly();
}

/* A reply is what a forwarded INCR may answer when the leader dies under it: its value, or an
 * error saying it may not have been applied (UNCERTAIN) or was not (TRYAGAIN, CLUSTERDOWN). */
static bool is_outcome_error(const redisReply *r)
{
    return tc_is_error(r, "UNCERTAIN ") || tc_is_error(r, "TRYAGAIN ") || tc_is_error(r, "CLUSTERDOWN ");
}

/* SIGKILL of the leader with INCRs in flight through a follower: each answers its value or an
 * outcome error, never a wrong value (the values that come back only grow, and the final
 * count lies between the acknowledged ones and all that were sent); after the election the
 * follower forwards to the new leader. */
Test(proxy, leader_killed_in_flight_answers_uncertain_then_new_leader)
{
    const char *const args[] = {TC_FAST_TIMEOUTS, "--follower-mode", "auto", "--request-timeout", "3000", NULL};
    int leader, f = start_cluster(args, &leader);
    redisContext *c = connect_node(f);
    fx_check_integer(c, 1, "INCR n");
    enum { N = 400 };
    /* a first half answered, then the leader stops with the second half forwarded to it */
    for (int i = 0; i < N / 2; i++)
        redisAppendCommand(c, "INCR n");
    long long last = 1, acked = 1;
    int errors = 0, uncertain = 0;
    for (int i = 0; i < N; i++) {
        if (i == N / 2) {
            long long before = tc_info_ll(tc_node(f)->port, "stats", "proxied_commands");
            tc_pause(leader);
            for (int j = N / 2; j < N; j++)
                redisAppendCommand(c, "INCR n");
            int done = 0;
            while (!done)
                cr_assert(redisBufferWrite(c, &done) == REDIS_OK);
            int64_t deadline = fx_now_ms() + 10000;
            while (tc_info_ll(tc_node(f)->port, "stats", "proxied_commands") < before + 16)
                cr_assert_lt(fx_now_ms(), deadline, "the follower forwarded nothing");
            fx_server_kill(tc_node(leader));
        }
        redisReply *r;
        cr_assert(redisGetReply(c, (void **)&r) == REDIS_OK, "reply %d: %s", i, c->errstr);
        if (r->type == REDIS_REPLY_INTEGER) {
            cr_assert_gt(r->integer, last, "reply %d: INCR answered %lld after %lld", i, r->integer, last);
            last = r->integer;
            acked++;
        } else {
            cr_assert(i >= N / 2, "reply %d, before the leader stopped: %s", i, tc_reply_text(r));
            cr_assert(is_outcome_error(r), "reply %d: %s", i, tc_reply_text(r));
            errors++;
            uncertain += tc_is_error(r, "UNCERTAIN ");
        }
        freeReplyObject(r);
    }
    cr_assert_geq(uncertain, 1, "no request in flight answered UNCERTAIN");
    cr_log_info("%lld acknowledged, %d outcome errors (%d UNCERTAIN)", acked, errors, uncertain);
    /* the follower forwards to the new leader once there is one */
    int64_t deadline = fx_now_ms() + 20000;
    for (;;) {
        redisReply *r = fx_cmd(c, "SET after-failover yes");
        bool ok = r->type == REDIS_REPLY_STATUS;
        if (!ok)
            cr_assert(is_outcome_error(r) || is_moved(r), "SET after the kill: %s", tc_reply_text(r));
        freeReplyObject(r);
        if (ok)
            break;
        cr_assert_lt(fx_now_ms(), deadline, "no new leader took the forwarded SET");
        usleep(50000);
    }
    redisReply *r = fx_cmd(c, "GET n");
    cr_assert_eq(r->type, REDIS_REPLY_STRING, "GET n: %s", tc_reply_text(r));
    long long n = atoll(r->str);
    freeReplyObject(r);
    cr_assert_geq(n, last, "the counter went back: %lld after %lld was acknowledged", n, last);
    cr_assert_leq(n, 1 + N, "more increments than were sent: %lld", n);
    int newl = tc_wait_leader();
    cr_assert_neq(newl, leader);
    redisContext *nl = connect_node(newl);
    fx_check_string(nl, "yes", "GET after-failover");
    redisFree(nl);
    /* the node that follows now forwards a new client's write to the new leader */
    int g = 6 - leader - newl;
    long long before = tc_info_ll(tc_node(g)->port, "stats", "proxied_commands");
    redisContext *gc = connect_node(g);
    deadline = fx_now_ms() + 20000;
    for (;;) {
        redisReply *w = fx_cmd(gc, "SET via-follower %d", g);
        bool ok = w->type == REDIS_REPLY_STATUS;
        freeReplyObject(w);
        if (ok)
            break;
        cr_assert_lt(fx_now_ms(), deadline, "node %d never forwarded to the new leader", g);
        usleep(50000);
    }
    cr_assert_gt(tc_info_ll(tc_node(g)->port, "stats", "proxied_commands"), before);
    redisFree(gc);
    redisFree(c);
    tc_stop_all();
}

/* The leader SIGKILLed inside a transaction begun on a follower: EXEC answers EXECABORT (the
 * follower knew the connection was lost) or UNCERTAIN (EXEC was sent first), never a partial
 * run; the queued SET is not applied; the next transaction works once a leader is elected. */
Test(proxy, leader_killed_inside_multi_aborts_the_transaction)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    fx_check_status(c, "OK", "SET t before");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t inside");
    fx_server_kill(tc_node(leader));
    redisReply *r = fx_cmd(c, "EXEC");
    cr_assert(tc_is_error(r, "EXECABORT Transaction discarded because of previous errors.") ||
                  tc_is_error(r, "UNCERTAIN "),
              "EXEC after the leader died: %s", tc_reply_text(r));
    bool uncertain = tc_is_error(r, "UNCERTAIN ");
    freeReplyObject(r);
    int64_t deadline = fx_now_ms() + 20000;
    for (;;) { /* a new leader, reached through the follower (or the follower leads) */
        r = fx_cmd(c, "MULTI"); /* -TRYAGAIN while the dead leader is still believed in */
        bool began = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (!began) {
            cr_assert_lt(fx_now_ms(), deadline, "no MULTI reached a leader after the failover");
            usleep(50000);
            continue;
        }
        r = fx_cmd(c, "GET t");
        bool queued = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        r = fx_cmd(c, "EXEC");
        bool ran = queued && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
        if (ran && !uncertain)
            fx_assert_string(r->element[0], "before"); /* EXECABORT: SET t inside never ran */
        freeReplyObject(r);
        if (ran)
            break;
        cr_assert_lt(fx_now_ms(), deadline, "no transaction ran after the failover");
        usleep(50000);
    }
    redisFree(c);
    tc_stop_all();
}

/* A WATCH confirmed by a leader that then dies is lost with it: the transaction it guards
 * ends in EXECABORT (the follower cannot know whether the key changed), not run unwatched. */
Test(proxy, watch_lost_with_the_leader_aborts_the_transaction)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    fx_check_status(c, "OK", "SET t before");
    fx_check_status(c, "OK", "WATCH t");
    fx_server_kill(tc_node(leader));
    int newl = tc_wait_leader(); /* by then the follower has seen the connection close */
    cr_assert_neq(newl, leader);
    fx_check_status(c, "OK", "MULTI");
    redisReply *r = fx_cmd(c, "SET t unwatched");
    cr_assert(r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR, "SET: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_error(c, "EXECABORT Transaction discarded because of previous errors.", "EXEC");
    redisContext *nl = connect_node(newl);
    fx_check_string(nl, "before", "GET t");
    redisFree(nl);
    /* the next transaction is an ordinary one again */
    int64_t deadline = fx_now_ms() + 20000;
    for (;;) {
        r = fx_cmd(c, "MULTI");
        bool began = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        if (began) {
            r = fx_cmd(c, "SET t after");
            freeReplyObject(r);
            r = fx_cmd(c, "EXEC");
            bool ran = r->type == REDIS_REPLY_ARRAY;
            freeReplyObject(r);
            if (ran)
                break;
        }
        cr_assert_lt(fx_now_ms(), deadline, "no transaction ran after the failover");
        usleep(50000);
    }
    redisFree(c);
    tc_stop_all();
}

/* Run the shell command CMD; its exit status (0: success), its stdout into OUT (CAP bytes). */
static int run_sh(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    size_t len = 0, n;
    cr_assert(p != NULL, "popen %s", cmd);
    while (len + 1 < cap && (n = fread(out + len, 1, cap - 1 - len, p)) > 0)
        len += n;
    out[len] = '\0';
    char sink[4096];
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    int st = pclose(p);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* redis-cli --pipe of a few thousand SETs, --scan, --bigkeys and --memkeys against a follower, and a
 * plain redis-py client (when python3-redis is installed). */
Test(proxy, redis_cli_and_redis_py_against_follower)
{
    int leader, f = start_cluster(NULL, &leader);
    int port = tc_node(f)->port;
    char cmd[512], out[8192];
    enum { N = 3000 };
    snprintf(cmd, sizeof(cmd),
             "for i in $(seq 1 %d); do printf 'SET pipe:%%s %%s\\r\\n' $i $i; done | "
             "timeout 60 redis-cli -p %d --pipe", N, port);
    cr_assert_eq(run_sh(cmd, out, sizeof(out)), 0, "redis-cli --pipe: %s", out);
    snprintf(cmd, sizeof(cmd), "errors: 0, replies: %d", N);
    cr_assert(strstr(out, cmd) != NULL, "redis-cli --pipe: %s", out);
    redisContext *l = connect_node(leader);
    fx_check_string(l, "2999", "GET pipe:2999");
    redisFree(l);

    snprintf(cmd, sizeof(cmd), "timeout 60 redis-cli -p %d --scan --pattern 'pipe:*' | wc -l", port);
    cr_assert_eq(run_sh(cmd, out, sizeof(out)), 0, "redis-cli --scan: %s", out);
    cr_assert_eq(atoi(out), N, "redis-cli --scan listed %s keys", out);

    snprintf(cmd, sizeof(cmd), "timeout 60 redis-cli -p %d --bigkeys 2>&1", port);
    cr_assert_eq(run_sh(cmd, out, sizeof(out)), 0, "redis-cli --bigkeys: %s", out);
    cr_assert(strstr(out, "Biggest string found") != NULL, "redis-cli --bigkeys: %s", out);
    /* --memkeys sizes every key with MEMORY USAGE: none may weigh 0 bytes */
    snprintf(cmd, sizeof(cmd), "timeout 60 redis-cli -p %d --memkeys 2>&1", port);
    cr_assert_eq(run_sh(cmd, out, sizeof(out)), 0, "redis-cli --memkeys: %s", out);
    char strings[48], zero[48];
    snprintf(strings, sizeof(strings), "%d strings with ", N);
    snprintf(zero, sizeof(zero), "%d strings with 0 bytes", N);
    cr_assert(strstr(out, strings) != NULL && strstr(out, zero) == NULL && strstr(out, "has 0 bytes") == NULL,
              "redis-cli --memkeys: %s", out);

    if (run_sh("/usr/bin/python3 -c 'import redis' 2>&1", out, sizeof(out)) != 0) {
        cr_log_warn("python3-redis is not installed: the redis-py check is skipped");
    } else {
        snprintf(cmd, sizeof(cmd),
                 "/usr/bin/python3 -c \"\n"
                 "import redis\n"
                 "r = redis.Redis(port=%d)\n"
                 "assert r.set('py', 'one')\n"
                 "assert r.get('py') == b'one'\n"
                 "p = r.pipeline(transaction=True)\n"
                 "p.incr('pyn'); p.incr('pyn'); p.get('py')\n"
                 "assert p.execute() == [1, 2, b'one'], 'pipeline'\n"
                 "p = r.pipeline(transaction=False)\n"
                 "for i in range(200): p.set('py%%d' %% i, i)\n"
                 "assert all(p.execute())\n"
                 "assert r.get('py199') == b'199'\n"
                 "print('ok')\n\" 2>&1", port);
        cr_assert_eq(run_sh(cmd, out, sizeof(out)), 0, "redis-py: %s", out);
    }
    tc_stop_cleanly();
}

/* A follower forwards a client's commands in the client's database: SELECT 3 on the follower,
 * then writes and a transaction land in database 3 of the leader; a SELECT inside a forwarded
 * MULTI is refused and EXEC aborts (the leader would switch databases inside it). */
Test(proxy, forwarded_commands_run_in_the_clients_database)
{
    int leader, f = start_cluster(NULL, &leader);
    redisContext *c = connect_node(f);
    redisContext *l = connect_node(leader);
    fx_check_status(c, "OK", "SELECT 3");
    fx_check_status(c, "OK", "SET indb3 v3");
    fx_check_string(c, "v3", "GET indb3");
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "INCR ctr3");
    redisReply *r = fx_cmd(c, "EXEC");
    cr_assert_eq(r->type, REDIS_REPLY_ARRAY, "EXEC: %s", tc_reply_text(r));
    freeReplyObject(r);
    fx_check_nil(l, "GET indb3");
    fx_check_status(l, "OK", "SELECT 3");
    fx_check_string(l, "v3", "GET indb3");
    fx_check_string(l, "1", "GET ctr3");
    /* back in database 0 on the same follower connection */
    fx_check_status(c, "OK", "SELECT 0");
    fx_check_nil(c, "GET indb3");
    fx_check_status(c, "OK", "SET indb0 v0");
    fx_check_nil(l, "GET indb0");
    /* SELECT inside a forwarded transaction */
    fx_check_status(c, "OK", "MULTI");
    fx_check_status(c, "QUEUED", "SET t1 x");
    r = fx_cmd(c, "SELECT 1");
    cr_assert_eq(r->type, REDIS_REPLY_ERROR, "SELECT in MULTI: %s", tc_reply_text(r));
    freeReplyObject(r);
    r = fx_cmd(c, "EXEC");
    cr_assert(r->type == REDIS_REPLY_ERROR && strncmp(r->str, "EXECABORT", 9) == 0, "EXEC: %s",
              tc_reply_text(r));
    freeReplyObject(r);
    fx_check_status(l, "OK", "SELECT 0");
    fx_check_nil(l, "GET t1");
    fx_check_string(l, "v0", "GET indb0");
    redisFree(l);
    redisFree(c);
    tc_stop_cleanly();
}

/* A follower's MONITOR shows the commands its clients send that it forwards, with their
 * database, as it shows the ones it runs itself. */
Test(proxy, follower_monitor_shows_forwarded_commands)
{
    int leader, f = start_cluster(NULL, &leader);
    int fd = fx_raw_connect(tc_node(f)->port);
    fx_raw_send_str(fd, "MONITOR\r\n");
    fx_raw_expect(fd, "+OK\r\n", 5000);
    redisContext *c = connect_node(f);
    fx_check_status(c, "OK", "SELECT 2");
    fx_check_status(c, "OK", "SET monkey v");
    fx_check_string(c, "v", "GET monkey");
    cr_assert_gt(tc_info_ll(tc_node(f)->port, "stats", "proxied_commands"), 0);
    static char buf[16384];
    size_t len = 0;
    const char *want = "[2 ";
    int64_t deadline = fx_now_ms() + 10000;
    buf[0] = '\0';
    while (strstr(buf, "\"SET\" \"monkey\" \"v\"") == NULL || strstr(buf, "\"GET\" \"monkey\"") == NULL) {
        int64_t left = deadline - fx_now_ms();
        cr_assert(left > 0 && len + 1 < sizeof(buf), "the monitor saw: %s", buf);
        struct fx_raw_result r = fx_raw_read(fd, buf + len, sizeof(buf) - 1 - len, 1, NULL, (int)left);
        cr_assert(!r.eof, "the monitor was closed: %s", buf);
        len += r.len;
        buf[len] = '\0';
    }
    cr_assert(strstr(buf, want) != NULL, "no database 2 in: %s", buf);
    close(fd);
    redisFree(c);
    tc_stop_cleanly();
}
