/* The list value type (qlist.h): nodes of listpacks, pushes and pops at both ends, the
 * cursor that the index commands walk with, and the value-level helpers (copy, bytes,
 * digest, lazy free). Pure: no I/O. */
#include "qlist.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const long long fill_bytes[] = {4096, 8192, 16384, 32768, 65536}; /* -1 .. -5 */
#define QLIST_NODE_ENTRIES_MAX 65535 /* Redis's 16-bit node count */

long long qlist_fill_configured = QLIST_DEFAULT_FILL;

struct qlist_fill qlist_fill_of(long long fill)
{
    if (fill > QLIST_FILL_MAX)
        fill = QLIST_FILL_MAX;
    if (fill < QLIST_FILL_MIN)
        fill = QLIST_FILL_MIN;
    if (fill < 0)
        return (struct qlist_fill){QLIST_NODE_ENTRIES_MAX, fill_bytes[-fill - 1]};
    return (struct qlist_fill){fill, QLIST_SAFETY_BYTES};
}

void qlist_configure(long long fill)
{
    qlist_fill_configured = fill;
}

/* ---- nodes ---- */

static int node_allows(const struct qlist_node *n, size_t len, const struct qlist_fill *f)
{
    if (n == NULL)
        return 0;
    size_t after = listpack_bytes(n->lp) + listpack_entry_bytes(len);
    return (long long)listpack_count(n->lp) < f->max_entries && (long long)after <= f->max_bytes;
}

/* A new empty node linked after PREV (NULL: at the head). */
static struct qlist_node *node_link(struct qlist *q, struct qlist_node *prev)
{
    struct qlist_node *n = xmalloc(sizeof *n);
    n->lp = listpack_new();
    n->prev = prev;
    n->next = prev != NULL ? prev->next : q->head;
    if (n->next != NULL)
        n->next->prev = n;
    else
        q->tail = n;
    if (prev != NULL)
        prev->next = n;
    else
        q->head = n;
    if (++q->nodes > 1)
        q->quick = 1;
    return n;
}

static void node_unlink(struct qlist *q, struct qlist_node *n)
{
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        q->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        q->tail = n->prev;
    q->nodes--;
    listpack_free(n->lp);
    free(n);
}

/* ---- the value ---- */

struct qlist *qlist_new(void)
{
    return xcalloc(1, sizeof(struct qlist));
}

int qlist_free_step(struct qlist *q, size_t budget)
{
    size_t freed = 0;
    while (q->head != NULL && freed < budget) {
        freed += listpack_count(q->head->lp);
        q->count -= listpack_count(q->head->lp);
        node_unlink(q, q->head);
    }
    if (q->head != NULL)
        return 0;
    free(q);
    return 1;
}

void qlist_free(struct qlist *q)
{
    if (q != NULL)
        qlist_free_step(q, (size_t)-1);
}

struct qlist *qlist_dup(const struct qlist *q)
{
    struct qlist *c = qlist_new();
    for (const struct qlist_node *n = q->head; n != NULL; n = n->next) {
        struct qlist_node *m = node_link(c, c->tail);
        size_t bytes = listpack_bytes(n->lp);
        m->lp = xrealloc(m->lp, bytes);
        memcpy(m->lp, n->lp, bytes);
    }
    c->count = q->count;
    c->quick = q->quick;
    return c;
}

size_t qlist_bytes(const struct qlist *q)
{
    size_t b = sizeof *q;
    for (const struct qlist_node *n = q->head; n != NULL; n = n->next)
        b += sizeof *n + listpack_bytes(n->lp);
    return b;
}

const char *qlist_encoding_name(const struct qlist *q)
{
    return q->quick ? "quicklist" : "listpack";
}

uint64_t qlist_digest(const struct qlist *q, uint64_t seed)
{
    uint64_t acc = seed ^ q->count;
    for (const struct qlist_node *n = q->head; n != NULL; n = n->next)
        for (size_t p = listpack_first(n->lp); p != LISTPACK_NONE; p = listpack_next(n->lp, p)) {
            size_t len;
            const unsigned char *s = listpack_get(n->lp, p, &len);
            acc = util_hash_seeded(s, len, acc * 0x9e3779b97f4a7c15ULL + seed);
        }
    return acc;
}

/* ---- ends ---- */

void qlist_push(struct qlist *q, enum qlist_where where, const void *s, size_t len,
                const struct qlist_fill *fill)
{
    struct qlist_node *n = where == QLIST_HEAD ? q->head : q->tail;
    if (!node_allows(n, len, fill))
        n = node_link(q, where == QLIST_HEAD ? NULL : q->tail);
    if (where == QLIST_HEAD)
        listpack_insert(&n->lp, listpack_first(n->lp), s, len);
    else
        listpack_append(&n->lp, s, len);
    q->count++;
}

char *qlist_pop(struct qlist *q, enum qlist_where where, size_t *len)
{
    struct qlist_node *n = where == QLIST_HEAD ? q->head : q->tail;
    size_t pos = where == QLIST_HEAD ? listpack_first(n->lp) : listpack_last(n->lp);
    const unsigned char *s = listpack_get(n->lp, pos, len);
    char *copy = xmalloc(*len + 1);
    memcpy(copy, s, *len);
    copy[*len] = '\0';
    listpack_delete(&n->lp, pos, 1);
    if (listpack_count(n->lp) == 0)
        node_unlink(q, n);
    q->count--;
    return copy;
}

void qlist_restore_node(struct qlist *q)
{
    node_link(q, q->tail);
}

void qlist_restore_append(struct qlist *q, const void *s, size_t len)
{
    listpack_append(&q->tail->lp, s, len);
    q->count++;
}

void qlist_delete_range(struct qlist *q, size_t start, size_t count)
{
    struct qlist_node *n = q->head;
    while (n != NULL && start >= listpack_count(n->lp)) {
        start -= listpack_count(n->lp);
        n = n->next;
    }
    while (n != NULL && count > 0) {
        struct qlist_node *next = n->next;
        uint32_t have = listpack_count(n->lp) - (uint32_t)start;
        uint32_t del = count < have ? (uint32_t)count : have;
        if (start == 0 && del == listpack_count(n->lp))
            node_unlink(q, n);
        else
            listpack_delete(&n->lp, listpack_seek(n->lp, (long)start), del);
        q->count -= del;
        count -= del;
        start = 0;
        n = next;
    }
}

/* ---- the cursor ---- */

int qlist_it_init(struct qlist_it *it, struct qlist *q, long long index, int forward)
{
    *it = (struct qlist_it){.q = q, .forward = forward};
    if (index < 0)
        index += (long long)q->count;
    if (index < 0 || (size_t)index >= q->count)
        return 0;
    size_t i = (size_t)index;
    if (i < q->count / 2) {
        struct qlist_node *n = q->head;
        while (i >= listpack_count(n->lp)) {
            i -= listpack_count(n->lp);
            n = n->next;
        }
        it->node = n;
        it->pos = listpack_seek(n->lp, (long)i);
        return 1;
    }
    size_t back = q->count - 1 - i; /* from the tail */
    struct qlist_node *n = q->tail;
    while (back >= listpack_count(n->lp)) {
        back -= listpack_count(n->lp);
        n = n->prev;
    }
    it->node = n;
    it->pos = listpack_seek(n->lp, -1 - (long)back);
    return 1;
}

int qlist_it_get(const struct qlist_it *it, const char **s, size_t *len)
{
    if (it->node == NULL)
        return 0;
    *s = (const char *)listpack_get(it->node->lp, it->pos, len);
    return 1;
}

/* Move to the first (forward) or last element of node N (NULL: the end). */
static void it_enter(struct qlist_it *it, struct qlist_node *n)
{
    it->node = n;
    if (n != NULL)
        it->pos = it->forward ? listpack_first(n->lp) : listpack_last(n->lp);
}

void qlist_it_next(struct qlist_it *it)
{
    if (it->node == NULL)
        return;
    size_t p = it->forward ? listpack_next(it->node->lp, it->pos)
                           : listpack_prev(it->node->lp, it->pos);
    if (p != LISTPACK_NONE)
        it->pos = p;
    else
        it_enter(it, it->forward ? it->node->next : it->node->prev);
}

void qlist_it_delete(struct qlist_it *it)
{
    struct qlist_node *n = it->node;
    size_t prev = listpack_prev(n->lp, it->pos);
    size_t next = listpack_delete(&n->lp, it->pos, 1);
    it->q->count--;
    if (listpack_count(n->lp) == 0) {
        struct qlist_node *to = it->forward ? n->next : n->prev;
        node_unlink(it->q, n);
        it_enter(it, to);
        return;
    }
    size_t p = it->forward ? next : prev;
    if (p != LISTPACK_NONE)
        it->pos = p;
    else
        it_enter(it, it->forward ? n->next : n->prev);
}

void qlist_it_replace(struct qlist_it *it, const void *s, size_t len)
{
    it->pos = listpack_replace(&it->node->lp, it->pos, s, len);
}

/* Move the elements of N from position POS on into a new node after N. */
static struct qlist_node *node_split(struct qlist *q, struct qlist_node *n, size_t pos)
{
    struct qlist_node *m = node_link(q, n);
    uint32_t moved = 0;
    for (size_t p = pos; p != LISTPACK_NONE; p = listpack_next(n->lp, p), moved++) {
        size_t len;
        const unsigned char *s = listpack_get(n->lp, p, &len);
        listpack_append(&m->lp, s, len);
    }
    listpack_delete(&n->lp, pos, moved);
    return m;
}

void qlist_it_insert(struct qlist_it *it, int after, const void *s, size_t len,
                     const struct qlist_fill *fill)
{
    struct qlist *q = it->q;
    struct qlist_node *n = it->node;
    size_t at = after ? listpack_next(n->lp, it->pos) : it->pos; /* insert before AT */

    q->count++;
    if (node_allows(n, len, fill)) {
        listpack_insert(&n->lp, at, s, len);
        return;
    }
    if (at == LISTPACK_NONE) { /* after the node's last element */
        if (node_allows(n->next, len, fill))
            listpack_insert(&n->next->lp, listpack_first(n->next->lp), s, len);
        else
            listpack_append(&node_link(q, n)->lp, s, len);
        return;
    }
    if (at == listpack_first(n->lp)) { /* before the node's first element */
        if (node_allows(n->prev, len, fill))
            listpack_append(&n->prev->lp, s, len);
        else
            listpack_append(&node_link(q, n->prev)->lp, s, len);
        return;
    }
    struct qlist_node *right = node_split(q, n, at);
    if (node_allows(n, len, fill))
        listpack_append(&n->lp, s, len);
    else if (node_allows(right, len, fill))
        listpack_insert(&right->lp, listpack_first(right->lp), s, len);
    else
        listpack_append(&node_link(q, n)->lp, s, len);
}
