// Per-thread scratch for the CPU backend's attention tasks: score and probability blocks
// `[nq, nk]` reused from task to task instead of allocated for each (window, head), so a
// streaming update (the same shapes every 20 ms) makes no heap allocation. Grow-only; freed when
// the thread ends.
#include <pthread.h>
#include <stdlib.h>

#include "CPUKernels.h"

enum { SLOTS = 4 };

typedef struct {
    float *data[SLOTS];
    size_t capacity[SLOTS];  // floats
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void release(void *p) {
    scratch *s = p;
    for (int i = 0; i < SLOTS; i++) free(s->data[i]);
    free(s);
}

static void make_key(void) { pthread_key_create(&scratch_key, release); }

float *poyo_scratch(int slot, size_t count) {
    if (slot < 0 || slot >= SLOTS) return NULL;
    pthread_once(&scratch_once, make_key);
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || pthread_setspecific(scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    if (count > s->capacity[slot] || !s->data[slot]) {
        // Round up to a multiple of 16 floats (64 bytes), at least 1,024, with 25 % headroom so a
        // slowly growing window does not reallocate every task.
        size_t want = count + count / 4;
        if (want < 1024) want = 1024;
        want = (want + 15) & ~(size_t)15;
        float *p = aligned_alloc(64, want * sizeof(float));
        if (!p) return NULL;
        free(s->data[slot]);
        s->data[slot] = p;
        s->capacity[slot] = want;
    }
    return s->data[slot];
}
