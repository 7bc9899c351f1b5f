/* Entry-level access to an open safetensors file, for the checkpoint loader
 * (src/nn/checkpoint.c), which must tell "absent" from "present with another
 * dtype" and list the tensors a strict load did not expect.  Not part of the
 * public engine contract. */
#ifndef G2C_NN_SAFETENSORS_PRIVATE_H
#define G2C_NN_SAFETENSORS_PRIVATE_H

#include "g2c/nn.h"

enum { G2C_ST_MAX_DIMS = 8 };

typedef struct {
    const char *name;
    const char *dtype;  /* "F32", "I64", ... as in the header */
    int elem_size;      /* bytes per element */
    int ndim;
    int64_t shape[G2C_ST_MAX_DIMS];
    size_t numel;
    const unsigned char *bytes; /* little-endian payload, numel*elem_size */
} G2cStEntry;

const char *g2c_safetensors_path(const G2cSafetensors *st);
int g2c_safetensors_count(const G2cSafetensors *st);
/* Index of a tensor by name, or -1 (no error recorded). */
int g2c_safetensors_find(const G2cSafetensors *st, const char *name);
const G2cStEntry *g2c_safetensors_entry(const G2cSafetensors *st, int index);

#endif
