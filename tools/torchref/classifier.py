"""The G2C multi-stain classifier in PyTorch, and reference outputs for
g2c's C implementation (src/models/classifier*.c, include/g2c/classifier.h).

The module's state_dict keys are the names g2c registers its tensors under
(stem.0.conv.weight, units.0.block.conv1.weight, units.0.attention.fc1.weight,
head.weight, ...).  The K branches share every weight and go through the
trunk stacked along the batch dimension, torch.cat(branches, 0), so batch
norm sees all branches together, exactly as in g2c.

    /usr/bin/python3 tools/torchref/classifier.py [OUT]

writes OUT (default tests/fixtures/torch/classifier.safetensors), read by
tests/models/test-classifier-torch.c.  For each case "<case>." it holds:
    <case>.<state_dict key>        weights and buffers before the forward
    <case>.input.<k>               branch k's input [B, 3, H, W] in [-1, 1]
    <case>.labels                  [B] as exact floats
    <case>.alpha                   focal loss class weights (focal cases)
    <case>.logits, <case>.loss     forward output, mean loss
    <case>.grad.<key>              dloss/dparameter (trainable tensors)
    <case>.dinput.<k>              dloss/dinput of branch k
    <case>.after.<key>             buffers after the forward (running stats,
                                   num_batches_tracked)
and the metadata "<case>" describing the configuration as integers:
    "K attention input_size stem(0 light, 1 inception) stem_width classes
     batch training loss(0 CE, 1 focal) gamma reduction units width0 ..."
plus "<case>.n_state", the number of state_dict entries.

    /usr/bin/python3 tools/torchref/classifier.py --check FILE

loads a g2c checkpoint of the classifier (written by
tests/models/test-classifier.c) into the module with load_state_dict(
strict=True), after dropping optimizer state and the name prefix given in
the metadata "prefix", runs it in eval mode on the test's input pattern
(branch k, flat index i: sin(0.37 i + k)) and compares the logits with the
metadata "logits" that g2c computed.  Exit status 0 when all is well.

Also importable: tools/bench_classifier_torch.py builds the same module.
"""
import os
import sys

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    # tests/models/test-classifier.c skips its PyTorch check on 77.
    print("classifier.py: PyTorch is not installed", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "torch",
                           "classifier.safetensors")


class ConvBN(nn.Module):
    """Conv (no bias) + BatchNorm (+ ReLU): keys .conv.weight, .bn.*"""

    def __init__(self, cin, cout, k, stride=1, pad=0, relu=True,
                 momentum=0.1, eps=1e-5):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=eps, momentum=momentum)
        self.relu = relu

    def forward(self, x):
        y = self.bn(self.conv(x))
        return F.relu(y) if self.relu else y


def light_stem(w, bn):
    """3x3 s2, 3x3, 3x3 (w channels each), max pool 3x3 s2 p1."""
    return nn.Sequential(ConvBN(3, w, 3, 2, 1, **bn), ConvBN(w, w, 3, 1, 1, **bn),
                         ConvBN(w, w, 3, 1, 1, **bn), nn.MaxPool2d(3, 2, 1))


class InceptionStem(nn.Module):
    """Inception-v4's stem with width w (32 = the original), padding 1 on
    every 3x3 conv and pool (3 along the long side of 7x1 / 1x7) so that
    both halves of each concatenation are ceil(n / 2) for any n."""

    def __init__(self, w, bn):
        super().__init__()
        self.conv1 = ConvBN(3, w, 3, 2, 1, **bn)
        self.conv2 = ConvBN(w, w, 3, 1, 1, **bn)
        self.conv3 = ConvBN(w, 2 * w, 3, 1, 1, **bn)
        self.mix3 = ConvBN(2 * w, 3 * w, 3, 2, 1, **bn)
        self.mix4a = nn.Sequential(ConvBN(5 * w, 2 * w, 1, **bn),
                                   ConvBN(2 * w, 3 * w, 3, 1, 1, **bn))
        self.mix4b = nn.Sequential(
            ConvBN(5 * w, 2 * w, 1, **bn),
            ConvBN(2 * w, 2 * w, (7, 1), 1, (3, 0), **bn),
            ConvBN(2 * w, 2 * w, (1, 7), 1, (0, 3), **bn),
            ConvBN(2 * w, 3 * w, 3, 1, 1, **bn))
        self.mix5 = ConvBN(6 * w, 6 * w, 3, 2, 1, **bn)
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x):
        x = self.conv3(self.conv2(self.conv1(x)))
        x = torch.cat([self.pool(x), self.mix3(x)], 1)
        x = torch.cat([self.mix4a(x), self.mix4b(x)], 1)
        return torch.cat([self.mix5(x), self.pool(x)], 1)


class ResidualBlock(nn.Module):
    def __init__(self, cin, c, bn):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c, **bn)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c, **bn)
        self.shortcut = ConvBN(cin, c, 1, relu=False, **bn) if cin != c else None

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = self.shortcut(x) if self.shortcut is not None else x
        return F.relu(y + s)


def to_rows(s, k):
    """[K*B, C] branch-major -> [B, K*C], each crop's K vectors side by side."""
    n, c = s.shape
    return s.view(k, n // k, c).permute(1, 0, 2).reshape(n // k, k * c)


def to_branches(z, k):
    b, kc = z.shape
    return z.view(b, k, kc // k).permute(1, 0, 2).reshape(b * k, kc // k)


class CrossStainAttention(nn.Module):
    def __init__(self, k, c, reduction):
        super().__init__()
        self.k = k
        hidden = max(1, k * c // reduction)
        self.fc1 = nn.Linear(k * c, hidden)
        self.fc2 = nn.Linear(hidden, k * c)

    def forward(self, x):
        z = to_rows(x.mean((2, 3)), self.k)
        e = torch.sigmoid(self.fc2(F.relu(self.fc1(z))))
        return x * to_branches(e, self.k)[:, :, None, None]


class Unit(nn.Module):
    def __init__(self, cin, c, k, attention, reduction, bn):
        super().__init__()
        self.block = ResidualBlock(cin, c, bn)
        self.attention = CrossStainAttention(k, c, reduction) if attention else None
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x):
        x = self.block(x)
        if self.attention is not None:
            x = self.attention(x)
        return self.pool(x)


class Classifier(nn.Module):
    def __init__(self, k=4, attention=True, stem="light", stem_width=32,
                 widths=(64, 128, 256), classes=2, reduction=16,
                 momentum=0.1, eps=1e-5):
        super().__init__()
        bn = {"momentum": momentum, "eps": eps}
        self.k = k
        if stem == "inception":
            self.stem = InceptionStem(stem_width, bn)
            c = 12 * stem_width
        else:
            self.stem = light_stem(stem_width, bn)
            c = stem_width
        units = []
        for w in widths:
            units.append(Unit(c, w, k, attention, reduction, bn))
            c = w
        self.units = nn.ModuleList(units)
        self.head = nn.Linear(k * c, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                        nonlinearity="relu")

    def forward(self, branches):
        x = self.stem(torch.cat(list(branches), 0))
        for u in self.units:
            x = u(x)
        return self.head(to_rows(x.mean((2, 3)), self.k))


def focal_loss(logits, labels, alpha, gamma):
    logp = F.log_softmax(logits, 1).gather(1, labels[:, None])[:, 0]
    p = logp.exp()
    a = alpha[labels] if alpha is not None else 1.0
    return (-a * (1 - p) ** gamma * logp).mean()


# case: (K, attention, size, stem, stem_width, widths, classes, batch,
#        training, loss, gamma, reduction)
# Reduction 4 (not 16) gives the tiny attention blocks 3 to 6 hidden units,
# so that some are active and every attention weight gets a gradient.
CASES = {
    # PAS_ONLY, odd input (17 -> 9 -> 5 -> 3 -> 2), an identity shortcut
    # (unit 0) and a 1x1 one (unit 1).
    "k1": (1, 0, 17, "light", 4, (4, 6), 3, 3, 1, "ce", 0, 16),
    # PAS_ALL: three branches, no attention.
    "k3": (3, 0, 16, "light", 4, (6, 8), 3, 2, 1, "ce", 0, 16),
    # PAS_ALL+: with cross-stain attention, focal loss.
    "k3att": (3, 1, 16, "light", 4, (4, 8), 3, 2, 1, "focal", 2, 4),
    # The same in eval mode: running statistics, no update.
    "k3eval": (3, 1, 16, "light", 4, (4, 8), 3, 2, 0, "focal", 2, 4),
    # Inception stem (7x1 and 1x7 kernels), odd input 19 -> 10 -> 5 -> 3.
    "incep": (2, 1, 19, "inception", 2, (8,), 3, 2, 1, "ce", 0, 4),
}


def randomize(model, gen):
    """Non-trivial BN parameters and running statistics, so that the
    comparison sees gamma, beta and the running-stat update at work; live
    attention units."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(5)
        for m in model.modules():
            if isinstance(m, CrossStainAttention):
                # Positive biases keep the few hidden ReLUs alive.
                m.fc1.bias.copy_(torch.rand(m.fc1.out_features,
                                            generator=gen) * 0.4 + 0.1)


def make_case(name, spec, out, meta):
    (k, att, size, stem, sw, widths, classes, batch, training, loss, gamma,
     reduction) = spec
    torch.manual_seed(sum(map(ord, name)))
    gen = torch.Generator().manual_seed(len(name))
    model = Classifier(k, bool(att), stem, sw, widths, classes, reduction)
    randomize(model, gen)
    model.train(bool(training))
    for key, v in model.state_dict().items():
        out[f"{name}.{key}"] = v.detach().clone()
    inputs = [(torch.rand(batch, 3, size, size) * 2 - 1).requires_grad_(True)
              for _ in range(k)]
    labels = torch.arange(batch) % classes
    logits = model(inputs)
    if loss == "focal":
        alpha = torch.linspace(0.5, 1.5, classes)
        value = focal_loss(logits, labels, alpha, gamma)
        out[f"{name}.alpha"] = alpha
    else:
        value = F.cross_entropy(logits, labels)
    value.backward()
    for i, x in enumerate(inputs):
        out[f"{name}.input.{i}"] = x.detach()
        out[f"{name}.dinput.{i}"] = x.grad
    out[f"{name}.labels"] = labels.float()
    out[f"{name}.logits"] = logits.detach()
    out[f"{name}.loss"] = value.detach().reshape(1)
    for key, prm in model.named_parameters():
        # A dead ReLU would leave a tensor without gradient, and the
        # comparison without content.
        assert prm.grad.abs().max() > 0, f"{name}: {key} has no gradient"
        out[f"{name}.grad.{key}"] = prm.grad
    for key, buf in model.named_buffers():
        out[f"{name}.after.{key}"] = buf.detach().clone()
    meta[name] = " ".join(str(v) for v in (
        k, att, size, 1 if stem == "inception" else 0, sw, classes, batch,
        training, 1 if loss == "focal" else 0, gamma, reduction, len(widths),
        *widths))
    meta[f"{name}.n_state"] = str(len(model.state_dict()))


def pattern_inputs(k, batch, size):
    n = batch * 3 * size * size
    i = torch.arange(n, dtype=torch.float64)
    return [torch.sin(0.37 * i + b).float().reshape(batch, 3, size, size)
            for b in range(k)]


def model_from_description(desc):
    v = [int(t) for t in desc.split()]
    k, att, size, stem, sw, classes, batch = v[:7]
    reduction = v[10]
    widths = v[12:12 + v[11]]
    model = Classifier(k, bool(att), "inception" if stem else "light", sw,
                       widths, classes, reduction)
    return model, k, batch, size


def check(path):
    state, meta = stio.load(path)
    prefix = meta.get("prefix", "")
    state = {key[len(prefix):]: v for key, v in state.items()
             if not key.startswith("optim.")}
    model, k, batch, size = model_from_description(meta["config"])
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(pattern_inputs(k, batch, size)).reshape(-1)
    want = torch.tensor([float(t) for t in meta["logits"].split()])
    err = (logits - want).abs().max().item()
    ok = logits.shape == want.shape and err <= 1e-4 * (1 + want.abs().max().item())
    print(f"{path}: strict load ok, eval logits max |err| {err:.3g}")
    return 0 if ok else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        sys.exit(check(sys.argv[2]))
    path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    torch.set_num_threads(1)
    out, meta = {}, {"generator": "tools/torchref/classifier.py",
                     "torch": torch.__version__}
    for name, spec in CASES.items():
        make_case(name, spec, out, meta)
    stio.save(path, out, meta)
    print(f"{path}: {len(out)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
