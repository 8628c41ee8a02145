#ifndef POYO_CBLAS_SHIM_H
#define POYO_CBLAS_SHIM_H
#include <cblas.h>
// OpenBLAS extensions (declared in its cblas.h; repeated here for clarity of intent).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif
