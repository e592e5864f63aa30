/* One intrusive doubly linked list: a struct list_node is embedded in each element, the list
 * holds head, tail and a count. All zeroes is an empty list and an unlinked node, so lists in
 * calloc'd structs need no init. Allocates nothing; owns nothing. */
#ifndef CONCORDKV_LIST_H
#define CONCORDKV_LIST_H

#include <stddef.h>

struct list_node {
    struct list_node *prev, *next;
    int linked; /* in a list */
};

struct list {
    struct list_node *head, *tail;
    int n;
};

/* The element of type TYPE whose member MEMBER is the node PTR (NULL stays NULL). */
#define list_entry(ptr, type, member) \
    ((ptr) ? (type *)(void *)((char *)(ptr) - offsetof(type, member)) : (type *)NULL)

/* Iterate POS (a struct list_node *) over L; NEXT is saved first, so POS may be removed. */
#define list_foreach_safe(pos, next, l) \
    for ((pos) = (l)->head, (next) = (pos) ? (pos)->next : NULL; (pos); \
         (pos) = (next), (next) = (pos) ? (pos)->next : NULL)

static inline void list_push_back(struct list *l, struct list_node *n)
{
    n->next = NULL;
    n->prev = l->tail;
    if (l->tail)
        l->tail->next = n;
    else
        l->head = n;
    l->tail = n;
    n->linked = 1;
    l->n++;
}

static inline void list_push_front(struct list *l, struct list_node *n)
{
    n->prev = NULL;
    n->next = l->head;
    if (l->head)
        l->head->prev = n;
    else
        l->tail = n;
    l->head = n;
    n->linked = 1;
    l->n++;
}

/* Unlink N, which must be in L. */
static inline void list_remove(struct list *l, struct list_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    n->next = n->prev = NULL;
    n->linked = 0;
    l->n--;
}

/* Unlink and return the first node of L, or NULL when L is empty. */
static inline struct list_node *list_pop_front(struct list *l)
{
    struct list_node *n = l->head;
    if (n)
        list_remove(l, n);
    return n;
}

#endif
