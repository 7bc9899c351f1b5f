"""Reference trajectories of torch.optim.SGD / Adam and of the learning-rate
schedules, for tests/nn/test-optim-torch.c.

Run with the Python that has PyTorch 1.13:
    /usr/bin/python3 tools/torchref/optim.py [OUT]
(default OUT: tests/fixtures/torch/optim.safetensors)

The file holds, for a few tensors named like a state_dict:
  init.<name>                 initial values
  grad.<k>.<name>             the gradient given at step k (0-based)
  lr                          [K] learning rate of each step
  sgd.<k>.<name>              values after step k, SGD momentum + weight decay
  sgd.state.<name>            SGD momentum buffer after the last step
  adam.<k>.<name>             values after step k, Adam + weight decay
  adam.m.<name>, adam.v.<name> Adam moments after the last step
  sgdfreeze.<k>.<name>        SGD run in which FROZEN gets no gradient
                              (grad None) at the steps in FROZEN_STEPS
  sched.step, sched.linear    [E] lr used during epoch e (0-based) by StepLR
                              and by CycleGAN's 'linear' LambdaLR, stepped at
                              the end of each epoch as CycleGAN's train.py did
Hyperparameters are in the metadata.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

SHAPES = {
    "model.1.weight": (4, 3, 3, 3),
    "model.1.bias": (4,),
    "model.4.weight": (2, 5),
    "model.4.bias": (2,),
}
FROZEN = "model.4.weight"
FROZEN_STEPS = (1, 2)
LRS = [0.01, 0.01, 0.005, 0.005, 0.0025]
SGD = dict(momentum=0.9, weight_decay=0.01)
ADAM = dict(betas=(0.5, 0.999), eps=1e-8, weight_decay=0.01)
BASE_LR = 0.0002
STEP_EVERY, STEP_DIVISOR = 3, 10.0
N_CONST, N_DECAY = 5, 6


def make_data():
    g = torch.Generator().manual_seed(1234)
    init = {n: torch.randn(s, generator=g) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(s, generator=g) for n, s in SHAPES.items()}
             for _ in LRS]
    return init, grads


def run(opt_class, kwargs, init, grads, frozen_steps=()):
    params = {n: torch.nn.Parameter(v.clone()) for n, v in init.items()}
    opt = opt_class(list(params.values()), lr=LRS[0], **kwargs)
    traj = []
    for k, lr in enumerate(LRS):
        for group in opt.param_groups:
            group["lr"] = lr
        for n, p in params.items():
            frozen = n == FROZEN and k in frozen_steps
            p.grad = None if frozen else grads[k][n].clone()
        opt.step()
        traj.append({n: p.detach().clone() for n, p in params.items()})
    return traj, params, opt


def schedules():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=BASE_LR)
    step = torch.optim.lr_scheduler.StepLR(opt, step_size=STEP_EVERY,
                                           gamma=1.0 / STEP_DIVISOR)
    step_lrs = []
    for _ in range(N_CONST + N_DECAY + 1):
        step_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        step.step()

    # CycleGAN models/networks.py get_scheduler, lr_policy 'linear',
    # epoch_count = 1.
    def lambda_rule(epoch):
        return 1.0 - max(0, epoch + 1 - N_CONST) / float(N_DECAY + 1)

    opt = torch.optim.SGD([p], lr=BASE_LR)
    lin = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda_rule)
    lin_lrs = []
    for _ in range(N_CONST + N_DECAY + 1):
        lin_lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        lin.step()
    return step_lrs, lin_lrs


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "torch",
        "optim.safetensors"))
    init, grads = make_data()
    tensors = {f"init.{n}": v for n, v in init.items()}
    for k, g in enumerate(grads):
        tensors.update({f"grad.{k}.{n}": v for n, v in g.items()})
    tensors["lr"] = torch.tensor(LRS, dtype=torch.float32)

    traj, params, opt = run(torch.optim.SGD, SGD, init, grads)
    for k, t in enumerate(traj):
        tensors.update({f"sgd.{k}.{n}": v for n, v in t.items()})
    for n, p in params.items():
        tensors[f"sgd.state.{n}"] = opt.state[p]["momentum_buffer"]

    traj, params, opt = run(torch.optim.Adam, ADAM, init, grads)
    for k, t in enumerate(traj):
        tensors.update({f"adam.{k}.{n}": v for n, v in t.items()})
    for n, p in params.items():
        tensors[f"adam.m.{n}"] = opt.state[p]["exp_avg"]
        tensors[f"adam.v.{n}"] = opt.state[p]["exp_avg_sq"]

    traj, _, _ = run(torch.optim.SGD, SGD, init, grads, FROZEN_STEPS)
    for k, t in enumerate(traj):
        tensors.update({f"sgdfreeze.{k}.{n}": v for n, v in t.items()})

    step_lrs, lin_lrs = schedules()
    tensors["sched.step"] = torch.tensor(step_lrs, dtype=torch.float64)
    tensors["sched.linear"] = torch.tensor(lin_lrs, dtype=torch.float64)

    meta = {
        "torch": torch.__version__,
        "steps": len(LRS),
        "names": ",".join(SHAPES),
        "frozen": FROZEN,
        "frozen_steps": ",".join(str(s) for s in FROZEN_STEPS),
        "sgd.momentum": repr(SGD["momentum"]),
        "sgd.weight_decay": repr(SGD["weight_decay"]),
        "adam.beta1": repr(ADAM["betas"][0]),
        "adam.beta2": repr(ADAM["betas"][1]),
        "adam.eps": repr(ADAM["eps"]),
        "adam.weight_decay": repr(ADAM["weight_decay"]),
        "sched.base": repr(BASE_LR),
        "sched.step_every": STEP_EVERY,
        "sched.step_divisor": repr(STEP_DIVISOR),
        "sched.n_const": N_CONST,
        "sched.n_decay": N_DECAY,
    }
    stio.save(out, tensors, meta)
    print(f"wrote {out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
