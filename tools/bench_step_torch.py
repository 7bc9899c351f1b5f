"""PyTorch side of tools/bench-step.c: the same whole training steps.

    /usr/bin/python3 tools/bench_step_torch.py time THREADS REPEAT NET...
    /usr/bin/python3 tools/bench_step_torch.py rss THREADS NET

NET: gen (CycleGAN ResNet generator ngf 64, 6 blocks, 1x3x128x128, L1 loss,
Adam lr 2e-4 betas 0.5/0.999), patch (70x70 PatchGAN ndf 64 on 1x3x128x128,
MSE against 1, Adam; no input gradient), cls / cls4 (the G2C classifier,
"cpu" preset, K = 1 without / K = 4 with attention, 16x3x96x96 per branch,
cross-entropy, SGD lr 0.01 momentum 0.9 weight decay 1e-4): the modules of
tools/torchref/cyclegan.py and tools/torchref/classifier.py, the ones the C
tests compare against.

"time" runs 2 warm-up steps then REPEAT timed ones, each split into fwd
(forward + loss), bwd (backward) and opt (zero_grad + optimizer step), as
bench-step does, and prints per NET
    name wall_fwd wall_bwd wall_opt wall_step cpu_fwd cpu_bwd cpu_opt cpu_step
(medians in ms; CPU: time.process_time(), all threads).  "rss" runs 3 steps
of NET ("none": nothing, only the imports) for bench-step's peak-memory
figure and exits.
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "torchref"))
import cyclegan  # noqa: E402
from classifier import Classifier  # noqa: E402


def setup(name):
    """Returns (fwd, bwd, opt) closures of one step of NET."""
    torch.manual_seed(1)
    state = {}
    if name in ("gen", "patch"):
        if name == "gen":
            model = cyclegan.resnet_generator(3, 3, 64, 6)
        else:
            model = cyclegan.patchgan(3, 64, 3)
        cyclegan.init_weights(model)
        opt = torch.optim.Adam(model.parameters(), lr=2e-4,
                               betas=(0.5, 0.999), eps=1e-8)
        x = torch.rand(1, 3, 128, 128) * 2 - 1
        target = torch.rand(1, 3, 128, 128) * 2 - 1

        def fwd():
            y = model(x)
            if name == "gen":
                state["loss"] = torch.nn.functional.l1_loss(y, target)
            else:
                state["loss"] = cyclegan.lsgan(y, True)
    else:
        k = 4 if name == "cls4" else 1
        model = Classifier(k, k > 1, "light", 32, (64, 128, 256), 2).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                              weight_decay=1e-4)
        inputs = [torch.rand(16, 3, 96, 96) * 2 - 1 for _ in range(k)]
        labels = torch.randint(0, 2, (16,))

        def fwd():
            state["loss"] = torch.nn.functional.cross_entropy(model(inputs),
                                                              labels)

    def bwd():
        state["loss"].backward()

    def step():
        opt.step()
        opt.zero_grad(set_to_none=False)

    return fwd, bwd, step


def time_net(name, repeat):
    phases = setup(name)
    wall = [[] for _ in range(4)]
    cpu = [[] for _ in range(4)]
    for step in range(-2, repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        ws, cs = w0, c0
        for i, ph in enumerate(phases):
            ph()
            w1, c1 = time.perf_counter(), time.process_time()
            if step >= 0:
                wall[i].append((w1 - w0) * 1e3)
                cpu[i].append((c1 - c0) * 1e3)
            w0, c0 = w1, c1
        if step >= 0:
            wall[3].append((w0 - ws) * 1e3)
            cpu[3].append((c0 - cs) * 1e3)
    med = [statistics.median(v) for v in wall + cpu]
    print(name + "".join(f" {v:.3f}" for v in med), flush=True)


def main():
    mode, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    if mode == "time":
        repeat = int(sys.argv[3])
        for name in sys.argv[4:]:
            time_net(name, repeat)
    elif mode == "rss":
        if sys.argv[3] != "none":
            phases = setup(sys.argv[3])
            for _ in range(3):
                for ph in phases:
                    ph()
    else:
        sys.exit(f"bench_step_torch.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
