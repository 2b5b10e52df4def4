# %% [markdown]
# # mixup: mixed samples, mixed labels, and λ ~ Beta(α, α)
#
# Companion to the [mixup entry](../../entries/mixup/). Runs `refimpl/mixup.py`
# (`sample_mixup`, `mixup`, `mixup_loss`); tested in `refimpl/tests/test_mixup.py`.
#
# mixup trains on x̃ = λ xᵢ + (1 − λ) xⱼ with label ỹ = λ yᵢ + (1 − λ) yⱼ, λ ~ Beta(α, α).

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from refimpl.mixup import mixup, mixup_loss, sample_mixup

torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})
gen = torch.Generator().manual_seed(0)

# %% [markdown]
# ## λ for a few α
# Small α puts almost all mass near 0 and 1 (mostly one example, lightly mixed); α = 1 is
# uniform; large α mixes half-and-half.

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
lams = {}
for alpha in (0.1, 0.2, 0.4, 1.0, 4.0):
    lams[alpha] = torch.tensor([sample_mixup(1, alpha, generator=gen)[0] for _ in range(4000)])
    ax.hist(lams[alpha], bins=40, range=(0, 1), density=True, histtype="step", lw=1.6, label=f"α = {alpha}")
ax.set(xlabel="λ", ylabel="density", title="λ ~ Beta(α, α) from sample_mixup", yscale="log")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
for alpha, lam in lams.items():
    middle = float(((lam > 0.1) & (lam < 0.9)).float().mean())
    print(f"α = {alpha:>4}: mean λ = {float(lam.mean()):.3f}, P(0.1 < λ < 0.9) = {middle:.2f}")
# Beta(α, α) is symmetric: mean ½ for every α.
assert all(abs(float(lam.mean()) - 0.5) < 0.03 for lam in lams.values())

# %% [markdown]
# ## Mixed images and labels
# Two synthetic 3-class "images" (a vertical bar, a disc, a cross) mixed with the batch
# permuted; the label row shows the soft target ỹ that `mixup` returns.

# %%
ys, xs = torch.meshgrid(torch.linspace(-1, 1, 24), torch.linspace(-1, 1, 24), indexing="ij")
shapes = torch.stack([
    (xs.abs() < 0.25).float(),
    (xs**2 + ys**2 < 0.45).float(),
    ((xs.abs() < 0.15) | (ys.abs() < 0.15)).float(),
])[:, None]  # (3, 1, 24, 24)
labels = torch.tensor([0, 1, 2])
index = torch.tensor([1, 2, 0])
fig, axes = plt.subplots(2, 4, figsize=(10, 4.6))
for col, lam in enumerate((1.0, 0.7, 0.5, 0.3)):
    x_mix, y_mix = mixup(shapes, labels, lam, index, num_classes=3)
    assert torch.allclose(y_mix.sum(1), torch.ones(3))  # soft labels stay distributions
    axes[0, col].imshow(x_mix[0, 0], cmap="viridis", vmin=0, vmax=1)
    axes[0, col].set(title=f"λ = {lam}: bar ⊕ disc", xlabel="x (px)", ylabel="y (px)")
    axes[1, col].bar(["bar", "disc", "cross"], y_mix[0])
    axes[1, col].set(ylim=(0, 1), xlabel="class", ylabel="ỹ")
fig.tight_layout()
plt.show()

# %% [markdown]
# `mixup_loss` on integer labels equals cross-entropy against the mixed one-hot target.

# %%
logits = torch.randn(3, 3, generator=gen)
x_mix, y_mix = mixup(shapes, labels, 0.7, index, num_classes=3)
soft = -(y_mix * F.log_softmax(logits, 1)).sum(1).mean()
print(f"mixup_loss = {float(mixup_loss(logits, labels, 0.7, index)):.5f}, soft cross-entropy = {float(soft):.5f}")
assert torch.allclose(mixup_loss(logits, labels, 0.7, index), soft, atol=1e-6)
