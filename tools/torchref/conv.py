"""Reference outputs of PyTorch for g2c's convolution layers.

Writes tests/fixtures/torch/conv.safetensors (read by
tests/nn/test-conv-torch.c).  For each case "<name>.": the input x, weight
w, bias b (when the case has one), the output y, a fixed upstream gradient
dy and the gradients it gives (dx, dw, db).  The metadata "<name>" says
what the case is, so the C test needs no copy of this list:
    "conv2d batch in_c in_h in_w out_c kernel stride pad zero|reflect bias
            kernel_w pad_w"    (kernel x kernel_w, padding pad x pad_w)
    "convt2d batch in_c in_h in_w out_c kernel stride pad output_pad bias"

Run with the system python that has torch:
    /usr/bin/python3 tools/torchref/conv.py [out.safetensors]
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "torch",
                           "conv.safetensors")

# name: (batch, in_c, in_h, in_w, out_c, kernel, stride, pad, mode, bias
#        [, kernel_w, pad_w])
CONV2D = {
    "c7_reflect_in": (1, 3, 7, 6, 7, 7, 1, 3, "reflect", True),
    "c3_s2_zero": (2, 4, 7, 8, 6, 3, 2, 1, "zeros", True),
    "c3_reflect_res": (1, 6, 6, 5, 6, 3, 1, 1, "reflect", True),
    "c7_reflect_out": (1, 7, 7, 6, 3, 7, 1, 3, "reflect", True),
    "c4_s2_patch": (1, 3, 10, 9, 4, 4, 2, 1, "zeros", True),
    "c4_s1_head": (1, 8, 5, 4, 1, 4, 1, 1, "zeros", True),
    "c1_s2_short": (3, 4, 5, 5, 6, 1, 2, 0, "zeros", False),
    "c3_s2_reflect": (3, 3, 7, 6, 5, 3, 2, 1, "reflect", False),
    "c1x7_incep": (1, 4, 5, 9, 5, 1, 1, 0, "zeros", False, 7, 3),
    "c7x1_incep": (1, 5, 9, 5, 3, 7, 1, 3, "zeros", True, 1, 0),
}

# name: (batch, in_c, in_h, in_w, out_c, kernel, stride, pad, output_pad,
#        bias)
CONVT2D = {
    "t3_s2_up": (1, 6, 4, 5, 4, 3, 2, 1, 1, True),
    "t4_s2": (3, 4, 3, 4, 3, 4, 2, 1, 0, False),
    "t3_s1": (1, 5, 5, 6, 4, 3, 1, 1, 0, True),
}


def save_case(out, name, x, w, b, y, dy, xl, wl, bl):
    out[f"{name}.x"] = x
    out[f"{name}.w"] = w
    if b is not None:
        out[f"{name}.b"] = b
        out[f"{name}.db"] = bl.grad
    out[f"{name}.y"] = y
    out[f"{name}.dy"] = dy
    out[f"{name}.dx"] = xl.grad
    out[f"{name}.dw"] = wl.grad


def conv2d_case(out, meta, name, spec):
    n, ci, h, w_, co, k, s, p, mode, bias = spec[:10]
    kw, pw = spec[10:] if len(spec) > 10 else (k, p)
    x = torch.rand(n, ci, h, w_) * 2 - 1
    w = (torch.rand(co, ci, k, kw) * 2 - 1) / (ci * k * kw) ** 0.5
    b = torch.rand(co) - 0.5 if bias else None
    # Through the module, so padding_mode='reflect' is PyTorch's own.
    conv = torch.nn.Conv2d(ci, co, (k, kw), s, (p, pw), bias=bias,
                           padding_mode=mode)
    with torch.no_grad():
        conv.weight.copy_(w)
        if bias:
            conv.bias.copy_(b)
    xl, wl, bl = x.clone().requires_grad_(True), conv.weight, conv.bias
    y = conv(xl)
    dy = torch.rand_like(y) * 2 - 1
    y.backward(dy)
    save_case(out, name, x, w, b, y.detach(), dy, xl, wl, bl)
    meta[name] = (f"conv2d {n} {ci} {h} {w_} {co} {k} {s} {p} "
                  f"{'reflect' if mode == 'reflect' else 'zero'} {int(bias)} "
                  f"{kw} {pw}")


def convt2d_case(out, meta, name, spec):
    n, ci, h, w_, co, k, s, p, op, bias = spec
    x = torch.rand(n, ci, h, w_) * 2 - 1
    w = (torch.rand(ci, co, k, k) * 2 - 1) / (ci * k * k) ** 0.5
    b = torch.rand(co) - 0.5 if bias else None
    xl, wl = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    bl = b.clone().requires_grad_(True) if bias else None
    y = torch.nn.functional.conv_transpose2d(xl, wl, bl, s, p, op)
    dy = torch.rand_like(y) * 2 - 1
    y.backward(dy)
    save_case(out, name, x, w, b, y.detach(), dy, xl, wl, bl)
    meta[name] = f"convt2d {n} {ci} {h} {w_} {co} {k} {s} {p} {op} {int(bias)}"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    torch.manual_seed(20190127)
    out = {}
    meta = {"generator": "tools/torchref/conv.py", "torch": torch.__version__}
    for name, spec in CONV2D.items():
        conv2d_case(out, meta, name, spec)
    for name, spec in CONVT2D.items():
        convt2d_case(out, meta, name, spec)
    meta["cases"] = " ".join(list(CONV2D) + list(CONVT2D))
    stio.save(path, out, meta)
    print(f"wrote {os.path.normpath(path)}: {len(out)} tensors, "
          f"{os.path.getsize(path) // 1024} KiB")


if __name__ == "__main__":
    main()
