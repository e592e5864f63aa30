/* The shared cluster layer of the integration tests: the nodes of the current test by id,
 * asking one node (INFO, DEBUG DIGEST), finding and waiting for the leader, commands sent to the
 * leader through redirects, convergence by DEBUG DIGEST, membership changes (CLUSTER ADDNODE /
 * DELNODE, CLUSTER NODES, raft_voters) and what a removed node says. Built on fixture.h; the
 * assertions abort the current Criterion test. Each Criterion test runs in its own process, so
 * the layer keeps one set of nodes per process: tc_start or tc_new_node, then tc_stop_all. */
#ifndef CONCORDKV_TCLUSTER_H
#define CONCORDKV_TCLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "fixture.h"

/* Elections in ~0.3-0.6 s instead of 1-2 s; heartbeats well inside that. */
#define TC_FAST_TIMEOUTS "--election-timeout", "300", "--heartbeat-timeout", "50"
#define TC_LEADER_MS 10000   /* deadline of an election */
#define TC_CONVERGE_MS 20000 /* deadline of replicas catching up */
#define TC_STALL_MS 80000    /* ... stretched once for the known install-snapshot stall */
#define TC_WRITE_MS 10000    /* deadline of tc_leader_set / tc_leader_expect */
#define TC_CHANGE_MS 30000   /* deadline of a membership change that follows redirects */
#define TC_MAX_IDS 8         /* node ids 1..TC_MAX_IDS */

/* What a removed node answers a command when it knows no leader. */
#define TC_REMOVED_ERROR \
    "ERR this node has been removed from the cluster; it no longer serves data"

/* {TC_FAST_TIMEOUTS, NULL}. */
extern const char *const tc_fast_args[];

/* ---- the nodes of this test ---- */

/* N nodes with ids 1..N (fx_cluster_start with EXTRA_ARGS, tc_fast_args if NULL). */
void tc_start(int n, const char *const *extra_args);

/* The cluster tc_start made (NULL before). */
struct fx_cluster *tc_cluster(void);

/* The ids 1..N but EXCEPT into OUT, 0-terminated (room for N + 1 ints; N if EXCEPT is one of
 * them); returns their number. */
int tc_ids_except(int n, int except, int *out);

/* Node ID, or NULL if there is none. Owned by the layer. */
struct fx_server *tc_node(int id);

/* A new node ID, not started, that will wait to be added (--bootstrap no) or join through
 * JOIN_PORT (> 0); its ports are fixed from now on. Owned by the layer (tc_free_node). */
struct fx_server *tc_new_node(int id, int join_port);

/* Register S (made by the caller with fx_server_new) as node ID; the layer owns it from now. */
void tc_adopt_node(int id, struct fx_server *s);

/* (Re)start node ID on its dir and ports and wait until it answers per its readiness. */
void tc_start_node(int id);

/* tc_new_node + tc_start_node. */
struct fx_server *tc_start_new_node(int id, int join_port);

/* Stop node ID, remove its directory and forget it (not for the nodes of tc_start). */
void tc_free_node(int id);

/* SIGTERM node ID and wait; assert a clean exit (status 0). */
void tc_stop_node_cleanly(int id);

/* SIGSTOP / SIGCONT node ID; while paused, the helpers skip it (a connection would hang). */
void tc_pause(int id);
void tc_resume(int id);

/* True if node ID exists, is not paused and its process has not exited. */
bool tc_running(int id);

/* One SIGTERM to every node, all at once as an init system sends them; assert each exits
 * with status 0 (they stay known to the layer, stopped). */
void tc_sigterm_all(void);

/* Start every stopped node at once (so that they can elect a leader), then wait until each is
 * ready. */
void tc_spawn_all(void);

/* Stop and free every node (no check of exit statuses). */
void tc_stop_all(void);

/* SIGTERM every running node at once and assert each exits with status 0, then tc_stop_all. */
void tc_stop_cleanly(void);

/* ---- asking one node ---- */

/* One command on a fresh connection to PORT; NULL if the node is down or did not answer. The
 * caller frees the reply. */
redisReply *tc_port_cmd(int port, const char *fmt, ...);

/* Copy the value of FIELD from the INFO SECTION of the node on PORT into OUT. */
bool tc_info_field(int port, const char *section, const char *field, char *out, size_t cap);

/* An integer INFO field, or -1 if it could not be read. */
long long tc_info_ll(int port, const char *section, const char *field);

/* An integer INFO raft field of node ID, or -1 if it is not running or could not be read. */
long long tc_raft_ll(int id, const char *field);

/* DEBUG DIGEST of the node on PORT into OUT (41 bytes); false if unavailable or malformed. */
bool tc_digest(int port, char out[41]);

/* R is an error starting with PREFIX (R may be NULL). */
bool tc_is_error(const redisReply *r, const char *prefix);

/* The text of R for messages: its string, or its type, or "(no reply)". */
const char *tc_reply_text(const redisReply *r);

/* -MOVED, -CLUSTERDOWN or -TRYAGAIN: the command was certainly not applied; another node, or a
 * later try, may take it. */
bool tc_is_redirect(const redisReply *r);

/* ---- the leader ---- */

/* Id of the only running node that says it leads and is ready to serve; -1 if none, -2 if
 * more than one. */
int tc_leader_now(void);

/* Wait (TC_LEADER_MS) for a serving leader; returns its id. */
int tc_wait_leader(void);

/* Run a command on the leader, following redirects (never applied, so safe to resend) until
 * TIMEOUT_MS; aborts the test if no leader took it. The connection to the leader is kept for
 * the next call while that node runs. An -UNCERTAIN or -TIMEOUT reply is returned as is: only
 * the caller knows whether resending is safe. The caller frees the reply. */
redisReply *tc_leader_cmd(int timeout_ms, const char *fmt, ...);

/* The number in bulk string R, which it frees; asserts R is a bulk string. */
long long tc_reply_ll(redisReply *r);

/* Close the connection tc_leader_cmd keeps (before a restart of every node, say). */
void tc_drop_leader_conn(void);

/* SET KEY VAL on the leader: +OK. GET KEY on the leader: VAL (nil if VAL is NULL). */
void tc_leader_set(const char *key, const char *val);
void tc_leader_expect(const char *key, const char *val);

/* FMT with one string argument ARG run on the leader (tc_leader_cmd) answers the string WANT
 * (OBJECT ENCODING %s, HGET %s f ...). */
void tc_leader_expect_string(const char *want, const char *fmt, const char *arg);

/* N acknowledged writes through the leader: SET PREFIX:<i> v<i>. */
void tc_write_keys(const char *prefix, int n);

struct tc_leads {
    int id;
    char why[120];
};

/* A predicate for fx_wait_until: node ARG->id leads and is ready, and every running node names
 * it leader; else ARG->why says what differs. */
bool tc_node_leads(void *arg);

/* Send CMD (no arguments to format) to node ID, again while it answers -TRYAGAIN (never
 * applied: a change of its own, such as a node announcing its addresses, is in progress).
 * Returns the first other reply, NULL if the node did not answer; the caller frees it. */
redisReply *tc_node_cmd_retry(int id, const char *cmd);

struct tc_agreement {
    long long leader_id, term;
    char why[256];
};

/* Wait until every running node names the same leader in the same term (INFO raft and
 * CLUSTER LEADER) and knows its RESP address (what MOVED needs). */
void tc_wait_agreement(struct tc_agreement *a);

/* Every running node agrees that node ID leads, and the others' MOVED names its port. */
void tc_assert_redirects_to_leader(int id);

/* The RESP address of the leader now ("127.0.0.1:<port>") into OUT; its id, or <= 0 if there
 * is no single ready leader. */
int tc_leader_address(char *out, size_t cap);

/* True if R is "-MOVED <slot> <the current leader's RESP address>" and the leader is not
 * node NOT_ID; the slot goes to *SLOT (may be NULL). */
bool tc_moved_to_leader(const redisReply *r, int not_id, int *slot);

/* ---- convergence ---- */

/* Wait until DEBUG DIGEST is the same on every node of IDS (0-terminated; each must answer) or,
 * with IDS NULL, on every running node; and equal to WANT if not NULL, else with IDS NULL to
 * the leader's (re-read at every poll: its own active expiry may still change it). Deadline
 * TC_CONVERGE_MS, stretched once to TC_STALL_MS with a loud warning for the known stall of
 * canonical/raft 0.15 (a follower taking its own snapshot drops an InstallSnapshot). Copies the
 * common digest to OUT (may be NULL). */
void tc_assert_converged(const int *ids, const char *want, char *out);

/* Print each running node's raft position to stderr: what a convergence failure needs. */
void tc_dump_raft_state(void);

/* ---- membership ---- */

/* CLUSTER ADDNODE for node ID with all its addresses, on the leader: +OK. */
void tc_add_node(int id);

/* CLUSTER DELNODE ID on the leader: +OK. */
void tc_del_node(int id);

struct tc_node_line {
    int id;
    char addr[64]; /* ip:port@raft-port */
    char flags[96];
};

/* Parse CLUSTER NODES of node ID into OUT; the number of lines, or -1 if unavailable. */
int tc_cluster_nodes(int id, struct tc_node_line *out, int cap);

/* Wait until CLUSTER NODES on node ASKER lists exactly the ids in IDS (0-terminated), all
 * voters with their addresses. */
void tc_wait_members(int asker, const int *ids);

/* True if CLUSTER NODES of node ASKER lists node ID in any role. */
bool tc_lists_node(int asker, int id);

/* Wait until every node in IDS (0-terminated) reports raft_voters == WANT. */
void tc_wait_voters(const int *ids, long long want);

/* ---- the admin API and removed nodes ---- */

/* GET PATH on node ID's admin port: the HTTP status (0 if no complete answer came) and, if
 * BODY is not NULL, the JSON body parsed (NULL if it is not JSON; the caller decrefs it). */
int tc_admin_get(int id, const char *path, json_t **body);

/* The "membership" of node ID's /api/status into OUT ("(no answer)" if unavailable). */
void tc_node_membership(int id, char *out, size_t cap);

/* Wait up to TIMEOUT_MS until node ID knows it was removed: /api/status says membership
 * "removed", /health answers 503, and a write gets either -MOVED to the current leader or
 * TC_REMOVED_ERROR. */
void tc_wait_says_removed(int id, int timeout_ms);

/* A removed node restarted knows it from its directory: it says so within 2 s. */
void tc_assert_says_removed_after_restart(int id);

/* GET KEY on removed node ID: the removed error, or a -MOVED to the current leader, where the
 * same GET (what redis-cli -c does) finds WANT. */
void tc_assert_removed_read_redirects(int id, const char *key, const char *want);

#endif
