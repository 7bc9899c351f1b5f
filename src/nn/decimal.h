/* Hyperparameters arrive as floats, but PyTorch computes with the Python
 * double the user typed (0.999, 2e-4): 1 - beta2 from 0.999f taken at face
 * value is off by 1.3e-5 relative.  The shortest decimal that rounds to the
 * float is that typed value, so optimizers and schedules recover it to do
 * PyTorch's double arithmetic bit for bit. */
#ifndef G2C_NN_DECIMAL_H
#define G2C_NN_DECIMAL_H

#include <stdio.h>
#include <stdlib.h>

static inline double g2c_typed_value(float f)
{
    char buf[32];
    for (int digits = 1; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
        if (strtof(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    return f;
}

#endif
