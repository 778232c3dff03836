// Shim over the oneDNN 2.x C API, as Debian 12 ships it (libdnnl-dev 2.6).
#ifndef SKINLESION_CDNNL_SHIM_H
#define SKINLESION_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

// Debian's oneDNN runs on libgomp; its thread count is read from OMP_NUM_THREADS when the
// library loads, so changing it later takes this call.
void omp_set_num_threads(int count);
int omp_get_max_threads(void);

// Swift does not import DNNL_MEMORY_ALLOCATE (a pointer-valued macro) nor the
// argument macros defined in terms of other macros, so they are re-exported here.
static inline void *cdnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *cdnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

static const int CDNNL_ARG_SRC = DNNL_ARG_SRC;
static const int CDNNL_ARG_SRC_1 = DNNL_ARG_SRC_1;
static const int CDNNL_ARG_DST = DNNL_ARG_DST;
static const int CDNNL_ARG_FROM = DNNL_ARG_FROM;
static const int CDNNL_ARG_TO = DNNL_ARG_TO;
static const int CDNNL_ARG_WEIGHTS = DNNL_ARG_WEIGHTS;
static const int CDNNL_ARG_BIAS = DNNL_ARG_BIAS;
static const int CDNNL_ARG_MEAN = DNNL_ARG_MEAN;
static const int CDNNL_ARG_VARIANCE = DNNL_ARG_VARIANCE;
static const int CDNNL_ARG_SCALE = DNNL_ARG_SCALE;
static const int CDNNL_ARG_SHIFT = DNNL_ARG_SHIFT;
static const int CDNNL_ARG_WORKSPACE = DNNL_ARG_WORKSPACE;
static const int CDNNL_ARG_DIFF_SRC = DNNL_ARG_DIFF_SRC;
static const int CDNNL_ARG_DIFF_DST = DNNL_ARG_DIFF_DST;
static const int CDNNL_ARG_DIFF_WEIGHTS = DNNL_ARG_DIFF_WEIGHTS;
static const int CDNNL_ARG_DIFF_BIAS = DNNL_ARG_DIFF_BIAS;
static const int CDNNL_ARG_DIFF_SCALE = DNNL_ARG_DIFF_SCALE;
static const int CDNNL_ARG_DIFF_SHIFT = DNNL_ARG_DIFF_SHIFT;
static const int CDNNL_ARG_MULTIPLE_SRC = DNNL_ARG_MULTIPLE_SRC;

#endif
