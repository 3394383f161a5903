# GPAW build settings used by .ci/install (GPAW_CONFIG points here): a serial build linked
# against Debian's libxc, BLAS and FFTW. No MPI: the embedded engine runs one process.
mpi = False
compiler = "gcc"
libraries = ["xc", "blas", "fftw3"]
fftw = True
