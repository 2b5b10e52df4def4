# %% [markdown]
# # ESRGAN: network interpolation and residual scaling
#
# Companion to the [ESRGAN entry](../../entries/esrgan/). Runs `refimpl/esrgan.py`
# (`interpolate_networks`, `RRDBNet`, `RRDB`); tested in `refimpl/tests/test_esrgan.py`.
#
# Sec. 3.4 blends a PSNR-oriented and a GAN-trained generator *in weight space*:
# θ(α) = (1 − α) θ_PSNR + α θ_GAN. Two randomly initialised tiny generators stand in for
# the trained pair; what the figure shows — a smooth path between the two outputs, which
# is not the straight line of output blending — does not depend on training.

# %%
import matplotlib.pyplot as plt
import torch
from torch.func import functional_call

from refimpl.esrgan import RRDB, TINY, RRDBNet, interpolate_networks

torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

torch.manual_seed(0)
net_psnr = RRDBNet(TINY).eval()
torch.manual_seed(1)
net_gan = RRDBNet(TINY).eval()

ys, xs = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
lr = torch.stack([torch.sin(4 * xs), torch.cos(3 * ys), xs * ys], 0)[None] * 0.5 + 0.5  # a smooth 16×16 image

alphas = torch.linspace(0, 1, 11)
with torch.no_grad():
    outputs = [functional_call(net_psnr, interpolate_networks(net_psnr, net_gan, float(a)), (lr,)) for a in alphas]
    end_psnr, end_gan = net_psnr(lr), net_gan(lr)
assert torch.equal(outputs[0], end_psnr) and torch.equal(outputs[-1], end_gan)  # α = 0 and 1 are the networks

# %%
span = (end_gan - end_psnr).norm()
along = [float(((o - end_psnr) * (end_gan - end_psnr)).sum() / span**2) for o in outputs]
off_line = [float((o - ((1 - a) * end_psnr + a * end_gan)).norm() / span) for o, a in zip(outputs, alphas, strict=True)]

fig = plt.figure(figsize=(11, 3.4))
for i, a in enumerate((0, 5, 10)):
    ax = fig.add_subplot(1, 4, i + 1)
    img = outputs[a][0].permute(1, 2, 0)
    ax.imshow(((img - img.min()) / (img.max() - img.min())).numpy())
    ax.set(title=f"α = {float(alphas[a]):.1f} (64×64 output)", xlabel="x (px)", ylabel="y (px)")
ax = fig.add_subplot(1, 4, 4)
ax.plot(alphas, along, "o-", label="projection on PSNR→GAN line")
ax.plot(alphas, off_line, "s-", label="distance from output blend")
ax.set(xlabel="α", ylabel="relative to ‖out_GAN − out_PSNR‖", title="Weight- vs output-space blend")
ax.legend(fontsize=7)
fig.tight_layout()
plt.show()
print("max distance from the output-space blend:", f"{max(off_line):.3f}")

# %% [markdown]
# ## Residual scaling β
# Each RRDB returns x + β · body(x) (and each dense block inside it scales its own residual
# by β too). With β = 1 a deep stack of random blocks drifts far from its input; β = 0.2
# (Sec. 3.1) keeps every block close to the identity, which is what makes deep RRDB
# trunks trainable without batch norm.

# %%
x = torch.randn(1, TINY.features, 16, 16)
depths = range(1, 9)
drift = {}
for beta in (1.0, 0.5, 0.2):
    torch.manual_seed(0)
    blocks = [RRDB(TINY.features, TINY.growth, beta).eval() for _ in depths]
    h, values = x, []
    with torch.no_grad():
        for block in blocks:
            h = block(h)
            values.append(float((h - x).norm() / x.norm()))
    drift[beta] = values

fig, ax = plt.subplots(figsize=(6, 3.4))
for beta, values in drift.items():
    ax.semilogy(list(depths), values, "o-", label=f"β = {beta}")
ax.set(xlabel="number of stacked RRDBs", ylabel="‖h − x‖ / ‖x‖", title="Residual scaling keeps blocks near identity")
ax.legend()
fig.tight_layout()
plt.show()
assert drift[0.2][-1] < drift[0.5][-1] < drift[1.0][-1]
