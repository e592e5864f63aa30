/* CLUSTER READINDEX, the voter's side of a ReadIndex round (see readindex.h): answers whether
 * this node follows the asking leader in its term, signed with the cluster secret. Reads
 * consensus state only; changes nothing. */
#include <stdio.h>

#include "command.h"
#include "config.h"
#include "consensus.h"
#include "exec.h"
#include "peerauth.h"
#include "readindex.h"
#include "resp.h"
#include "util.h"

static int parse_u64(const struct request *req, int i, uint64_t *out)
{
    long long v;
    if (util_parse_ll(req->argv[i], req->len[i], &v) != 0 || v < 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

void cluster_readindex(struct exec_ctx *ctx, struct request *req)
{
    const struct config *cfg = server_config(ctx->srv);
    uint64_t leader, term, seq, my_term;
    long long remaining;
    char proof[PEERAUTH_JOIN_PROOF_SIZE];

    if (req->argc != 5) {
        reply_wrong_subcommand_arity(ctx->out, "cluster", req->argv[1]);
        return;
    }
    if (parse_u64(req, 2, &leader) != 0 || parse_u64(req, 3, &term) != 0 || parse_u64(req, 4, &seq) != 0) {
        reply_not_integer(ctx->out);
        return;
    }
    if (cfg->cluster_secret == NULL || cfg->cluster_secret[0] == '\0') {
        reply_error(ctx->out, "ERR this node has no cluster-secret to sign a ReadIndex answer with");
        return;
    }
    int ok = consensus_vouch(server_consensus(ctx->srv), leader, term, &my_term, &remaining);
    uint64_t self = (uint64_t)cfg->id;
    peerauth_readindex_proof(cfg->cluster_secret, leader, self, my_term, seq, ok, remaining, proof);
    reply_array(ctx->out, 6);
    reply_int(ctx->out, (long long)self);
    reply_int(ctx->out, (long long)my_term);
    reply_int(ctx->out, (long long)seq);
    reply_int(ctx->out, ok);
    reply_int(ctx->out, remaining);
    reply_bulk(ctx->out, proof, PEERAUTH_JOIN_PROOF_SIZE - 1);
}
