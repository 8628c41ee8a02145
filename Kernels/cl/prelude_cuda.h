// The kernels' portability macros for CUDA C++ under NVRTC: prepended before common.cl in place of
// prelude_opencl.h (ci/cuda_compile_check.py). Kernels keep their OpenCL names (extern "C").

#define HAS_FP64 1

typedef unsigned int uint;
typedef unsigned long long ulong;

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

#define KERNEL extern "C" __global__
#define FUNC __device__
#define GLOBAL
#define LOCAL
#define SHARED __shared__

// d is a literal 0, 1 or 2. Ids and sizes are size_t, as in OpenCL.
#define PRELUDE_AXIS_0 x
#define PRELUDE_AXIS_1 y
#define PRELUDE_AXIS_2 z
#define GLOBAL_ID(d) ((size_t)blockIdx.PRELUDE_AXIS_##d * blockDim.PRELUDE_AXIS_##d + threadIdx.PRELUDE_AXIS_##d)
#define GLOBAL_SIZE(d) ((size_t)gridDim.PRELUDE_AXIS_##d * blockDim.PRELUDE_AXIS_##d)
#define LOCAL_ID(d) ((size_t)threadIdx.PRELUDE_AXIS_##d)
#define LOCAL_SIZE(d) ((size_t)blockDim.PRELUDE_AXIS_##d)
#define GROUP_ID(d) ((size_t)blockIdx.PRELUDE_AXIS_##d)

#define BARRIER_LOCAL() __syncthreads()
