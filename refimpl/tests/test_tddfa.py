"""3DDFA (arXiv:1511.07212): parameter layout, regression target and the PDC / VDC / WPDC costs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from refimpl.morphable_model import MorphableModel, MorphableModelConfig, euler_rotation, synthetic_model
from refimpl.tddfa import (
    MOBILENET_025,
    MOBILENET_05,
    MOBILENET_075,
    MOBILENET_1,
    MOBILENET_2,
    OFFICIAL,
    OFFICIAL_MOBILENET,
    TINY,
    CascadeNet,
    CascadeNetConfig,
    DepthWiseBlock,
    LocallyConnected2d,
    MobileNet,
    MobileNetConfig,
    TDDFAConfig,
    cascade_step,
    ncc,
    pdc_loss,
    pncc,
    reconstruct,
    reconstruct_official,
    regression_target,
    vdc_loss,
    vdc_loss_official,
    wpdc_loss,
    wpdc_loss_official,
    wpdc_weights,
    wpdc_weights_official,
)

D = torch.float64
CFG = TDDFAConfig(n_shape=3, n_exp=2)


@pytest.fixture
def face():
    cfg = MorphableModelConfig(n_vertices=16, n_id=3, n_exp=2, n_tex=1, n_landmarks=4)
    return synthetic_model(cfg, torch.Generator().manual_seed(0)).double()


def _params() -> torch.Tensor:
    return torch.tensor([[1.3, 0.2, -0.3, 0.1, 0.5, -0.25, 0.8, -0.4, 0.3, 1.1, -0.6]], dtype=D)


def test_config_defaults_are_the_paper_and_official_is_62() -> None:
    assert TDDFAConfig() == TDDFAConfig(n_pose=6, n_shape=199, n_exp=29)  # Sec. 3
    assert TDDFAConfig().n_params == 234
    assert OFFICIAL.n_params == 62  # cleardusk/3DDFA @ 3545f35, wpdc_loss.py _parse_param_batch
    assert (TINY.n_shape, TINY.n_exp) == (4, 3)


def test_reconstruct_is_eq_1_by_hand(face) -> None:
    p = _params()
    verts = face.mean_shape + (p[:, 6:9] @ face.id_basis.T + p[:, 9:11] @ face.exp_basis.T).reshape(1, -1, 3)
    rot = euler_rotation(p[:, 1:4])[0]
    expected = 1.3 * (verts[0] @ rot.T)[:, :2] + torch.tensor([0.5, -0.25], dtype=D)
    torch.testing.assert_close(reconstruct(p, face, CFG)[0], expected)
    with pytest.raises(ValueError, match="6 pose"):
        reconstruct(torch.zeros(1, 62), face, OFFICIAL)
    with pytest.raises(ValueError, match="12 entries; the config expects 11"):
        reconstruct(torch.zeros(1, 12, dtype=D), face, CFG)


def test_regression_target_and_pdc_by_hand() -> None:
    p_gt = torch.tensor([[1.0, 2.0, 3.0]], dtype=D)
    p_k = torch.tensor([[0.5, 2.0, 4.0]], dtype=D)
    torch.testing.assert_close(regression_target(p_gt, p_k), torch.tensor([[0.5, 0.0, -1.0]], dtype=D))
    delta = torch.tensor([[0.5, 1.0, 0.0]], dtype=D)  # errors (0, 1, 1)
    torch.testing.assert_close(pdc_loss(delta, p_gt, p_k), torch.tensor(2.0, dtype=D))
    assert pdc_loss(regression_target(p_gt, p_k), p_gt, p_k) == 0


def test_wpdc_weights_follow_the_papers_definition(face) -> None:
    p_gt = _params()
    p_pred = p_gt + torch.tensor([[0.1, 0.05, 0.0, -0.2, 0.3, 0.0, 0.4, 0.0, -0.1, 0.2, 0.0]], dtype=D)
    w = wpdc_weights(p_pred, p_gt, face, CFG)
    # Independently: replace one entry at a time, rebuild, and measure the vertex displacement.
    raw = []
    for i in range(11):
        p_d = p_gt.clone()
        p_d[0, i] = p_pred[0, i]
        raw.append((reconstruct(p_d, face, CFG) - reconstruct(p_gt, face, CFG)).norm())
    raw = torch.stack(raw)
    torch.testing.assert_close(w[0], raw / raw.sum())
    assert (w[0, [2, 5, 7, 10]] < 1e-12).all()  # unchanged entries carry no weight
    assert w[0, 4] > 0 and w[0, 0] > 0
    # Translating by 0.3 moves every vertex by 0.3: the weight's numerator is 0.3 · √N.
    torch.testing.assert_close(raw[4], torch.tensor(0.3 * 16 ** 0.5, dtype=D))


def test_wpdc_is_zero_at_the_truth_grows_with_error_and_has_constant_weights(face) -> None:
    p_gt = _params()
    p_k = p_gt + 0.3
    target = regression_target(p_gt, p_k)
    assert wpdc_loss(target, p_gt, p_k, face, CFG) == 0
    err = torch.linspace(-0.1, 0.2, 11, dtype=D)[None]  # unequal errors: a gradient through w would show
    delta = (target + err).requires_grad_(True)
    bigger = target + 2 * err
    small = wpdc_loss(delta, p_gt, p_k, face, CFG)
    assert 0 < small < wpdc_loss(bigger, p_gt, p_k, face, CFG)
    small.backward()
    # With w constant, ∂E/∂Δp_i = 2 w_i (Δp_i − target_i).
    w = wpdc_weights(p_k + delta.detach(), p_gt, face, CFG)
    torch.testing.assert_close(delta.grad, 2 * w * err)


def test_wpdc_emphasises_parameters_that_move_the_face(face) -> None:
    # The same parameter error costs more on the scale f than on an expression coefficient,
    # because a scale error moves every vertex further (the point of the weighting).
    p_gt = _params()
    err = torch.zeros(1, 11, dtype=D)
    err[0, 0] = err[0, 10] = 0.2
    w = wpdc_weights(p_gt + err, p_gt, face, CFG)
    assert w[0, 0] > w[0, 10] > 0


def test_vdc_is_the_squared_vertex_distance(face) -> None:
    p_gt = _params()
    p_k = p_gt.clone()
    delta = torch.zeros_like(p_gt)
    delta[0, 4] = 0.5  # x translation: every one of 16 vertices moves by 0.5
    torch.testing.assert_close(vdc_loss(delta, p_gt, p_k, face, CFG), torch.tensor(16 * 0.25, dtype=D))
    assert vdc_loss(torch.zeros_like(p_gt), p_gt, p_k, face, CFG) == 0


def test_costs_average_over_a_batch_of_unequal_samples(face) -> None:
    # Two samples with different errors: each cost is the mean of the per-sample costs, and the WPDC
    # weights of each sample are those it gets alone (weights are normalised per sample, not per batch).
    p_gt = torch.cat([_params(), _params() * 0.5])
    p_k = p_gt + torch.tensor([[0.2], [-0.1]], dtype=D)
    delta = regression_target(p_gt, p_k) + torch.linspace(-0.1, 0.3, 22, dtype=D).reshape(2, 11)
    w = wpdc_weights(p_k + delta, p_gt, face, CFG)
    for i in range(2):
        one = slice(i, i + 1)
        torch.testing.assert_close(w[one], wpdc_weights(p_k[one] + delta[one], p_gt[one], face, CFG))
    torch.testing.assert_close(w.sum(-1), torch.ones(2, dtype=D))
    for loss in (pdc_loss, lambda *a: vdc_loss(*a, face, CFG), lambda *a: wpdc_loss(*a, face, CFG)):
        singles = [loss(delta[i:i + 1], p_gt[i:i + 1], p_k[i:i + 1]) for i in range(2)]
        assert abs(singles[0] - singles[1]) > 1e-3
        torch.testing.assert_close(loss(delta, p_gt, p_k), (singles[0] + singles[1]) / 2)


# --------------------------------------------------------------------- the official MobileNet-V1
# Figures from cleardusk/3DDFA @ 3545f355bfc71e5748fa915b13932958363135d7, mobilenet_v1.py, instantiated
# as released (mobilenet_2 … mobilenet_025, num_classes=62): parameters, BN buffers, output at 120×120.
OFFICIAL_COUNTS = {2.0: 12820158, 1.0: 3270526, 0.75: 1864238, 0.5: 850398, 0.25: 229006}


def test_mobilenet_config_defaults_are_the_official_mobilenet_1() -> None:
    # train.py / train_wpdc.sh: --arch mobilenet_1, num_classes 62; utils/params.py: std_size 120; prelu off.
    assert MobileNetConfig() == MobileNetConfig(widen_factor=1.0, n_outputs=62, in_channels=3, input_size=120,
                                                prelu=False)
    assert OFFICIAL_MOBILENET == MOBILENET_1 and MobileNetConfig().n_outputs == OFFICIAL.n_params
    factors = [c.widen_factor for c in (MOBILENET_2, MOBILENET_1, MOBILENET_075, MOBILENET_05, MOBILENET_025)]
    assert factors == [2.0, 1.0, 0.75, 0.5, 0.25]


def test_mobilenet_parameter_counts_are_the_official_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted on the meta device; its first normal_ loads torch's decompositions (seconds), and counting
    # needs no initial values, so the He initialisation is skipped here (it has its own test below).
    monkeypatch.setattr(torch.Tensor, "normal_", lambda self, *args, **kwargs: self)
    for factor, count in OFFICIAL_COUNTS.items():
        with torch.device("meta"):
            net = MobileNet(MobileNetConfig(widen_factor=factor))
        assert sum(p.numel() for p in net.parameters()) == count, factor
    with torch.device("meta"):
        net = MobileNet()
    assert sum(b.numel() for n, b in net.named_buffers() if "num_batches" not in n) == 21888
    assert net.fc.in_features == 1024 and net.conv1.out_channels == 32
    # PReLU variant: one slope in the stem and one shared by both convolutions of each of the 13 blocks.
    with torch.device("meta"):
        prelu = MobileNet(MobileNetConfig(widen_factor=0.25, prelu=True))
    assert sum(p.numel() for p in prelu.parameters()) == OFFICIAL_COUNTS[0.25] + 14


def _fill(net: nn.Module) -> nn.Module:
    """Deterministic weights by parameter name (the same rule was applied to the official module)."""
    state = net.state_dict()
    new = {}
    for j, name in enumerate(sorted(state)):
        t = state[name]
        if not t.is_floating_point():
            new[name] = t
            continue
        base = torch.sin(torch.arange(t.numel(), dtype=D) * 0.37 + j).reshape(t.shape)
        if name.endswith("weight") and t.dim() > 1:
            new[name] = base * math.sqrt(6.0 / (t.numel() // t.shape[0]))
        elif name.endswith("running_var"):
            new[name] = 1 + 0.5 * base
        elif name.endswith("weight"):
            new[name] = 1 + 0.2 * base
        else:
            new[name] = 0.1 * base
    net.load_state_dict(new)
    return net


def test_mobilenet_outputs_match_the_official_definition() -> None:
    # The official mobilenet_025 (and MobileNet(0.25, prelu=True)) in float64 with the weights of _fill
    # (its state-dict names are the same), on this input: first/last outputs, BN in train and eval mode.
    x = torch.sin(torch.arange(2 * 3 * 120 * 120, dtype=D) * 0.01).reshape(2, 3, 120, 120)
    net = _fill(MobileNet(MOBILENET_025).double())
    with torch.no_grad():
        out = net(x)
        assert out.shape == (2, 62)
        torch.testing.assert_close(out[0, :4], torch.tensor([-1.387319502850, -1.032473446399, -0.458637167730,
                                                            0.210712410443], dtype=D), rtol=1e-9, atol=1e-11)
        torch.testing.assert_close(out[1, -3:], torch.tensor([1.210630747176, 1.206589250574, 0.946088847803],
                                                             dtype=D), rtol=1e-9, atol=1e-11)
        out = _fill(net).eval()(x)  # running statistics (refilled: the train pass updated them)
        torch.testing.assert_close(out[0, :4], torch.tensor([-5.929996265549e+08, -6.025479739419e+08,
                                                            -4.802112306018e+08, -2.527663391053e+08], dtype=D),
                                   rtol=1e-9, atol=0)
        prelu = _fill(MobileNet(MobileNetConfig(widen_factor=0.25, prelu=True)).double()).eval()
        torch.testing.assert_close(prelu(x)[0, :3], torch.tensor([-921.755242954477, -1266.904431900245,
                                                                 -1334.759292399226], dtype=D), rtol=1e-9, atol=0)


def test_mobilenet_layout_strides_and_depthwise_blocks() -> None:
    net = MobileNet(MOBILENET_025)
    sizes, x = [], torch.zeros(1, 3, 120, 120)
    x = net.relu(net.bn1(net.conv1(x)))
    sizes.append(x.shape[-1])
    for name in net.blocks:
        x = getattr(net, name)(x)
        sizes.append(x.shape[-1])
    # 120×120: the stem and five blocks halve the size (MobileNet-V1, Table 1): 60, 30, 15, 8, 4.
    assert sizes == [60, 60, 30, 30, 15, 15, 8, 8, 8, 8, 8, 8, 4, 4]
    assert x.shape[1] == 256
    block = net.dw3_2
    assert block.conv_dw.groups == 32 and block.conv_dw.stride == (2, 2) and block.conv_dw.padding == (1, 1)
    assert block.conv_dw.bias is None and block.conv_sep.bias is None and block.conv_sep.kernel_size == (1, 1)
    assert net.conv1.bias is None and net.conv1.stride == (2, 2) and net.conv1.padding == (1, 1)


def test_depthwise_block_is_conv_bn_relu_twice() -> None:
    block = DepthWiseBlock(2, 3).double().eval()
    with torch.no_grad():
        block.conv_dw.weight.copy_(torch.tensor([1.0, -2.0], dtype=D).reshape(2, 1, 1, 1) * torch.ones(2, 1, 3, 3, dtype=D))
        block.bn_dw.running_mean.copy_(torch.tensor([1.0, 0.5], dtype=D))
        block.conv_sep.weight.copy_(torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 0.0]], dtype=D)[..., None, None])
        block.bn_sep.bias.copy_(torch.tensor([0.0, 0.0, 0.5], dtype=D))
    x = torch.ones(1, 2, 3, 3, dtype=D)
    # Centre pixel: depthwise sums 9 inputs (9, −18), BN (eval, var 1) subtracts the running mean → (8, −18.5),
    # ReLU → (8, 0); 1×1 conv → (8, 8, −8), BN bias → (8, 8, −7.5), ReLU → (8, 8, 0).
    eps = block.bn_dw.eps
    scale = 1 / math.sqrt(1 + eps)
    out = block(x)[0, :, 1, 1]
    first = 8 * scale
    torch.testing.assert_close(out, torch.tensor([first * scale, first * scale, 0.0], dtype=D))
    # The corner sees 4 inputs (zero padding): depthwise (4, −8) → (3, −8.5) → (3, 0).
    torch.testing.assert_close(block(x)[0, 0, 0, 0], torch.tensor(3 * scale * scale, dtype=D))


def test_mobilenet_initialisation_is_he_fan_out_with_unit_batchnorm() -> None:
    torch.manual_seed(0)
    net = MobileNet(MOBILENET_1)
    w = net.dw5_1.conv_sep.weight  # 512 → 512, fan-out 512: std √(2/512)
    assert abs(w.std().item() / math.sqrt(2 / 512) - 1) < 0.02
    w = net.dw5_1.conv_dw.weight  # 3×3 depthwise, fan-out 9·512
    assert abs(w.std().item() / math.sqrt(2 / (9 * 512)) - 1) < 0.05
    assert (net.dw6.bn_sep.weight == 1).all() and (net.dw6.bn_sep.bias == 0).all()
    assert (net.bn1.weight == 1).all() and (net.bn1.bias == 0).all()


# --------------------------------------------------------------------- the official WPDC weights
def _official_model() -> MorphableModel:
    # The small model given to the official WPDCLoss in place of train.configs: 5 vertices,
    # 40 shape and 10 expression columns, keypoints = vertices 0, 2, 3.
    mean = torch.tensor([[0.3, -0.2, 1.1], [-0.7, 0.4, 0.9], [0.5, 0.8, 0.2], [-0.1, -0.9, 1.4], [0.9, 0.1, -0.3]],
                        dtype=D)
    shp = 0.3 * torch.cos(torch.arange(600, dtype=D) * 0.9).reshape(15, 40)
    exp = 0.2 * torch.sin(torch.arange(150, dtype=D) * 1.3 + 0.5).reshape(15, 10)
    return MorphableModel(mean, shp, exp, torch.zeros(5, 3, dtype=D), torch.zeros(15, 1, dtype=D),
                          torch.zeros(1, 3, dtype=torch.long), torch.tensor([0, 2, 3]))


def _official_params() -> tuple[torch.Tensor, torch.Tensor]:
    cam = torch.tensor([0.9, 0.1, -0.2, 3.0, -0.15, 1.1, 0.3, -2.0, 0.25, -0.1, 0.8, 0.7], dtype=D)
    dcam = torch.tensor([0.05, -0.02, 0.03, 0.5, 0.01, 0.04, -0.06, -0.3, 0.02, 0.07, -0.01, 0.9], dtype=D)
    k = torch.arange(50, dtype=D)
    p_gt = torch.cat([cam, 0.5 * torch.sin(0.7 * k)])[None]
    return p_gt + torch.cat([dcam, 0.1 * torch.cos(1.1 * k)])[None], p_gt


def _official_whitened() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The parameters above as the official losses take them, whitened with mean 0.05·i and
    std 0.5 + 0.1·i: (prediction, needing a gradient; target; mean; std)."""
    p_pred, p_gt = _official_params()
    mean, std = 0.05 * torch.arange(62, dtype=D), 0.5 + 0.1 * torch.arange(62, dtype=D)
    return ((p_pred - mean) / std).requires_grad_(True), (p_gt - mean) / std, mean, std


def test_official_wpdc_weights_match_the_official_code() -> None:
    # cleardusk/3DDFA @ 3545f35, wpdc_loss.py: WPDCLoss(resample_num=0)._calc_weights_resample on these
    # parameters (whitened with mean 0.05·i, std 0.5 + 0.1·i), its zeros_like(dtype=float) made float64.
    face = _official_model()
    p_pred, p_gt = _official_params()
    w = wpdc_weights_official(p_pred, p_gt, face)
    exact = {"rtol": 1e-9, "atol": 0.0}
    torch.testing.assert_close(w[0, :12], torch.tensor([
        0.035922716450, 0.027530511971, 0.060176911954, 1.0, 0.007185467049, 0.055059869242,
        0.120352669209, 0.600000461880, 0.014369779399, 0.096353905149, 0.020059740451, 0.0], dtype=D), **exact)
    torch.testing.assert_close(w[0, 12:16], torch.tensor([4.662110312793e-05, 2.056961956451e-05,
                                                         2.362575804439e-05, 4.377809998375e-05], dtype=D), **exact)
    torch.testing.assert_close(w[0, 52:56], torch.tensor([3.116530773550e-05, 1.384529834025e-05,
                                                         1.578507752634e-05, 3.351338332278e-05], dtype=D), **exact)
    # The same with every vertex as a keypoint.
    w = wpdc_weights_official(p_pred, p_gt, face, vertices=torch.arange(5))
    torch.testing.assert_close(w[0, :3], torch.tensor([0.082065255171, 0.023513692170, 0.062542890198], dtype=D),
                               **exact)
    torch.testing.assert_close(w[0, 12:14], torch.tensor([4.314012743233e-05, 1.978321733662e-05], dtype=D), **exact)
    torch.testing.assert_close(w[0, 52], torch.tensor(2.863357768337e-05, dtype=D), **exact)


def test_official_wpdc_loss_matches_the_official_code() -> None:
    face = _official_model()
    pred, target, mean, std = _official_whitened()
    loss = wpdc_loss_official(pred, target, face, mean, std)
    torch.testing.assert_close(loss, torch.tensor(0.006924491704046905, dtype=D), rtol=1e-9, atol=0)
    loss.backward()
    # The weights are constants: ∂/∂pred = 2 w (pred − target) / 62.
    p_pred, p_gt = _official_params()
    w = wpdc_weights_official(p_pred, p_gt, face)
    torch.testing.assert_close(pred.grad, 2 * w * (p_pred - p_gt) / std / 62)


def test_official_wpdc_weights_by_hand_and_per_sample() -> None:
    # Two samples, shape mean only (zero coefficients): the pose weights follow the coordinate norms.
    face = _official_model()
    p_gt = torch.zeros(2, 62, dtype=D)
    p_pred = p_gt.clone()
    p_pred[0, 0] = 0.1  # R_00 scales x: |Δ| · ‖x over vertices 0, 2, 3‖
    p_pred[0, 3] = 0.2  # t_x moves every keypoint: |Δ| · √3
    p_pred[1, 6] = 0.3  # R_12 scales z
    p_pred[1, 12] = 0.4  # first shape coefficient: scale · |Δ| · ‖its column over the keypoint rows‖
    w = wpdc_weights_official(p_pred, p_gt, face)
    x_norm = math.sqrt(0.3 ** 2 + 0.5 ** 2 + 0.1 ** 2)
    raw0 = {0: 0.1 * x_norm, 3: 0.2 * math.sqrt(3)}
    top = max(raw0.values()) + 1e-6
    assert w[0, 0].item() == pytest.approx((raw0[0] + 1e-6) / top, rel=1e-12)
    assert w[0, 3].item() == pytest.approx(1.0) and w[0, 11] == 0
    assert w[0, 20].item() == pytest.approx(1e-6 / top, rel=1e-12)  # untouched entries keep only eps
    z_norm = math.sqrt(1.1 ** 2 + 0.2 ** 2 + 1.4 ** 2)
    rows = [0, 1, 2, 6, 7, 8, 9, 10, 11]
    col = face.id_basis[rows, 0].norm().item()
    raw1 = {6: 0.3 * z_norm, 12: 0.00057339936 * 0.4 * col}
    top = max(raw1.values()) + 1e-6
    assert w[1, 6].item() == pytest.approx(1.0)
    assert w[1, 12].item() == pytest.approx((raw1[12] + 1e-6) / top, rel=1e-12)
    with pytest.raises(ValueError, match="3×4 camera"):
        wpdc_weights_official(p_pred, p_gt, face, TDDFAConfig())
    with pytest.raises(ValueError, match="61 entries; the config expects 62"):
        wpdc_weights_official(p_pred[:, :61], p_gt[:, :61], face)


# --------------------------------------------------------------------- the paper's cascade network
def _two_layer_model() -> MorphableModel:
    # Two parallel squares seen from +z: the back one at z = 0, the front one at z = 1 (2 triangles each).
    square = torch.tensor([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]], dtype=D)
    mean = torch.cat([torch.cat([square, torch.zeros(4, 1, dtype=D)], 1), torch.cat([square, torch.ones(4, 1, dtype=D)], 1)])
    tris = torch.tensor([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]])
    zeros = torch.zeros(24, 1, dtype=D)
    return MorphableModel(mean, zeros, zeros, torch.zeros(8, 3, dtype=D), zeros, tris, torch.tensor([0]))


def test_ncc_normalises_the_mean_shape_per_axis() -> None:
    face = MorphableModel(torch.tensor([[1.0, -2.0, 0.0], [3.0, 2.0, 5.0], [2.0, 0.0, 1.0]], dtype=D),
                          torch.zeros(9, 1, dtype=D), torch.zeros(9, 1, dtype=D), torch.zeros(3, 3, dtype=D),
                          torch.zeros(9, 1, dtype=D), torch.tensor([[0, 1, 2]]), torch.tensor([0]))
    torch.testing.assert_close(ncc(face), torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.5, 0.2]], dtype=D))


def test_pncc_renders_the_visible_surface_with_its_ncc() -> None:
    face = _two_layer_model()
    cfg = TDDFAConfig(n_shape=1, n_exp=1)
    # f = 2, no rotation, t₂d = (1, 3): the squares cover pixels x ∈ [1, 9), y ∈ [3, 11).
    p = torch.tensor([[2.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, 0.0]], dtype=D)
    code = pncc(p, face, 12, 12, cfg)[0]
    assert code.shape == (3, 12, 12)
    ys, xs = torch.meshgrid(torch.arange(12, dtype=D), torch.arange(12, dtype=D), indexing="ij")
    inside = (xs >= 1) & (xs < 9) & (ys >= 3) & (ys < 11)
    # The NCC is affine in the mean shape, so the rendered x, y codes are the normalised coordinates.
    torch.testing.assert_close(code[0][inside], ((xs - 1) / 8)[inside])
    torch.testing.assert_close(code[1][inside], ((ys - 3) / 8)[inside])
    assert (code[2][inside] == 1).all()  # the z-buffer shows the front square (z = 1)
    assert (code[:, ~inside] == 0).all()
    # Yaw by π turns the model round (x → −x, z → −z): now the other square is in front.
    turned = torch.tensor([[2.0, 0.0, math.pi, 0.0, 10.0, 3.0, 0.0, 0.0]], dtype=D)
    code = pncc(turned, face, 12, 12, cfg)[0]
    hit = code.abs().sum(0) > 0
    assert hit.sum() > 40 and (code[2][hit].abs() < 1e-12).all()
    torch.testing.assert_close(code[0][hit], ((10 - xs) / 8)[hit])
    with pytest.raises(ValueError, match="6 pose"):
        pncc(torch.zeros(1, 62), face, 12, 12, OFFICIAL)


def test_cascade_config_is_the_papers_and_parameter_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.Tensor, "normal_", lambda self, *args, **kwargs: self)  # counting needs no values
    cfg = CascadeNetConfig()
    assert (cfg.input_size, cfg.in_channels, cfg.feature_dim, cfg.n_params) == (100, 6, 256, 234)  # Sec. 3
    assert cfg.n_params == TDDFAConfig().n_params
    assert (cfg.channels, cfg.kernels) == ((32, 64, 64, 64), (5, 3, 3, 3))  # our choice (not in the text)
    with torch.device("meta"):
        net = CascadeNet(cfg)
    # (A meta forward would load torch's decompositions, seconds; the sizes below fix the output shape,
    # and the forward itself is checked at small sizes.)
    assert (net.conv3.out_size, net.conv4.out_size, net.fc1.in_features, net.fc2.out_features) == (23, 9, 5184, 234)
    # By hand: conv1 6→32 5×5 and conv2 32→64 3×3 (shared); 100 → 50 → 25 after pooling; conv3 unshared
    # 3×3 over 25×25 → 23×23 positions, pooled to 11; conv4 unshared → 9×9; fc 64·81 → 256 → 234.
    expected = (6 * 32 * 25 + 32) + (32 * 64 * 9 + 64) + (23 * 23 * 64 * 64 * 9 + 64 * 23 * 23) \
        + (9 * 9 * 64 * 64 * 9 + 64 * 81) + (64 * 81 * 256 + 256) + (256 * 234 + 234)
    assert sum(p.numel() for p in net.parameters()) == expected == 23936906
    assert isinstance(net.conv1, nn.Conv2d) and isinstance(net.conv2, nn.Conv2d)
    assert isinstance(net.conv3, LocallyConnected2d) and isinstance(net.conv4, LocallyConnected2d)


def test_locally_connected_filters_differ_per_position() -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(2, 3, 4, 3).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(2, 2, 4, 4, dtype=D)
    out = layer(x)
    assert out.shape == (2, 3, 2, 2)
    # By hand: output (o, i, j) = Σ_{c,u,v} W[i·2 + j, o, (c, u, v)] x[c, i + u, j + v] + b[o, i, j].
    for i in range(2):
        for j in range(2):
            patch = x[:, :, i:i + 3, j:j + 3].reshape(2, -1)
            torch.testing.assert_close(out[:, :, i, j], patch @ layer.weight[i * 2 + j].T + layer.bias[:, i, j])
    assert layer.weight.std().item() == pytest.approx(math.sqrt(2 / 18), rel=0.2)


def test_cascade_net_sees_both_image_and_pncc_and_keeps_location() -> None:
    torch.manual_seed(0)
    cfg = CascadeNetConfig(input_size=32, channels=(4, 4, 4, 4), kernels=(3, 3, 3, 3), n_params=11)
    net = CascadeNet(cfg).double()
    image = torch.rand(2, 3, 32, 32, dtype=D, requires_grad=True)
    code = torch.rand(2, 3, 32, 32, dtype=D, requires_grad=True)
    out = net(image, code)
    assert out.shape == (2, 11)
    out.sum().backward()
    assert image.grad.abs().sum() > 0 and code.grad.abs().sum() > 0
    # The image fills channels 0-2, the PNCC 3-5.
    assert net.conv1.in_channels == 6
    swapped = torch.cat([code, image], 1).detach()
    manual = net.conv1(torch.cat([image, code], 1))
    assert not torch.allclose(net.conv1(swapped), manual)
    assert torch.allclose(out, net(image, code)) and not torch.allclose(out[0], out[1])
    assert net.conv1.padding == (1, 1) and net.conv4.out_size == 1


def test_cascade_step_adds_the_update_predicted_from_image_and_pncc(face) -> None:
    class Spy(nn.Module):
        def forward(self, image: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
            self.seen = (image, code)
            return torch.full((image.shape[0], 11), 0.25, dtype=D)

    spy = Spy()
    p_k = _params() * torch.tensor([6.0] + [1.0] * 3 + [16.0, 16.0] + [1.0] * 5, dtype=D)
    image = torch.rand(1, 3, 20, 28, dtype=D)  # not square: the PNCC takes the image's height and width
    p_next = cascade_step(spy, image, p_k, face, CFG)
    torch.testing.assert_close(p_next, p_k + 0.25)
    assert spy.seen[0] is image
    assert spy.seen[1].shape == (1, 3, 20, 28)
    torch.testing.assert_close(spy.seen[1], pncc(p_k, face, 20, 28, CFG))
    assert spy.seen[1].abs().sum() > 0


def test_cascade_net_layer_order_by_hand() -> None:
    # conv → ReLU → pool twice, unshared conv → ReLU → pool, unshared conv → ReLU, fc → ReLU → fc,
    # recomputed with explicit per-position sums for the unshared layers.
    torch.manual_seed(1)
    cfg = CascadeNetConfig(input_size=16, channels=(2, 3, 4, 5), kernels=(5, 7, 2, 1), n_params=5)
    net = CascadeNet(cfg).double()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.6, 0.6)
    image, code = torch.rand(2, 3, 16, 16, dtype=D), torch.rand(2, 3, 16, 16, dtype=D)

    def unshared(layer: LocallyConnected2d, x: torch.Tensor) -> torch.Tensor:
        n, k = layer.out_size, layer.kernel
        out = torch.empty(x.shape[0], layer.bias.shape[0], n, n, dtype=D)
        for i in range(n):
            for j in range(n):
                patch = x[:, :, i:i + k, j:j + k].reshape(x.shape[0], -1)
                out[:, :, i, j] = patch @ layer.weight[i * n + j].T + layer.bias[:, i, j]
        return out

    def pool(x: torch.Tensor) -> torch.Tensor:  # 2×2 max, stride 2, floor
        n = x.shape[-1] // 2
        return x[..., :2 * n, :2 * n].reshape(*x.shape[:2], n, 2, n, 2).amax(dim=(3, 5))

    relu = torch.relu
    x = torch.cat([image, code], 1)
    x = pool(relu(torch.nn.functional.conv2d(x, net.conv1.weight, net.conv1.bias, padding=2)))  # 16 → 8
    x = pool(relu(torch.nn.functional.conv2d(x, net.conv2.weight, net.conv2.bias, padding=3)))  # 8 → 4
    x = pool(relu(unshared(net.conv3, x)))  # 2×2 filters: 4 → 3, pooled to 1
    x = relu(unshared(net.conv4, x))
    expected = net.fc2(relu(net.fc1(x.flatten(1))))
    with torch.no_grad():
        torch.testing.assert_close(net(image, code), expected)
    # Each layer takes its own channels and kernel from the config: 3×3 positions of 3·2·2 → 4 filters, then 1×1.
    assert net.conv2.weight.shape == (3, 2, 7, 7) and net.conv3.weight.shape == (9, 4, 12)
    assert net.conv4.weight.shape == (1, 5, 4) and net.fc1.in_features == 5


def test_pncc_is_a_constant_input() -> None:
    face = _two_layer_model()
    p = torch.tensor([[2.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, 0.0]], dtype=D, requires_grad=True)
    assert not pncc(p, face, 12, 12, TDDFAConfig(n_shape=1, n_exp=1)).requires_grad


def test_official_vdc_loss_matches_the_official_code() -> None:
    # cleardusk/3DDFA @ 3545f35, vdc_loss.py: VDCLoss(opt_style="all") on the model and parameters above,
    # float64: the loss and its gradient (the z translation, entry 11, gets none).
    face = _official_model()
    pred, target, mean, std = _official_whitened()
    loss = vdc_loss_official(pred, target, face, mean, std)
    torch.testing.assert_close(loss, torch.tensor(0.13966020690497957, dtype=D), rtol=1e-9, atol=0)
    loss.backward()
    torch.testing.assert_close(pred.grad[0, :12], torch.tensor([
        0.018852386061, 0.019373915397, 0.188469988267, 0.283127362864, -0.009615147159, 0.006473847981,
        -0.199557466605, -0.260931421482, 0.052383591711, 0.025142623897, -0.045834019152, 0.0], dtype=D),
        rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(pred.grad[0, 12:14], torch.tensor([0.007261726268, -0.027925910012], dtype=D),
                               rtol=1e-9, atol=1e-12)


def test_official_reconstruction_is_the_affine_camera_on_the_3d_shape() -> None:
    face = _official_model()
    _, p = _official_params()
    camera = p[0, :12].reshape(3, 4)
    shape = face.mean_shape + (p[:, 12:52] @ face.id_basis.T + p[:, 52:] @ face.exp_basis.T).reshape(5, 3)
    expected = shape @ camera[:, :3].T + camera[:, 3]  # by hand: x' = P x + t per vertex
    torch.testing.assert_close(reconstruct_official(p, face)[0], expected)
    torch.testing.assert_close(reconstruct_official(p, face, vertices=torch.tensor([3, 1]))[0], expected[[3, 1]])
    with pytest.raises(ValueError, match="3×4 camera"):
        reconstruct_official(p, face, TDDFAConfig())
    with pytest.raises(ValueError, match="61 entries; the config expects 62"):
        reconstruct_official(p[:, :61], face)
