# %% [markdown]
# # Thin-plate spline: warping a grid by moving control points
#
# Companion to the [thin-plate spline entry](../../entries/thin-plate-spline/). Runs
# `refimpl/thin_plate_spline.py` (`fit_tps`, `tps_transform`, `bending_energy`,
# `tps_warp_image`); tested in `refimpl/tests/test_thin_plate_spline.py`.
#
# A 3 × 3 grid of control points; the centre one is moved. The spline passes exactly
# through every control point and bends the plane as little as possible in between
# (minimum bending energy); with λ > 0 it trades exactness for smoothness.

# %%
import matplotlib.pyplot as plt
import torch

from refimpl.thin_plate_spline import bending_energy, fit_tps, regular_grid, tps_transform, tps_warp_image

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

control = regular_grid(3, dtype=torch.float64)  # (9, 2) on [-1, 1]²
moved = control.clone()
moved[4] += torch.tensor([0.35, -0.25], dtype=torch.float64)  # the centre point
moved[2] += torch.tensor([-0.15, 0.1], dtype=torch.float64)  # and one corner

lines = torch.linspace(-1, 1, 11, dtype=torch.float64)
dense = torch.linspace(-1, 1, 100, dtype=torch.float64)


def warped_lines(params):
    """The images under the spline of the grid's horizontal and vertical lines."""
    out = []
    for c in lines:
        const = torch.full_like(dense, c)
        for pts in (torch.stack([dense, const], 1), torch.stack([const, dense], 1)):
            out.append(tps_transform(pts, params))
    return out


# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
energies = {}
for ax, lam in zip(axes, (0.0, 0.1, 1.0), strict=True):
    params = fit_tps(control, moved, regularization=lam)
    energies[lam] = float(bending_energy(params).sum())
    for curve in warped_lines(params):
        ax.plot(*curve.T, color="tab:blue", lw=0.7)
    ax.scatter(*control.T, c="grey", s=25, label="control points")
    ax.scatter(*moved.T, c="tab:red", marker="x", s=60, label="moved to")
    ax.scatter(*tps_transform(control, params).T, facecolors="none", edgecolors="tab:green", s=80, label="f(control)")
    ax.set(title=f"λ = {lam}: bending energy {energies[lam]:.2f}", xlabel="x", ylabel="y", aspect="equal")
axes[0].legend(fontsize=7, loc="lower left")
fig.tight_layout()
plt.show()

exact = fit_tps(control, moved)
print("max |f(p_i) − v_i| at λ = 0:", float((tps_transform(control, exact) - moved).abs().max()))
assert torch.allclose(tps_transform(control, exact), moved, atol=1e-9)  # exact interpolation
assert energies[0.0] > energies[0.1] > energies[1.0]  # smoothing trades exactness for less bending

# %% [markdown]
# An affine move of all control points costs no bending at all: the spline is then the
# affine map itself.

# %%
affine = control @ torch.tensor([[1.1, 0.2], [-0.1, 0.9]], dtype=torch.float64) + 0.1
print("bending energy of an affine move:", float(bending_energy(fit_tps(control, affine)).sum()))
assert float(bending_energy(fit_tps(control, affine)).sum()) < 1e-9

# %% [markdown]
# The same spline warps an image (backward warping with `grid_sample`): what was at each
# control point lands where it was moved to.

# %%
n = 64
ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
checker = (((xs // 8) + (ys // 8)) % 2).float()[None, None]
warped = tps_warp_image(checker, control.float()[None], moved.float()[None])
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, img, title in ((axes[0], checker, "input"), (axes[1], warped, "warped")):
    ax.imshow(img[0, 0], cmap="gray", extent=(-1, 1, 1, -1))
    ax.set(title=title, xlabel="x", ylabel="y")
axes[1].scatter(*moved.T, c="tab:red", marker="x", s=60)
fig.tight_layout()
plt.show()
