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

/* Link N between the neighbours PREV and NEXT of L (NULL: that end of L). */
static inline void list_link(struct list *l, struct list_node *n, struct list_node *prev,
                             struct list_node *next)
{
    n->prev = prev;
    n->next = next;
    if (prev)
        prev->next = n;
    else
        l->head = n;
    if (next)
        next->prev = n;
    else
        l->tail = n;
    n->linked = 1;
    l->n++;
}

static inline void list_push_back(struct list *l, struct list_node *n)
{
    list_link(l, n, l->tail, NULL);
}

static inline void list_push_front(struct list *l, struct list_node *n)
{
    list_link(l, n, NULL, l->head);
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
