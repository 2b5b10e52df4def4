# %% [markdown]
# # ArcFace, CosFace and SphereFace margins for two classes
#
# Companion to the [ArcFace entry](../../entries/arcface/) (and [CosFace](../../entries/cosface/),
# [SphereFace](../../entries/sphereface/)). Runs `refimpl/face_recognition_losses.py`
# (`ArcMarginHead`, `CosFaceHead`, `SphereFaceHead`, `NormFaceHead`); tested in
# `refimpl/tests/test_face_recognition_losses.py`.
#
# Two class weights on the unit circle, 60° apart. A feature at angle φ belongs to class 0;
# each head replaces its target logit cos θ by a smaller value, which moves the point where
# class 0 still wins away from the bisector.

# %%
import math

import matplotlib.pyplot as plt
import torch

from refimpl.face_recognition_losses import ArcMarginHead, CosFaceHead, NormFaceHead, SphereFaceHead

torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

GAP = math.radians(60)
W = torch.tensor([[1.0, 0.0], [math.cos(GAP), math.sin(GAP)]])
phi = torch.linspace(0, math.pi, 721)
features = torch.stack([phi.cos(), phi.sin()], 1)  # unit norm: SphereFace's ‖x‖ scale is 1 too
labels = torch.zeros(len(phi), dtype=torch.long)

heads = {
    "softmax on cosines (NormFace, s=1)": NormFaceHead(2, 2, scale=1.0),
    "CosFace m=0.35": CosFaceHead(2, 2, scale=1.0, margin=0.35),
    "ArcFace m=0.5": ArcMarginHead(2, 2, scale=1.0, margin=0.5),
    "SphereFace m=4": SphereFaceHead(2, 2, margin=4),
}
logits = {}
with torch.no_grad():
    for name, head in heads.items():
        head.weight.copy_(W)
        logits[name] = head(features, labels) if not isinstance(head, NormFaceHead) else head(features)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
theta_deg = torch.rad2deg(phi)
for name, out in logits.items():
    axes[0].plot(theta_deg, out[:, 0], label=name)
axes[0].plot(theta_deg, logits["softmax on cosines (NormFace, s=1)"][:, 1], "k:", label="other class: cos θ₁")
axes[0].set(xlabel="θ₀: angle between feature and class-0 weight (°)", ylabel="logit (s = 1)",
            title="Target logit before/after the margin", ylim=(-3.2, 1.1))
axes[0].legend(fontsize=7)

boundaries = {}
for name, out in logits.items():
    wins = out[:, 0] > out[:, 1]
    boundaries[name] = float(theta_deg[wins.nonzero().max()]) if wins.any() else 0.0
circle = torch.linspace(0, 2 * math.pi, 200)
axes[1].plot(circle.cos(), circle.sin(), color="grey", lw=0.8)
for k, colour in ((0, "tab:blue"), (1, "tab:orange")):
    axes[1].annotate("", W[k] * 1.15, (0, 0), arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
    axes[1].text(*(W[k] * 1.25), f"W{k}", color=colour, ha="center")
for name, deg in boundaries.items():
    r = math.radians(deg)
    axes[1].plot([0, math.cos(r)], [0, math.sin(r)], label=f"{name}: {deg:.1f}°")
axes[1].set(aspect="equal", xlabel="feature x₁", ylabel="feature x₂", xlim=(-0.3, 1.4), ylim=(-0.2, 1.4),
            title="Where class 0 stops winning")
axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
fig.tight_layout()
plt.show()

for name, deg in boundaries.items():
    print(f"{name:38s} class 0 wins up to θ₀ = {deg:5.1f}°")

# %% [markdown]
# Without a margin the boundary is the bisector (30°). With one, a class-0 feature has to be
# closer to its own weight than the bisector to win during training; for ArcFace the
# boundary satisfies cos(θ + m) = cos(60° − θ), i.e. θ = (60° − m)/2 in degrees.

# %%
assert abs(boundaries["softmax on cosines (NormFace, s=1)"] - 30.0) < 0.5
assert abs(boundaries["ArcFace m=0.5"] - (60 - math.degrees(0.5)) / 2) < 0.5
assert all(boundaries[n] < 30.0 for n in ("CosFace m=0.35", "ArcFace m=0.5", "SphereFace m=4"))
