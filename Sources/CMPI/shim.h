// Debian's Open MPI 4.1 (libopenmpi-dev), through its C API: what the Distributed module needs
// for data-parallel training and sharded inference. Open MPI spells its communicator, datatype
// and operation handles as macros over global objects (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM,
// MPI_IN_PLACE), which Swift does not import; these functions take or return plain C values,
// always on MPI_COMM_WORLD.
#include <mpi.h>

/// MPI_Init_thread at MPI_THREAD_FUNNELED (only the main thread calls MPI; loader threads never
/// do), unless MPI is initialised already.
static inline int cmpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    return MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
}

/// MPI_Finalize once, when MPI was initialised and is not finalised yet.
static inline int cmpi_finalize(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized ? MPI_Finalize() : MPI_SUCCESS;
}

/// Errors come back as return codes (and become Swift errors) instead of aborting inside MPI.
static inline int cmpi_errors_return(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }
static inline int cmpi_rank(int *rank) { return MPI_Comm_rank(MPI_COMM_WORLD, rank); }
static inline int cmpi_size(int *size) { return MPI_Comm_size(MPI_COMM_WORLD, size); }
static inline int cmpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline int cmpi_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

static inline int cmpi_broadcast_bytes(void *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_BYTE, root, MPI_COMM_WORLD);
}
static inline int cmpi_broadcast_floats(float *buffer, int count, int root) {
    return MPI_Bcast(buffer, count, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static inline int cmpi_allreduce_float_sum(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int cmpi_allreduce_double_sum(double *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
/// Starts an in-place sum; `cmpi_test` drives it on, `cmpi_wait` completes it.
static inline int cmpi_iallreduce_float_sum(float *buffer, int count, MPI_Request *request) {
    return MPI_Iallreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, request);
}
static inline int cmpi_test(MPI_Request *request, int *done) { return MPI_Test(request, done, MPI_STATUS_IGNORE); }
static inline int cmpi_wait(MPI_Request *request) { return MPI_Wait(request, MPI_STATUS_IGNORE); }

/// Every rank's `value` into `all` (size entries) on `root`.
static inline int cmpi_gather_int(int value, int *all, int root) {
    return MPI_Gather(&value, 1, MPI_INT, all, 1, MPI_INT, root, MPI_COMM_WORLD);
}
/// Variable-length byte blocks concatenated on `root` (counts and displacements matter there only).
static inline int cmpi_gatherv_bytes(const void *send, int count, void *receive, const int *counts, const int *displacements,
                                     int root) {
    return MPI_Gatherv(send, count, MPI_BYTE, receive, counts, displacements, MPI_BYTE, root, MPI_COMM_WORLD);
}

/// The library's text for an error code.
static inline void cmpi_error_string(int code, char *text, int *length) { MPI_Error_string(code, text, length); }
