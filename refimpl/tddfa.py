"""Face Alignment Across Large Poses: A 3D Solution (3DDFA).

Xiangyu Zhu, Zhen Lei, Xiaoming Liu, Hailin Shi, Stan Z. Li. CVPR 2016.
arXiv:1511.07212. Catalog id: ``3ddfa``.

Implemented:

* The parameter vector ``p = [f, pitch, yaw, roll, t₂d, α_id, α_exp]`` and
  the model ``V(p) = f · Pr · R · (S̄ + A_id α_id + A_exp α_exp) + t₂d``
  (Sec. 3, Eq. 1; the linear model and projection are the shared
  ``refimpl/morphable_model.py``).
* The regression target of each cascade iteration, ``Δp = p^g − p^k``
  (Sec. 3: the CNN at iteration k predicts the update from the current
  parameters p^k), ``regression_target``.
* The costs of Sec. 4: the Parameter Distance Cost
  ``E_pdc = ‖Δp − (p^g − p^k)‖²``, the Vertex Distance Cost
  ``E_vdc = ‖V(p^k + Δp) − V(p^g)‖²`` and the Weighted Parameter Distance
  Cost ``E_wpdc = (Δp − (p^g − p^k))ᵀ diag(w) (Δp − (p^g − p^k))`` with the
  importance ``w_i = ‖V(p^d(i)) − V(p^g)‖ / Σ_j w_j``, where ``p^d(i)`` is the
  ground truth with only its i-th entry replaced by the prediction
  ``(p^k + Δp)_i``. The weights are treated as constants (no gradient flows
  through them).
* The cascade network of Sec. 3, ``Δp^k = Net^k(I, PNCC(p^k))``,
  ``p^{k+1} = p^k + Δp^k`` (``CascadeNet``, ``cascade_step``): the
  100 × 100 colour image stacked with the PNCC (6 channels), four convolutions
  of which the first two share their weights over the image and the last two
  do not (``LocallyConnected2d``), three poolings, two fully connected layers
  (256, then the 234 parameters). The Normalized Coordinate Code
  (``ncc``) and its Z-buffer rendering under p, the PNCC (``pncc``,
  rasterised by the shared ``refimpl/mesh_render.py``), Sec. 3.

Official code: cleardusk/3DDFA @ 3545f355bfc71e5748fa915b13932958363135d7,
the authors' PyTorch release of the journal extension (TPAMI 2019).

* ``OFFICIAL``: its 62 regressed numbers (``wpdc_loss.py``
  ``_parse_param_batch``: a 3×4 affine camera, 40 shape and 10 expression
  coefficients); the paper's vector (6 pose, 199 shape, 29 expression = 234)
  is the default.
* ``OFFICIAL_MOBILENET`` (= ``MOBILENET_1``), ``MobileNet``:
  ``mobilenet_v1.py`` with widen factor 1 (``train.py --arch mobilenet_1``;
  ``main.py`` loads the released checkpoint into it), 120 × 120 RGB input, 62 outputs: a stride-2 3×3
  stem, 13 depthwise-separable blocks (conv → BN → ReLU twice, no conv bias),
  global average pooling and one linear layer; 3,270,526 parameters (21,888
  BN buffers). ``MOBILENET_2``/``_075``/``_05``/``_025`` are the file's other
  widen factors: 12,820,158 / 1,864,238 / 850,398 / 229,006 parameters. The
  counts, and outputs of the 0.25 network (ReLU and PReLU) under fixed weights,
  were computed by instantiating the official file; they are in the tests. The
  parameter names are the official ones, so its checkpoints load.
* ``wpdc_weights_official`` / ``wpdc_loss_official``: ``WPDCLoss`` of
  ``wpdc_loss.py``, the closed-form approximation of the paper's weights:
  ``|Δp_i|`` times the parameter's reach (the norm of the ground-truth shape's
  x, y or z coordinates for the camera entries, √K for the x, y translations,
  the basis column's norm times 0.00057339936 for shape and expression),
  plus 1e-6, max-normalised per sample, the z translation's weight zero;
  the loss is the mean of ``w ⊙ (pred − target)²`` over whitened parameters.
  Its weights on a small asymmetric model, computed with the official class,
  are pinned in the tests, as are the official ``VDCLoss`` value and gradient
  (``vdc_loss_official``).

Deviations from the paper and the official code:

* ``wpdc_weights`` is the paper's definition, one perturbed reconstruction per
  parameter (cost O(n · N)); the official code replaces it by the closed form
  above (``wpdc_weights_official``), which is max- rather than
  sum-normalised and needs the 3×4 camera.
* The official ``WPDCLoss`` draws 132 random vertices per batch besides the 68
  landmarks (``resample_num``); here the caller passes the vertex set
  (``vertices``; default the model's landmarks, the official
  ``resample_num = 0``). Its ``zeros_like(dtype=float)`` computes the weights
  in float32; here they keep the input's dtype. The whitening statistics
  (``param_whitening.pkl``) are data and are passed in.
* ``vdc_loss`` is the paper's cost on the 2-D projection, summed over
  vertices; the official ``VDCLoss`` (``vdc_loss.py``, ``vdc_loss_official``
  with ``reconstruct_official``) compares the 3-D vertices under the 3×4
  camera, the prediction's z translation replaced by the ground truth's,
  averaged over coordinates; its random vertex subset (``resample``) is again
  the caller's ``vertices``.
* For ``CascadeNet`` the paper's text states the input (100 × 100, image +
  PNCC), the layer counts, which convolutions share weights, the 256-d
  feature and the 234-d output. Kernel sizes (5, 3, 3, 3), channels
  (32, 64, 64, 64), ReLU, 2×2 max pooling after the first three convolutions
  and size-preserving padding of the shared convolutions are not stated there
  and are our choices, so ``CascadeNetConfig()`` (23,936,906
  parameters) is not claimed to be the paper's exact network and no ``PAPER``
  preset is given. The paper trains one such network per iteration;
  ``cascade_step`` is one iteration, the training schedule is not implemented.
* V(p) is the 2-D projection of Eq. 1; PNCC renders ``f · R · S + (t₂d, 0)``
  with x, y taken directly as pixel coordinates. The Pose Adaptive Feature /
  Convolution of the journal version and the face profiling data
  augmentation are not implemented.
* The real BFM cannot be shipped: see ``refimpl/morphable_model.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .mesh_render import render_colors
from .morphable_model import TINY as TINY_MODEL
from .morphable_model import MorphableModel, euler_rotation, synthetic_model, weak_perspective
from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class TDDFAConfig:
    n_pose: int = 6  # Sec. 3: f, pitch, yaw, roll and the 2-D translation
    n_shape: int = 199  # Sec. 3: BFM identity (α_id ∈ R^199)
    n_exp: int = 29  # Sec. 3: FaceWarehouse expression (α_exp ∈ R^29)

    @property
    def n_params(self) -> int:
        return self.n_pose + self.n_shape + self.n_exp


# cleardusk/3DDFA @ 3545f35 wpdc_loss.py: param[:, :12] a 3×4 camera, [12:52] shape, [52:] expression.
OFFICIAL = TDDFAConfig(n_pose=12, n_shape=40, n_exp=10)
TINY = TDDFAConfig(n_shape=TINY_MODEL.n_id, n_exp=TINY_MODEL.n_exp)


def reconstruct(params: torch.Tensor, model: MorphableModel, config: TDDFAConfig = TINY) -> torch.Tensor:
    """Eq. 1: projected vertices (B, N, 2) from p (B, 6 + n_shape + n_exp)."""
    if config.n_pose != 6:
        raise ValueError("reconstruct implements the paper's 6 pose parameters")
    if params.shape[-1] != config.n_params:
        raise ValueError(f"p has {params.shape[-1]} entries; the config expects {config.n_params}")
    f, angles, t2d = params[:, 0], params[:, 1:4], params[:, 4:6]
    shape, exp = params[:, 6:6 + config.n_shape], params[:, 6 + config.n_shape:]
    return weak_perspective(model.shape(shape, exp), f, euler_rotation(angles), t2d)


def regression_target(p_gt: torch.Tensor, p_k: torch.Tensor) -> torch.Tensor:
    """Δp the network at cascade iteration k should predict: ``p^g − p^k``."""
    return p_gt - p_k


def pdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor) -> torch.Tensor:
    """Sec. 4.1: ``‖Δp − (p^g − p^k)‖²``, averaged over the batch."""
    return (delta_p - regression_target(p_gt, p_k)).pow(2).sum(-1).mean()


def vdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor, model: MorphableModel,
             config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.2: ``‖V(p^k + Δp) − V(p^g)‖²``, averaged over the batch."""
    diff = reconstruct(p_k + delta_p, model, config) - reconstruct(p_gt, model, config)
    return diff.pow(2).sum((-1, -2)).mean()


def wpdc_weights(p_pred: torch.Tensor, p_gt: torch.Tensor, model: MorphableModel,
                 config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.3: ``w_i ∝ ‖V(p^d(i)) − V(p^g)‖``, normalised to sum to one; no gradient (B, n)."""
    with torch.no_grad():
        b, n = p_gt.shape
        eye = torch.eye(n, dtype=torch.bool, device=p_gt.device)
        # p^d(i): the ground truth with entry i taken from the prediction, for every i at once.
        p_d = torch.where(eye, p_pred[:, None, :], p_gt[:, None, :]).reshape(b * n, n)
        v_d = reconstruct(p_d, model, config).reshape(b, n, -1)
        v_g = reconstruct(p_gt, model, config).reshape(b, 1, -1)
        w = (v_d - v_g).norm(dim=-1)
        return w / w.sum(-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)


def wpdc_loss(delta_p: torch.Tensor, p_gt: torch.Tensor, p_k: torch.Tensor, model: MorphableModel,
              config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 4.3: ``(Δp − (p^g − p^k))ᵀ diag(w) (Δp − (p^g − p^k))``, averaged over the batch."""
    w = wpdc_weights(p_k + delta_p, p_gt, model, config)
    return (w * (delta_p - regression_target(p_gt, p_k)).pow(2)).sum(-1).mean()


# Official analytic WPDC weights (cleardusk/3DDFA @ 3545f35, wpdc_loss.py, WPDCLoss._calc_weights_resample).
OFFICIAL_WPDC_SCALE = 0.00057339936  # the file's "magic_number": scale of the shape/expression weights
OFFICIAL_WPDC_EPS = 1e-6  # added to every weight but the z translation's before max-normalising


def wpdc_weights_official(p_pred: torch.Tensor, p_gt: torch.Tensor, model: MorphableModel,
                          config: TDDFAConfig = OFFICIAL, vertices: torch.Tensor | None = None) -> torch.Tensor:
    """The official code's closed-form WPDC weights on de-whitened 62-style parameters (B, 12 + n_s + n_e).

    Entry ``4r + c`` of the 3×4 camera scales coordinate ``c`` of the ground-truth shape, so its weight
    is ``|Δ| · ‖S^g_c‖`` (the norm of that coordinate over the chosen vertices); the x, y translations
    move every vertex by ``|Δ|``: ``|Δ| · √K``; a shape or expression coefficient's weight is
    ``scale · |Δ| · ‖basis column‖``. Each row is max-normalised after adding ``eps``, and the z
    translation's weight is zero. ``vertices`` (K,) picks the vertices (default: the model's landmarks,
    the official code with ``resample_num ≤ 0``); no gradient.
    """
    if config.n_pose != 12:
        raise ValueError("the official weights are defined for the 3×4 camera (n_pose = 12)")
    if p_gt.shape[-1] != config.n_params or p_pred.shape != p_gt.shape:
        raise ValueError(f"p has {p_gt.shape[-1]} entries; the config expects {config.n_params}")
    with torch.no_grad():
        idx = model.landmarks if vertices is None else vertices
        rows = (3 * idx[:, None] + torch.arange(3, device=idx.device)).reshape(-1)  # interleaved x, y, z
        id_basis, exp_basis = model.id_basis[rows], model.exp_basis[rows]
        alpha, beta = p_gt[:, 12:12 + config.n_shape], p_gt[:, 12 + config.n_shape:]
        shape = model.mean_shape[idx] + (alpha @ id_basis.T + beta @ exp_basis.T).reshape(p_gt.shape[0], -1, 3)
        k = idx.shape[0]
        # Row r of the camera is (R_r0, R_r1, R_r2, t_r): columns 0..2 scale x, y, z, column 3 shifts.
        column_scale = torch.cat([shape.norm(dim=1), shape.new_full((shape.shape[0], 1), math.sqrt(k))], dim=1)
        diff = (p_pred - p_gt).abs()
        basis_norm = torch.cat([id_basis, exp_basis], dim=1).norm(dim=0)
        w = torch.cat([diff[:, :12] * column_scale.repeat(1, 3),
                       OFFICIAL_WPDC_SCALE * diff[:, 12:] * basis_norm], dim=1)
        w[:, 11] = 0  # the z translation is not weighted (it does not move the projection)
        w[:, :11] += OFFICIAL_WPDC_EPS
        w[:, 12:] += OFFICIAL_WPDC_EPS
        return w / w.max(dim=1, keepdim=True).values


def wpdc_loss_official(pred: torch.Tensor, target: torch.Tensor, model: MorphableModel, mean: torch.Tensor,
                       std: torch.Tensor, config: TDDFAConfig = OFFICIAL,
                       vertices: torch.Tensor | None = None) -> torch.Tensor:
    """Official ``WPDCLoss``: ``mean(w ⊙ (pred − target)²)`` over whitened parameters.

    ``pred`` and ``target`` are whitened (``(p − mean) / std``, the network's output space); the
    weights come from the de-whitened parameters. ``mean`` and ``std`` are the training set's
    statistics (the official ``param_whitening.pkl``).
    """
    w = wpdc_weights_official(pred * std + mean, target * std + mean, model, config, vertices)
    return (w * (pred - target).pow(2)).mean()


def reconstruct_official(params: torch.Tensor, model: MorphableModel, config: TDDFAConfig = OFFICIAL,
                         vertices: torch.Tensor | None = None) -> torch.Tensor:
    """The official model: the 3×4 affine camera ``[P | t]`` applied to the 3-D shape, ``P S + t`` (B, K, 3).

    ``params`` are de-whitened (B, 12 + n_shape + n_exp), the camera row-major; ``vertices`` (K,) picks
    vertices (default all).
    """
    if config.n_pose != 12:
        raise ValueError("the official model uses the 3×4 camera (n_pose = 12)")
    if params.shape[-1] != config.n_params:
        raise ValueError(f"p has {params.shape[-1]} entries; the config expects {config.n_params}")
    camera = params[:, :12].reshape(-1, 3, 4)
    shape = model.shape(params[:, 12:12 + config.n_shape], params[:, 12 + config.n_shape:])
    if vertices is not None:
        shape = shape[:, vertices]
    return shape @ camera[:, :, :3].transpose(1, 2) + camera[:, None, :, 3]


def vdc_loss_official(pred: torch.Tensor, target: torch.Tensor, model: MorphableModel, mean: torch.Tensor,
                      std: torch.Tensor, config: TDDFAConfig = OFFICIAL,
                      vertices: torch.Tensor | None = None) -> torch.Tensor:
    """Official ``VDCLoss``: the mean squared difference of the 3-D vertices, over whitened inputs.

    The prediction's z translation is replaced by the ground truth's before reconstructing (it does
    not move the projected face), so it receives no gradient.
    """
    p, g = pred * std + mean, target * std + mean
    p = torch.cat([p[:, :11], g[:, 11:12], p[:, 12:]], dim=1)
    return (reconstruct_official(p, model, config, vertices) - reconstruct_official(g, model, config, vertices)) \
        .pow(2).mean()


# --------------------------------------------------------------------- the official network: MobileNet-V1
@dataclass(frozen=True)
class MobileNetConfig:
    widen_factor: float = 1.0  # official train.py: --arch mobilenet_1 (train_wpdc.sh), widen 1.0
    n_outputs: int = 62  # official num_classes=62: OFFICIAL.n_params
    in_channels: int = 3  # official input_channel=3 (an RGB crop)
    input_size: int = 120  # official utils/params.py std_size = 120 (120×120 crops)
    prelu: bool = False  # official MobileNet(prelu=False): ReLU


# cleardusk/3DDFA @ 3545f35 mobilenet_v1.py: mobilenet_2, mobilenet_1, mobilenet_075, mobilenet_05, mobilenet_025.
MOBILENET_2 = MobileNetConfig(widen_factor=2.0)
MOBILENET_1 = MobileNetConfig(widen_factor=1.0)
MOBILENET_075 = MobileNetConfig(widen_factor=0.75)
MOBILENET_05 = MobileNetConfig(widen_factor=0.5)
MOBILENET_025 = MobileNetConfig(widen_factor=0.25)
OFFICIAL_MOBILENET = MOBILENET_1  # main.py: arch = 'mobilenet_1' for models/phase1_wpdc_vdc.pth.tar

# (output channels, stride) of the 13 depthwise-separable blocks at widen factor 1 (MobileNet-V1, Table 1).
_MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)) + ((512, 1),) * 5 + ((1024, 2), (1024, 1))


class DepthWiseBlock(nn.Module):
    """3×3 depthwise conv → BN → act → 1×1 conv → BN → act, convolutions without bias.

    The official block holds one activation module used after both convolutions, so with ``prelu``
    a single PReLU slope is shared by the two.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, prelu: bool = False) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(in_ch, in_ch, 3, stride=stride, padding=1, groups=in_ch, bias=False)
        self.bn_dw = nn.BatchNorm2d(in_ch)
        self.conv_sep = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        self.bn_sep = nn.BatchNorm2d(out_ch)
        self.relu = nn.PReLU() if prelu else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn_dw(self.conv_dw(x)))
        return self.relu(self.bn_sep(self.conv_sep(x)))


class MobileNet(nn.Module):
    """The official regressor: a stride-2 3×3 stem, 13 depthwise-separable blocks, global average
    pooling and one linear layer to the 62 parameters; channel counts ``int(c · widen_factor)``."""

    def __init__(self, config: MobileNetConfig = OFFICIAL_MOBILENET) -> None:
        super().__init__()
        self.config = config

        def width(c: int) -> int:
            return int(c * config.widen_factor)

        self.conv1 = nn.Conv2d(config.in_channels, width(32), 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width(32))
        self.relu = nn.PReLU() if config.prelu else nn.ReLU()
        # Named as the official file names them (dw2_1 … dw6), so its checkpoints load unchanged.
        names = ("dw2_1", "dw2_2", "dw3_1", "dw3_2", "dw4_1", "dw4_2",
                 "dw5_1", "dw5_2", "dw5_3", "dw5_4", "dw5_5", "dw5_6", "dw6")
        in_ch = 32
        for name, (out_ch, stride) in zip(names, _MOBILENET_BLOCKS, strict=True):
            self.add_module(name, DepthWiseBlock(width(in_ch), width(out_ch), stride, config.prelu))
            in_ch = out_ch
        self.blocks = names
        self.fc = nn.Linear(width(1024), config.n_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He initialisation with fan-out (official: normal(0, √(2 / (k·k·out))))
                m.weight.data.normal_(0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for name in self.blocks:
            x = getattr(self, name)(x)
        return self.fc(x.mean(dim=(2, 3)))


# --------------------------------------------------------------------- the paper's network (Sec. 3)
def ncc(model: MorphableModel) -> torch.Tensor:
    """Sec. 3: the Normalized Coordinate Code, the mean shape scaled to [0, 1] per axis (N, 3)."""
    mean = model.mean_shape
    low, high = mean.min(dim=0).values, mean.max(dim=0).values
    return (mean - low) / (high - low)


def pncc(params: torch.Tensor, model: MorphableModel, height: int, width: int,
         config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 3: PNCC = Z-Buffer(V₃d(p), NCC), the fitted face rendered with the NCC as colours.

    ``V₃d(p) = f · R · S + (t₂d, 0)``; its x, y are pixel coordinates (u, v) of a ``height × width``
    image, and the z-buffer keeps the largest z. Returns (B, 3, height, width), zero on the background;
    no gradient (the feature is an input of the next network, built from the current p^k).
    """
    if config.n_pose != 6:
        raise ValueError("pncc implements the paper's 6 pose parameters")
    with torch.no_grad():
        f, angles, t2d = params[:, 0], params[:, 1:4], params[:, 4:6]
        shape = model.shape(params[:, 6:6 + config.n_shape], params[:, 6 + config.n_shape:])
        v3d = f[:, None, None] * (shape @ euler_rotation(angles).transpose(-1, -2))
        v3d = v3d + F.pad(t2d, (0, 1))[:, None, :]
        code = ncc(model)
        return torch.stack([render_colors(v, model.triangles, code, height, width).permute(2, 0, 1) for v in v3d])


class LocallyConnected2d(nn.Module):
    """A convolution whose filters are not shared across positions (one filter bank per output pixel)."""

    def __init__(self, in_ch: int, out_ch: int, in_size: int, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel
        self.out_size = in_size - kernel + 1  # no padding, stride 1
        n = self.out_size * self.out_size
        fan_in = in_ch * kernel * kernel
        self.weight = nn.Parameter(torch.empty(n, out_ch, fan_in).normal_(0, math.sqrt(2.0 / fan_in)))  # He
        self.bias = nn.Parameter(torch.zeros(out_ch, self.out_size, self.out_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        patches = F.unfold(x, self.kernel)  # (B, in·k·k, L)
        out = torch.einsum("bkl,lok->bol", patches, self.weight)
        return out.reshape(x.shape[0], -1, self.out_size, self.out_size) + self.bias


@dataclass(frozen=True)
class CascadeNetConfig:
    input_size: int = 100  # Sec. 3: a 100 × 100 colour image, stacked with its PNCC
    in_channels: int = 6  # Sec. 3: 3 colour channels + the 3 PNCC channels
    feature_dim: int = 256  # Sec. 3: the last convolutions are regressed to a 256-d feature
    n_params: int = 234  # Sec. 3: a 234-d update (6 pose, 199 shape, 29 expression)
    # Not given in the text (Fig. 3 draws the layers): our choices.
    channels: tuple[int, int, int, int] = (32, 64, 64, 64)
    kernels: tuple[int, int, int, int] = (5, 3, 3, 3)


class CascadeNet(nn.Module):
    """Net^k of Sec. 3: Δp^k = Net^k(I, PNCC(p^k)). Four convolutions, three poolings, two fc layers.

    conv1, conv2 share their weights over the image (ordinary convolutions, padded to keep the size);
    conv3, conv4 do not (locally connected, "location sensitive features"); ReLU after every layer
    but the last, 2×2 max pooling after each of the first three convolutions, then fc → 256 → n_params.
    """

    def __init__(self, config: CascadeNetConfig = CascadeNetConfig()) -> None:
        super().__init__()
        self.config = config
        c, k = config.channels, config.kernels
        self.conv1 = nn.Conv2d(config.in_channels, c[0], k[0], padding=k[0] // 2)
        self.conv2 = nn.Conv2d(c[0], c[1], k[1], padding=k[1] // 2)
        size = config.input_size // 4
        self.conv3 = LocallyConnected2d(c[1], c[2], size, k[2])
        size = self.conv3.out_size // 2
        self.conv4 = LocallyConnected2d(c[2], c[3], size, k[3])
        self.fc1 = nn.Linear(c[3] * self.conv4.out_size ** 2, config.feature_dim)
        self.fc2 = nn.Linear(config.feature_dim, config.n_params)

    def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        x = torch.cat([image, code], dim=1)  # the image stacked with its PNCC
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        x = F.relu(self.conv4(x))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def cascade_step(net: CascadeNet, image: torch.Tensor, p_k: torch.Tensor, model: MorphableModel,
                 config: TDDFAConfig = TINY) -> torch.Tensor:
    """Sec. 3: one iteration, ``p^{k+1} = p^k + Net^k(I, PNCC(p^k))``."""
    return p_k + net(image, pncc(p_k, model, image.shape[-2], image.shape[-1], config))


# --------------------------------------------------------------------- examples
def _tiny_params(batch: int, generator: torch.Generator) -> torch.Tensor:
    pose = torch.tensor([1.0, 0.1, -0.2, 0.05, 0.0, 0.0]).expand(batch, -1)
    coeffs = torch.randn(batch, TINY.n_shape + TINY.n_exp, generator=generator)
    return torch.cat([pose, coeffs], dim=1)


@register_example(covers=[reconstruct, regression_target, pdc_loss, vdc_loss, wpdc_weights, wpdc_loss])
def tddfa_costs() -> Example:
    g = seeded(0)
    mm = synthetic_model(TINY_MODEL, g)
    p_gt = _tiny_params(2, g)
    p_k = p_gt + 0.1 * torch.randn(2, TINY.n_params, generator=g)
    model = nn.Module()
    model.delta = nn.Parameter(0.05 * torch.randn(2, TINY.n_params, generator=g))

    def run(m: nn.Module, p_gt: torch.Tensor, p_k: torch.Tensor) -> tuple[torch.Tensor, ...]:
        face = mm.to(p_gt.device)
        return (reconstruct(p_k + m.delta, face), pdc_loss(m.delta, p_gt, p_k), vdc_loss(m.delta, p_gt, p_k, face),
                wpdc_loss(m.delta, p_gt, p_k, face))

    return Example(model=model, inputs=(p_gt, p_k), output_shapes=((2, 25, 2), (), (), ()), run=run)


@register_example(covers=[MobileNet, DepthWiseBlock, MobileNetConfig])
def tddfa_mobilenet() -> Example:
    g = seeded(0)
    # The official network at its smallest widen factor, on the official 120 × 120 input.
    return Example(model=MobileNet(MOBILENET_025), inputs=(torch.randn(2, 3, 120, 120, generator=g),),
                   output_shapes=((2, 62),))


@register_example(covers=[wpdc_weights_official, wpdc_loss_official, vdc_loss_official, reconstruct_official])
def tddfa_official_wpdc() -> Example:
    g = seeded(0)
    mm = synthetic_model(TINY_MODEL, g)
    layout = TDDFAConfig(n_pose=12, n_shape=TINY_MODEL.n_id, n_exp=TINY_MODEL.n_exp)
    mean = 0.1 * torch.randn(layout.n_params, generator=g)
    std = 0.5 + torch.rand(layout.n_params, generator=g)
    target = torch.randn(2, layout.n_params, generator=g)
    model = nn.Module()
    model.pred = nn.Parameter(target + 0.3 * torch.randn(2, layout.n_params, generator=g))

    def run(m: nn.Module, target: torch.Tensor) -> torch.Tensor:
        face, mu, sigma = mm.to(target.device), mean.to(target.device), std.to(target.device)
        return (wpdc_loss_official(m.pred, target, face, mu, sigma, layout),
                vdc_loss_official(m.pred, target, face, mu, sigma, layout))

    return Example(model=model, inputs=(target,), output_shapes=((), ()), run=run)


@register_example(covers=[CascadeNet, CascadeNetConfig, LocallyConnected2d, cascade_step, pncc, ncc])
def tddfa_cascade() -> Example:
    g = seeded(0)
    mm = synthetic_model(TINY_MODEL, g)
    cfg = CascadeNetConfig(input_size=32, channels=(4, 8, 8, 8), kernels=(3, 3, 3, 3), n_params=TINY.n_params)
    # Scale 10 and translation (16, 16) put the face (x, y in ±0.8) in the middle of the 32 × 32 image.
    pose = torch.tensor([10.0, 0.1, -0.2, 0.05, 16.0, 16.0]).expand(1, -1)
    p_k = torch.cat([pose, 0.3 * torch.randn(1, TINY.n_shape + TINY.n_exp, generator=g)], dim=1)
    image = torch.rand(1, 3, 32, 32, generator=g)

    def run(m: nn.Module, image: torch.Tensor, p_k: torch.Tensor) -> torch.Tensor:
        return cascade_step(m, image, p_k, mm.to(image.device))

    return Example(model=CascadeNet(cfg), inputs=(image, p_k), output_shapes=((1, TINY.n_params),), run=run)
