#include "NCCLShim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char internal[POYO_NCCL_UNIQUE_ID_BYTES];
} nccl_unique_id;

// nccl.h: ncclResult_t and ncclDataType_t are enums (int); ncclFloat32 is 7.
enum { NCCL_FLOAT32 = 7 };

typedef int (*version_t)(int *);
typedef int (*unique_id_t)(nccl_unique_id *);
typedef int (*init_rank_t)(void **, int, nccl_unique_id, int);
typedef int (*destroy_t)(void *);
typedef int (*group_t)(void);
typedef int (*broadcast_t)(const void *, void *, size_t, int, int, void *, void *);
typedef const char *(*error_string_t)(int);

static void *library;
static version_t f_version;
static unique_id_t f_unique_id;
static init_rank_t f_init_rank;
static destroy_t f_destroy;
static group_t f_group_start, f_group_end;
static broadcast_t f_broadcast;
static error_string_t f_error_string;
static char message[512];

const char *poyo_nccl_error(void) { return message; }

static int check(int rc, const char *call) {
    if (rc != 0) {
        const char *why = f_error_string ? f_error_string(rc) : "unknown error";
        snprintf(message, sizeof message, "%s failed: %s (NCCL result %d)", call, why ? why : "?", rc);
    }
    return rc;
}

int poyo_nccl_open(const char *path) {
    if (library) return 0;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(message, sizeof message, "%s", dlerror());
        return -1;
    }
    const char *names[] = {"ncclGetVersion", "ncclGetUniqueId", "ncclCommInitRank", "ncclCommDestroy",
                           "ncclGroupStart", "ncclGroupEnd",    "ncclBroadcast",    "ncclGetErrorString"};
    void **slots[] = {(void **)&f_version,     (void **)&f_unique_id, (void **)&f_init_rank, (void **)&f_destroy,
                      (void **)&f_group_start, (void **)&f_group_end, (void **)&f_broadcast, (void **)&f_error_string};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *slots[i] = dlsym(h, names[i]);
        if (!*slots[i]) {
            snprintf(message, sizeof message, "%s has no %s (not NCCL 2.x?)", path, names[i]);
            dlclose(h);
            f_error_string = NULL;
            return -1;
        }
    }
    library = h;
    return 0;
}

int poyo_nccl_version(int *version) { return library ? check(f_version(version), "ncclGetVersion") : -1; }

int poyo_nccl_unique_id(unsigned char id[POYO_NCCL_UNIQUE_ID_BYTES]) {
    if (!library) return -1;
    nccl_unique_id u;
    int rc = check(f_unique_id(&u), "ncclGetUniqueId");
    memcpy(id, u.internal, sizeof u.internal);
    return rc;
}

int poyo_nccl_init_rank(void **comm, int ranks, const unsigned char id[POYO_NCCL_UNIQUE_ID_BYTES], int rank) {
    if (!library) return -1;
    nccl_unique_id u;
    memcpy(u.internal, id, sizeof u.internal);
    return check(f_init_rank(comm, ranks, u, rank), "ncclCommInitRank");
}

int poyo_nccl_destroy(void *comm) { return library ? check(f_destroy(comm), "ncclCommDestroy") : -1; }
int poyo_nccl_group_start(void) { return library ? check(f_group_start(), "ncclGroupStart") : -1; }
int poyo_nccl_group_end(void) { return library ? check(f_group_end(), "ncclGroupEnd") : -1; }

int poyo_nccl_broadcast_floats(const void *send, void *receive, size_t count, int root, void *comm, void *stream) {
    if (!library) return -1;
    return check(f_broadcast(send, receive, count, NCCL_FLOAT32, root, comm, stream), "ncclBroadcast");
}
