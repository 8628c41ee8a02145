#ifndef POYO_OPENCL_SHIM_H
#define POYO_OPENCL_SHIM_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#endif
