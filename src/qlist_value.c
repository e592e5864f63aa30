/* The list type's row of value operations (value.h), and its snapshot form: u64 encoding
 * (0 listpack, 1 quicklist), u64 node count, then for each node from the head its u64
 * element count and its elements head to tail, so that a restored node holds the same
 * nodes (MEMORY USAGE, OBJECT ENCODING and later pushes match the leader's). */
#include "codec.h"
#include "qlist.h"
#include "util.h"
#include "value.h"

static void snap_write(struct value_snap *w, void *obj)
{
    struct qlist *q = obj;
    value_put_u64(w->b, (uint64_t)q->quick);
    value_put_u64(w->b, q->nodes);
    for (struct qlist_node *n = q->head; n != NULL; n = n->next) {
        value_put_u64(w->b, listpack_count(n->lp));
        for (size_t p = listpack_first(n->lp); p != LISTPACK_NONE; p = listpack_next(n->lp, p)) {
            size_t len;
            const unsigned char *s = listpack_get(n->lp, p, &len);
            value_put_str(w->b, (const char *)s, len);
        }
        value_snap_maybe_flush(w);
    }
}

/* Nodes must be non-empty, and a listpack list has exactly one. */
static void *read_nodes(struct codec_reader *r, int quick)
{
    struct qlist *q = qlist_new();
    uint64_t nodes = codec_read_u64(r);
    q->quick = quick;
    if (!quick && nodes != 1)
        r->bad = 1;
    for (uint64_t i = 0; i < nodes && !r->bad; i++) {
        uint64_t n = codec_read_u64(r);
        if (r->bad || n == 0 || n > UINT32_MAX) {
            r->bad = 1;
            break;
        }
        qlist_restore_node(q);
        for (uint64_t j = 0; j < n && !r->bad; j++) {
            size_t len;
            const char *s = value_get_str(r, &len);
            if (!r->bad)
                qlist_restore_append(q, s, len);
        }
    }
    q->quick = quick; /* restore_node set it for a second node */
    return q;
}

static void *read_listpack(struct codec_reader *r) { return read_nodes(r, 0); }
static void *read_quicklist(struct codec_reader *r) { return read_nodes(r, 1); }

static void *snap_read(struct codec_reader *r)
{
    static value_body_reader *const readers[] = {read_listpack, read_quicklist};
    return value_snap_read_encoded(r, readers, sizeof readers / sizeof readers[0],
                                   &value_ops_list);
}

static size_t v_len(const void *o) { return qlist_len(o); }
static void v_free(void *o) { qlist_free(o); }
static int v_free_step(void *o, size_t budget) { return qlist_free_step(o, budget); }
static void *v_dup(const void *o) { return qlist_dup(o); }
static size_t v_bytes(const void *o, size_t samples) { (void)samples; return qlist_bytes(o); } /* exact: a walk of the nodes */
static const char *v_encoding(const void *o) { return qlist_encoding_name(o); }
static uint64_t v_digest(void *o, uint64_t seed) { return qlist_digest(o, seed); }

const struct value_ops value_ops_list = {
    .type_name = "list",
    .len = v_len,
    .free = v_free,
    .free_step = v_free_step,
    .dup = v_dup,
    .bytes = v_bytes,
    .encoding = v_encoding,
    .digest = v_digest,
    .snap_write = snap_write,
    .snap_read = snap_read,
};
