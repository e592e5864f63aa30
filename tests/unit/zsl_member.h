/* Skiplist nodes read a member's length from the uint32_t just before its bytes
 * (zsl_node_len), as a zset's dict entries lay them out. zsl_member copies a member that
 * way into storage that lasts for the test (Criterion runs each test in a process of its
 * own); tests insert what it returns. */
#ifndef CONCORDKV_TEST_ZSL_MEMBER_H
#define CONCORDKV_TEST_ZSL_MEMBER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline const char *zsl_member(const char *s, size_t len)
{
    static char pool[1 << 20];
    static size_t used;
    uint32_t l = (uint32_t)len;
    size_t need = (sizeof(l) + len + 1 + 7) & ~(size_t)7;
    if (used + need > sizeof(pool))
        abort(); /* a test wants more members than the pool holds: make it bigger */
    char *p = pool + used;
    memcpy(p, &l, sizeof(l));
    memcpy(p + sizeof(l), s, len);
    p[sizeof(l) + len] = '\0';
    used += need;
    return p + sizeof(l);
}

#endif
