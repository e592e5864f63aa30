/* The list value type, as Redis keeps it (quicklist.c): a doubly linked list of nodes,
 * each a listpack (listpack.h, our own byte format) of consecutive elements, so that a push
 * or pop at either end is O(1) and an index walks nodes, not elements. (This is not list.h,
 * the intrusive linked list of the server's own structures.)
 *
 * A node takes one more element while it stays within the fill limits the caller passes
 * (struct qlist_fill, from list-max-listpack-size, carried in the log entry: see
 * docs/DATATYPES.md): negative sizes are a byte limit per node (-1 4kb, -2 8kb, -3 16kb,
 * -4 32kb, -5 64kb), positive ones a count of elements with Redis's 8kb safety limit. A
 * list of a single node answers OBJECT ENCODING "listpack"; once it has grown to a second
 * node it answers "quicklist" for good (it does not convert back). list-compress-depth is
 * accepted and not applied: nodes are never compressed.
 *
 * Pure: no I/O, no clock, no configuration read by the operations themselves. */
#ifndef CONCORDKV_QLIST_H
#define CONCORDKV_QLIST_H

#include <stddef.h>
#include <stdint.h>

#include "listpack.h"

enum qlist_where { QLIST_HEAD = 0, QLIST_TAIL = 1 };

#define QLIST_DEFAULT_FILL (-2)      /* list-max-listpack-size */
#define QLIST_FILL_MIN (-5)
#define QLIST_FILL_MAX ((1 << 15) - 1) /* Redis's FILL_MAX */
#define QLIST_SAFETY_BYTES 8192      /* Redis's SIZE_SAFETY_LIMIT */

/* A node accepts an element while its listpack stays within MAX_BYTES and it holds fewer
 * than MAX_ENTRIES elements (qlist_fill_of translates list-max-listpack-size). A node
 * always accepts its first element, however long. */
struct qlist_fill {
    long long max_entries;
    long long max_bytes;
};
/* The fill limits of list-max-listpack-size FILL (clamped to QLIST_FILL_MIN..MAX). */
struct qlist_fill qlist_fill_of(long long fill);

/* The node's configured list-max-listpack-size: written by the server at startup and by
 * CONFIG SET, read only by the prepare step of list writes (which copies qlist_fill_of of
 * it into the proposed command). Apply never reads it. */
extern long long qlist_fill_configured;
void qlist_configure(long long fill);

struct qlist_node {
    struct qlist_node *prev, *next;
    struct listpack *lp; /* never empty */
};

struct qlist {
    struct qlist_node *head, *tail;
    size_t count;   /* elements */
    size_t nodes;
    int quick;      /* has had two nodes: OBJECT ENCODING says "quicklist" */
};

/* A new empty list; the caller owns it (qlist_free / qlist_free_step). */
struct qlist *qlist_new(void);
void qlist_free(struct qlist *q);
/* Release at most about BUDGET elements; returns 1 when Q is entirely gone. */
int qlist_free_step(struct qlist *q, size_t budget);
/* A deep copy with the same nodes and encoding (COPY). */
struct qlist *qlist_dup(const struct qlist *q);

static inline size_t qlist_len(const struct qlist *q) { return q->count; }
/* Bytes held, an estimate (MEMORY USAGE). */
size_t qlist_bytes(const struct qlist *q);
const char *qlist_encoding_name(const struct qlist *q);
/* An order-dependent digest of the elements, with SEED (two lists digest equal only when
 * they hold the same elements in the same order, whatever their nodes). */
uint64_t qlist_digest(const struct qlist *q, uint64_t seed);

/* Push a copy of S (LEN bytes) at WHERE. */
void qlist_push(struct qlist *q, enum qlist_where where, const void *s, size_t len,
                const struct qlist_fill *fill);
/* Remove the element at WHERE and return a copy (NUL-terminated, *LEN bytes; the caller
 * frees it); Q must not be empty. */
char *qlist_pop(struct qlist *q, enum qlist_where where, size_t *len);
/* Append a new node holding nothing yet at the tail, and an element to the tail node
 * without fill checks: a snapshot restore rebuilding the same nodes. */
void qlist_restore_node(struct qlist *q);
void qlist_restore_append(struct qlist *q, const void *s, size_t len);

/* Delete COUNT elements from index START on (START >= 0, within the list; fewer when the
 * end comes first). */
void qlist_delete_range(struct qlist *q, size_t start, size_t count);

/* A cursor on one element, walking towards the tail (FORWARD) or the head. Changes through
 * the cursor (qlist_it_delete, qlist_it_replace, qlist_it_insert) keep it usable; any other
 * change of the list invalidates it. */
struct qlist_it {
    struct qlist *q;
    struct qlist_node *node; /* NULL: past either end */
    size_t pos;              /* listpack position in NODE */
    int forward;
};
/* Place IT on element INDEX (negative counts from the tail: -1 is the last). Returns 1, or
 * 0 when INDEX is out of range (IT then at the end). */
int qlist_it_init(struct qlist_it *it, struct qlist *q, long long index, int forward);
/* The current element (valid until the next change): 1, or 0 past the end. */
int qlist_it_get(const struct qlist_it *it, const char **s, size_t *len);
void qlist_it_next(struct qlist_it *it);
/* Delete the current element; IT moves to the element that followed in its direction. */
void qlist_it_delete(struct qlist_it *it);
/* Replace the current element with a copy of S. */
void qlist_it_replace(struct qlist_it *it, const void *s, size_t len);
/* Insert a copy of S after (AFTER 1) or before the current element, within FILL: in the
 * current node when it has room, else at the edge of the neighbour node it touches, else
 * by splitting the current node. IT must not be used afterwards. */
void qlist_it_insert(struct qlist_it *it, int after, const void *s, size_t len,
                     const struct qlist_fill *fill);

#endif
