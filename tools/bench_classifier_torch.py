"""PyTorch side of tools/bench-classifier.c: times the same training steps.

    /usr/bin/python3 tools/bench_classifier_torch.py SPEC THREADS BATCH REPEAT

SPEC has one configuration a line, as bench-classifier writes it:
    name K attention stem_width w0,w1,... size classes
(light stem, reduction 16, BN momentum 0.1, eps 1e-5: the model of
tools/torchref/classifier.py).  A step is zero_grad, forward in training
mode on K x [BATCH, 3, size, size], cross-entropy, backward and an SGD step
(lr 0.01, momentum 0.9, weight decay 1e-4), as on the g2c side; 2 warm-up
steps, then REPEAT timed ones.  Prints "name median_ms best_ms
median_cpu_ms" (CPU: time.process_time(), all threads).
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "torchref"))
from classifier import Classifier  # noqa: E402


def bench(fields, batch, repeat):
    k, att, sw = int(fields[0]), int(fields[1]), int(fields[2])
    widths = [int(w) for w in fields[3].split(",")]
    size, classes = int(fields[4]), int(fields[5])
    torch.manual_seed(1)
    model = Classifier(k, bool(att), "light", sw, widths, classes).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                          weight_decay=1e-4)
    inputs = [torch.rand(batch, 3, size, size) * 2 - 1 for _ in range(k)]
    labels = torch.randint(0, classes, (batch,))
    times, cpu = [], []
    for step in range(-2, repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        opt.step()
        if step >= 0:
            times.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.process_time() - c0) * 1e3)
    times.sort()
    cpu.sort()
    return times[len(times) // 2], times[0], cpu[len(cpu) // 2]


def main():
    spec, threads = sys.argv[1], int(sys.argv[2])
    batch, repeat = int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    with open(spec) as f:
        for line in f:
            fields = line.split()
            if fields:
                med, best, cpu = bench(fields[1:], batch, repeat)
                print(f"{fields[0]} {med:.3f} {best:.3f} {cpu:.3f}",
                      flush=True)


if __name__ == "__main__":
    main()
