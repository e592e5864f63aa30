/* Sentinel discovery's events: +switch-master, published by every node to its own
 * subscribers when the leader it knows of moves to another RESP address (the SENTINEL
 * commands themselves are in cmd_sentinel.c). */
#include "sentinel.h"

#include <stdio.h>
#include <string.h>

#include "consensus.h"
#include "exec.h"
#include "log.h"
#include "pubsub.h"
#include "server.h"
#include "util.h"

#define SWITCH_CHANNEL "+switch-master"

void sentinel_watch(struct server *srv)
{
    struct sentinel_state *st = &srv->sentinel;
    const char *addr = NULL;
    char old_ip[UTIL_IP_MAX], new_ip[UTIL_IP_MAX], msg[256];
    int old_port, new_port;

    if (srv->cs == NULL)
        return;
    if (consensus_leader(srv->cs, &addr) == 0 || addr == NULL) {
        if (st->down_ms == 0)
            st->down_ms = util_now_ms();
        return;
    }
    st->down_ms = 0;
    if (strcmp(addr, st->master) == 0)
        return;
    int switched = st->master[0] != '\0' && util_split_addr(st->master, old_ip, &old_port) == 0 &&
                   util_split_addr(addr, new_ip, &new_port) == 0;
    snprintf(st->master, sizeof(st->master), "%s", addr);
    st->master_ms = util_now_ms();
    if (!switched)
        return;
    const char *name = srv->cfg->cluster_name ? srv->cfg->cluster_name : SENTINEL_DEFAULT_NAME;
    int n = snprintf(msg, sizeof(msg), "%s %s %d %s %d", name, old_ip, old_port, new_ip, new_port);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return;
    st->switches++;
    log_notice("+switch-master %s", msg);
    pubsub_publish(&srv->pubsub, 0, SWITCH_CHANNEL, strlen(SWITCH_CHANNEL), msg, (size_t)n);
}

const struct sentinel_state *server_sentinel(struct server *srv)
{
    return &srv->sentinel;
}
