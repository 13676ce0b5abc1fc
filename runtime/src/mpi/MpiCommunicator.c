/* libkvant_rt_mpi.so: the MPI side of Communicator.h. The only file of kvant that includes
 * mpi.h; libkvant_rt.so loads it on demand (Distributed.cpp). */
#include "Communicator.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* MPI counts are ints: messages are cut into pieces of at most 1 GiB. */
#define KVANT_MPI_PIECE ((uint64_t)1 << 30)

static MPI_Comm kvant_comm = MPI_COMM_NULL;
static int kvant_initialised_mpi = 0;

static int fail(kvant_rt_comm *c, const char *what, int code) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
    snprintf(text, sizeof text, "error code %d", code);
  snprintf(c->error, sizeof c->error, "%.40s failed: %.200s", what, text);
  return 1;
}

static int do_sendrecv(kvant_rt_comm *c, const void *send, void *recv, uint64_t bytes,
                       int partner) {
  const char *s = (const char *)send;
  char *r = (char *)recv;
  for (uint64_t off = 0; off < bytes; off += KVANT_MPI_PIECE) {
    const uint64_t left = bytes - off;
    const int n = (int)(left < KVANT_MPI_PIECE ? left : KVANT_MPI_PIECE);
    const int rc = MPI_Sendrecv(s + off, n, MPI_BYTE, partner, 0, r + off, n, MPI_BYTE, partner, 0,
                                kvant_comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS)
      return fail(c, "MPI_Sendrecv", rc);
  }
  return 0;
}

static int do_allreduce_sum(kvant_rt_comm *c, double *data, uint64_t count) {
  const uint64_t piece = KVANT_MPI_PIECE / sizeof(double);
  for (uint64_t off = 0; off < count; off += piece) {
    const uint64_t left = count - off;
    const int n = (int)(left < piece ? left : piece);
    const int rc = MPI_Allreduce(MPI_IN_PLACE, data + off, n, MPI_DOUBLE, MPI_SUM, kvant_comm);
    if (rc != MPI_SUCCESS)
      return fail(c, "MPI_Allreduce", rc);
  }
  return 0;
}

static int do_bcast(kvant_rt_comm *c, void *data, uint64_t bytes, int root) {
  char *d = (char *)data;
  for (uint64_t off = 0; off < bytes; off += KVANT_MPI_PIECE) {
    const uint64_t left = bytes - off;
    const int n = (int)(left < KVANT_MPI_PIECE ? left : KVANT_MPI_PIECE);
    const int rc = MPI_Bcast(d + off, n, MPI_BYTE, root, kvant_comm);
    if (rc != MPI_SUCCESS)
      return fail(c, "MPI_Bcast", rc);
  }
  return 0;
}

static void finalize_at_exit(void) {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized)
    return;
  if (kvant_comm != MPI_COMM_NULL)
    MPI_Comm_free(&kvant_comm);
  if (kvant_initialised_mpi)
    MPI_Finalize();
}

__attribute__((visibility("default"))) int kvant_rt_mpi_open(kvant_rt_comm *out) {
  memset(out, 0, sizeof *out);
  int initialised = 0, rc;
  MPI_Initialized(&initialised);
  if (!initialised) {
    /* Compiled programs may run on any thread of the process (one at a time per register). */
    int provided = 0;
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS)
      return fail(out, "MPI_Init_thread", rc);
    kvant_initialised_mpi = 1;
  }
  if (kvant_comm == MPI_COMM_NULL) {
    rc = MPI_Comm_dup(MPI_COMM_WORLD, &kvant_comm);
    if (rc != MPI_SUCCESS)
      return fail(out, "MPI_Comm_dup", rc);
    /* Errors come back as codes (and become kvant runtime errors) instead of aborting. */
    MPI_Comm_set_errhandler(kvant_comm, MPI_ERRORS_RETURN);
    /* Before mpi4py's own finaliser when the program imported it later; when mpi4py
     * initialised MPI it also finalises it, and this only frees the duplicate. */
    atexit(finalize_at_exit);
  }
  MPI_Comm_rank(kvant_comm, &out->rank);
  MPI_Comm_size(kvant_comm, &out->size);
  out->impl = &kvant_comm;
  out->sendrecv = do_sendrecv;
  out->allreduce_sum = do_allreduce_sum;
  out->bcast = do_bcast;
  return 0;
}
