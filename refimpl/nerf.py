"""NeRF: Representing Scenes as Neural Radiance Fields for View Synthesis.

Ben Mildenhall, Pratul P. Srinivasan, Matthew Tancik, Jonathan T. Barron,
Ravi Ramamoorthi, Ren Ng. ECCV 2020. arXiv:2003.08934. Catalog id: ``nerf``.

Implemented:

* Sec. 5.1 / Eq. 4, positional encoding
  ``γ(p) = (sin(2⁰πp), cos(2⁰πp), …, sin(2^{L−1}πp), cos(2^{L−1}πp))`` per
  coordinate, with the input itself prepended as in the authors' code:
  3 + 3·2·L channels, 63 for positions (L = 10) and 27 for directions (L = 4).
  The frequency scale is ``NeRFConfig.freq_scale`` (π, see Deviations).
* Fig. 7, the MLP: 8 fully connected ReLU layers of 256 channels, the
  encoded position concatenated again to the fifth layer's input, a
  non-negative density σ from the trunk, then a 256-channel feature
  concatenated with the encoded view direction, one 128-channel layer and
  a sigmoid RGB output. Without view directions (the authors'
  ``use_viewdirs=False``, ``NeRFConfig(use_viewdirs=False)``), one linear
  layer maps the trunk to (rgb, σ) and the colour ignores the direction.
* Sec. 4 / Eq. 3, volume rendering by alpha compositing:
  ``Ĉ(r) = Σ_i T_i (1 − exp(−σ_i δ_i)) c_i``, ``T_i = exp(−Σ_{j<i} σ_j δ_j)``.
* Sec. 5.2 / Eq. 5, hierarchical volume sampling: stratified coarse
  samples, then N_f fine samples drawn by inverse-transform sampling from
  the piecewise-constant PDF of the coarse weights, the fine network
  evaluated on the union of both sample sets.

Parameter count: the standard MLP (``NeRFConfig()``, with view
directions) has 595,844 parameters: 63·256+256, six 256·256+256,
(256+63)·256+256, feature 256·256+256, alpha 256+1, views (256+27)·128+128,
rgb 128·3+3. Both official models give that figure: bmild/nerf @ 14c5556
``run_nerf_helpers.py`` ``init_nerf_model`` (Dense layer shapes summed) and
yenchenlin/nerf-pytorch @ 63a5a63 ``run_nerf_helpers.py`` ``NeRF``
(instantiated). Coarse + fine (``NeRF``): 1,191,688. Without view
directions: 494,084 per MLP (988,168 coarse + fine), equal to bmild/nerf's
``use_viewdirs=False`` model (``output_ch = 4``); nerf-pytorch's has 527,237
because it also builds an unused 256→128 view layer (32,896) and, when fine
samples are used, a fifth unused output channel (257). All tested.

Deviations from the paper:

* The encoding multiplies by π as Eq. 4 writes it (``freq_scale = π``); the
  authors' code (both repositories, ``get_embedder``) omits π, which
  rescales the frequencies, not the channel count. ``OFFICIAL`` is the
  authors' setting (``freq_scale = 1``).
* Stratified sampling follows Eq. 2 (N equal bins of [t_n, t_f]); the
  authors' code jitters each of N evenly spaced points between the
  midpoints of its neighbours (same mean spacing, end bins half as wide).
* No density noise regularisation (``raw_noise_std``) and no NDC rays.
* Random numbers for stratified and inverse-CDF sampling are passed in
  (``u_coarse``, ``u_fine``) so that rendering is deterministic given its
  inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class NeRFConfig:
    pos_freqs: int = 10  # Sec. 5.1: L = 10 for γ(x)
    dir_freqs: int = 4  # Sec. 5.1: L = 4 for γ(d)
    depth: int = 8  # Fig. 7: 8 fully connected layers
    width: int = 256  # Fig. 7: 256 channels
    skips: tuple[int, ...] = (4,)  # Fig. 7: input concatenated to the fifth layer's input
    view_width: int = 128  # Fig. 7: one 128-channel layer for the view-dependent colour
    n_coarse: int = 64  # Sec. 5.3: N_c = 64
    n_fine: int = 128  # Sec. 5.3: N_f = 128
    far_delta: float = 1e10  # authors' code: the last interval extends to infinity
    use_viewdirs: bool = True  # Sec. 4 / Fig. 7: colour depends on the viewing direction
    freq_scale: float = math.pi  # Eq. 4: sin(2^k π p); the authors' code uses 1


# The authors' code (bmild/nerf, yenchenlin/nerf-pytorch): no π in the encoding.
OFFICIAL = NeRFConfig(freq_scale=1.0)
OFFICIAL_NO_VIEWDIRS = NeRFConfig(freq_scale=1.0, use_viewdirs=False)


TINY = NeRFConfig(pos_freqs=2, dir_freqs=1, depth=3, width=16, skips=(1,), view_width=8, n_coarse=8, n_fine=8)


# --------------------------------------------------------------------- encoding
def positional_encoding(x: torch.Tensor, num_freqs: int, include_input: bool = True,
                        scale: float = math.pi) -> torch.Tensor:
    """Eq. 4: (..., D) → (..., D·(2L + [include_input])), angles 2^k · scale · p."""
    freqs = (2.0 ** torch.arange(num_freqs, dtype=x.dtype, device=x.device)) * scale
    angles = x[..., None, :] * freqs[:, None]  # (..., L, D)
    enc = torch.stack([torch.sin(angles), torch.cos(angles)], dim=-2).flatten(-3)  # sin, cos per frequency
    return torch.cat([x, enc], dim=-1) if include_input else enc


def encoding_channels(num_freqs: int, dims: int = 3, include_input: bool = True) -> int:
    return dims * (2 * num_freqs + int(include_input))


# --------------------------------------------------------------------- the MLP
class NeRFMLP(nn.Module):
    """F_Θ: (γ(x), γ(d)) → (rgb ∈ [0, 1]³, σ ≥ 0). Inputs (..., 63) and (..., 27) by default.

    With ``use_viewdirs=False`` a single linear head gives (rgb, σ) and ``d_enc`` is ignored.
    """

    def __init__(self, config: NeRFConfig = NeRFConfig()) -> None:
        super().__init__()
        self.config = config
        c_pos = encoding_channels(config.pos_freqs)
        c_dir = encoding_channels(config.dir_freqs)
        w = config.width
        self.trunk = nn.ModuleList(
            nn.Linear(c_pos if i == 0 else w + (c_pos if i - 1 in config.skips else 0), w) for i in range(config.depth)
        )
        if config.use_viewdirs:
            self.sigma = nn.Linear(w, 1)  # density depends on position only
            self.feature = nn.Linear(w, w)
            self.views = nn.Linear(w + c_dir, config.view_width)
            self.rgb = nn.Linear(config.view_width, 3)
        else:
            self.output = nn.Linear(w, 4)  # (rgb, σ) from the trunk alone

    def forward(self, x_enc: torch.Tensor, d_enc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x_enc
        for i, layer in enumerate(self.trunk):
            h = F.relu(layer(h))
            if i in self.config.skips:
                h = torch.cat([x_enc, h], dim=-1)
        if not self.config.use_viewdirs:
            out = self.output(h)
            return torch.sigmoid(out[..., :3]), F.relu(out[..., 3])
        sigma = F.relu(self.sigma(h)).squeeze(-1)
        h = F.relu(self.views(torch.cat([self.feature(h), d_enc], dim=-1)))
        return torch.sigmoid(self.rgb(h)), sigma


# --------------------------------------------------------------------- rendering
def volume_render(sigma: torch.Tensor, rgb: torch.Tensor, deltas: torch.Tensor) -> dict[str, torch.Tensor]:
    """Eq. 3 for rays of S samples: σ (R, S), rgb (R, S, 3), δ (R, S) → colour (R, 3),
    opacity (R,), weights (R, S)."""
    alpha = 1.0 - torch.exp(-sigma * deltas)
    # T_i = Π_{j<i} (1 − α_j): exclusive cumulative product
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha[:, :-1] + 1e-10], dim=1), dim=1)
    weights = alpha * trans
    return {"rgb": (weights[..., None] * rgb).sum(dim=1), "opacity": weights.sum(dim=1), "weights": weights}


def sample_intervals(z_vals: torch.Tensor, rays_d: torch.Tensor, far_delta: float = 1e10) -> torch.Tensor:
    """δ_i = t_{i+1} − t_i in world units (scaled by ‖d‖); the last interval is 'infinite'."""
    deltas = torch.cat([z_vals[:, 1:] - z_vals[:, :-1], torch.full_like(z_vals[:, :1], far_delta)], dim=1)
    return deltas * rays_d.norm(dim=-1, keepdim=True)


def stratified_samples(near: float, far: float, u: torch.Tensor) -> torch.Tensor:
    """Eq. 2: one uniform sample in each of N evenly spaced bins; u (R, N) ∈ [0, 1)."""
    n = u.shape[-1]
    edges = torch.linspace(near, far, n + 1, dtype=u.dtype, device=u.device)
    return edges[:-1] + (edges[1:] - edges[:-1]) * u


def sample_pdf(bins: torch.Tensor, weights: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sec. 5.2: inverse-CDF samples from the piecewise-constant PDF given by weights.

    bins (R, M+1) edges, weights (R, M), u (R, K) ∈ [0, 1) → (R, K) samples.
    """
    pdf = (weights + 1e-5) / (weights + 1e-5).sum(dim=-1, keepdim=True)  # authors' code: avoid NaNs
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, dim=-1)], dim=-1)  # (R, M+1)
    idx = torch.searchsorted(cdf.contiguous(), u.contiguous(), right=True)
    below = (idx - 1).clamp(min=0)
    above = idx.clamp(max=cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = cdf.gather(-1, below), cdf.gather(-1, above)
    bin_lo, bin_hi = bins.gather(-1, below), bins.gather(-1, above)
    denom = torch.where(cdf_hi - cdf_lo < 1e-5, torch.ones_like(cdf_lo), cdf_hi - cdf_lo)
    return bin_lo + (u - cdf_lo) / denom * (bin_hi - bin_lo)


def hierarchical_samples(z_coarse: torch.Tensor, weights: torch.Tensor, u_fine: torch.Tensor) -> torch.Tensor:
    """Sec. 5.2: the fine pass's depths, coarse samples ∪ N_f inverse-CDF samples, sorted along the ray.

    The PDF lives on the bins between coarse midpoints (weights of the two end
    samples dropped, as in the authors' code) and no gradient flows through it.
    """
    mids = 0.5 * (z_coarse[:, 1:] + z_coarse[:, :-1])
    z_f = sample_pdf(mids, weights[:, 1:-1].detach(), u_fine)
    return torch.sort(torch.cat([z_coarse, z_f], dim=-1), dim=-1).values


class NeRF(nn.Module):
    """Coarse and fine networks with hierarchical sampling along rays."""

    def __init__(self, config: NeRFConfig = NeRFConfig()) -> None:
        super().__init__()
        self.config = config
        self.coarse = NeRFMLP(config)
        self.fine = NeRFMLP(config)

    def _render(self, mlp: NeRFMLP, rays_o: torch.Tensor, rays_d: torch.Tensor,
                z_vals: torch.Tensor) -> dict[str, torch.Tensor]:
        pts = rays_o[:, None] + z_vals[..., None] * rays_d[:, None]  # (R, S, 3)
        dirs = F.normalize(rays_d, dim=-1)[:, None].expand_as(pts)
        scale = self.config.freq_scale
        rgb, sigma = mlp(positional_encoding(pts, self.config.pos_freqs, scale=scale),
                         positional_encoding(dirs, self.config.dir_freqs, scale=scale))
        return volume_render(sigma, rgb, sample_intervals(z_vals, rays_d, self.config.far_delta))

    def render_rays(self, rays_o: torch.Tensor, rays_d: torch.Tensor, u_coarse: torch.Tensor,
                    u_fine: torch.Tensor, near: float = 2.0, far: float = 6.0) -> dict[str, torch.Tensor]:
        """Both passes: colours ``rgb_coarse``, ``rgb_fine`` (R, 3) and depths ``z_coarse`` (R, N_c),
        ``z_fine`` (R, N_c + N_f), the sorted union of coarse and inverse-CDF samples."""
        z_c = stratified_samples(near, far, u_coarse)
        out_c = self._render(self.coarse, rays_o, rays_d, z_c)
        z_all = hierarchical_samples(z_c, out_c["weights"], u_fine)
        out_f = self._render(self.fine, rays_o, rays_d, z_all)
        return {"rgb_coarse": out_c["rgb"], "rgb_fine": out_f["rgb"], "z_coarse": z_c, "z_fine": z_all}

    def forward(self, rays_o: torch.Tensor, rays_d: torch.Tensor, u_coarse: torch.Tensor, u_fine: torch.Tensor,
                near: float = 2.0, far: float = 6.0) -> tuple[torch.Tensor, torch.Tensor]:
        """rays (R, 3) each, u_coarse (R, N_c), u_fine (R, N_f) → coarse and fine colours (R, 3)."""
        out = self.render_rays(rays_o, rays_d, u_coarse, u_fine, near, far)
        return out["rgb_coarse"], out["rgb_fine"]


def nerf_loss(rgb_coarse: torch.Tensor, rgb_fine: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 6: squared error of both the coarse and the fine rendering against the true colour."""
    return ((rgb_coarse - target) ** 2).sum(-1).mean() + ((rgb_fine - target) ** 2).sum(-1).mean()


# --------------------------------------------------------------------- examples
@register_example(covers=[NeRF, NeRFMLP, positional_encoding, encoding_channels, volume_render,
                          sample_intervals, stratified_samples, sample_pdf, hierarchical_samples, nerf_loss])
def nerf_render_rays() -> Example:
    g = seeded(0)
    model = NeRF(TINY)
    rays_o = torch.randn(4, 3, generator=g) * 0.1
    rays_d = torch.randn(4, 3, generator=g)
    u_c = torch.rand(4, TINY.n_coarse, generator=g)
    u_f = torch.rand(4, TINY.n_fine, generator=g)
    target = torch.rand(4, 3, generator=g)

    def run(m: NeRF, o: torch.Tensor, d: torch.Tensor, uc: torch.Tensor, uf: torch.Tensor,
            t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rgb_c, rgb_f = m(o, d, uc, uf, near=0.5, far=2.0)
        return rgb_c, rgb_f, nerf_loss(rgb_c, rgb_f, t)

    return Example(model=model, inputs=(rays_o, rays_d, u_c, u_f, target), output_shapes=((4, 3), (4, 3), ()),
                   run=run)


@register_example(covers=[NeRF, NeRFMLP])
def nerf_without_view_directions() -> Example:
    g = seeded(0)
    model = NeRF(replace(TINY, use_viewdirs=False))
    rays_o = torch.randn(3, 3, generator=g) * 0.1
    rays_d = torch.randn(3, 3, generator=g)
    u_c = torch.rand(3, TINY.n_coarse, generator=g)
    u_f = torch.rand(3, TINY.n_fine, generator=g)
    return Example(model=model, inputs=(rays_o, rays_d, u_c, u_f), output_shapes=((3, 3), (3, 3)),
                   run=lambda m, o, d, uc, uf: m(o, d, uc, uf, near=0.5, far=2.0))
