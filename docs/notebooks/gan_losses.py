# %% [markdown]
# # LSGAN vs the standard GAN loss on a mixture of Gaussians
#
# Companion to the [LSGAN entry](../../entries/lsgan/) and the [GAN entry](../../entries/gan/).
# Runs the losses of `refimpl/lsgan.py` (`lsgan_d_loss`, `lsgan_g_loss`) and of
# `refimpl/gan.py` (`discriminator_loss`, `generator_loss_nonsaturating`) with the MLPs of
# `refimpl/gan.py` (`MLPGenerator`, `MLPDiscriminator`); tested in `refimpl/tests/test_lsgan.py`
# and `refimpl/tests/test_gan.py`.
#
# Both GANs train on eight Gaussians on a ring, same networks, same seeds; only the loss differs.

# %%
import math

import matplotlib.pyplot as plt
import torch

from refimpl.gan import GANConfig, MLPDiscriminator, MLPGenerator, discriminator_loss, generator_loss_nonsaturating
from refimpl.lsgan import lsgan_d_loss, lsgan_g_loss

torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

CONFIG = GANConfig(latent_dim=2, data_dim=2, hidden=32, n_hidden=2)
CENTRES = 0.7 * torch.tensor([[math.cos(2 * math.pi * k / 8), math.sin(2 * math.pi * k / 8)] for k in range(8)])


def sample_data(n: int) -> torch.Tensor:
    return CENTRES[torch.randint(0, 8, (n,))] + 0.04 * torch.randn(n, 2)


LOSSES = {
    "standard (non-saturating)": (discriminator_loss, generator_loss_nonsaturating),
    "LSGAN (a=-1, b=1, c=0)": (lsgan_d_loss, lsgan_g_loss),
}


def train(name: str, steps: int = 400, snapshots: tuple[int, ...] = (0, 100, 400)):
    torch.manual_seed(0)
    g, d = MLPGenerator(CONFIG), MLPDiscriminator(CONFIG)
    opt_g = torch.optim.Adam(g.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.999))
    d_loss_fn, g_loss_fn = LOSSES[name]
    z_fixed = torch.randn(512, 2)
    history, samples = [], {}
    for step in range(steps + 1):
        if step in snapshots:
            with torch.no_grad():
                samples[step] = g(z_fixed)
        if step == steps:
            break
        real, fake = sample_data(64), g(torch.randn(64, 2))
        loss_d = d_loss_fn(d(real), d(fake.detach()))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = g_loss_fn(d(fake))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        history.append((float(loss_d), float(loss_g)))
    return samples, torch.tensor(history)


runs = {name: train(name) for name in LOSSES}

# %%
fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), sharex=True, sharey=True)
for row, (name, (samples, _)) in zip(axes, runs.items(), strict=True):
    for ax, (step, pts) in zip(row, samples.items(), strict=True):
        ax.scatter(*CENTRES.T, c="tab:red", marker="x", s=60, label="mode centres")
        ax.scatter(*pts.T, s=3, alpha=0.5, label="G(z)")
        ax.set(title=f"{name}\nstep {step}", xlabel="x₁", ylabel="x₂", xlim=(-1.1, 1.1), ylim=(-1.1, 1.1))
axes[0, 0].legend(loc="lower left", fontsize=7)
fig.tight_layout()
plt.show()

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
kernel = torch.ones(15) / 15
for ax, column, title in ((axes[0], 0, "discriminator loss"), (axes[1], 1, "generator loss")):
    for name, (_, history) in runs.items():
        smooth = torch.nn.functional.conv1d(history[None, None, :, column], kernel[None, None])[0, 0]
        ax.plot(smooth, label=name)
    ax.set(xlabel="training step", ylabel="loss (moving average of 15)", title=title)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()


# %%
def modes_covered(pts: torch.Tensor) -> int:
    """Modes with at least 2% of the samples within 0.15 of their centre."""
    dist = torch.cdist(pts, CENTRES)
    near = (dist.min(1).values < 0.15)
    counts = torch.bincount(dist.argmin(1)[near], minlength=8)
    return int((counts > 0.02 * len(pts)).sum())


for name, (samples, _) in runs.items():
    print(f"{name}: modes covered at the last step = {modes_covered(samples[max(samples)])} of 8")
# The least-squares D loss at the LSGAN optimum is bounded: both runs stay finite.
assert all(torch.isfinite(h).all() for _, h in runs.values())
