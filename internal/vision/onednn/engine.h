// C interface of the oneDNN runner (engine.cpp). Every call that can fail
// returns NULL on success or an error message the caller frees with free();
// no C++ exception ever crosses into Go.
#ifndef LANED_ONEDNN_ENGINE_H
#define LANED_ONEDNN_ENGINE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lnd_net lnd_net;

enum { LND_POOL_MAX = 0, LND_POOL_AVG_EXCLUDE = 1, LND_POOL_AVG_INCLUDE = 2 };
enum { LND_ADD = 0, LND_SUB = 1, LND_DIV = 2 };

char *lnd_new(lnd_net **out);
void lnd_free(lnd_net *n);

// Tensors are numbered from 0 in the order they are made. lnd_conv with
// sum_into >= 0 adds its result into that tensor's buffer (a residual
// connection, in place) and returns a tensor sharing it; with prelu >= 0
// (a constant of one slope per output channel) it applies PReLU as a
// post-op instead of (never with) relu.
char *lnd_input(lnd_net *n, int rank, const int64_t *dims, int *id);
char *lnd_const(lnd_net *n, int rank, const int64_t *dims, const float *data, int *id);
char *lnd_conv(lnd_net *n, int src, int weights, int bias, const int64_t *strides,
               const int64_t *pads, const int64_t *dilations, int64_t group, int relu, int prelu, int sum_into,
               int *id);
char *lnd_pool(lnd_net *n, int src, int kind, const int64_t *kernel, const int64_t *strides,
               const int64_t *pads, int *id);
char *lnd_global_avg_pool(lnd_net *n, int src, int *id);
char *lnd_pad(lnd_net *n, int src, const int64_t *pads, int *id);
char *lnd_binary(lnd_net *n, int kind, int a, int b, int relu, int *id);
char *lnd_relu(lnd_net *n, int src, int *id);
// lnd_prelu: y = x for x > 0, slope[c]·x otherwise; slope is a constant of
// one value per channel (dims {C} or {C,1,...}).
char *lnd_prelu(lnd_net *n, int src, int slope, int *id);
char *lnd_reshape(lnd_net *n, int src, int rank, const int64_t *dims, int *id);
char *lnd_transpose(lnd_net *n, int src, const int64_t *perm, int *id);
char *lnd_concat(lnd_net *n, int count, const int *srcs, int64_t axis, int *id);
char *lnd_gemm(lnd_net *n, int a, int b, int trans_b, int c, int relu, int *id);

// lnd_steps writes how many primitives a run executes.
char *lnd_steps(lnd_net *n, int *count);

// lnd_dims writes the rank (at most 8) and dims of tensor id.
char *lnd_dims(lnd_net *n, int id, int *rank, int64_t *dims);

// lnd_run copies in (row-major, the input's dims) into tensor in, runs every
// step and copies the nout tensors outs (row-major, one after another) to
// dst. Neither pointer is kept.
char *lnd_run(lnd_net *n, int in, const float *data, int64_t in_len, int nout, const int *outs,
              float *dst, int64_t dst_len);

#ifdef __cplusplus
}
#endif

#endif
