/* Fuzz target: the listpack (src/listpack.c) driven by an op sequence (append, insert,
 * replace, delete, find, pair set/delete) and compared after every op with a plain array
 * model: count, every entry walked forwards and backwards, seek of every index. Entries run
 * to 1275 bytes so that multi-byte length varints are exercised. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "listpack.h"

#define MAX_ENTRIES 200

struct model {
    unsigned char *s[MAX_ENTRIES];
    size_t len[MAX_ENTRIES];
    int n;
};

static void compare(const struct listpack *lp, const struct model *m)
{
    size_t pos, len;
    int i;
    FUZZ_CHECK(listpack_count(lp) == (uint32_t)m->n);
    for (i = 0, pos = listpack_first(lp); pos != LISTPACK_NONE; pos = listpack_next(lp, pos), i++) {
        FUZZ_CHECK(i < m->n);
        const unsigned char *p = listpack_get(lp, pos, &len);
        FUZZ_CHECK(len == m->len[i] && memcmp(p, m->s[i], len) == 0);
        FUZZ_CHECK(listpack_seek(lp, i) == pos);
        FUZZ_CHECK(listpack_seek(lp, (long)i - m->n) == pos);
    }
    FUZZ_CHECK(i == m->n);
    for (i = m->n - 1, pos = listpack_last(lp); pos != LISTPACK_NONE; pos = listpack_prev(lp, pos), i--) {
        FUZZ_CHECK(i >= 0);
        const unsigned char *p = listpack_get(lp, pos, &len);
        FUZZ_CHECK(len == m->len[i] && memcmp(p, m->s[i], len) == 0);
    }
    FUZZ_CHECK(i == -1);
    FUZZ_CHECK(listpack_seek(lp, m->n) == LISTPACK_NONE);
}

static void model_insert(struct model *m, int at, const unsigned char *s, size_t len)
{
    memmove(m->s + at + 1, m->s + at, sizeof(m->s[0]) * (size_t)(m->n - at));
    memmove(m->len + at + 1, m->len + at, sizeof(m->len[0]) * (size_t)(m->n - at));
    m->s[at] = malloc(len ? len : 1);
    memcpy(m->s[at], s, len);
    m->len[at] = len;
    m->n++;
}

static void model_delete(struct model *m, int at, int n)
{
    for (int i = at; i < at + n; i++)
        free(m->s[i]);
    memmove(m->s + at, m->s + at + n, sizeof(m->s[0]) * (size_t)(m->n - at - n));
    memmove(m->len + at, m->len + at + n, sizeof(m->len[0]) * (size_t)(m->n - at - n));
    m->n -= n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct listpack *lp = listpack_new();
    struct model m = {.n = 0};
    unsigned char s[1275];
    size_t i = 0;

    while (i + 3 <= size) {
        uint8_t op = data[i], lb = data[i + 1], seed = data[i + 2];
        i += 3;
        size_t len = op & 0x80 ? (size_t)lb * 5 : lb % 16;
        for (size_t k = 0; k < len; k++)
            s[k] = (unsigned char)(seed + (op & 0x40 ? 0 : k * 31));
        int at = m.n ? seed % (m.n + 1) : 0;
        switch (op & 7) {
        case 0:
        case 1:
            if (m.n >= MAX_ENTRIES)
                break;
            if ((op & 7) == 0) {
                listpack_append(&lp, s, len);
                model_insert(&m, m.n, s, len);
            } else {
                size_t pos = at == m.n ? LISTPACK_NONE : listpack_seek(lp, at);
                size_t got = listpack_insert(&lp, pos, s, len);
                model_insert(&m, at, s, len);
                FUZZ_CHECK(got == listpack_seek(lp, at));
            }
            break;
        case 2:
            if (at < m.n) {
                size_t pos = listpack_seek(lp, at);
                FUZZ_CHECK(listpack_replace(&lp, pos, s, len) == pos);
                model_delete(&m, at, 1);
                model_insert(&m, at, s, len);
            }
            break;
        case 3:
            if (at < m.n) {
                int n = 1 + lb % 4, real = n > m.n - at ? m.n - at : n;
                size_t next = listpack_delete(&lp, listpack_seek(lp, at), (uint32_t)n);
                model_delete(&m, at, real);
                FUZZ_CHECK(next == (at < m.n ? listpack_seek(lp, at) : LISTPACK_NONE));
            }
            break;
        case 4: {
            int want = -1;
            for (int k = 0; k < m.n && want < 0; k++)
                if (m.len[k] == len && memcmp(m.s[k], s, len) == 0)
                    want = k;
            size_t got = listpack_find(lp, listpack_first(lp), s, len, 0);
            FUZZ_CHECK(got == (want < 0 ? LISTPACK_NONE : listpack_seek(lp, want)));
            break;
        }
        default:
            break;
        }
        compare(lp, &m);
    }
    model_delete(&m, 0, m.n);
    listpack_free(lp);
    return 0;
}
