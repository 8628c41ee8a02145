#ifndef POYO_CBLAS_SHIM_H
#define POYO_CBLAS_SHIM_H
#include <cblas.h>
// OpenBLAS extensions (declared in its cblas.h; repeated here for clarity of intent).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// LAPACK, which OpenBLAS ships: solve A X = B for symmetric positive-definite A by Cholesky
// (Fortran ABI: every argument by reference, plus the hidden length of the character argument).
#include <stddef.h>
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda, double *b, const int *ldb,
            int *info, size_t uplo_len);
// Cholesky factor of A (dpotrf), and a solve with a factor already formed (dpotrs): one factor
// serves every right-hand side, and its leading block is the factor of A's leading block.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info, size_t uplo_len);
#endif
