#ifndef POYO_NCCL_SHIM_H
#define POYO_NCCL_SHIM_H
#include <stddef.h>

// NCCL opened at run time (dlopen of libnccl.so.2), for gradient exchange between GPUs of a
// data-parallel job. C because ncclCommInitRank takes its 128-byte unique id by value. Every
// function returns 0 on success, else NCCL's result code (or -1), with a message in
// poyo_nccl_error().

enum { POYO_NCCL_UNIQUE_ID_BYTES = 128 };

/// Opens the library at `path` and resolves the calls; 0 on success.
int poyo_nccl_open(const char *path);
/// NCCL's version as a number (e.g. 22105 for 2.21.5).
int poyo_nccl_version(int *version);
/// A new unique id (rank 0 makes it; the others receive it over MPI).
int poyo_nccl_unique_id(unsigned char id[POYO_NCCL_UNIQUE_ID_BYTES]);
/// ncclCommInitRank: this process's communicator of `ranks` processes.
int poyo_nccl_init_rank(void **comm, int ranks, const unsigned char id[POYO_NCCL_UNIQUE_ID_BYTES], int rank);
int poyo_nccl_destroy(void *comm);
int poyo_nccl_group_start(void);
int poyo_nccl_group_end(void);
/// ncclBroadcast of `count` floats from `root` (device pointers, on `stream`).
int poyo_nccl_broadcast_floats(
    const void *send, void *receive, size_t count, int root, void *comm, void *stream);
/// The last failure's message (empty if none).
const char *poyo_nccl_error(void);

#endif
