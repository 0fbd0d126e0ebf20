// libhdf5's C API, plus functions for the constants HDF5 defines as macros
// (H5T_NATIVE_FLOAT expands to `(H5open(), H5T_NATIVE_FLOAT_g)`, which Swift cannot import).
#include <hdf5.h>

static inline hid_t loom_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t loom_h5s_all(void) { return H5S_ALL; }
static inline hid_t loom_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t loom_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t loom_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t loom_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t loom_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t loom_h5t_c_s1(void) { return H5T_C_S1; }
static inline unsigned loom_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned loom_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned loom_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t loom_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t loom_h5p_link_create(void) { return H5P_LINK_CREATE; }
static inline hid_t loom_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t loom_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
/* Turns off HDF5's printing of its error stack to stderr: Loom reports errors itself. */
static inline void loom_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline hid_t loom_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t loom_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline size_t loom_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t loom_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t loom_h5t_std_u64le(void) { return H5T_STD_U64LE; }
