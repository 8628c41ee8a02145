// The kernels' portability macros for OpenCL C: prepended before common.cl (OpenCLContext.program).
// prelude_cuda.h maps the same names to CUDA C++, so every .cl file here is one source for both.

#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define HAS_FP64 1
#endif

// Qualifiers: an entry point, a helper called from kernels, pointers into global and local memory,
// and a work-group array declared in a kernel (its size a compile-time constant such as WG).
#define KERNEL __kernel
#define FUNC
#define GLOBAL __global
#define LOCAL __local
#define SHARED __local

// Work-item ids and sizes along dimension d.
#define GLOBAL_ID(d) get_global_id(d)
#define GLOBAL_SIZE(d) get_global_size(d)
#define LOCAL_ID(d) get_local_id(d)
#define LOCAL_SIZE(d) get_local_size(d)
#define GROUP_ID(d) get_group_id(d)

// Waits for the work-group, making its local-memory writes visible.
#define BARRIER_LOCAL() barrier(CLK_LOCAL_MEM_FENCE)
