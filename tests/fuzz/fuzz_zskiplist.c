/* Fuzz target: the skiplist (src/zskiplist.c) driven by an op sequence over 64 members
 * with scores from a small set (ties, -inf and +inf included): insert, delete, score
 * update, deletion by score range and by rank. After every op it is compared with a model
 * sorted by (score, member): the order forwards and backwards, length, every member's rank,
 * zsl_by_rank of every rank, and the first and last node of a score range. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "prng.h"
#include "zskiplist.h"

#define N 64

/* Each name is preceded by its length as a uint32_t, as zsl_node_len reads it. */
static struct {
    uint32_t len;
    char bytes[8];
} stored[N];
static const char *names[N];
static size_t name_len[N];

struct model {
    int present[N];
    double score[N];
};

static double score_of(uint8_t b)
{
    if (b % 17 == 0)
        return -INFINITY;
    if (b % 17 == 1)
        return INFINITY;
    return (double)(b % 9) - 4 + (b & 0x80 ? 0.5 : 0);
}

static int before(const struct model *m, int a, int b)
{
    if (m->score[a] != m->score[b])
        return m->score[a] < m->score[b];
    return zsl_bytes_cmp(names[a], name_len[a], names[b], name_len[b]) < 0;
}

static int member_of(const struct zsl_node *x)
{
    for (int i = 0; i < N; i++)
        if (zsl_node_len(x) == name_len[i] && memcmp(x->ele, names[i], name_len[i]) == 0)
            return i;
    FUZZ_CHECK(!"a node with an unknown member");
    return -1;
}

static void compare(const struct zskiplist *zsl, const struct model *m, const struct zsl_range *r)
{
    int order[N], n = 0;
    for (int i = 0; i < N; i++)
        if (m->present[i]) {
            int j = n++;
            while (j > 0 && before(m, i, order[j - 1])) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = i;
        }
    FUZZ_CHECK(zsl->length == (unsigned long)n);
    const struct zsl_node *x = zsl->header->level[0].forward, *prev = NULL;
    for (int i = 0; i < n; i++, prev = x, x = x->level[0].forward) {
        FUZZ_CHECK(x != NULL && member_of(x) == order[i] && x->score == m->score[order[i]]);
        FUZZ_CHECK(x->backward == prev);
        FUZZ_CHECK(zsl_rank(zsl, x->score, x->ele, zsl_node_len(x)) == (unsigned long)i + 1);
        FUZZ_CHECK(zsl_by_rank(zsl, (unsigned long)i + 1) == x);
    }
    FUZZ_CHECK(x == NULL && zsl->tail == prev);
    FUZZ_CHECK(zsl_by_rank(zsl, (unsigned long)n + 1) == NULL);
    int first = -1, last = -1;
    for (int i = 0; i < n; i++)
        if (zsl_score_in_range(m->score[order[i]], r)) {
            if (first < 0)
                first = order[i];
            last = order[i];
        }
    const struct zsl_node *f = zsl_first_in_range(zsl, r), *l = zsl_last_in_range(zsl, r);
    FUZZ_CHECK(first < 0 ? f == NULL : f != NULL && member_of(f) == first);
    FUZZ_CHECK(last < 0 ? l == NULL : l != NULL && member_of(l) == last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct zskiplist *zsl = zsl_new();
    struct model m;
    struct prng p;

    if (name_len[0] == 0)
        for (int i = 0; i < N; i++)
        {
            name_len[i] = (size_t)snprintf(stored[i].bytes, sizeof(stored[i].bytes), "%c%d", 'a' + i % 5, i);
            stored[i].len = (uint32_t)name_len[i];
            names[i] = stored[i].bytes;
        }
    memset(&m, 0, sizeof(m));
    prng_seed(&p, size ? data[0] : 1, 7);
    for (size_t i = 1; i + 2 < size; i += 3) {
        int op = data[i] % 6, id = data[i + 1] % N;
        double sc = score_of(data[i + 2]);
        struct zsl_range r = {.min = score_of(data[i + 1]), .max = score_of(data[i + 2]),
                              .minex = data[i] & 0x40, .maxex = data[i] & 0x80};
        switch (op) {
        case 0:
        case 1:
            if (!m.present[id]) {
                zsl_insert(zsl, sc, names[id], name_len[id], &p);
                m.present[id] = 1;
                m.score[id] = sc;
            }
            break;
        case 2:
            FUZZ_CHECK(zsl_delete(zsl, m.present[id] ? m.score[id] : sc, names[id], name_len[id]) ==
                       m.present[id]);
            m.present[id] = 0;
            break;
        case 3:
            if (m.present[id]) {
                struct zsl_node *x = zsl_update_score(zsl, m.score[id], names[id], name_len[id], sc, &p);
                FUZZ_CHECK(x->score == sc && member_of(x) == id);
                m.score[id] = sc;
            }
            break;
        case 4: {
            unsigned long want = 0;
            for (int j = 0; j < N; j++)
                want += m.present[j] && zsl_score_in_range(m.score[j], &r);
            FUZZ_CHECK(zsl_delete_range_by_score(zsl, &r, NULL, NULL) == want);
            for (int j = 0; j < N; j++)
                if (m.present[j] && zsl_score_in_range(m.score[j], &r))
                    m.present[j] = 0;
            break;
        }
        default: {
            unsigned long start = 1 + data[i + 1] % 8, end = start + data[i + 2] % 8;
            unsigned long len = zsl->length;
            unsigned long want = start > len ? 0 : (end > len ? len : end) - start + 1;
            /* the ranks' members, from the list itself (compare() checked it) */
            for (unsigned long k = start; k <= end && k <= len; k++)
                m.present[member_of(zsl_by_rank(zsl, k))] = 2;
            FUZZ_CHECK(zsl_delete_range_by_rank(zsl, start, end, NULL, NULL) == want);
            for (int j = 0; j < N; j++)
                if (m.present[j] == 2)
                    m.present[j] = 0;
            break;
        }
        }
        compare(zsl, &m, &r);
    }
    zsl_free(zsl);
    return 0;
}
