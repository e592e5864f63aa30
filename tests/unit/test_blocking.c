/* Unit tests of blocking.c: Redis's timeout argument, and the per-key FIFO registry of
 * blocked clients (order, several keys, duplicates, removal, ready signals). */
#include <criterion/criterion.h>
#include <string.h>

#include "blocking.h"

static int parse(const char *s, int64_t now, int64_t *deadline, const char **err)
{
    return blocking_parse_timeout(s, strlen(s), now, deadline, err);
}

/* Seconds as a float become an absolute deadline in ms, rounded up; 0 waits forever. */
Test(blocking, timeout_seconds_become_a_deadline)
{
    int64_t d;
    const char *err;
    cr_assert_eq(parse("0", 1000, &d, &err), 0);
    cr_assert_eq(d, 0);
    cr_assert_eq(parse("1.5", 1000, &d, &err), 0);
    cr_assert_eq(d, 2500);
    cr_assert_eq(parse("0.0001", 1000, &d, &err), 0); /* ceil: 1 ms, not forever */
    cr_assert_eq(d, 1001);
    cr_assert_eq(parse("1e3", 0, &d, &err), 0);
    cr_assert_eq(d, 1000000);
    cr_assert_eq(parse("0.0", 5, &d, &err), 0);
    cr_assert_eq(d, 0);
}

/* Redis's error texts: not a float (spaces, junk, NaN, empty) or negative (infinity too). */
Test(blocking, timeout_errors_use_redis_texts)
{
    int64_t d = 77;
    const char *err;
    const char *bad[] = {"abc", "", " 1", "1 ", "1x", "nan", "0x", NULL};
    for (int i = 0; bad[i]; i++) {
        cr_assert_eq(parse(bad[i], 0, &d, &err), -1, "%s", bad[i]);
        cr_assert_str_eq(err, "ERR timeout is not a float or out of range");
    }
    cr_assert_eq(parse("-1", 0, &d, &err), -1);
    cr_assert_str_eq(err, "ERR timeout is negative");
    cr_assert_eq(parse("-0.5", 0, &d, &err), -1);
    cr_assert_str_eq(err, "ERR timeout is negative");
    cr_assert_eq(parse("inf", 0, &d, &err), -1);
    cr_assert_str_eq(err, "ERR timeout is negative");
    cr_assert_eq(d, 77, "a failed parse leaves the deadline alone");
}

static struct blocking_registry reg;

static void setup(void)
{
    blocking_init(&reg);
}

static void teardown(void)
{
    blocking_close(&reg);
}

static void add1(struct blocking_waiter *w, const char *k)
{
    const char *keys[] = {k};
    size_t lens[] = {strlen(k)};
    blocking_add(&reg, w, 3, 1, keys, lens);
}

/* Waiters on one key come back in the order they blocked, whatever is removed between. */
Test(blocking, one_key_is_fifo, .init = setup, .fini = teardown)
{
    struct blocking_waiter w[4] = {{0}};
    for (int i = 0; i < 4; i++)
        add1(&w[i], "q");
    cr_assert_eq(blocking_count(&reg), 4);
    cr_assert_eq(blocking_key_count(&reg, "q", 1), 4);
    blocking_remove(&reg, &w[1]);
    blocking_signal(&reg, "q", 1);
    struct blocking_queue *q = blocking_next_ready(&reg);
    cr_assert_not_null(q);
    size_t len;
    cr_assert_eq(memcmp(blocking_queue_key(q, &len), "q", 1), 0);
    cr_assert_eq(len, 1);
    struct blocking_waiter *x = blocking_queue_first(q);
    cr_assert_eq(x, &w[0]);
    x = blocking_queue_next(q, x);
    cr_assert_eq(x, &w[2]);
    x = blocking_queue_next(q, x);
    cr_assert_eq(x, &w[3]);
    cr_assert_null(blocking_queue_next(q, x));
    for (int i = 0; i < 4; i++)
        blocking_remove(&reg, &w[i]); /* w[1] again: a no-op */
    cr_assert_eq(blocking_count(&reg), 0);
    cr_assert_eq(blocking_key_count(&reg, "q", 1), 0);
}

/* A waiter on several keys is in each key's queue once (a repeated key counts once), and
 * removal takes it out of all of them. */
Test(blocking, several_keys_and_duplicates, .init = setup, .fini = teardown)
{
    struct blocking_waiter a = {0}, b = {0};
    const char *keys[] = {"k1", "k2", "k1"};
    size_t lens[] = {2, 2, 2};
    blocking_add(&reg, &a, 3, 3, keys, lens);
    add1(&b, "k2");
    cr_assert(blocking_is_blocked(&a));
    cr_assert_eq(a.nlinks, 2);
    cr_assert_eq(a.type, 3);
    cr_assert_eq(blocking_key_count(&reg, "k1", 2), 1);
    cr_assert_eq(blocking_key_count(&reg, "k2", 2), 2);
    blocking_remove(&reg, &a);
    cr_assert_not(blocking_is_blocked(&a));
    cr_assert_eq(blocking_key_count(&reg, "k1", 2), 0);
    cr_assert_eq(blocking_key_count(&reg, "k2", 2), 1);
    blocking_remove(&reg, &b);
}

/* A signal is remembered once per key, only for keys someone waits on, and forgotten
 * when the key's last waiter leaves. */
Test(blocking, ready_set_dedupes_and_forgets, .init = setup, .fini = teardown)
{
    struct blocking_waiter a = {0}, b = {0};
    add1(&a, "x");
    add1(&b, "y");
    blocking_signal(&reg, "nobody", 6);
    blocking_signal(&reg, "y", 1);
    blocking_signal(&reg, "x", 1);
    blocking_signal(&reg, "y", 1);
    size_t len;
    struct blocking_queue *q = blocking_next_ready(&reg);
    cr_assert_eq(*blocking_queue_key(q, &len), 'y');
    q = blocking_next_ready(&reg);
    cr_assert_eq(*blocking_queue_key(q, &len), 'x');
    cr_assert_null(blocking_next_ready(&reg));
    blocking_signal(&reg, "x", 1);
    blocking_remove(&reg, &a); /* x's queue goes, and its signal with it */
    cr_assert_null(blocking_next_ready(&reg));
    blocking_signal_waiter(&reg, &b);
    q = blocking_next_ready(&reg);
    cr_assert_not_null(q);
    cr_assert_eq(blocking_queue_first(q), &b);
    blocking_remove(&reg, &b);
}
