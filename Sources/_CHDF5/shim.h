#ifndef POYO_HDF5_SHIM_H
#define POYO_HDF5_SHIM_H
#include <hdf5.h>

// HDF5's type and flag macros expand to global ids that Swift cannot import; these accessors
// return them (each macro also calls H5open() implicitly).
static inline hid_t poyo_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t poyo_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t poyo_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t poyo_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t poyo_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t poyo_h5t_native_hbool(void) { return H5T_NATIVE_HBOOL; }
static inline hid_t poyo_h5t_c_s1(void) { return H5T_C_S1; }
static inline unsigned poyo_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned poyo_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned poyo_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hid_t poyo_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t poyo_h5s_all(void) { return H5S_ALL; }
static inline hid_t poyo_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t poyo_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t poyo_h5p_group_create(void) { return H5P_GROUP_CREATE; }

// Silences HDF5's automatic error-stack printing; we turn failures into typed Swift errors.
static inline void poyo_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
