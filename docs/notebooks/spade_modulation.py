# %% [markdown]
# # SPADE: spatially-adaptive modulation from a segmentation map
#
# Companion to the [SPADE entry](../../entries/spade/). Runs `refimpl/spade.py`
# (`SPADE`); tested in `refimpl/tests/test_spade.py`.
#
# SPADE normalises activations without a learned affine, then scales and shifts them with
# γ(m) and β(m) computed *per pixel* from the segmentation map m (Eq. 1). Unlike batch or
# instance norm with an affine, the modulation varies across the image and follows the layout.

# %%
import matplotlib.pyplot as plt
import torch

from refimpl.spade import SPADE

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

H = W = 32
ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
label = torch.zeros(H, W, dtype=torch.long)  # 0: sky
label[ys > 0.2] = 1  # 1: ground
label[(xs**2 + (ys + 0.2) ** 2) < 0.15] = 2  # 2: an object
segmap = torch.nn.functional.one_hot(label, 3).permute(2, 0, 1).float()[None]

spade = SPADE(norm_nc=4, label_nc=3, hidden=16).train()
x = torch.randn(2, 4, H, W)
with torch.no_grad():
    out = spade(x, segmap.expand(2, -1, -1, -1))
    gamma, beta = spade.modulation(segmap.expand(2, -1, -1, -1), (H, W))

# %% [markdown]
# γ and β for channel 0: constant inside each region away from its borders (two 3×3 convs
# on a one-hot map), changing where the label changes.

# %%
fig, axes = plt.subplots(1, 4, figsize=(13, 3.2))
axes[0].imshow(label, cmap="tab10", vmin=0, vmax=9)
axes[0].set(title="segmentation map m", xlabel="x (px)", ylabel="y (px)")
for ax, tensor, name in ((axes[1], gamma, "γ(m)"), (axes[2], beta, "β(m)")):
    shown = ax.imshow(tensor[0, 0], cmap="coolwarm")
    ax.set(title=f"{name}, channel 0", xlabel="x (px)", ylabel="y (px)")
    fig.colorbar(shown, ax=ax)
for k, name in enumerate(("sky", "ground", "object")):
    mask = (label == k).expand(2, H, W)
    axes[3].hist(out[:, 0][mask], bins=30, histtype="step", density=True, label=name)
axes[3].set(title="output channel 0 by region", xlabel="activation", ylabel="density")
axes[3].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The normalised input is standard in every region; the output's per-region statistics
# are set by the map: mean β and std |1 + γ| of that region (interior pixels, where γ and
# β are constant).
# Interior: the 5×5 field of γ, β (two 3×3 convs) sees one class and no zero padding.
interior = torch.nn.functional.avg_pool2d(segmap, 5, 1, 2, count_include_pad=True)[0] > 0.999
for k, name in enumerate(("sky", "ground", "object")):
    m = interior[k].bool().expand(2, H, W)
    g0, b0 = gamma[:, 0][m].mean(), beta[:, 0][m].mean()
    print(f"{name:7s}: output mean {float(out[:, 0][m].mean()):+.3f} (β = {float(b0):+.3f}), "
          f"std {float(out[:, 0][m].std()):.3f} (|1 + γ| = {float((1 + g0).abs()):.3f})")
    assert gamma[:, 0][m].std() < 1e-5 and abs(float(out[:, 0][m].std()) - float((1 + g0).abs())) < 0.15
