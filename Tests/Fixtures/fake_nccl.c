// A stand-in for libnccl.so.2 (Tests/ComputeTests/FakeNCCLTests.swift): the ranks of a job are
// threads of the test process, each with its stand-in CUDA device (fake_cuda.c, whose device
// memory is host memory). Communicators of one unique id meet here; ncclGroupEnd waits for every
// rank, then copies each broadcast from its root's buffer, so results can be checked, not only
// calls. Every call is appended to the file FAKE_NCCL_LOG names, one line each.
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char internal[128];
} ncclUniqueId;

enum { MAX_RANKS = 8, NCCL_FLOAT32 = 7, INVALID_ARGUMENT = 4 };

struct op {
    int root;
    const void *send;
    void *receive;
    size_t count;
};

struct world {
    char id[128];
    int ranks;
    pthread_barrier_t barrier;
    struct op *ops[MAX_RANKS];
    int op_count[MAX_RANKS];
    struct world *next;
};

struct comm {
    int ranks, rank;
    struct world *world;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct world *worlds;
static int ids;
static __thread struct comm *group_comm;
static __thread struct op *pending;
static __thread int pending_count, pending_capacity;

static void note(const char *format, ...) {
    const char *path = getenv("FAKE_NCCL_LOG");
    if (!path) return;
    pthread_mutex_lock(&lock);
    FILE *f = fopen(path, "a");
    if (f) {
        va_list args;
        va_start(args, format);
        vfprintf(f, format, args);
        va_end(args);
        fputc('\n', f);
        fclose(f);
    }
    pthread_mutex_unlock(&lock);
}

int ncclGetVersion(int *version) {
    *version = 22105;
    return 0;
}

const char *ncclGetErrorString(int result) { return result == INVALID_ARGUMENT ? "invalid argument" : "fake error"; }

int ncclGetUniqueId(ncclUniqueId *id) {
    memset(id, 0, sizeof *id);
    pthread_mutex_lock(&lock);
    snprintf(id->internal, sizeof id->internal, "fake-nccl-%d", ++ids);
    pthread_mutex_unlock(&lock);
    note("unique id %s", id->internal);
    return 0;
}

int ncclCommInitRank(void **out, int ranks, ncclUniqueId id, int rank) {
    if (ranks < 1 || ranks > MAX_RANKS || rank < 0 || rank >= ranks) return INVALID_ARGUMENT;
    pthread_mutex_lock(&lock);
    struct world *w = worlds;
    while (w && memcmp(w->id, id.internal, sizeof w->id) != 0) w = w->next;
    if (!w) {
        w = calloc(1, sizeof *w);
        memcpy(w->id, id.internal, sizeof w->id);
        w->ranks = ranks;
        pthread_barrier_init(&w->barrier, NULL, (unsigned)ranks);
        w->next = worlds;
        worlds = w;
    }
    pthread_mutex_unlock(&lock);
    if (w->ranks != ranks) return INVALID_ARGUMENT;
    struct comm *c = calloc(1, sizeof *c);
    c->ranks = ranks;
    c->rank = rank;
    c->world = w;
    note("init %s ranks %d rank %d", id.internal, ranks, rank);
    pthread_barrier_wait(&w->barrier);  // as NCCL: returns once every rank has joined
    *out = c;
    return 0;
}

int ncclCommDestroy(void *comm) {
    free(comm);
    return 0;
}

int ncclGroupStart(void) {
    pending_count = 0;
    group_comm = NULL;
    return 0;
}

int ncclBroadcast(const void *send, void *receive, size_t count, int type, int root, void *comm, void *stream) {
    (void)stream;
    struct comm *c = comm;
    if (type != NCCL_FLOAT32 || root < 0 || root >= c->ranks || !receive) return INVALID_ARGUMENT;
    if (root == c->rank && send != receive) return INVALID_ARGUMENT;  // poyo broadcasts in place
    if (pending_count == pending_capacity) {
        pending_capacity = pending_capacity ? 2 * pending_capacity : 64;
        pending = realloc(pending, (size_t)pending_capacity * sizeof *pending);
    }
    pending[pending_count++] = (struct op){root, send, receive, count};
    group_comm = c;
    note("rank %d broadcast root %d count %zu", c->rank, root, count);
    return 0;
}

int ncclGroupEnd(void) {
    struct comm *c = group_comm;
    if (!c) return 0;
    struct world *w = c->world;
    w->ops[c->rank] = pending;
    w->op_count[c->rank] = pending_count;
    pthread_barrier_wait(&w->barrier);
    // Every rank issues the same calls in the same order, so op i of a root is op i here.
    for (int i = 0; i < pending_count; i++) {
        struct op *mine = &pending[i];
        if (mine->root == c->rank) continue;
        if (i >= w->op_count[mine->root]) return INVALID_ARGUMENT;
        struct op *theirs = &w->ops[mine->root][i];
        if (theirs->root != mine->root || theirs->count != mine->count) return INVALID_ARGUMENT;
        memcpy(mine->receive, theirs->send, mine->count * sizeof(float));
    }
    pthread_barrier_wait(&w->barrier);  // no root changes its buffer before every copy is made
    note("rank %d group of %d broadcasts done", c->rank, pending_count);
    group_comm = NULL;
    return 0;
}
