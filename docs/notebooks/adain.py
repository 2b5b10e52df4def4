# %% [markdown]
# # AdaIN: channel statistics and the content–style trade-off
#
# Companion to the [AdaIN entry](../../entries/adain/). Runs `refimpl/adain.py`
# (`adain`, `calc_mean_std`, `AdaINStyleTransfer`); its claims are tested in
# `refimpl/tests/test_adain.py`.
#
# AdaIN (Eq. 8) keeps the *spatial layout* of the content features and replaces each
# channel's mean and standard deviation by the style's.

# %%
import matplotlib.pyplot as plt
import torch

from refimpl.adain import TINY, AdaINStyleTransfer, adain, calc_mean_std

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

# %% [markdown]
# Feature maps with 8 channels: content centred near 0, style with larger, shifted statistics.

# %%
content = torch.randn(1, 8, 16, 16)
style = 3.0 * torch.randn(1, 8, 12, 12) + torch.linspace(-4, 4, 8).view(1, 8, 1, 1)
output = adain(content, style)

stats = {name: calc_mean_std(t) for name, t in [("content", content), ("style", style), ("output", output)]}
s_mean, s_std = stats["style"]
o_mean, o_std = stats["output"]
# The claim of Eq. 8: the output's channel statistics are the style's.
assert torch.allclose(o_mean, s_mean, atol=1e-4) and torch.allclose(o_std, s_std, atol=1e-3)
print("max |mean(out) - mean(style)| =", float((o_mean - s_mean).abs().max()))
print("max |std(out)  - std(style)|  =", float((o_std - s_std).abs().max()))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
channels = range(8)
for name, marker in [("content", "o"), ("style", "s"), ("output", "x")]:
    mean, std = stats[name]
    axes[0].plot(channels, mean.flatten(), marker, label=name, markersize=8)
    axes[1].plot(channels, std.flatten(), marker, label=name, markersize=8)
axes[0].set(xlabel="channel", ylabel="mean over H×W", title="Channel means")
axes[1].set(xlabel="channel", ylabel="std over H×W", title="Channel stds")
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The output keeps the content's spatial pattern: per channel it is an affine map of
# the content, so the correlation between content and output maps is 1.

# %%
corr = torch.corrcoef(torch.stack([content[0, 0].flatten(), output[0, 0].flatten()]))[0, 1]
print(f"correlation(content channel 0, output channel 0) = {float(corr):.4f}")
assert corr > 0.999

# %% [markdown]
# ## The trade-off α
#
# `AdaINStyleTransfer(content, style, alpha)` decodes `(1 − α) f(c) + α AdaIN(f(c), f(s))`.
# With a tiny randomly initialised network, the distance of the decoder's *input* to the
# content features grows with α while its statistics approach the style's.

# %%
model = AdaINStyleTransfer(TINY).eval()
c_img, s_img = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32) * 0.3 + 0.6
with torch.no_grad():
    f_c, f_s = model.encoder(c_img)[-1], model.encoder(s_img)[-1]
    t = adain(f_c, f_s, TINY.eps)
alphas = torch.linspace(0, 1, 11)
content_dist, style_dist = [], []
for a in alphas:
    mix = (1 - a) * f_c + a * t
    m, s = calc_mean_std(mix)
    sm, ss = calc_mean_std(f_s)
    content_dist.append(float((mix - f_c).norm() / f_c.norm()))
    style_dist.append(float(((m - sm).norm() + (s - ss).norm()) / (sm.norm() + ss.norm())))
with torch.no_grad():
    images = [model(c_img, s_img, alpha=float(a)) for a in (0.0, 0.5, 1.0)]

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.plot(alphas, content_dist, "o-", label="distance to content features")
ax.plot(alphas, style_dist, "s-", label="distance to style statistics")
ax.set(xlabel="α", ylabel="relative distance", title="Content–style trade-off")
ax.legend()
fig.tight_layout()
plt.show()
# At α = 1 the statistics match up to ε = 1e-5 in the variance, felt by channels with std near √ε.
assert content_dist[0] == 0 and style_dist[-1] < 1e-2
print("decoded image shapes:", [tuple(i.shape) for i in images])
