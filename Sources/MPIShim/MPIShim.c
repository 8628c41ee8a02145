#include "MPIShim.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

// One MPI per process: the library, its ABI and the handles in that ABI's form.
static void *library;
static int abi = POYO_MPI_NONE;
static char message[512];

// Open MPI: MPI_Comm and MPI_Datatype are pointers to these exported objects.
static void *ompi_comm_world;
static void *ompi_byte;
static void *ompi_int;
// MPICH (mpi.h of MPICH 3/4): the same handles as integers.
enum { MPICH_COMM_WORLD = 0x44000000, MPICH_BYTE = 0x4c00010d, MPICH_INT = 0x4c000405 };

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof message, format, args);
    va_end(args);
}

const char *poyo_mpi_error(void) { return message; }

// The calls, resolved by name; their handle arguments are `void *` (Open MPI) or `int` (MPICH),
// so each is called through the matching cast below.
static void *f_init_thread, *f_initialized, *f_finalize, *f_abort, *f_comm_rank, *f_comm_size, *f_barrier,
    *f_allgather, *f_allgatherv, *f_alltoallv, *f_version;

typedef int (*init_thread_t)(int *, char ***, int, int *);
typedef int (*initialized_t)(int *);
typedef int (*finalize_t)(void);
typedef int (*version_t)(char *, int *);
typedef int (*o_abort_t)(void *, int);
typedef int (*m_abort_t)(int, int);
typedef int (*o_comm_int_t)(void *, int *);
typedef int (*m_comm_int_t)(int, int *);
typedef int (*o_barrier_t)(void *);
typedef int (*m_barrier_t)(int);
typedef int (*o_allgather_t)(const void *, int, void *, void *, int, void *, void *);
typedef int (*m_allgather_t)(const void *, int, int, void *, int, int, int);
typedef int (*o_allgatherv_t)(const void *, int, void *, void *, const int *, const int *, void *, void *);
typedef int (*m_allgatherv_t)(const void *, int, int, void *, const int *, const int *, int, int);
typedef int (*o_alltoallv_t)(
    const void *, const int *, const int *, void *, void *, const int *, const int *, void *, void *);
typedef int (*m_alltoallv_t)(const void *, const int *, const int *, int, void *, const int *, const int *, int, int);

int poyo_mpi_open(const char *path) {
    if (library) return abi;
    // RTLD_GLOBAL: Open MPI loads its components with dlopen, and they need libmpi's symbols.
    void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        fail("%s", dlerror());
        return POYO_MPI_NONE;
    }
    const char *names[] = {"MPI_Init_thread", "MPI_Initialized", "MPI_Finalize", "MPI_Abort", "MPI_Comm_rank",
                           "MPI_Comm_size", "MPI_Barrier", "MPI_Allgather", "MPI_Allgatherv", "MPI_Alltoallv",
                           "MPI_Get_library_version"};
    void **slots[] = {&f_init_thread, &f_initialized, &f_finalize, &f_abort, &f_comm_rank, &f_comm_size,
                      &f_barrier, &f_allgather, &f_allgatherv, &f_alltoallv, &f_version};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *slots[i] = dlsym(h, names[i]);
        if (!*slots[i]) {
            fail("%s has no %s (not an MPI library?)", path, names[i]);
            dlclose(h);
            return POYO_MPI_NONE;
        }
    }
    ompi_comm_world = dlsym(h, "ompi_mpi_comm_world");
    if (ompi_comm_world) {
        ompi_byte = dlsym(h, "ompi_mpi_byte");
        ompi_int = dlsym(h, "ompi_mpi_int");
        if (!ompi_byte || !ompi_int) {
            fail("%s: Open MPI without ompi_mpi_byte/ompi_mpi_int", path);
            dlclose(h);
            return POYO_MPI_NONE;
        }
        abi = POYO_MPI_OPENMPI;
    } else if (dlsym(h, "MPIR_Err_return_comm") || dlsym(h, "MPIR_Comm_get_ptr") || dlsym(h, "MPIDI_CH3I_Progress") ||
               dlsym(h, "MPL_env2int") || dlsym(h, "I_MPI_Info")) {
        abi = POYO_MPI_MPICH;
    } else {
        fail("%s: neither Open MPI nor MPICH (no ompi_mpi_comm_world, no MPIR_ symbols): its ABI is unknown", path);
        dlclose(h);
        return POYO_MPI_NONE;
    }
    library = h;
    return abi;
}

#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        int rc_ = (call);                                                                                              \
        if (rc_ != 0) {                                                                                                \
            fail("%s failed (MPI error %d)", #call, rc_);                                                              \
            return rc_;                                                                                                \
        }                                                                                                              \
    } while (0)

int poyo_mpi_library_version(char *buffer, size_t length) {
    if (!library) return -1;
    char text[8192];  // MPI_MAX_LIBRARY_VERSION_STRING is 256 (Open MPI) or 8192 (MPICH)
    int n = 0;
    CHECK(((version_t)f_version)(text, &n));
    snprintf(buffer, length, "%.*s", n, text);
    return 0;
}

int poyo_mpi_init(int *rank, int *size) {
    if (!library) return -1;
    int done = 0;
    CHECK(((initialized_t)f_initialized)(&done));
    if (!done) {
        int provided = 0;
        CHECK(((init_thread_t)f_init_thread)(NULL, NULL, 1 /* MPI_THREAD_FUNNELED */, &provided));
    }
    if (abi == POYO_MPI_OPENMPI) {
        CHECK(((o_comm_int_t)f_comm_rank)(ompi_comm_world, rank));
        CHECK(((o_comm_int_t)f_comm_size)(ompi_comm_world, size));
    } else {
        CHECK(((m_comm_int_t)f_comm_rank)(MPICH_COMM_WORLD, rank));
        CHECK(((m_comm_int_t)f_comm_size)(MPICH_COMM_WORLD, size));
    }
    return 0;
}

int poyo_mpi_finalize(void) {
    if (!library) return 0;
    CHECK(((finalize_t)f_finalize)());
    return 0;
}

void poyo_mpi_abort(int code) {
    if (!library) return;
    if (abi == POYO_MPI_OPENMPI) ((o_abort_t)f_abort)(ompi_comm_world, code);
    else ((m_abort_t)f_abort)(MPICH_COMM_WORLD, code);
}

int poyo_mpi_barrier(void) {
    if (!library) return -1;
    if (abi == POYO_MPI_OPENMPI) CHECK(((o_barrier_t)f_barrier)(ompi_comm_world));
    else CHECK(((m_barrier_t)f_barrier)(MPICH_COMM_WORLD));
    return 0;
}

int poyo_mpi_allgather_int(int value, int *values) {
    if (!library) return -1;
    if (abi == POYO_MPI_OPENMPI)
        CHECK(((o_allgather_t)f_allgather)(&value, 1, ompi_int, values, 1, ompi_int, ompi_comm_world));
    else
        CHECK(((m_allgather_t)f_allgather)(&value, 1, MPICH_INT, values, 1, MPICH_INT, MPICH_COMM_WORLD));
    return 0;
}

int poyo_mpi_allgatherv(const void *send, int count, void *receive, const int *counts, const int *displacements) {
    if (!library) return -1;
    if (abi == POYO_MPI_OPENMPI)
        CHECK(((o_allgatherv_t)f_allgatherv)(
            send, count, ompi_byte, receive, counts, displacements, ompi_byte, ompi_comm_world));
    else
        CHECK(((m_allgatherv_t)f_allgatherv)(
            send, count, MPICH_BYTE, receive, counts, displacements, MPICH_BYTE, MPICH_COMM_WORLD));
    return 0;
}

int poyo_mpi_alltoallv(
    const void *send, const int *send_counts, const int *send_displacements, void *receive,
    const int *receive_counts, const int *receive_displacements) {
    if (!library) return -1;
    if (abi == POYO_MPI_OPENMPI)
        CHECK(((o_alltoallv_t)f_alltoallv)(
            send, send_counts, send_displacements, ompi_byte, receive, receive_counts, receive_displacements,
            ompi_byte, ompi_comm_world));
    else
        CHECK(((m_alltoallv_t)f_alltoallv)(
            send, send_counts, send_displacements, MPICH_BYTE, receive, receive_counts, receive_displacements,
            MPICH_BYTE, MPICH_COMM_WORLD));
    return 0;
}
