#ifndef POYO_CLBLAST_SHIM_H
#define POYO_CLBLAST_SHIM_H
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <clblast_c.h>
#endif
