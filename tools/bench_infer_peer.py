"""PyTorch peer of tools/bench-infer.c: the same networks' inference.

    /usr/bin/python3 tools/bench_infer_peer.py THREADS REPEAT GLOMERULI NAME:K ...

For each NAME:K, a G2C model at the cpu preset in eval mode: K-1 ResNet
generators of stage 1's cpu architecture (ngf 32, 6 residual blocks,
instance norm, tanh; tools/torchref/cyclegan.py) make the extra branches
from the PAS crop, and the classifier (light stem 32, units 64/128/256,
cross-stain attention when K > 1; tools/torchref/classifier.py) reads the
K branches.  GLOMERULI crops of 96 px in batches of 32 (as g2c infer
runs them) under torch.no_grad(), one warm-up pass, then REPEAT timed passes;
prints "NAME glomeruli_per_second cpu_ms_per_glomerulus" (medians; CPU:
time.process_time(), all threads).  Random weights: speed does
not depend on them.  Crops are already tensors here, so this is the
forward only: compare it with bench-infer's "forward" column.
"""
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "torchref"))
from classifier import Classifier  # noqa: E402
from cyclegan import resnet_generator  # noqa: E402

BATCH, SIZE = 32, 96


def model(k):
    torch.manual_seed(1)
    gens = [resnet_generator(3, 3, 32, 6).eval() for _ in range(k - 1)]
    cls = Classifier(k, k > 1, "light", 32, (64, 128, 256), 2).eval()
    return gens, cls


def forward(gens, cls, x):
    return cls([x] + [g(x) for g in gens]).softmax(1)


def bench(k, repeat, glomeruli):
    gens, cls = model(k)
    crops = torch.rand(glomeruli, 3, SIZE, SIZE) * 2 - 1
    times, cpu = [], []
    with torch.no_grad():
        for r in range(-1, repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            for at in range(0, glomeruli, BATCH):
                forward(gens, cls, crops[at:at + BATCH])
            if r >= 0:
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    return (glomeruli / times[len(times) // 2],
            1000 * cpu[len(cpu) // 2] / glomeruli)


def main():
    threads, repeat, glomeruli = (int(a) for a in sys.argv[1:4])
    torch.set_num_threads(threads)
    for spec in sys.argv[4:]:
        name, k = spec.split(":")
        rate, cpu_ms = bench(int(k), repeat, glomeruli)
        print(f"{name} {rate:.3f} {cpu_ms:.2f}", flush=True)


if __name__ == "__main__":
    main()
