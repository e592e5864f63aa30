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

/* At startup: large blocks (raft entries of pipelined batches, snapshot buffers) always
 * come from mmap, so that freeing them gives the pages back. glibc would otherwise raise its
 * mmap threshold to the size of every large block freed (up to 32 MiB) and keep the next
 * ones in a heap that seldom shrinks. */
void memcount_tune(void);
/* Give free heap pages back to the system (malloc_trim): after a snapshot has let raft drop
 * the log entries it covers. Costs a walk of the free lists; call it rarely. */
void memcount_trim(void);

#endif
