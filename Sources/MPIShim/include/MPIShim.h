#ifndef POYO_MPI_SHIM_H
#define POYO_MPI_SHIM_H
#include <stddef.h>

// MPI opened at run time (dlopen), so that builds and single-process runs need no MPI. Two ABIs
// are covered: Open MPI's (handles are pointers to exported globals such as ompi_mpi_comm_world)
// and MPICH's (handles are fixed integers; Intel MPI, MVAPICH and Cray MPICH share it). Every
// call works on MPI_COMM_WORLD and moves bytes: reductions are done by the caller, in its order.
// Each function returns 0 on success, else an MPI error code or -1, with a message in
// poyo_mpi_error().

enum { POYO_MPI_NONE = 0, POYO_MPI_OPENMPI = 1, POYO_MPI_MPICH = 2 };

/// Opens the MPI library at `path` and resolves the calls; returns the ABI (POYO_MPI_OPENMPI or
/// POYO_MPI_MPICH) or POYO_MPI_NONE.
int poyo_mpi_open(const char *path);
/// The library's own version string (MPI_Get_library_version), once opened.
int poyo_mpi_library_version(char *buffer, size_t length);
/// MPI_Init_thread (funneled: MPI is called from one thread), unless already initialised.
int poyo_mpi_init(int *rank, int *size);
int poyo_mpi_finalize(void);
/// Ends every process of the job (MPI_Abort on MPI_COMM_WORLD).
void poyo_mpi_abort(int code);
int poyo_mpi_barrier(void);
/// Every process's `value`, in rank order, into `values` [size].
int poyo_mpi_allgather_int(int value, int *values);
/// MPI_Allgatherv of bytes: `count` from this process; `counts`/`displacements` [size] for all.
int poyo_mpi_allgatherv(const void *send, int count, void *receive, const int *counts, const int *displacements);
/// MPI_Alltoallv of bytes.
int poyo_mpi_alltoallv(
    const void *send, const int *send_counts, const int *send_displacements, void *receive,
    const int *receive_counts, const int *receive_displacements);
/// The last failure's message (empty if none).
const char *poyo_mpi_error(void);

#endif
