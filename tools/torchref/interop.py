"""PyTorch <-> g2c checkpoint interoperability, for
tests/nn/test-checkpoint-torch.c.

    /usr/bin/python3 tools/torchref/interop.py [OUT]
        builds a small module (Conv2d, InstanceNorm2d(affine), BatchNorm2d,
        Linear inside nn.Sequential, so the state_dict has keys such as
        model.1.weight and model.2.running_mean), fills every tensor with a
        known pattern and saves its state_dict with stio.save (default OUT:
        tests/fixtures/torch/interop.safetensors).

    /usr/bin/python3 tools/torchref/interop.py --check FILE [--scale S --shift B]
        loads a checkpoint written by g2c with stio.load (no torch.load),
        drops the optimizer state (keys "optim.*"), loads it into the same
        module with load_state_dict(strict=True), runs it, and checks that
        every tensor equals S * pattern + B (the C test writes 2 * pattern + 1).
        Exit status 0 when all is well.
"""
import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Conv2d(3, 4, kernel_size=3, padding=1),  # model.0
            nn.InstanceNorm2d(4, affine=True),           # model.1
            nn.BatchNorm2d(4),                           # model.2
            nn.ReLU(True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 2),                             # model.6
        )

    def forward(self, x):
        return self.model(x)


def pattern(k, name, shape):
    """Dyadic values, exact in float32, so both sides compare with ==.  k is
    the key's position in the state_dict; running_var stays positive."""
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.float64)
    base = torch.remainder(i * 7 + k * 13, 29)
    if name.endswith("num_batches_tracked"):
        return torch.tensor(7.0)
    if name.endswith("running_var"):
        return ((base + 1) / 8).reshape(shape)
    return ((base - 14) / 8).reshape(shape)


def expected(net, scale=1.0, shift=0.0):
    return {name: pattern(k, name, tuple(t.shape)) * scale + shift
            for k, (name, t) in enumerate(net.state_dict().items())}


def write(out):
    net = Net()
    with torch.no_grad():
        for name, value in expected(net).items():
            net.state_dict()[name].copy_(value)
    meta = {"source": "tools/torchref/interop.py", "torch": torch.__version__,
            "format": "pt"}
    stio.save(out, net.state_dict(), meta)
    print(f"wrote {out}: {len(net.state_dict())} tensors")


def check(path, scale, shift):
    tensors, meta = stio.load(path)
    state = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
    net = Net()
    net.load_state_dict(state, strict=True)
    bad = 0
    for name, want in expected(net, scale, shift).items():
        got = net.state_dict()[name].to(torch.float64)
        if not torch.equal(got, want.to(torch.float64)):
            print(f"{path}: tensor {name}: values differ "
                  f"(got {got.flatten()[:4].tolist()}, "
                  f"want {want.flatten()[:4].tolist()})")
            bad += 1
    if meta.get("format") != "pt":
        print(f"{path}: metadata format is {meta.get('format')!r}, not 'pt'")
        bad += 1
    net.eval()
    y = net(torch.ones(1, 3, 5, 5))
    if y.shape != (1, 2) or not torch.isfinite(y).all():
        print(f"{path}: forward pass gave {y}")
        bad += 1
    if bad:
        return 1
    print(f"{path}: {len(state)} tensors loaded with strict=True, "
          f"{len(tensors) - len(state)} optimizer tensors ignored, "
          f"metadata {sorted(meta)}: ok")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
        "fixtures", "torch", "interop.safetensors")))
    ap.add_argument("--check", metavar="FILE")
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--shift", type=float, default=1.0)
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.check, args.scale, args.shift))
    write(args.out)


if __name__ == "__main__":
    main()
