# %% [markdown]
# # PatchGAN: the receptive field of one output logit
#
# Companion to the [pix2pix entry](../../entries/pix2pix/). Runs `refimpl/pix2pix.py`
# (`PatchDiscriminator`, `patchgan_receptive_field`); tested in `refimpl/tests/test_pix2pix.py`.
#
# A PatchGAN classifies overlapping patches: each output logit sees only a window of the
# input. We measure that window directly — the gradient of one output pixel with respect to
# the input is non-zero exactly inside it — and compare with the analytic size.

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

from refimpl.pix2pix import PatchDiscriminator, patchgan_receptive_field

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})


def gradient_footprint(n_layers: int, size: int = 160) -> torch.Tensor:
    """|∂ D(x)[centre] / ∂x| summed over channels, for a randomly initialised discriminator."""
    d = PatchDiscriminator(1, ndf=4, n_layers=n_layers, norm_layer=nn.Identity).eval()
    for m in d.modules():  # positive weights: no accidental cancellation inside the window
        if isinstance(m, nn.Conv2d):
            nn.init.uniform_(m.weight, 0.0, 1.0)
    x = torch.randn(1, 1, size, size, requires_grad=True)
    out = d(x)
    h, w = out.shape[-2:]
    out[0, 0, h // 2, w // 2].backward()
    return x.grad[0].abs().sum(0)


# %%
rows = []
footprints = {}
for n in (1, 2, 3):
    g = gradient_footprint(n)
    footprints[n] = g
    ys, xs = torch.nonzero(g > 0, as_tuple=True)
    measured = int(max(ys.max() - ys.min(), xs.max() - xs.min())) + 1
    rows.append((n, measured, patchgan_receptive_field(n)))
    print(f"n_layers={n}: measured window {measured} px, patchgan_receptive_field = {patchgan_receptive_field(n)}")
# The window never exceeds the analytic field; with n_layers = 3 it is pix2pix's 70×70.
assert all(measured <= analytic for _, measured, analytic in rows)
assert patchgan_receptive_field(3) == 70

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for ax, n in zip(axes[:3], (1, 2, 3), strict=True):
    ax.imshow(footprints[n].log1p(), cmap="magma")
    ax.set(title=f"n_layers = {n}", xlabel="input x (px)", ylabel="input y (px)")
axes[3].plot([r[0] for r in rows], [r[1] for r in rows], "o-", label="measured (gradient ≠ 0)")
axes[3].plot([r[0] for r in rows], [r[2] for r in rows], "s--", label="patchgan_receptive_field")
axes[3].set(xlabel="n_layers", ylabel="receptive field (px)", title="Growth with depth", xticks=[1, 2, 3])
axes[3].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# Each extra stride-2 layer roughly doubles the window (16 → 34 → 70): n_layers chooses
# the scale at which the discriminator judges texture, with the image size left free.
