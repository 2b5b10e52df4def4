# %% [markdown]
# # MTCNN: the image pyramid and P-Net's output map
#
# Companion to the [MTCNN entry](../../entries/mtcnn/). Runs `refimpl/mtcnn.py`
# (`pyramid_scales`, `PNet`, `generate_boxes`, `nms`); tested in `refimpl/tests/test_mtcnn.py`.
#
# P-Net is fully convolutional with a 12 × 12 window and stride 2: one output cell per
# window position. To find faces larger than 12 px it is run on an image pyramid; a face of
# `min_face_size` pixels is first rescaled to 12 px, then the image shrinks by `factor`
# until it is smaller than 12 px.

# %%
import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle

from refimpl.mtcnn import PNet, generate_boxes, nms, pyramid_scales

torch.manual_seed(0)
torch.set_num_threads(1)
plt.rcParams.update({"figure.facecolor": "white", "savefig.facecolor": "white"})

H, W = 120, 160
ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32), indexing="ij")
image = torch.full((3, H, W), 0.2)
for cx, cy, r in ((45, 60, 22), (115, 40, 12)):  # two bright "faces" of different sizes
    disc = ((xs - cx) ** 2 + (ys - cy) ** 2) < r**2
    image[:, disc] = torch.tensor([0.9, 0.75, 0.6])[:, None]
image = image + 0.03 * torch.randn_like(image)

scales = pyramid_scales(H, W, min_face_size=20, factor=0.709)
print("scales:", [f"{s:.3f}" for s in scales])
assert scales[0] == 12 / 20 and min(H, W) * scales[-1] >= 12 > min(H, W) * scales[-1] * 0.709

# %%
pnet = PNet().eval()
maps = []
with torch.no_grad():
    for s in scales:
        size = (int(H * s), int(W * s))
        resized = torch.nn.functional.interpolate(image[None], size=size, mode="bilinear", align_corners=False)
        logits, offsets = pnet(resized)
        prob = logits.softmax(1)[0, 1]
        maps.append((s, size, prob, offsets[0]))
        # One cell per 12 × 12 window at stride 2 (conv 3, ceil-mode pool 2, conv 3, conv 3).
        assert prob.shape == tuple(math.ceil((n - 2) / 2) - 4 for n in size), (prob.shape, size)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].bar(range(len(scales)), [s for s in scales])
axes[0].set(xlabel="pyramid level k", ylabel="scale m·factorᵏ", title=f"{len(scales)} scales for a {W}×{H} image")
axes[1].plot([min(sz) for _, sz, _, _ in maps], [p.numel() for _, _, p, _ in maps], "o-")
axes[1].set(xlabel="shorter image side at that level (px)", ylabel="P-Net output cells",
            title="Work per level", yscale="log")
s0, size0, prob0, _ = maps[0]
shown = axes[2].imshow(prob0, cmap="viridis")
axes[2].set(title=f"P-Net face probability, level 0 ({size0[1]}×{size0[0]} input)",
            xlabel="output column", ylabel="output row")
fig.colorbar(shown, ax=axes[2])
fig.tight_layout()
plt.show()

# %% [markdown]
# Each output cell maps back to a window in the original image: `generate_boxes` turns the
# cells above a threshold into boxes of side 12 / scale. (With untrained weights the
# probabilities carry no information; the geometry is what this notebook shows.)

# %%
fig, ax = plt.subplots(figsize=(6, 4.6))
ax.imshow(image.permute(1, 2, 0).clamp(0, 1))
for (s, _, prob, offsets), colour in zip(maps, plt.cm.tab10.colors, strict=False):
    boxes = generate_boxes(prob, offsets, s, threshold=float(prob.quantile(0.995)))
    keep = nms(boxes[:, :4], boxes[:, 4], 0.5)
    for x1, y1, x2, y2 in boxes[keep, :4][:3].tolist():
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=colour, lw=1.5))
    ax.plot([], [], color=colour, label=f"scale {s:.2f}: window {12 / s:.0f} px")
    assert ((boxes[:, 2] - boxes[:, 0]) - 11 / s).abs().max() <= 1  # side (12 − 1) / scale, floored
ax.set(title="Windows of the top cells at each level", xlabel="x (px)", ylabel="y (px)")
ax.legend(fontsize=7, loc="lower right")
fig.tight_layout()
plt.show()
