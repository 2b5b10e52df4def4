# %% [markdown]
# # NeRF: volume rendering an analytic density field
#
# Companion to the [NeRF entry](../../entries/nerf/). Runs `refimpl/nerf.py`
# (`positional_encoding`, `stratified_samples`, `sample_intervals`, `volume_render`);
# tested in `refimpl/tests/test_nerf.py`.
#
# No network here: the density σ(x) and colour c(x) are written down (a soft ball whose
# colour follows position), so what you see is Eq. 3, the rendering integral, alone.

# %%
import matplotlib.pyplot as plt
import torch

from refimpl.nerf import positional_encoding, sample_intervals, stratified_samples, volume_render

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})


def field(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """σ: a ball of radius 0.6 with a soft edge; colour: position mapped to RGB."""
    r = x.norm(dim=-1)
    sigma = 40.0 * torch.sigmoid((0.6 - r) * 40.0)
    rgb = (x * 0.8 + 0.5).clamp(0, 1)
    return sigma, rgb


# %% [markdown]
# ## The positional encoding
# γ(p) = (sin(2⁰πp), cos(2⁰πp), …, sin(2^{L−1}πp), cos(2^{L−1}πp)) (Eq. 4): each band
# doubles the frequency, which lets an MLP fit detail a raw coordinate cannot.

# %%
p = torch.linspace(-1, 1, 400)[:, None]
enc = positional_encoding(p, num_freqs=4, include_input=False)  # (400, 8): sin, cos per band
fig, ax = plt.subplots(figsize=(7, 3))
for band in range(4):
    ax.plot(p[:, 0], enc[:, 2 * band] + 2.5 * band, label=f"sin(2^{band} π p)")
ax.set(xlabel="coordinate p", ylabel="γ(p) component (offset per band)", title="Positional encoding, L = 4")
ax.legend(fontsize=7, loc="upper right")
fig.tight_layout()
plt.show()
assert enc.shape == (400, 8)

# %% [markdown]
# ## One ray
# Stratified samples between near = 0 and far = 4, the density along the ray, and the
# weights w_i = T_i (1 − exp(−σ_i δ_i)) that volume_render returns. The weights peak at the
# surface and sum to the ray's opacity.

# %%
H = W = 48
n_samples = 96
ys, xs = torch.meshgrid(torch.linspace(-1, 1, H), torch.linspace(-1, 1, W), indexing="ij")
rays_o = torch.stack([xs, -ys, torch.full_like(xs, -2.0)], -1).reshape(-1, 3)  # orthographic camera at z = -2
rays_d = torch.tensor([0.0, 0.0, 1.0]).expand_as(rays_o)
z_vals = stratified_samples(0.0, 4.0, torch.rand(H * W, n_samples))
points = rays_o[:, None] + z_vals[..., None] * rays_d[:, None]
sigma, rgb = field(points)
out = volume_render(sigma, rgb, sample_intervals(z_vals, rays_d))

centre = (H // 2) * W + W // 2
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot(z_vals[centre], sigma[centre] / sigma[centre].max(), label="σ (normalised)")
ax.plot(z_vals[centre], out["weights"][centre], "o-", ms=3, label="weight wᵢ")
ax.set(xlabel="distance along the ray t", ylabel="value", title="Density and rendering weights on the central ray")
ax.legend()
fig.tight_layout()
plt.show()
print(f"central ray: opacity = {float(out['opacity'][centre]):.4f}, "
      f"weights peak at t = {float(z_vals[centre, out['weights'][centre].argmax()]):.3f} (surface at t = 1.4)")
assert abs(float(z_vals[centre, out["weights"][centre].argmax()]) - 1.4) < 0.1

# %%
image = out["rgb"].reshape(H, W, 3)
opacity = out["opacity"].reshape(H, W)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8))
axes[0].imshow(image.clamp(0, 1), extent=(-1, 1, -1, 1))
axes[0].set(title="rendered colour C(r)", xlabel="x", ylabel="y")
shown = axes[1].imshow(opacity, extent=(-1, 1, -1, 1), cmap="gray", vmin=0, vmax=1)
axes[1].set(title="opacity Σ wᵢ", xlabel="x", ylabel="y")
fig.colorbar(shown, ax=axes[1])
fig.tight_layout()
plt.show()
# Rays that miss the ball stay transparent; rays through it are opaque.
assert float(opacity[0, 0]) < 0.01 and float(opacity[H // 2, W // 2]) > 0.99
