/* Unit tests of the list value type (qlist.c): the fill limits of list-max-listpack-size,
 * pushes and pops at both ends, node cutting by bytes and by count, the listpack ->
 * quicklist encoding change, the cursor (walk both ways, delete, replace, insert with a
 * split), range deletion, copies, digests (order-dependent, layout-independent), lazy free,
 * and a randomized run against a plain array model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qlist.h"

static const struct qlist_fill F8K = {65535, 8192};

/* The elements of Q joined by ',' into a static buffer. */
static const char *dump(struct qlist *q)
{
    static char out[1 << 16];
    struct qlist_it it;
    const char *s;
    size_t len, n = 0;
    out[0] = '\0';
    for (qlist_it_init(&it, q, 0, 1); qlist_it_get(&it, &s, &len); qlist_it_next(&it)) {
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s", n ? "," : "", (int)len, s);
    }
    return out;
}

static void push(struct qlist *q, enum qlist_where w, const char *s, const struct qlist_fill *f)
{
    qlist_push(q, w, s, strlen(s), f);
}

Test(qlist, fill_of)
{
    struct qlist_fill f = qlist_fill_of(-2);
    cr_assert_eq(f.max_bytes, 8192);
    cr_assert_eq(qlist_fill_of(-1).max_bytes, 4096);
    cr_assert_eq(qlist_fill_of(-5).max_bytes, 65536);
    cr_assert_eq(qlist_fill_of(-100).max_bytes, 65536); /* clamped to -5 */
    f = qlist_fill_of(128);
    cr_assert_eq(f.max_entries, 128);
    cr_assert_eq(f.max_bytes, QLIST_SAFETY_BYTES);
    cr_assert_eq(qlist_fill_of(1 << 20).max_entries, QLIST_FILL_MAX);
}

Test(qlist, push_pop_both_ends)
{
    struct qlist *q = qlist_new();
    push(q, QLIST_TAIL, "b", &F8K);
    push(q, QLIST_HEAD, "a", &F8K);
    push(q, QLIST_TAIL, "c", &F8K);
    cr_assert_str_eq(dump(q), "a,b,c");
    cr_assert_eq(qlist_len(q), 3);
    cr_assert_str_eq(qlist_encoding_name(q), "listpack");
    size_t len;
    char *s = qlist_pop(q, QLIST_TAIL, &len);
    cr_assert_str_eq(s, "c");
    free(s);
    s = qlist_pop(q, QLIST_HEAD, &len);
    cr_assert_str_eq(s, "a");
    cr_assert_eq(len, 1);
    free(s);
    s = qlist_pop(q, QLIST_HEAD, &len);
    free(s);
    cr_assert_eq(qlist_len(q), 0);
    cr_assert_null(q->head);
    cr_assert_eq(q->nodes, 0);
    qlist_free(q);
}

/* Count limit 2: five elements make three nodes; encoding turns quicklist for good. */
Test(qlist, nodes_by_count_and_bytes)
{
    struct qlist_fill two = qlist_fill_of(2);
    struct qlist *q = qlist_new();
    for (int i = 0; i < 5; i++) {
        char b[8];
        snprintf(b, sizeof b, "%d", i);
        push(q, QLIST_TAIL, b, &two);
    }
    cr_assert_eq(q->nodes, 3);
    cr_assert_str_eq(qlist_encoding_name(q), "quicklist");
    cr_assert_str_eq(dump(q), "0,1,2,3,4");
    qlist_delete_range(q, 0, 4);
    cr_assert_eq(q->nodes, 1);
    cr_assert_str_eq(qlist_encoding_name(q), "quicklist");
    qlist_free(q);

    /* bytes: 100-byte elements in 4kb nodes hold about 39 each */
    struct qlist_fill f4k = qlist_fill_of(-1);
    char big[101];
    memset(big, 'x', 100);
    big[100] = '\0';
    q = qlist_new();
    for (int i = 0; i < 100; i++)
        push(q, QLIST_HEAD, big, &f4k);
    cr_assert_eq(q->nodes, 3);
    for (struct qlist_node *n = q->head; n != NULL; n = n->next)
        cr_assert_leq(listpack_bytes(n->lp), 4096);
    /* an element larger than the limit gets a node of its own */
    char *huge = malloc(10000);
    memset(huge, 'y', 10000);
    qlist_push(q, QLIST_TAIL, huge, 10000, &f4k);
    cr_assert_eq(q->nodes, 4);
    cr_assert_eq(listpack_count(q->tail->lp), 1);
    free(huge);
    qlist_free(q);
}

Test(qlist, cursor_walk_delete_replace)
{
    struct qlist_fill two = qlist_fill_of(2);
    struct qlist *q = qlist_new();
    const char *v[] = {"a", "b", "c", "d", "e", "f", "g"};
    for (int i = 0; i < 7; i++)
        push(q, QLIST_TAIL, v[i], &two);
    struct qlist_it it;
    const char *s;
    size_t len;
    cr_assert(qlist_it_init(&it, q, -2, 0));
    cr_assert(qlist_it_get(&it, &s, &len));
    cr_assert_eq(s[0], 'f');
    cr_assert_not(qlist_it_init(&it, q, 7, 1));
    cr_assert_not(qlist_it_init(&it, q, -8, 1));
    /* delete every other element walking forward */
    qlist_it_init(&it, q, 0, 1);
    for (int i = 0; qlist_it_get(&it, &s, &len); i++) {
        if (i % 2 == 0)
            qlist_it_delete(&it);
        else
            qlist_it_next(&it);
    }
    cr_assert_str_eq(dump(q), "b,d,f");
    /* backwards delete of the last one, then replace */
    qlist_it_init(&it, q, -1, 0);
    qlist_it_delete(&it);
    cr_assert(qlist_it_get(&it, &s, &len));
    cr_assert_eq(s[0], 'd');
    qlist_it_replace(&it, "DDDD", 4);
    cr_assert_str_eq(dump(q), "b,DDDD");
    cr_assert_eq(qlist_len(q), 2);
    qlist_free(q);
}

Test(qlist, insert_splits_full_node)
{
    struct qlist_fill three = qlist_fill_of(3);
    struct qlist *q = qlist_new();
    push(q, QLIST_TAIL, "a", &three);
    push(q, QLIST_TAIL, "b", &three);
    push(q, QLIST_TAIL, "c", &three);
    cr_assert_eq(q->nodes, 1);
    struct qlist_it it;
    qlist_it_init(&it, q, 1, 1);
    qlist_it_insert(&it, 0, "x", 1, &three); /* before b: splits a | b c */
    cr_assert_str_eq(dump(q), "a,x,b,c");
    cr_assert_eq(q->nodes, 2);
    qlist_it_init(&it, q, -1, 1);
    qlist_it_insert(&it, 1, "z", 1, &three); /* after the tail */
    qlist_it_init(&it, q, 0, 1);
    qlist_it_insert(&it, 0, "0", 1, &three); /* before the head */
    cr_assert_str_eq(dump(q), "0,a,x,b,c,z");
    cr_assert_eq(qlist_len(q), 6);
    for (struct qlist_node *n = q->head; n != NULL; n = n->next)
        cr_assert_leq(listpack_count(n->lp), 3);
    qlist_free(q);
}

Test(qlist, dup_digest_bytes)
{
    struct qlist_fill two = qlist_fill_of(2);
    struct qlist *a = qlist_new(), *b = qlist_new();
    push(a, QLIST_TAIL, "x", &two);
    push(a, QLIST_TAIL, "y", &two);
    push(a, QLIST_TAIL, "z", &two);
    push(b, QLIST_TAIL, "x", &F8K);
    push(b, QLIST_TAIL, "y", &F8K);
    push(b, QLIST_TAIL, "z", &F8K);
    cr_assert_neq(a->nodes, b->nodes);
    cr_assert_eq(qlist_digest(a, 7), qlist_digest(b, 7)); /* layout-independent */
    struct qlist *c = qlist_dup(a);
    cr_assert_eq(c->nodes, a->nodes);
    cr_assert_eq(qlist_bytes(c), qlist_bytes(a));
    cr_assert_str_eq(qlist_encoding_name(c), "quicklist");
    cr_assert_str_eq(dump(c), "x,y,z");
    size_t len;
    free(qlist_pop(c, QLIST_TAIL, &len));
    push(c, QLIST_HEAD, "z", &two);
    cr_assert_neq(qlist_digest(c, 7), qlist_digest(a, 7)); /* order matters */
    struct qlist *d = qlist_new(), *e = qlist_new();
    push(d, QLIST_TAIL, "ab", &F8K);
    push(e, QLIST_TAIL, "a", &F8K);
    push(e, QLIST_TAIL, "b", &F8K);
    cr_assert_neq(qlist_digest(d, 7), qlist_digest(e, 7));
    cr_assert_gt(qlist_bytes(a), 3);
    qlist_free(a);
    qlist_free(b);
    qlist_free(c);
    qlist_free(d);
    qlist_free(e);
}

Test(qlist, free_step)
{
    struct qlist_fill f = qlist_fill_of(10);
    struct qlist *q = qlist_new();
    for (int i = 0; i < 1000; i++)
        push(q, QLIST_TAIL, "e", &f);
    int steps = 0;
    while (!qlist_free_step(q, 100))
        steps++;
    cr_assert_geq(steps, 8);
}

/* Random operations against an array model, small count limits so nodes split often. */
Test(qlist, random_against_model)
{
    enum { CAP = 4000 };
    static char model[CAP][12];
    int n = 0;
    unsigned seed = 12345;
    struct qlist_fill f = qlist_fill_of(4);
    struct qlist *q = qlist_new();
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        int op = (int)((seed >> 16) % 6);
        char v[12];
        snprintf(v, sizeof v, "%u", (seed >> 8) % 1000);
        if ((op == 0 || op == 1 || op == 4) && n < CAP) {
            if (op == 0) {
                memmove(model[1], model[0], (size_t)n * sizeof model[0]);
                strcpy(model[0], v);
                push(q, QLIST_HEAD, v, &f);
            } else if (op == 1 || n == 0) {
                strcpy(model[n], v);
                push(q, QLIST_TAIL, v, &f);
            } else {
                int at = (int)(seed % (unsigned)n), after = (int)((seed >> 3) & 1);
                struct qlist_it it;
                qlist_it_init(&it, q, at, 1);
                qlist_it_insert(&it, after, v, strlen(v), &f);
                int pos = at + after;
                memmove(model[pos + 1], model[pos], (size_t)(n - pos) * sizeof model[0]);
                strcpy(model[pos], v);
            }
            n++;
        } else if (op == 2 && n > 0) {
            size_t len;
            char *s = qlist_pop(q, (seed & 1) ? QLIST_HEAD : QLIST_TAIL, &len);
            int idx = (seed & 1) ? 0 : n - 1;
            cr_assert_str_eq(s, model[idx]);
            memmove(model[idx], model[idx + 1], (size_t)(n - idx - 1) * sizeof model[0]);
            n--;
            free(s);
        } else if (op == 3 && n > 0) {
            int at = (int)(seed % (unsigned)n);
            struct qlist_it it;
            const char *s;
            size_t len;
            qlist_it_init(&it, q, at - n, 1); /* negative index */
            cr_assert(qlist_it_get(&it, &s, &len));
            cr_assert(len == strlen(model[at]) && memcmp(s, model[at], len) == 0);
            qlist_it_delete(&it);
            memmove(model[at], model[at + 1], (size_t)(n - at - 1) * sizeof model[0]);
            n--;
        } else if (op == 5 && n > 2 && (seed & 7) == 0) {
            int start = (int)(seed % (unsigned)n), cnt = (int)((seed >> 5) % 5);
            if (start + cnt > n)
                cnt = n - start;
            qlist_delete_range(q, (size_t)start, (size_t)cnt);
            memmove(model[start], model[start + cnt], (size_t)(n - start - cnt) * sizeof model[0]);
            n -= cnt;
        }
        cr_assert_eq(qlist_len(q), (size_t)n);
    }
    struct qlist_it it;
    const char *s;
    size_t len;
    int i = 0, nodes = 0;
    for (qlist_it_init(&it, q, 0, 1); qlist_it_get(&it, &s, &len); qlist_it_next(&it), i++)
        cr_assert(len == strlen(model[i]) && memcmp(s, model[i], len) == 0);
    cr_assert_eq(i, n);
    for (struct qlist_node *nd = q->head; nd != NULL; nd = nd->next, nodes++) {
        cr_assert_gt(listpack_count(nd->lp), 0);
        cr_assert_leq(listpack_count(nd->lp), 4);
    }
    cr_assert_eq((size_t)nodes, q->nodes);
    qlist_free(q);
}
