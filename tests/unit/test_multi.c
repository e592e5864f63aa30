/* Unit tests of a connection's MULTI state (multi.h): queueing takes the requests, watching
 * copies the keys, and reset/unwatch free everything and can run again. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "multi.h"
#include "resp.h"

static struct request *req_of(const char *arg)
{
    struct request *r = request_new(1);
    request_push(r, arg, strlen(arg));
    return r;
}

/* Queued requests keep their order past the first growth; reset frees them and clears flags. */
Test(multi, queue_keeps_order_and_reset_clears_the_block)
{
    struct multi_state m = {0};
    char name[8];
    m.in_multi = 1;
    m.multi_error = 1;
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        multi_queue(&m, req_of(name));
    }
    cr_assert_eq(m.nqueued, 20);
    cr_assert_eq(m.queued[0]->len[0], 2);
    cr_assert_eq(memcmp(m.queued[19]->argv[0], "c19", 3), 0);
    multi_reset(&m);
    cr_assert_eq(m.nqueued, 0);
    cr_assert_null(m.queued);
    cr_assert_eq(m.in_multi, 0);
    cr_assert_eq(m.multi_error, 0);
    multi_reset(&m); /* again: a no-op */
}

/* A watched key is a copy with its version and apply_seq; unwatch forgets every key. */
Test(multi, watch_copies_keys_and_unwatch_forgets_them)
{
    struct multi_state m = {0};
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "key:%d", i);
        multi_watch(&m, key, strlen(key), (uint64_t)i, 100 + (uint64_t)i);
    }
    strcpy(key, "changed");
    cr_assert_eq(m.nwatched, 10);
    cr_assert_eq(m.watched[9].len, 5);
    cr_assert_eq(memcmp(m.watched[9].key, "key:9", 5), 0);
    cr_assert_eq(m.watched[3].version, 3);
    cr_assert_eq(m.watched[3].apply_seq, 103);
    multi_unwatch(&m);
    cr_assert_eq(m.nwatched, 0);
    cr_assert_null(m.watched);
    multi_watch(&m, "again", 5, 0, 0);
    cr_assert_eq(m.nwatched, 1);
    multi_unwatch(&m);
}
