#ifndef POYO_ALLOCATION_COUNTER_H
#define POYO_ALLOCATION_COUNTER_H
// Counts the heap allocations the calling thread makes (malloc, calloc, realloc, posix_memalign,
// aligned_alloc, memalign), for the streaming decoder's "no allocation per update" check
// (StreamingDecoderTests, `poyo-bench stream`). Linking this target interposes those functions
// in the whole process: each forwards to glibc's own (__libc_*), so memory and `free` are
// glibc's; the only addition is a thread-local count. Linux with glibc only; elsewhere the
// count stays 0 and `poyo_allocation_counting` says so.
#include <stdint.h>

// Allocations made so far by the calling thread.
uint64_t poyo_allocation_count(void);

// 1 when allocations are counted here (Linux + glibc), 0 otherwise.
int poyo_allocation_counting(void);

#endif
