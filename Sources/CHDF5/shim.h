// Debian's libhdf5-dev (serial build, HDF5 1.10): the C API SkinLesion uses to read Keras
// weight files. HDF5 spells its type ids, property defaults and open flags as macros that
// expand to global variables after H5open(), which Swift does not import; these functions
// return them.
#include <hdf5/serial/hdf5.h>
#include <hdf5/serial/hdf5_hl.h>

static inline hid_t chdf5_default(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_all(void) { return H5S_ALL; }
static inline unsigned chdf5_read_only(void) { return H5F_ACC_RDONLY; }
static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_c_string(void) { return H5T_C_S1; }
static inline size_t chdf5_variable_size(void) { return H5T_VARIABLE; }

/// Stops HDF5 printing its error stack to stderr: SkinLesion reports errors itself.
static inline void chdf5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
