"""Reference of one whole CycleGAN optimisation step, for g2c's models.

Writes tests/fixtures/torch/cyclegan-step.safetensors, read by
tests/models/test-cyclegan-step.c.  The networks are CycleGAN's
ResnetGenerator (norm 'instance', reflect padding, no dropout) and
NLayerDiscriminator (70x70 PatchGAN, norm 'instance'), rebuilt here from the
paper's description with the module layout, and so the state_dict names, of
junyanz/pytorch-CycleGAN-and-pix2pix.  They are small (ngf 4, 2 blocks,
ndf 4, 32x32 images) so the file stays well under 1 MB, and lambda_B is
8 rather than CycleGAN's 10, so that a term weighted by the wrong lambda
shows.

The step is optimize_parameters() without the image pool: generators
updated with the discriminators frozen (Adam lr 2e-4, betas 0.5/0.999),
then the discriminators on the pre-update fakes.  It runs in float64, so the
reference carries no float32 rounding of its own; the file stores float32.

Tensors in the file:
  G_A.* G_B.* D_A.* D_B.*          initial weights (state_dict names under
                                   the module's name, as in a container)
  after.<name>                     weights after the step
  grad.<name>                      the gradient each optimizer stepped with
  real_A real_B                    inputs [1, 3, S, S]
  fake_B rec_A fake_A rec_B idt_A idt_B
  loss.G_A loss.G_B loss.cycle_A loss.cycle_B loss.idt_A loss.idt_B loss.G
  loss.D_A loss.D_B                [1] each
Metadata: ngf n_blocks ndf n_layers size lr beta1 beta2 lambda_A lambda_B
lambda_idt, and tensors.gen / tensors.disc (how many weights each pair has).

Run with the system python that has torch:
    /usr/bin/python3 tools/torchref/cyclegan.py [out.safetensors]
    /usr/bin/python3 tools/torchref/cyclegan.py --check ckpt.safetensors...
The second form loads g2c checkpoints (G_A./G_B. or D_A./D_B. names)
strictly into the same modules and prints "ok"; the C test uses it to check
that g2c writes names PyTorch accepts.
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stio  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "torch",
                           "cyclegan-step.safetensors")

CFG = {"ngf": 4, "n_blocks": 2, "ndf": 4, "n_layers": 3, "size": 32,
       "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "lambda_A": 10.0,
       "lambda_B": 8.0, "lambda_idt": 0.5}


def norm(c):
    return nn.InstanceNorm2d(c, affine=False, track_running_stats=False)


class ResBlock(nn.Module):
    """x + (pad, conv3, norm, relu, pad, conv3, norm)(x)."""

    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True),
            norm(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=True),
            norm(dim))

    def forward(self, x):
        return x + self.conv_block(x)


def resnet_generator(in_c, out_c, ngf, n_blocks):
    """c7s1-ngf, two stride-2 downsamplings, residual blocks at 4 ngf, two
    transposed upsamplings, c7s1-out_c and tanh."""
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_c, ngf, 7, bias=True),
              norm(ngf), nn.ReLU(True)]
    ch = ngf
    for _ in range(2):
        layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1, bias=True),
                   norm(ch * 2), nn.ReLU(True)]
        ch *= 2
    layers += [ResBlock(ch) for _ in range(n_blocks)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1,
                                      output_padding=1, bias=True),
                   norm(ch // 2), nn.ReLU(True)]
        ch //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, out_c, 7), nn.Tanh()]
    return Wrap(layers)


def patchgan(in_c, ndf, n_layers):
    """Conv4s2 + LeakyReLU, then conv/norm/LeakyReLU with channels doubling
    up to 8 ndf (the last one stride 1), then a 1-channel conv."""
    layers = [nn.Conv2d(in_c, ndf, 4, stride=2, padding=1),
              nn.LeakyReLU(0.2, True)]
    ch = ndf
    for n in range(1, n_layers + 1):
        out = ndf * min(2 ** n, 8)
        stride = 2 if n < n_layers else 1
        layers += [nn.Conv2d(ch, out, 4, stride=stride, padding=1, bias=True),
                   norm(out), nn.LeakyReLU(0.2, True)]
        ch = out
    layers += [nn.Conv2d(ch, 1, 4, stride=1, padding=1)]
    return Wrap(layers)


class Wrap(nn.Module):
    """Holds the layers as `model`, as the original networks do."""

    def __init__(self, layers):
        super().__init__()
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class Pair(nn.Module):
    """A container whose state_dict keys are "<name>.<module key>"."""

    def __init__(self, **modules):
        super().__init__()
        for k, m in modules.items():
            self.add_module(k, m)


def build(cfg):
    gens = {k: resnet_generator(3, 3, cfg["ngf"], cfg["n_blocks"])
            for k in ("G_A", "G_B")}
    discs = {k: patchgan(3, cfg["ndf"], cfg["n_layers"])
             for k in ("D_A", "D_B")}
    return Pair(**gens), Pair(**discs)


def init_weights(module):
    """init_weights('normal', 0.02): conv weights N(0, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def lsgan(pred, real):
    target = torch.ones_like(pred) if real else torch.zeros_like(pred)
    return nn.functional.mse_loss(pred, target)


def step(G, D, real_A, real_B, cfg):
    l1 = nn.functional.l1_loss
    lam_a, lam_b, lam_i = cfg["lambda_A"], cfg["lambda_B"], cfg["lambda_idt"]
    betas = (cfg["beta1"], cfg["beta2"])
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg["lr"], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg["lr"], betas=betas)
    out, loss = {}, {}
    # forward()
    fake_B = G.G_A(real_A)
    rec_A = G.G_B(fake_B)
    fake_A = G.G_B(real_B)
    rec_B = G.G_A(fake_A)
    # backward_G with D frozen
    D.requires_grad_(False)
    opt_g.zero_grad()
    idt_A = G.G_A(real_B)
    idt_B = G.G_B(real_A)
    loss["idt_A"] = l1(idt_A, real_B) * lam_b * lam_i
    loss["idt_B"] = l1(idt_B, real_A) * lam_a * lam_i
    loss["G_A"] = lsgan(D.D_A(fake_B), True)
    loss["G_B"] = lsgan(D.D_B(fake_A), True)
    loss["cycle_A"] = l1(rec_A, real_A) * lam_a
    loss["cycle_B"] = l1(rec_B, real_B) * lam_b
    loss["G"] = (loss["G_A"] + loss["G_B"] + loss["cycle_A"] +
                 loss["cycle_B"] + loss["idt_A"] + loss["idt_B"])
    loss["G"].backward()
    opt_g.step()
    # backward_D_A / backward_D_B on the fakes made before the update
    D.requires_grad_(True)
    opt_d.zero_grad()
    for name, disc, real, fake in (("D_A", D.D_A, real_B, fake_B),
                                   ("D_B", D.D_B, real_A, fake_A)):
        loss[name] = 0.5 * (lsgan(disc(real), True) +
                            lsgan(disc(fake.detach()), False))
        loss[name].backward()
    opt_d.step()
    for k, v in (("fake_B", fake_B), ("rec_A", rec_A), ("fake_A", fake_A),
                 ("rec_B", rec_B), ("idt_A", idt_A), ("idt_B", idt_B)):
        out[k] = v.detach()
    return out, loss


def make(path):
    cfg = CFG
    torch.manual_seed(20190127)
    G, D = build(cfg)
    init_weights(G)
    init_weights(D)
    s = cfg["size"]
    real_A = torch.rand(1, 3, s, s) * 2 - 1
    real_B = torch.rand(1, 3, s, s) * 2 - 1
    tensors = {}
    for net in (G, D):
        tensors.update({k: v.clone() for k, v in net.state_dict().items()})
    tensors["real_A"], tensors["real_B"] = real_A, real_B
    # float32 initial values, float64 arithmetic from here on.
    G.double()
    D.double()
    images, loss = step(G, D, real_A.double(), real_B.double(), cfg)
    tensors.update(images)
    for net in (G, D):
        for k, p in net.named_parameters():
            tensors["after." + k] = p.detach()
            tensors["grad." + k] = p.grad
    for k, v in loss.items():
        tensors["loss." + k] = v.detach().reshape(1)
    meta = {"generator": "tools/torchref/cyclegan.py",
            "torch": torch.__version__, "dtype": "float64"}
    meta.update(cfg)
    # So that a reader can tell the file holds no tensor it lacks.
    meta["tensors.gen"] = len(G.state_dict())
    meta["tensors.disc"] = len(D.state_dict())
    stio.save(path, tensors, meta)
    print(f"wrote {os.path.normpath(path)}: {len(tensors)} tensors, "
          f"{os.path.getsize(path) // 1024} KiB")
    print("losses: " + ", ".join(f"{k} {v.item():.6f}"
                                 for k, v in loss.items()))


def check(paths):
    """Strict load of g2c checkpoints: every key of the generator or
    discriminator pair present with its shape, nothing else (optimizer
    state aside)."""
    cfg = dict(CFG)
    for path in paths:
        tensors, meta = stio.load(path)
        for k in ("ngf", "n_blocks", "ndf", "n_layers"):
            if k in meta:
                cfg[k] = int(meta[k])
        G, D = build(cfg)
        state = {k: v for k, v in tensors.items()
                 if not k.startswith("optim.")}
        net = G if any(k.startswith("G_") for k in state) else D
        net.load_state_dict(state, strict=True)
        print(f"{path}: {len(state)} tensors ok")
    print("ok")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check(sys.argv[2:])
        return
    make(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)


if __name__ == "__main__":
    main()
