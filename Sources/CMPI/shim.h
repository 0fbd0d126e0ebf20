// Open MPI's C API, plus functions for the handles mpi.h defines as macros over global
// objects (MPI_COMM_WORLD, MPI_FLOAT, ...), which Swift cannot import.
#include <mpi.h>

static inline MPI_Comm loom_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype loom_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype loom_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype loom_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype loom_mpi_int(void) { return MPI_INT; }
static inline MPI_Errhandler loom_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int loom_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int loom_mpi_success(void) { return MPI_SUCCESS; }
static inline int loom_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline void *loom_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request loom_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *loom_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline int loom_mpi_any_source(void) { return MPI_ANY_SOURCE; }
static inline MPI_Datatype loom_mpi_int64(void) { return MPI_INT64_T; }
