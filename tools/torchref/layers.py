"""Reference outputs of PyTorch for g2c's non-convolution layers and losses.

Writes tests/fixtures/torch/layers.safetensors (tests/nn/test-layers-torch.c
and test-loss-torch.c compare against it).  For each layer "<name>.": its
inputs and parameters, the output y, a fixed upstream gradient dy and the
gradients it gives (dx, dgamma, ...); for each loss: its inputs, the loss
value and the gradient of the loss itself.  Integer tensors (labels, max-pool
argmax) are stored as exact F32.

Run with the system python that has torch:
    /usr/bin/python3 tools/torchref/layers.py [out.safetensors]
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

OUT = {}
META = {"generator": "tools/torchref/layers.py", "torch": torch.__version__}


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def put(prefix, **tensors):
    for k, v in tensors.items():
        OUT[f"{prefix}.{k}"] = v.detach().float().clone()


def upstream(y):
    return torch.randn_like(y)


def run_layer(prefix, fn, inputs, extra=None):
    """y = fn(*inputs); backward with a random dy; saves inputs, y, dy and
    d<name> for every input that requires grad."""
    leaves = {k: leaf(v) for k, v in inputs.items()}
    y = fn(**leaves)
    dy = upstream(y)
    y.backward(dy)
    put(prefix, y=y, dy=dy, **{k: v for k, v in inputs.items()})
    for k, v in leaves.items():
        if v.grad is not None:
            put(prefix, **{"d" + k: v.grad})
    if extra:
        put(prefix, **extra)


def norms():
    x = torch.randn(2, 3, 5, 6) * 2 + 0.5
    g = torch.rand(3) + 0.5
    b = torch.randn(3) * 0.3
    run_layer("instnorm", lambda x, gamma, beta:
              F.instance_norm(x, weight=gamma, bias=beta, eps=1e-5),
              {"x": x, "gamma": g, "beta": b})
    run_layer("instnorm_noaffine", lambda x: F.instance_norm(x, eps=1e-5),
              {"x": x})

    # Batch norm through the module, as the models use it: one training
    # step (batch statistics, running stats updated), then eval.
    bn = torch.nn.BatchNorm2d(3, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(3) + 0.5)
        bn.bias.copy_(torch.randn(3) * 0.3)
        bn.running_mean.copy_(torch.randn(3) * 0.2)
        bn.running_var.copy_(torch.rand(3) + 0.5)
    rm0, rv0 = bn.running_mean.clone(), bn.running_var.clone()
    x = torch.randn(4, 3, 5, 6) * 1.5 - 0.3
    for mode in ("train", "eval"):
        bn.train(mode == "train")
        bn.zero_grad()
        rm_in, rv_in = bn.running_mean.clone(), bn.running_var.clone()
        xl = leaf(x)
        y = bn(xl)
        dy = upstream(y)
        y.backward(dy)
        put(f"bn_{mode}", x=x, gamma=bn.weight, beta=bn.bias,
            running_mean=rm_in, running_var=rv_in, y=y, dy=dy, dx=xl.grad,
            dgamma=bn.weight.grad, dbeta=bn.bias.grad,
            running_mean_after=bn.running_mean,
            running_var_after=bn.running_var)
    assert not torch.equal(rm0, OUT["bn_train.running_mean_after"])
    META["bn.eps"] = 1e-5
    META["bn.momentum"] = 0.1


def activations():
    x = torch.randn(2, 3, 4, 5) * 2
    run_layer("relu", lambda x: F.relu(x), {"x": x})
    run_layer("leakyrelu", lambda x: F.leaky_relu(x, 0.2), {"x": x})
    run_layer("tanh", lambda x: torch.tanh(x), {"x": x})
    run_layer("sigmoid", lambda x: torch.sigmoid(x), {"x": x})
    META["leakyrelu.slope"] = 0.2


def pools():
    for name, k, s, p in (("k3s2p1", 3, 2, 1), ("k2s2p0", 2, 2, 0),
                          ("k3s1p1", 3, 1, 1)):
        x = torch.randn(2, 3, 9, 8)
        xl = leaf(x)
        y, idx = F.max_pool2d(xl, k, s, p, return_indices=True)
        dy = upstream(y)
        y.backward(dy)
        put(f"maxpool_{name}", x=x, y=y, dy=dy, dx=xl.grad,
            argmax=idx.float())
        run_layer(f"avgpool_{name}", lambda x: F.avg_pool2d(x, k, s, p),
                  {"x": x})
    x = torch.randn(2, 4, 5, 5)
    run_layer("gap", lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1),
              {"x": x})


def others():
    run_layer("linear", lambda x, w, b: F.linear(x, w, b),
              {"x": torch.randn(3, 7), "w": torch.randn(5, 7) * 0.4,
               "b": torch.randn(5) * 0.1})
    run_layer("add", lambda a, b: a + b,
              {"a": torch.randn(2, 3, 4), "b": torch.randn(2, 3, 4)})
    run_layer("chanmul", lambda x, s: x * s[:, :, None, None],
              {"x": torch.randn(2, 4, 3, 3), "s": torch.rand(2, 4)})


def focal(logits, labels, alpha, gamma):
    logp = F.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
    p = logp.exp()
    a = alpha[labels] if alpha is not None else torch.ones_like(p)
    return (-a * (1 - p) ** gamma * logp).mean()


def losses():
    def run_loss(prefix, fn, x, **fixed):
        xl = leaf(x)
        loss = fn(xl)
        loss.backward()
        put(prefix, x=x, loss=loss.reshape(1), dx=xl.grad, **fixed)

    x = torch.randn(2, 3, 4, 4)
    t = torch.randn(2, 3, 4, 4)
    run_loss("mse", lambda x: F.mse_loss(x, t), x, target=t)
    run_loss("mse_const1", lambda x: F.mse_loss(x, torch.ones_like(x)), x)
    run_loss("mse_const0", lambda x: F.mse_loss(x, torch.zeros_like(x)), x)
    run_loss("l1", lambda x: F.l1_loss(x, t), x, target=t)

    z = torch.randn(7, 4) * 2
    y = torch.tensor([0, 3, 1, 1, 2, 3, 0])
    w = torch.tensor([0.5, 2.0, 1.0, 3.0])
    alpha = torch.tensor([0.25, 0.75, 0.5, 1.0])
    lab = y.float()
    run_loss("ce", lambda z: F.cross_entropy(z, y), z, labels=lab)
    run_loss("ce_weighted", lambda z: F.cross_entropy(z, y, weight=w), z,
             labels=lab, weight=w)
    run_loss("focal", lambda z: focal(z, y, alpha, 2.0), z, labels=lab,
             alpha=alpha)
    run_loss("focal_noalpha", lambda z: focal(z, y, None, 0.5), z,
             labels=lab)
    META["focal.gamma"] = 2.0
    META["focal_noalpha.gamma"] = 0.5


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
        "fixtures", "torch", "layers.safetensors"))
    torch.manual_seed(20190127)
    torch.set_num_threads(1)
    norms()
    activations()
    pools()
    others()
    losses()
    stio.save(out, OUT, META)
    n = sum(t.numel() for t in OUT.values())
    print(f"{out}: {len(OUT)} tensors, {n} floats")


if __name__ == "__main__":
    main()
