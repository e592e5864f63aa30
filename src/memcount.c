/* memcount.h: the allocation counter. malloc, free and the rest are defined here and forward
 * to glibc's own entry points (__libc_malloc ...), adding or subtracting each block's
 * usable size; the program's libraries bind to these definitions too. Off under ASan,
 * which replaces malloc itself and keeps the same count (read through its interface).
 * Must stay tiny: it runs on every allocation. */
#include "memcount.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define MEMCOUNT_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define MEMCOUNT_OFF 1
#endif
#endif

#ifdef MEMCOUNT_OFF

/* The sanitizer runtime's own count of the bytes its allocator has handed out and not taken
 * back (sanitizer/allocator_interface.h, which GCC 12 does not ship; libasan has it). */
extern size_t __sanitizer_get_current_allocated_bytes(void);

size_t memcount_used(void)
{
    return __sanitizer_get_current_allocated_bytes();
}

int memcount_counting(void)
{
    return 0;
}

void memcount_tune(void)
{
}

void memcount_trim(void)
{
}

#else

/* glibc's allocator under its own names. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

/* Signed: a block glibc handed out without passing through here (none is known) and
 * freed through here would otherwise wrap the count. */
static int64_t used_bytes;

static inline void count(void *p, int64_t sign)
{
    if (p != NULL)
        __atomic_fetch_add(&used_bytes, sign * (int64_t)malloc_usable_size(p), __ATOMIC_RELAXED);
}

size_t memcount_used(void)
{
    int64_t n = __atomic_load_n(&used_bytes, __ATOMIC_RELAXED);
    return n > 0 ? (size_t)n : 0;
}

int memcount_counting(void)
{
    return 1;
}

void memcount_tune(void)
{
    /* Setting the threshold turns off glibc's dynamic adjustment; 128 KiB is its default. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

void memcount_trim(void)
{
    malloc_trim(0);
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    count(p, 1);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    count(p, 1);
    return p;
}

void *realloc(void *old, size_t n)
{
    size_t before = old != NULL ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (p != NULL || n == 0) {
        /* moved, resized or (n == 0) freed: OLD's bytes are gone either way */
        __atomic_fetch_sub(&used_bytes, (int64_t)before, __ATOMIC_RELAXED);
        count(p, 1);
    }
    return p;
}

void *reallocarray(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

void free(void *p)
{
    count(p, -1);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    count(p, 1);
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
        return EINVAL;
    void *p = memalign(align, n);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    void *p = __libc_valloc(n);
    count(p, 1);
    return p;
}

void *pvalloc(size_t n)
{
    void *p = __libc_pvalloc(n);
    count(p, 1);
    return p;
}

#endif
