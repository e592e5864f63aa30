/* Unit tests of the batching and ordering core of consensus.c, over canonical/raft's own
 * deterministic in-memory fixture (three servers, stub I/O, a fake clock) and a recording
 * callback table: no process, no socket, no disk, no libuv loop. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "command.h"
#include "consensus.h"
#include "fsm.h"
#include "kv.h"

#define N_SERVERS 3
#define TIMEOUT_MS 1000
#define MAX_ANSWERS 64

/* One answer the callback table received: the cookie's number, the RESP text (errors as
 * "-TEXT"), and the leader's last applied index at that moment. */
struct answer {
    int id;
    char text[200];
    uint64_t applied;
};

struct harness {
    struct raft_fixture f;
    struct kv_store *kv[N_SERVERS];
    struct fsm fsm[N_SERVERS];
    struct raft_fsm rf[N_SERVERS];
    struct consensus *cs;
    int64_t now_us;
    int want_flush;
    uint64_t rng;
    struct answer answers[MAX_ANSWERS];
    int nanswers;
    int rounds;          /* ReadIndex rounds the consensus asked to send */
    uint64_t round_term, round_seq;
};

static struct harness h;

static void record(void *cookie, const char *data, size_t len)
{
    cr_assert_lt(h.nanswers, MAX_ANSWERS);
    struct answer *a = &h.answers[h.nanswers++];
    a->id = (int)(uintptr_t)cookie;
    snprintf(a->text, sizeof(a->text), "%.*s", (int)len, data);
    a->text[strcspn(a->text, "\r")] = '\0';
    a->applied = raft_last_applied(raft_fixture_get(&h.f, 0));
}

static void on_reply(void *arg, void *cookie, const char *data, size_t len)
{
    record(cookie, data, len);
}

static void on_error(void *arg, void *cookie, const char *msg)
{
    char text[200];
    snprintf(text, sizeof(text), "-%s", msg);
    record(cookie, text, strlen(text));
}

/* Run the read against the leader's applied keyspace, as the dispatcher does. */
static void on_read(void *arg, void *cookie, const struct command *cmd, struct request *req)
{
    struct buf out;
    buf_init(&out);
    struct exec_ctx ctx = {.kv = h.kv[0], .now_ms = 0, .apply_seq = h.fsm[0].apply_seq,
                           .out = &out, .rng = &h.rng};
    command_exec(cmd, &ctx, req);
    /* "$1\r\nv\r\n" -> "v": the value is what the tests compare. */
    const char *v = out.len > 0 && out.data[0] == '$' ? strchr(out.data, '\n') + 1 : out.data;
    record(cookie, v, out.len - (size_t)(v - out.data));
    buf_close(&out);
}

static void on_want_flush(void *arg)
{
    h.want_flush = 1;
}

/* The dispatcher would send the round to the other voters; the tests answer for them. */
static void on_read_round(void *arg, uint64_t term, uint64_t seq)
{
    h.rounds++;
    h.round_term = term;
    h.round_seq = seq;
}

static int64_t clock_us(void *arg)
{
    return h.now_us;
}

static struct request *req_of(const char *line)
{
    char copy[256], *save = NULL;
    struct request *req = request_new(4);
    snprintf(copy, sizeof(copy), "%s", line);
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
        request_push(req, tok, strlen(tok));
    return req;
}

static void *cookie(int id)
{
    return (void *)(uintptr_t)id;
}

static void write_cmd(int id, const char *line)
{
    consensus_write(h.cs, cookie(id), req_of(line));
}

static void read_cmd(int id, const char *line)
{
    struct request *req = req_of(line);
    consensus_read(h.cs, cookie(id), command_lookup(req->argv[0], req->len[0]), req);
}

/* What the server's loop does after events: propose what was asked for. */
static void flush(void)
{
    if (h.want_flush) {
        h.want_flush = 0;
        consensus_flush(h.cs);
    }
}

/* Step the fixture (a round of messages and disk writes) and let consensus notice. */
static void step(int n)
{
    for (int i = 0; i < n; i++) {
        raft_fixture_step(&h.f);
        consensus_update(h.cs);
        flush();
    }
}

/* Step until nothing is queued or in flight (bounded). */
static void settle(void)
{
    struct consensus_info info;
    flush();
    for (int i = 0; i < 10000; i++) {
        consensus_get_info(h.cs, &info);
        if (info.inflight == 0 && info.queued == 0 && !h.want_flush)
            return;
        step(1);
    }
    cr_assert_fail("consensus did not settle");
}

static const struct answer *answer_of(int id)
{
    for (int i = 0; i < h.nanswers; i++)
        if (h.answers[i].id == id)
            return &h.answers[i];
    return NULL;
}

/* Three fixture servers, server 0 elected; the consensus core runs over server 0. When
 * READY, its election entry has been applied (it serves). With READ_INDEX, read-only batches
 * are confirmed by ReadIndex rounds (the tests ack them), else by barriers. */
static void start_mode(int ready, int read_index)
{
    struct raft_configuration conf;
    memset(&h, 0, sizeof(h));
    h.now_us = 1000000;
    command_init();
    cr_assert_eq(raft_fixture_initialize(&h.f), 0);
    for (int i = 0; i < N_SERVERS; i++) {
        h.kv[i] = kv_new();
        fsm_init(&h.fsm[i], h.kv[i]);
        fsm_set_databases(&h.fsm[i], 16);
        fsm_raft_init(&h.fsm[i], &h.rf[i]);
        h.rf[i].snapshot_async = NULL; /* the stub I/O snapshots synchronously */
        cr_assert_eq(raft_fixture_grow(&h.f, &h.rf[i]), 0);
    }
    cr_assert_eq(raft_fixture_configuration(&h.f, N_SERVERS, &conf), 0);
    cr_assert_eq(raft_fixture_bootstrap(&h.f, &conf), 0);
    raft_configuration_close(&conf);
    cr_assert_eq(raft_fixture_start(&h.f), 0);
    raft_fixture_elect(&h.f, 0);

    struct consensus_params p = {.id = 1, .request_timeout_ms = TIMEOUT_MS,
                                 .resp_addr = "127.0.0.1:7001"};
    struct consensus_callbacks cb = {.reply = on_reply, .error = on_error, .run_read = on_read,
                                     .want_flush = on_want_flush, .mono_us = clock_us,
                                     .read_round = read_index ? on_read_round : NULL};
    h.cs = consensus_new_over(raft_fixture_get(&h.f, 0), &h.fsm[0], &p, &cb);
    consensus_update(h.cs);
    cr_assert(consensus_accepts(h.cs));
    if (ready) {
        settle();
        cr_assert(consensus_is_leader(h.cs));
    }
    if (ready && read_index) {
        /* What the other nodes announce: rounds need their RESP addresses. */
        consensus_propose_node(h.cs, 2, "127.0.0.1:7002", "", NULL, NULL);
        consensus_propose_node(h.cs, 3, "127.0.0.1:7003", "", NULL, NULL);
        settle();
    }
}

static void start(int ready)
{
    start_mode(ready, 0);
}

static void stop(void)
{
    raft_fixture_close(&h.f); /* fails what raft still holds, through the callbacks */
    consensus_free(h.cs);
    for (int i = 0; i < N_SERVERS; i++) {
        fsm_close(&h.fsm[i]);
        kv_free(h.kv[i]);
    }
}

/* A read that arrives while a write is in flight is answered after the next entry, not that
 * write: it sees the write and is answered at a later applied index. */
Test(consensus, read_waits_for_the_next_entry_after_it)
{
    start(1);
    write_cmd(1, "set k v1");
    flush();
    read_cmd(2, "get k");
    settle();
    const struct answer *w = answer_of(1), *r = answer_of(2);
    cr_assert_not_null(w);
    cr_assert_not_null(r);
    cr_assert_str_eq(w->text, "+OK");
    cr_assert_str_eq(r->text, "v1");
    cr_assert_gt(r->applied, w->applied);
    cr_assert_eq(consensus_stats(h.cs)->barriers, 1);
    stop();
}

/* A write that follows a queued read goes into a new entry: the read does not see it. */
Test(consensus, write_after_queued_read_opens_a_new_batch)
{
    start(1);
    long long before = consensus_stats(h.cs)->entries_proposed;
    write_cmd(1, "set k old");
    read_cmd(2, "get k");
    write_cmd(3, "set k new");
    settle();
    cr_assert_eq(consensus_stats(h.cs)->entries_proposed - before, 2);
    cr_assert_str_eq(answer_of(2)->text, "old");
    cr_assert_str_eq(answer_of(3)->text, "+OK");
    stop();
}

/* Interleaved reads and writes, some batched and some in separate entries, are answered in
 * the order they were submitted, each read seeing exactly the writes before it. */
Test(consensus, replies_come_back_in_request_order)
{
    start(1);
    write_cmd(1, "set k a");
    read_cmd(2, "get k");
    flush();
    write_cmd(3, "set k b");
    write_cmd(4, "append k c");
    read_cmd(5, "get k");
    read_cmd(6, "get k");
    step(1);
    write_cmd(7, "set k d");
    read_cmd(8, "get k");
    settle();
    static const char *want[] = {"+OK", "a", "+OK", ":2", "bc", "bc", "+OK", "d"};
    cr_assert_eq(h.nanswers, 8);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(h.answers[i].id, i + 1, "answer %d went to request %d", i, h.answers[i].id);
        cr_assert_str_eq(h.answers[i].text, want[i], "request %d", i + 1);
    }
    stop();
}

/* Leadership lost mid-batch: the proposed write's outcome is unknown (UNCERTAIN), the read
 * and write not yet proposed were never applied (TRYAGAIN); all answered, in order. */
Test(consensus, leadership_lost_answers_every_pending_request)
{
    start(1);
    write_cmd(1, "set k v");
    flush();
    read_cmd(2, "get k");
    write_cmd(3, "set k w");
    raft_fixture_depose(&h.f);
    consensus_update(h.cs);
    cr_assert_not(consensus_accepts(h.cs));
    cr_assert_eq(h.nanswers, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h.answers[i].id, i + 1, "answer %d: request %d %s", i, h.answers[i].id, h.answers[i].text);
    cr_assert(strncmp(answer_of(1)->text, "-UNCERTAIN ", 11) == 0, "%s", answer_of(1)->text);
    cr_assert(strncmp(answer_of(2)->text, "-TRYAGAIN ", 10) == 0, "%s", answer_of(2)->text);
    cr_assert(strncmp(answer_of(3)->text, "-TRYAGAIN ", 10) == 0, "%s", answer_of(3)->text);
    stop();
}

/* A read whose barrier is in flight when leadership is lost was never confirmed: TRYAGAIN. */
Test(consensus, leadership_lost_fails_an_inflight_read_with_tryagain)
{
    start(1);
    read_cmd(1, "get k");
    flush();
    raft_fixture_depose(&h.f);
    consensus_update(h.cs);
    cr_assert_eq(h.nanswers, 1);
    cr_assert(strncmp(answer_of(1)->text, "-TRYAGAIN ", 10) == 0, "%s", answer_of(1)->text);
    stop();
}

/* Requests that cannot commit (the leader is cut off) are answered TIMEOUT once
 * request-timeout has passed: in flight ones "may or may not" apply, queued ones did not. */
Test(consensus, request_timeout_answers_timeout)
{
    start(1);
    for (unsigned i = 1; i < N_SERVERS; i++) {
        raft_fixture_disconnect(&h.f, 0, i);
        raft_fixture_disconnect(&h.f, i, 0);
    }
    const int w = CONSENSUS_MAX_INFLIGHT;
    for (int i = 1; i <= w; i++) {
        write_cmd(i, "set k 1");
        flush();
    }
    read_cmd(w + 1, "get k");      /* the window is full: these wait */
    write_cmd(w + 2, "set k 4"); /* seals the read's batch into the queue */
    flush();
    consensus_cron(h.cs);
    cr_assert_eq(h.nanswers, 0);
    h.now_us += TIMEOUT_MS * 1000 * 3 / 2;
    consensus_cron(h.cs);
    cr_assert_eq(h.nanswers, w + 1);
    for (int i = 1; i <= w; i++)
        cr_assert(strncmp(answer_of(i)->text, "-TIMEOUT the write was not committed", 36) == 0, "%s",
                  answer_of(i)->text);
    cr_assert(strncmp(answer_of(w + 1)->text, "-TIMEOUT ", 9) == 0);
    cr_assert_null(answer_of(w + 2)); /* still open: it was never proposed */
    cr_assert_eq(consensus_stats(h.cs)->timeouts, w + 1);
    stop();
    cr_assert_not_null(answer_of(w + 2)); /* answered at free, as a shutdown */
}

/* A new leader serves nothing before its election entry is applied: a write that arrives
 * first waits in the queue, then is proposed and answered after it. */
Test(consensus, election_entry_gates_serving)
{
    start(0);
    cr_assert_not(consensus_is_leader(h.cs));
    write_cmd(1, "set k v");
    flush();
    struct consensus_info info;
    consensus_get_info(h.cs, &info);
    cr_assert_eq(info.inflight, 1); /* the election entry only */
    cr_assert_eq(info.queued, 1);
    cr_assert_eq(consensus_stats(h.cs)->commands_proposed, 0);
    settle();
    cr_assert(consensus_is_leader(h.cs));
    cr_assert_str_eq(answer_of(1)->text, "+OK");
    const struct fsm_node *self = fsm_node(&h.fsm[0], 1);
    cr_assert_not_null(self);
    cr_assert_str_eq(self->resp, "127.0.0.1:7001");
    stop();
}

/* Two consensus objects live side by side in one process: each answers its own cookies. */
Test(consensus, two_instances_are_independent)
{
    start(1);
    struct consensus_params p = {.id = 2, .request_timeout_ms = TIMEOUT_MS};
    struct consensus_callbacks cb = {.reply = on_reply, .error = on_error, .run_read = on_read,
                                     .want_flush = on_want_flush, .mono_us = clock_us};
    struct fsm other_fsm;
    struct kv_store *other_kv = kv_new();
    fsm_init(&other_fsm, other_kv);
    struct consensus *follower = consensus_new_over(raft_fixture_get(&h.f, 1), &other_fsm, &p, &cb);
    consensus_update(follower);
    cr_assert_not(consensus_accepts(follower));
    cr_assert(consensus_accepts(h.cs));
    cr_assert_eq(consensus_leader(follower, NULL), 1);
    write_cmd(1, "set k v");
    settle();
    cr_assert_str_eq(answer_of(1)->text, "+OK");
    consensus_free(follower);
    fsm_close(&other_fsm);
    kv_free(other_kv);
    stop();
}

/* ---- ReadIndex ---- */

static uint64_t last_index(void)
{
    return raft_last_index(raft_fixture_get(&h.f, 0));
}

/* Voter ID answers yes to the round in flight. */
static void ack(uint64_t id)
{
    consensus_read_ack(h.cs, h.round_seq, h.round_term, id, 0);
    flush();
}

/* Reads are served once one round is acked by a majority, and cost no log entry. */
Test(consensus, read_index_serves_reads_without_a_log_entry)
{
    start_mode(1, 1);
    write_cmd(1, "set k v");
    settle();
    uint64_t before = last_index();
    for (int i = 2; i <= 11; i++)
        read_cmd(i, "get k");
    flush();
    cr_assert_eq(h.rounds, 1);
    cr_assert_eq(h.nanswers, 1, "a read was served before its round was acked");
    ack(2);
    cr_assert_eq(h.nanswers, 11);
    for (int i = 2; i <= 11; i++)
        cr_assert_str_eq(answer_of(i)->text, "v");
    cr_assert_eq(last_index(), before);
    cr_assert_eq(consensus_stats(h.cs)->barriers, 0);
    cr_assert_eq(consensus_stats(h.cs)->read_index_rounds, 1);
    cr_assert_eq(consensus_stats(h.cs)->read_index_reads, 10);
    stop();
}

/* Reads that arrive while a round is in flight are not confirmed by it: they take the next
 * round, which is sent once the first one is done. */
Test(consensus, read_index_reads_during_a_round_wait_for_the_next)
{
    start_mode(1, 1);
    read_cmd(1, "get k");
    flush();
    uint64_t first = h.round_seq;
    read_cmd(2, "get k");
    flush();
    cr_assert_eq(h.rounds, 1);
    ack(3);
    cr_assert_not_null(answer_of(1));
    cr_assert_null(answer_of(2));
    cr_assert_eq(h.rounds, 2);
    cr_assert_gt(h.round_seq, first);
    ack(2);
    cr_assert_not_null(answer_of(2));
    stop();
}

/* Acks for another round or term, from a non-voter, or this node's own, confirm nothing. */
Test(consensus, read_index_ignores_wrong_acks)
{
    start_mode(1, 1);
    read_cmd(1, "get k");
    flush();
    consensus_read_ack(h.cs, h.round_seq + 1, h.round_term, 2, 0);
    consensus_read_ack(h.cs, h.round_seq - 1, h.round_term, 2, 0);
    consensus_read_ack(h.cs, h.round_seq, h.round_term + 1, 2, 0);
    consensus_read_ack(h.cs, h.round_seq, h.round_term, 99, 0);
    consensus_read_ack(h.cs, h.round_seq, h.round_term, 1, 0);
    flush();
    cr_assert_eq(h.nanswers, 0);
    ack(2);
    cr_assert_eq(h.nanswers, 1);
    stop();
}

/* A leader deposed before its round is acked never serves the read: TRYAGAIN, and a late
 * ack changes nothing. */
Test(consensus, read_index_deposed_leader_does_not_serve)
{
    start_mode(1, 1);
    write_cmd(1, "set k v");
    settle();
    read_cmd(2, "get k");
    flush();
    raft_fixture_depose(&h.f);
    consensus_update(h.cs);
    cr_assert_eq(h.nanswers, 2);
    cr_assert(strncmp(answer_of(2)->text, "-TRYAGAIN ", 10) == 0, "%s", answer_of(2)->text);
    consensus_read_ack(h.cs, h.round_seq, h.round_term, 2, 0);
    flush();
    cr_assert_eq(h.nanswers, 2);
    stop();
}

/* A leader cut off from every voter gets no acks: the round is retried, and the read is
 * answered TIMEOUT at request-timeout, never with data. */
Test(consensus, read_index_partitioned_leader_times_out)
{
    start_mode(1, 1);
    read_cmd(1, "get k");
    flush();
    h.now_us += 300 * 1000;
    consensus_cron(h.cs);
    flush();
    cr_assert_eq(h.rounds, 2);
    cr_assert_eq(consensus_stats(h.cs)->read_index_retries, 1);
    cr_assert_eq(h.nanswers, 0);
    h.now_us += TIMEOUT_MS * 1000;
    consensus_cron(h.cs);
    cr_assert_eq(h.nanswers, 1);
    cr_assert(strncmp(answer_of(1)->text, "-TIMEOUT ", 9) == 0, "%s", answer_of(1)->text);
    stop();
}

/* A read after a write in flight sees that write (it waits for it to apply even once its
 * round is acked), and not a write that arrived after it. */
Test(consensus, read_index_sees_earlier_writes_not_later_ones)
{
    start_mode(1, 1);
    write_cmd(1, "set k v");
    flush();
    read_cmd(2, "get k");
    flush();
    write_cmd(3, "set k later");
    flush();
    ack(2);
    cr_assert_null(answer_of(2), "served before the write before it applied");
    settle();
    cr_assert_str_eq(answer_of(1)->text, "+OK");
    cr_assert_str_eq(answer_of(2)->text, "v");
    cr_assert_str_eq(answer_of(3)->text, "+OK");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(h.answers[i].id, i + 1);
    stop();
}

/* A follower vouches only for the leader it follows, in its own term. */
Test(consensus, vouch_only_for_the_current_leader_and_term)
{
    start_mode(1, 1);
    struct consensus_params p = {.id = 2, .request_timeout_ms = TIMEOUT_MS};
    struct consensus_callbacks cb = {.reply = on_reply, .error = on_error, .run_read = on_read,
                                     .want_flush = on_want_flush, .mono_us = clock_us};
    struct fsm other_fsm;
    struct kv_store *other_kv = kv_new();
    fsm_init(&other_fsm, other_kv);
    struct consensus *follower = consensus_new_over(raft_fixture_get(&h.f, 1), &other_fsm, &p, &cb);
    uint64_t term = raft_fixture_get(&h.f, 0)->current_term, mine;
    long long left;
    cr_assert_eq(consensus_vouch(follower, 1, term, &mine, &left), 1);
    cr_assert_eq(mine, term);
    cr_assert_eq(consensus_vouch(follower, 3, term, &mine, &left), 0);
    cr_assert_eq(consensus_vouch(follower, 1, term + 1, &mine, &left), 0);
    cr_assert_eq(consensus_vouch(follower, 1, term - 1, &mine, &left), 0);
    cr_assert_eq(consensus_vouch(h.cs, 1, term, &mine, &left), 0, "a leader vouches for nobody");
    consensus_free(follower);
    fsm_close(&other_fsm);
    kv_free(other_kv);
    stop();
}

/* Without the voters' RESP addresses (not announced yet) no round can reach a majority: the
 * reads take a barrier instead of blocking the queue behind them. */
Test(consensus, read_index_falls_back_to_a_barrier_without_addresses)
{
    start_mode(0, 1);
    settle();
    read_cmd(1, "get k");
    settle();
    cr_assert_eq(h.rounds, 0);
    cr_assert_eq(consensus_stats(h.cs)->barriers, 1);
    cr_assert_not_null(answer_of(1));
    cr_assert_neq(answer_of(1)->text[0], '-', "%s", answer_of(1)->text);
    stop();
}

/* Rounds that keep failing while raft still commits (the peer channel alone is down): after
 * READ_ROUND_ATTEMPTS the read takes a barrier and is served. */
Test(consensus, read_index_falls_back_to_a_barrier_after_failed_rounds)
{
    start_mode(1, 1);
    read_cmd(1, "get k");
    flush();
    for (int i = 0; i < 3; i++) {
        h.now_us += 300 * 1000;
        consensus_cron(h.cs);
        flush();
    }
    settle();
    cr_assert_eq(h.rounds, 3);
    cr_assert_eq(consensus_stats(h.cs)->barriers, 1);
    cr_assert_not_null(answer_of(1));
    cr_assert_neq(answer_of(1)->text[0], '-', "%s", answer_of(1)->text);
    stop();
}

/* Writes of several databases in one batch: each applies in its own database on every
 * node, and the replies come back in order (the __db records answer nothing). */
Test(consensus, writes_carry_their_database)
{
    start(1);
    consensus_write_db(h.cs, cookie(1), 3, req_of("set k three"));
    consensus_write(h.cs, cookie(2), req_of("set k zero"));
    consensus_write_db(h.cs, cookie(3), 3, req_of("append k !"));
    consensus_write_db(h.cs, cookie(4), 7, req_of("incr n"));
    settle();
    static const char *want[] = {"+OK", "+OK", ":6", ":1"};
    cr_assert_eq(h.nanswers, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_str_eq(h.answers[i].text, want[i], "request %d", i + 1);
    for (int n = 0; n < 1; n++) { /* the leader's: the followers apply later */
        struct fsm *f = &h.fsm[n];
        cr_assert_eq(kv_size(fsm_db(f, 0)), 1, "node %d", n);
        cr_assert_eq(kv_size(fsm_db(f, 3)), 1, "node %d", n);
        cr_assert(memcmp(kv_entry_val(kv_find(fsm_db(f, 3), "k", 1)), "three!", 6) == 0);
        cr_assert_not_null(kv_find(fsm_db(f, 7), "n", 1), "node %d", n);
    }
    stop();
}
