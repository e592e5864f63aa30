/* Unit tests of the intrusive list (list.h): order, removal anywhere, counts, and removal
 * while iterating. */
#include <criterion/criterion.h>

#include "list.h"

struct item {
    int v;
    struct list_node node;
};

/* The values of L, front to back, into OUT; returns how many. */
static int values(const struct list *l, int *out)
{
    int n = 0;
    for (const struct list_node *p = l->head; p; p = p->next)
        out[n++] = list_entry(p, struct item, node)->v;
    return n;
}

/* A zeroed list is empty; pushes at both ends keep their order and the count. */
Test(list, zeroed_list_is_empty_and_pushes_keep_order)
{
    struct list l = {0};
    struct item a = {.v = 1}, b = {.v = 2}, c = {.v = 3};
    int v[4];
    cr_assert_null(list_pop_front(&l));
    list_push_back(&l, &b.node);
    list_push_back(&l, &c.node);
    list_push_front(&l, &a.node);
    cr_assert_eq(l.n, 3);
    cr_assert_eq(values(&l, v), 3);
    cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
    cr_assert_eq(list_entry(l.tail, struct item, node), &c);
    cr_assert(a.node.linked && b.node.linked && c.node.linked);
}

/* Removing the head, the middle or the tail relinks the rest and unmarks the node. */
Test(list, remove_anywhere_relinks)
{
    struct list l = {0};
    struct item it[4] = {{.v = 0}, {.v = 1}, {.v = 2}, {.v = 3}};
    int v[4];
    for (int i = 0; i < 4; i++)
        list_push_back(&l, &it[i].node);
    list_remove(&l, &it[1].node);
    list_remove(&l, &it[3].node);
    cr_assert_not(it[1].node.linked);
    cr_assert_eq(values(&l, v), 2);
    cr_assert(v[0] == 0 && v[1] == 2);
    cr_assert_eq(l.tail, &it[2].node);
    list_remove(&l, &it[0].node);
    cr_assert_eq(l.head, &it[2].node);
    cr_assert_eq(list_pop_front(&l), &it[2].node);
    cr_assert(l.head == NULL && l.tail == NULL && l.n == 0);
}

/* list_foreach_safe allows removing the current node. */
Test(list, foreach_safe_allows_removal)
{
    struct list l = {0};
    struct item it[5];
    struct list_node *p, *next;
    int v[5];
    for (int i = 0; i < 5; i++) {
        it[i] = (struct item){.v = i};
        list_push_back(&l, &it[i].node);
    }
    list_foreach_safe(p, next, &l) {
        if (list_entry(p, struct item, node)->v % 2 == 0)
            list_remove(&l, p);
    }
    cr_assert_eq(values(&l, v), 2);
    cr_assert(v[0] == 1 && v[1] == 3);
    cr_assert_eq(l.n, 2);
}
