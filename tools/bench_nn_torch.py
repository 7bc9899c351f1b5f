"""PyTorch side of tools/bench-nn.c: times the same convolution layers.

    /usr/bin/python3 tools/bench_nn_torch.py SPEC_FILE THREADS REPEAT [cputime]

SPEC_FILE has one layer a line, as bench-nn writes it:
    index conv|convt batch in_c in_h in_w out_c kernel stride pad
          mode_or_output_pad bias need_dx
(mode: 0 zero, 1 reflect).  Prints "index fwd_ms bwd_ms", each the best of
REPEAT runs after one warm-up; backward computes dw, db and, when need_dx,
dx, as g2c's backward does.  "cputime" times with this thread's CPU time
(meaningful with THREADS 1, where PyTorch computes in the calling thread).
"""
import sys
import time

import torch


def layer(kind, n, ci, h, w, co, k, s, p, mo, bias):
    if kind == "convt":
        return torch.nn.ConvTranspose2d(ci, co, k, s, p, output_padding=mo,
                                        bias=bool(bias))
    return torch.nn.Conv2d(ci, co, k, s, p, bias=bool(bias),
                           padding_mode="reflect" if mo == 1 else "zeros")


CLOCK = time.perf_counter


def bench(fields, repeat):
    kind = fields[0]
    n, ci, h, w, co, k, s, p, mo, bias, need_dx = map(int, fields[1:])
    torch.manual_seed(0)
    m = layer(kind, n, ci, h, w, co, k, s, p, mo, bias)
    x = torch.rand(n, ci, h, w) * 2 - 1
    x.requires_grad_(bool(need_dx))
    with torch.no_grad():
        dy = torch.rand_like(m(x)) * 2 - 1
    best_f = best_b = float("inf")
    for r in range(repeat + 1):
        m.zero_grad(set_to_none=True)
        x.grad = None
        t0 = CLOCK()
        y = m(x)
        t1 = CLOCK()
        y.backward(dy)
        t2 = CLOCK()
        if r > 0:
            best_f = min(best_f, t1 - t0)
            best_b = min(best_b, t2 - t1)
    return best_f * 1e3, best_b * 1e3


def main():
    global CLOCK
    spec, threads, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4 and sys.argv[4] == "cputime":
        CLOCK = time.thread_time
    torch.set_num_threads(threads)
    with open(spec) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            fw, bw = bench(fields[1:], repeat)
            print(f"{fields[0]} {fw:.4f} {bw:.4f}", flush=True)


if __name__ == "__main__":
    main()
