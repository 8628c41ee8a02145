// See include/AllocationCounter.h. Only the executables that measure allocations link this
// target (the test bundle and poyo-bench): never the poyo binary or the libraries users embed.
#include "AllocationCounter.h"

#if defined(__linux__) && defined(__GLIBC__)
#include <stddef.h>

// glibc's allocator under its own names: what malloc & co. resolve to without this file.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

// Initial-exec TLS in the executable: reading it never allocates (a lazily allocated TLS block
// would recurse into malloc).
static __thread uint64_t allocations __attribute__((tls_model("initial-exec")));

uint64_t poyo_allocation_count(void) { return allocations; }
int poyo_allocation_counting(void) { return 1; }

void *malloc(size_t size) {
    allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    allocations++;
    return __libc_realloc(p, size);
}

void *memalign(size_t alignment, size_t size) {
    allocations++;
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    allocations++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    // glibc's rule: a power of two multiple of sizeof(void *), else EINVAL (22), nothing counted.
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return 22;
    allocations++;
    void *p = __libc_memalign(alignment, size);
    if (!p) return 12;  // ENOMEM
    *out = p;
    return 0;
}

#else

uint64_t poyo_allocation_count(void) { return 0; }
int poyo_allocation_counting(void) { return 0; }

#endif
