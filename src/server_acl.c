/* The server's side of ACLs: the store accessor handlers use, reading and checking the
 * aclfile, and seeding a cluster's users from it: the leader proposes the file's users
 * (hashed) once, as "__acl seed", until the replicated state says a seed was applied. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "client.h"
#include "config.h"
#include "consensus.h"
#include "dict.h"
#include "exec.h"
#include "log.h"
#include "pubsub.h"
#include "resp.h"
#include "server.h"

#define ACL_SEED_RETRY_MS 5000

struct acl_store *server_acl(struct server *srv)
{
    return srv->fsm.acl;
}

int server_acl_read_file(const char *path, int pubsub_all, struct buf *out, char *err, size_t errlen)
{
    char chunk[4096], msg[512];
    size_t n;
    struct buf raw;
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "Error loading ACLs, opening file '%s': %s", path, strerror(errno));
        return -1;
    }
    buf_init(&raw);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&raw, chunk, n);
    fclose(fp);
    struct acl_store *a = acl_new();
    a->pubsub_all = pubsub_all;
    int rc = acl_load_text(a, raw.data ? raw.data : "", raw.len, msg, sizeof(msg));
    if (rc == 0)
        acl_serialize(a, out);
    else
        snprintf(err, errlen, "%s%s", path, msg);
    acl_free(a);
    buf_close(&raw);
    return rc;
}

int server_acl_init(struct server *srv, char *err, size_t errlen)
{
    char msg[600];
    buf_init(&srv->acl_seed);
    if (srv->cfg->aclfile == NULL)
        return 0;
    if (server_acl_read_file(srv->cfg->aclfile, (int)srv->cfg->acl_pubsub_default, &srv->acl_seed, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "option 'aclfile': %s", msg);
        return -1;
    }
    return 0;
}

void server_acl_close(struct server *srv)
{
    buf_close(&srv->acl_seed);
}

void server_acl_cron(struct server *srv)
{
    int64_t now = util_now_ms();
    if (srv->cfg->aclfile == NULL || srv->fsm.acl->seeded || !consensus_accepts(srv->cs) ||
        (srv->acl_seed_ms != 0 && now - srv->acl_seed_ms < ACL_SEED_RETRY_MS))
        return;
    struct request *t = request_new(3);
    request_push(t, "__acl", 5);
    request_push(t, "seed", 4);
    request_push(t, srv->acl_seed.data ? srv->acl_seed.data : "", srv->acl_seed.len);
    consensus_write(srv->cs, NULL, t);
    if (srv->acl_seed_ms == 0)
        log_notice("proposing the users of aclfile %s to the cluster", srv->cfg->aclfile);
    srv->acl_seed_ms = now;
}

/* Whether every name in D (a subscription dict; NULL: none) is still allowed to U. */
static int subs_allowed(const struct acl_user *u, struct dict *d, int is_pattern)
{
    struct dict_iter it;
    struct dict_entry *e;
    int ok = 1;
    if (d == NULL)
        return 1;
    dict_iter_init(&it, d);
    while (ok && (e = dict_iter_next(&it)) != NULL)
        ok = acl_channel_allowed(u, e->key, e->klen, is_pattern);
    dict_iter_close(&it);
    return ok;
}

void server_acl_check_subscribers(struct server *srv)
{
    struct acl_store *a = srv->fsm.acl;
    struct list_node *n, *next;
    if (a->gen == srv->acl_subs_gen)
        return;
    srv->acl_subs_gen = a->gen;
    list_foreach_safe(n, next, &srv->clients) {
        struct client *c = list_entry(n, struct client, node);
        if (c->user == NULL || pubsub_sub_total(&c->sub) == 0)
            continue;
        const struct acl_user *u = acl_user_find(a, c->user, strlen(c->user));
        if (u != NULL && subs_allowed(u, c->sub.channels, 0) && subs_allowed(u, c->sub.patterns, 1) &&
            subs_allowed(u, c->sub.shard, 0))
            continue;
        log_verbose("client %s: user %s %s; closing its subscriptions' connection", c->addr,
                    c->user, u ? "may no longer use one of its channels" : "was deleted");
        client_free(c);
    }
}
