// libhdf5's C API, plus functions for the constants HDF5 defines as macros
// (H5T_NATIVE_FLOAT expands to `(H5open(), H5T_NATIVE_FLOAT_g)`, which Swift cannot import).
#include <hdf5.h>
#include <stdio.h>

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
static inline haddr_t loom_haddr_undef(void) { return HADDR_UNDEF; }
/* The POSIX descriptor HDF5 reads file `file` through, or -1 when its driver is not the default
   sec2 (one descriptor, positional reads). */
static inline int loom_h5f_descriptor(hid_t file) {
    hid_t access = H5Fget_access_plist(file);
    if (access < 0) return -1;
    hid_t driver = H5Pget_driver(access);
    H5Pclose(access);
    void *handle = NULL;
    if (driver != H5FD_SEC2 || H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0 || handle == NULL) return -1;
    return *(int *)handle;
}
/* Turns off HDF5's printing of its error stack to stderr: Loom reports errors itself. */
static inline void loom_h5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline hid_t loom_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
static inline hid_t loom_h5t_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline size_t loom_h5t_variable(void) { return H5T_VARIABLE; }
static inline hid_t loom_h5t_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t loom_h5t_std_u64le(void) { return H5T_STD_U64LE; }
static inline hid_t loom_h5t_std_i64le(void) { return H5T_STD_I64LE; }
/* The kind of the link `name` in `loc` (reached with link access list `access`): 0 hard or soft (inside the file), 1 external (to
   another file), 2 user-defined, -1 when it cannot be read. With an external link and
   `target` non-NULL, the target's file and object are written into `target` as "FILE:OBJECT"
   (cut to `size` bytes). */
static inline int loom_h5_link_kind(hid_t loc, const char *name, char *target, size_t size, hid_t access) {
    H5L_info_t info;
    if (H5Lget_info(loc, name, &info, access) < 0) return -1;
    if (info.type == H5L_TYPE_HARD || info.type == H5L_TYPE_SOFT) return 0;
    if (info.type != H5L_TYPE_EXTERNAL) return 2;
    if (target != NULL && size > 0) {
        target[0] = 0;
        char value[4096];
        const char *file = NULL, *object = NULL;
        size_t length = info.u.val_size < sizeof(value) ? info.u.val_size : sizeof(value);
        if (H5Lget_val(loc, name, value, length, H5P_DEFAULT) >= 0
            && H5Lunpack_elink_val(value, length, NULL, &file, &object) >= 0 && file && object) {
            snprintf(target, size, "%s:%s", file, object);
        }
    }
    return 1;
}
/* An external-link traversal callback that refuses to open the other file, noting the
   refusal in the int `refused` points at. */
static herr_t loom_h5_refuse_external(const char *parent_file, const char *parent_group, const char *child_file,
                                      const char *child_object, unsigned *flags, hid_t fapl, void *refused) {
    (void)parent_file; (void)parent_group; (void)child_file; (void)child_object; (void)flags; (void)fapl;
    if (refused != NULL) *(int *)refused = 1;
    return -1;
}
/* A new access property list of class `kind` (link, dataset or group access) through which
   no external link is followed; a refusal sets *refused. */
static inline hid_t loom_h5p_refusing_external(hid_t kind, int *refused) {
    hid_t list = H5Pcreate(kind);
    if (list >= 0) H5Pset_elink_cb(list, loom_h5_refuse_external, refused);
    return list;
}
static inline hid_t loom_h5p_link_access(void) { return H5P_LINK_ACCESS; }
static inline hid_t loom_h5p_dataset_access(void) { return H5P_DATASET_ACCESS; }
static inline hid_t loom_h5p_group_access(void) { return H5P_GROUP_ACCESS; }
