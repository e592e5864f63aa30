/* The process's allocated bytes, counted as they are allocated (Redis's zmalloc counter),
 * so that INFO's used_memory and later maxmemory checks cost one load instead of a walk of
 * malloc's free lists (mallinfo2 takes hundreds of ms once a large value has been freed). */
#ifndef CONCORDKV_MEMCOUNT_H
#define CONCORDKV_MEMCOUNT_H

#include <stddef.h>

/* Bytes currently allocated through malloc and friends (malloc_usable_size of each live
 * block). In builds where counting is off (sanitizers interpose malloc themselves) this is
 * the sanitizer allocator's own count of live bytes. */
size_t memcount_used(void);
/* 1 when our counter is active, 0 when memcount_used reads the sanitizer's. */
int memcount_counting(void);

#endif
