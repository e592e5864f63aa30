/* The peers file: written when the members' addresses change, read by a node that wants
 * to ask the cluster whether it is still a member. */
#include "peers_file.h"

#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "log.h"
#include "util.h"

#define PEERS_FILE "peers"

void peers_file_save(const char *dir, const struct fsm *fsm, uint64_t self, uint64_t *saved_hash)
{
    struct buf b;
    char path[1100], tmp[1110];
    buf_init(&b);
    for (int i = 0; i < fsm_node_count(fsm); i++) {
        const struct fsm_node *n = fsm_node_at(fsm, i);
        if (!n->retired && n->resp[0] && n->id != self)
            buf_printf(&b, "%llu %s\n", (unsigned long long)n->id, n->resp);
    }
    uint64_t h = util_hash_seeded(b.data ? b.data : "", b.len, 0x70656572);
    if (b.len > 0 && h != *saved_hash) {
        snprintf(path, sizeof(path), "%s/%s", dir, PEERS_FILE);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *fp = fopen(tmp, "w");
        if (fp && fwrite(b.data, 1, b.len, fp) == b.len && fclose(fp) == 0 && rename(tmp, path) == 0)
            *saved_hash = h;
        else if (fp == NULL)
            log_verbose("cannot write %s", tmp);
    }
    buf_close(&b);
}

int peers_file_pick(const char *dir, int k, char out[64])
{
    char path[1100], line[128], addrs[16][64];
    int n = 0;
    snprintf(path, sizeof(path), "%s/%s", dir, PEERS_FILE);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    while (n < 16 && fgets(line, sizeof(line), fp)) {
        unsigned long long id;
        if (sscanf(line, "%llu %63s", &id, addrs[n]) == 2 && util_parse_addr(addrs[n], NULL, 0) == 0)
            n++;
    }
    fclose(fp);
    if (n == 0)
        return 0;
    memcpy(out, addrs[(unsigned)k % (unsigned)n], 64);
    return 1;
}
