/* Fuzz target: the dict (src/dict.c) driven by an op sequence over 256 possible keys
 * (add, delete, find, rehash steps, iteration with deletion of the current element, and a
 * SCAN whose steps interleave with the other ops) and compared with a presence model:
 * size, find, every element exactly once per iteration, and every key present from a
 * scan's first step to its last returned at least once and no absent key ever returned. */
#include <string.h>

#include "dict.h"
#include "fuzz.h"

struct model {
    unsigned char present[256];
};

static size_t key_of(int id, char *k)
{
    size_t n = 1 + (size_t)id % 13;
    for (size_t i = 0; i < n; i++)
        k[i] = (char)('a' + (id + (int)i * 7) % 26);
    k[0] = (char)id; /* unique per id */
    return n;
}

static int id_of(const struct dict_entry *e)
{
    return (unsigned char)e->key[0];
}

struct scan_state {
    int active;
    uint64_t cursor;
    unsigned char stayed[256]; /* present at the start and never deleted since */
    unsigned char seen[256];
    const struct model *m;
};

static void on_scan(void *ud, const struct dict_entry *e)
{
    struct scan_state *s = ud;
    int id = id_of(e);
    FUZZ_CHECK(s->m->present[id]);
    char k[16];
    FUZZ_CHECK(e->klen == key_of(id, k) && memcmp(e->key, k, e->klen) == 0);
    s->seen[id] = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dict *d = dict_new(size ? data[0] : 0);
    struct model m;
    struct scan_state s = {.active = 0, .m = &m};
    size_t count = 0;
    char k[16];

    memset(&m, 0, sizeof(m));
    for (size_t i = 1; i + 1 < size; i += 2) {
        int op = data[i] & 7, id = data[i + 1];
        size_t kl = key_of(id, k);
        switch (op) {
        case 0:
        case 1:
            FUZZ_CHECK(dict_add(d, k, kl, NULL) == !m.present[id]);
            count += !m.present[id];
            m.present[id] = 1;
            break;
        case 2: {
            void *val = (void *)1;
            FUZZ_CHECK(dict_delete(d, k, kl, &val) == m.present[id]);
            count -= m.present[id];
            m.present[id] = 0;
            s.stayed[id] = 0;
            break;
        }
        case 3:
            FUZZ_CHECK((dict_find(d, k, kl) != NULL) == m.present[id]);
            break;
        case 4:
            dict_rehash_step(d, 1 + id % 4);
            break;
        case 5: { /* iterate; delete the current element when its id matches */
            unsigned char once[256] = {0};
            struct dict_iter it;
            struct dict_entry *e;
            size_t n = 0;
            dict_iter_init(&it, d);
            while ((e = dict_iter_next(&it)) != NULL) {
                int eid = id_of(e);
                FUZZ_CHECK(m.present[eid] && !once[eid]);
                once[eid] = 1;
                n++;
                if ((eid ^ id) % 5 == 0) {
                    size_t ekl = key_of(eid, k);
                    FUZZ_CHECK(dict_delete(d, k, ekl, NULL) == 1);
                    m.present[eid] = 0;
                    s.stayed[eid] = 0;
                    count--;
                }
            }
            dict_iter_close(&it);
            for (int j = 0; j < 256; j++)
                FUZZ_CHECK(!m.present[j] || once[j]);
            break;
        }
        default: /* a scan step, starting a scan when none is active */
            if (!s.active) {
                s.active = 1;
                s.cursor = 0;
                memcpy(s.stayed, m.present, sizeof(s.stayed));
                memset(s.seen, 0, sizeof(s.seen));
            }
            s.cursor = dict_scan(d, s.cursor, on_scan, &s);
            if (s.cursor == 0) {
                for (int j = 0; j < 256; j++)
                    FUZZ_CHECK(!s.stayed[j] || s.seen[j]);
                s.active = 0;
            }
            break;
        }
        FUZZ_CHECK(dict_size(d) == count);
    }
    dict_free(d, NULL);
    return 0;
}
