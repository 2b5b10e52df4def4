# %% [markdown]
# # CycleGAN on two toy 2-D domains
#
# Companion to the [CycleGAN entry](../../entries/cyclegan/). Uses the objective of
# `refimpl/cyclegan.py` (`generator_objective`, `discriminator_objective`, `cycle_loss`);
# tested in `refimpl/tests/test_cyclegan.py`. The image networks are replaced by small MLPs
# on points, which the losses accept unchanged.
#
# Domain X: a ring. Domain Y: a line segment. There are no pairs; G: X → Y and F: Y → X are
# trained with LSGAN terms, the cycle loss λ‖F(G(x)) − x‖₁ and the identity term.

# %%
import math

import matplotlib.pyplot as plt
import torch
from torch import nn

from refimpl.cyclegan import CycleGANConfig, cycle_loss, discriminator_objective, generator_objective

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})


def sample_x(n: int) -> torch.Tensor:
    t = 2 * math.pi * torch.rand(n)
    return torch.stack([t.cos(), t.sin()], 1) * 0.6 + 0.02 * torch.randn(n, 2)


def sample_y(n: int) -> torch.Tensor:
    t = torch.rand(n) * 2 - 1
    return torch.stack([t, 0.5 * t + 0.3], 1) + 0.02 * torch.randn(n, 2)


def mlp(out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, out))


config = CycleGANConfig(lambda_cyc=10.0, lambda_identity=0.0)  # identity off: the domains do not overlap
g, f, d_x, d_y = mlp(2), mlp(2), mlp(1), mlp(1)
opt_gen = torch.optim.Adam([*g.parameters(), *f.parameters()], 2e-3, betas=(0.5, 0.999))
opt_dis = torch.optim.Adam([*d_x.parameters(), *d_y.parameters()], 2e-3, betas=(0.5, 0.999))
history = []
for _ in range(500):
    x, y = sample_x(128), sample_y(128)
    loss_g = generator_objective(g, f, d_x, d_y, x, y, config)
    opt_gen.zero_grad()
    loss_g.backward()
    opt_gen.step()
    with torch.no_grad():
        fake_y, fake_x = g(x), f(y)
    loss_d = discriminator_objective(d_y, y, fake_y) + discriminator_objective(d_x, x, fake_x)
    opt_dis.zero_grad()
    loss_d.backward()
    opt_dis.step()
    with torch.no_grad():
        history.append((float(loss_g), float(loss_d), float(cycle_loss(g, f, x, y, 1.0))))
history = torch.tensor(history)

# %%
x, y = sample_x(400), sample_y(400)
with torch.no_grad():
    gx, fy, fgx = g(x), f(y), f(g(x))
fig, axes = plt.subplots(1, 3, figsize=(13, 4))
axes[0].scatter(*x.T, s=4, label="x ∈ X (ring)")
axes[0].scatter(*y.T, s=4, label="y ∈ Y (segment)")
axes[0].scatter(*gx.T, s=4, label="G(x)")
axes[0].set(title="G maps the ring onto the segment", xlabel="p₁", ylabel="p₂", aspect="equal")
axes[0].legend(fontsize=7)
angle = torch.atan2(x[:, 1], x[:, 0])
axes[1].scatter(*x.T, c=angle, cmap="hsv", s=6)
axes[1].scatter(*gx.T, c=angle, cmap="hsv", s=6, marker="x")
axes[1].set(title="colour = angle on the ring: where each x lands", xlabel="p₁", ylabel="p₂", aspect="equal")
for i in range(0, 400, 40):
    axes[2].plot([x[i, 0], fgx[i, 0]], [x[i, 1], fgx[i, 1]], color="grey", lw=0.8)
axes[2].scatter(*x.T, s=4, label="x")
axes[2].scatter(*fgx.T, s=4, label="F(G(x))")
axes[2].set(title="cycle reconstruction", xlabel="p₁", ylabel="p₂", aspect="equal")
axes[2].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(history[:, 2], label="cycle loss ‖F(G(x)) − x‖₁ + ‖G(F(y)) − y‖₁")
ax.set(xlabel="training step", ylabel="L1 (λ = 1)", title="The cycle loss falls", yscale="log")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"cycle loss: first step {float(history[0, 2]):.3f}, last 50 steps {float(history[-50:, 2].mean()):.3f}")
assert history[-50:, 2].mean() < 0.5 * history[:10, 2].mean()
