/* Learning-rate schedules, as functions of the epoch so that a resumed run
 * needs no scheduler state.  Both reproduce PyTorch's double arithmetic
 * (from the typed decimal of the float arguments) so the learning rates are
 * the ones torch would use, to the last bit.
 *
 * `epoch` is 0-based in both: the number of epochs already completed when
 * the epoch about to run starts.  That is PyTorch's scheduler.last_epoch
 * when, as in CycleGAN's train.py, the scheduler is stepped once at the end
 * of each epoch. */
#include "decimal.h"

#include "g2c/nn.h"

/* torch.optim.lr_scheduler.StepLR with gamma = 1/divisor:
 * base / divisor^floor(epoch / every), multiplied out step by step as
 * StepLR's chainable form does. */
float g2c_lr_step(float base, int epoch, int every, float divisor)
{
    if (every <= 0 || epoch < 0)
        return base;
    double lr = g2c_typed_value(base);
    double gamma = 1.0 / g2c_typed_value(divisor);
    for (int k = epoch / every; k > 0; k--)
        lr *= gamma;
    return (float)lr;
}

/* CycleGAN's lr_policy 'linear' (LambdaLR with epoch_count = 1):
 *   lr = base * (1 - max(0, epoch + 1 - n_const) / (n_decay + 1)),
 * i.e. with the 1-based epoch e = epoch + 1 of CycleGAN's loop,
 * base * (1 - max(0, e - n_const) / (n_decay + 1)).  The n_const epochs
 * 0 .. n_const-1 run at base, the n_decay epochs after them at
 * base * n_decay/(n_decay+1) down to base * 1/(n_decay+1); from epoch
 * n_const + n_decay on (past the end of training) it is 0 rather than
 * negative. */
float g2c_lr_linear_decay(float base, int epoch, int n_const, int n_decay)
{
    double over = (double)epoch + 1.0 - (double)n_const;
    if (over < 0)
        over = 0;
    double factor = 1.0 - over / ((double)n_decay + 1.0);
    if (factor < 0)
        factor = 0;
    return (float)(g2c_typed_value(base) * factor);
}
