import Logging

extension Logger {
    /// The MPI layer's diagnostics (label `loom.mpi`): each rank's place in the job.
    static let loomMPI = Logger(label: "loom.mpi")
}
