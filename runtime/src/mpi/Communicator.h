/* The boundary between libkvant_rt.so and its MPI plugin, libkvant_rt_mpi.so (plain C, so the
 * plugin can be built with the MPI's own compiler wrapper and no C++ crosses it).
 *
 * libkvant_rt.so never links MPI: a program that asks for a distributed register
 * (kvant_rt_set_distributed) makes it dlopen the plugin, whose one exported function fills a
 * table of the few collective operations the distributed state vector needs. A program that
 * never asks never maps libmpi. */
#ifndef KVANT_RT_MPI_COMMUNICATOR_H
#define KVANT_RT_MPI_COMMUNICATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kvant_rt_comm kvant_rt_comm;

/* Every operation is collective over the communicator's ranks (sendrecv: over the pair) and
 * returns 0 on success, else non-zero with a message in `error` (NUL-terminated). Byte counts
 * are 64-bit; the plugin splits what MPI's int counts cannot carry. */
struct kvant_rt_comm {
  int rank;
  int size;
  void *impl;
  /* Sends `bytes` from `send` to `partner` and receives as many from it into `recv`. */
  int (*sendrecv)(kvant_rt_comm *c, const void *send, void *recv, uint64_t bytes, int partner);
  /* data[i] <- sum over ranks of data[i], identical on every rank. */
  int (*allreduce_sum)(kvant_rt_comm *c, double *data, uint64_t count);
  /* `bytes` at `data` on rank `root` copied to every rank. */
  int (*bcast)(kvant_rt_comm *c, void *data, uint64_t bytes, int root);
  char error[256];
};

/* Exported by libkvant_rt_mpi.so under this name: initialises MPI unless the process already
 * has (mpi4py, the user's code), duplicates MPI_COMM_WORLD so kvant's messages never meet the
 * program's own, and fills *out. Returns 0, or non-zero with out->error set. */
typedef int (*kvant_rt_comm_open_fn)(kvant_rt_comm *out);
#define KVANT_RT_COMM_OPEN_SYMBOL "kvant_rt_mpi_open"

#ifdef __cplusplus
}
#endif

#endif
