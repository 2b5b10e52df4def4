"""RetinaFace (arXiv:1905.00641): the claims that define the paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from refimpl.retinaface import (
    FPN,
    OFFICIAL_MNET,
    OFFICIAL_RESNET50,
    SSH,
    TINY,
    MobileNetV1,
    ResNet50,
    RetinaFace,
    RetinaFaceConfig,
    box_iou,
    decode,
    decode_landmarks,
    encode,
    encode_landmarks,
    match,
    multibox_loss,
    point_form,
    prior_boxes,
)


def test_standard_config_has_16800_anchors_for_640x640() -> None:
    priors = prior_boxes((640, 640))
    assert priors.shape == (16_800, 4)  # 80²·2 + 40²·2 + 20²·2
    # First anchors: cell (0, 0) of the stride-8 level, sizes 16 and 32, normalised.
    torch.testing.assert_close(priors[:2], torch.tensor([[4 / 640, 4 / 640, 16 / 640, 16 / 640],
                                                         [4 / 640, 4 / 640, 32 / 640, 32 / 640]]))
    torch.testing.assert_close(priors[-1], torch.tensor([624 / 640, 624 / 640, 512 / 640, 512 / 640]))


def test_decode_inverts_encode_for_boxes_and_landmarks(device: torch.device) -> None:
    priors = prior_boxes((64, 96), TINY.min_sizes, TINY.steps).to(device)
    n = priors.shape[0]
    xy = torch.rand(n, 2, device=device) * 0.6
    boxes = torch.cat([xy, xy + torch.rand(n, 2, device=device) * 0.3 + 0.05], dim=1)
    torch.testing.assert_close(decode(encode(boxes, priors), priors), boxes, atol=1e-5, rtol=1e-5)
    pts = torch.rand(n, 10, device=device)
    torch.testing.assert_close(decode_landmarks(encode_landmarks(pts, priors), priors), pts, atol=1e-5, rtol=1e-5)


def test_encoding_uses_the_variances() -> None:
    prior = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    box = torch.tensor([[0.42, 0.38, 0.62, 0.78]])  # centre (0.52, 0.58), size (0.2, 0.4)
    # centre offsets 0.02 / (0.1·0.2) = 1 and 0.08 / (0.1·0.4) = 2; log(1)/0.2 = 0
    torch.testing.assert_close(encode(box, prior), torch.tensor([[1.0, 2.0, 0.0, 0.0]]))
    doubled = torch.tensor([[0.3, 0.1, 0.7, 0.9]])  # twice the prior's size
    torch.testing.assert_close(encode(doubled, prior)[0, 2:], torch.full((2,), float(torch.log(torch.tensor(2.0)) / 0.2)))


# Five anchors and two faces; IoUs by hand (areas in normalised units):
#   T0 = [0, 0, .5, .5]: P0 1, P3 = [.2, 0, .7, .5] .15/.35 = .4286, P4 = [.25, 0, .75, .5] .125/.375 = .333.
#   T2 = [.42, .42, .58, .6] (area .0288): best anchor P2 = [.45, .45, .55, .55] with .01/.0288 = .347 (≥ 0.2:
#   forced positive); P1 = [.5, .5, 1, 1] .008/.2708 = .0295.
PRIORS = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5], [0.5, 0.5, 0.1, 0.1],
                       [0.45, 0.25, 0.5, 0.5], [0.5, 0.25, 0.5, 0.5]])
TRUTHS = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.42, 0.42, 0.58, 0.6]])


def test_paper_matching_positive_above_half_background_below_03_ignored_between() -> None:
    iou = box_iou(TRUTHS, point_form(PRIORS))
    torch.testing.assert_close(iou[0, [0, 3, 4]], torch.tensor([1.0, 0.15 / 0.35, 0.125 / 0.375]))
    torch.testing.assert_close(iou[1, 2], torch.tensor(0.01 / 0.0288))
    loc, conf, landm = match(TRUTHS, torch.tensor([1, -1]), torch.rand(2, 10), PRIORS)
    assert conf.tolist() == [1, 0, -1, -2, -2]  # P2: face 1's best anchor, kept although IoU .347 < .5
    torch.testing.assert_close(loc[0], torch.zeros(4), atol=1e-6, rtol=0)
    assert landm.shape == (5, 10)


def test_matching_thresholds_are_inclusive_for_faces_exclusive_for_background() -> None:
    # The port: conf[overlap < threshold] = 0, so IoU == threshold is a face; background strictly below.
    iou = box_iou(TRUTHS, point_form(PRIORS))
    _, conf, _ = match(TRUTHS, torch.tensor([1, -1]), torch.rand(2, 10), PRIORS,
                       pos_iou=iou[0, 3].item(), neg_iou=iou[0, 4].item())
    assert conf.tolist() == [1, 0, -1, 1, -2]


def test_official_matching_uses_one_threshold_of_035() -> None:
    _, conf, _ = match(TRUTHS, torch.tensor([1, -1]), torch.rand(2, 10), PRIORS,
                       OFFICIAL_MNET.pos_iou, OFFICIAL_MNET.neg_iou)
    assert conf.tolist() == [1, 0, -1, 1, 0]  # P3 (.43) positive, P4 (.33) background


def test_a_hard_face_does_not_force_its_best_anchor() -> None:
    # biubug6/Pytorch_Retinaface utils/box_utils.py match(): faces whose best IoU is < 0.2 are ignored there.
    hard = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.4, 0.4, 0.6, 0.7]])  # face 1 vs P2: .01/.06 = .167 < .2
    assert box_iou(hard, point_form(PRIORS))[1].max() < 0.2
    _, conf, _ = match(hard, torch.tensor([1, -1]), torch.rand(2, 10), PRIORS)
    assert conf.tolist() == [1, 0, 0, -2, -2]
    # Only hard faces: the whole image is background with zero targets.
    loc, conf, landm = match(hard[1:], torch.tensor([1]), torch.rand(1, 10), PRIORS)
    assert conf.tolist() == [0] * 5 and loc.abs().sum() == 0 and landm.abs().sum() == 0
    # At exactly the boundary the face counts (≥ 0.2, as the port's comparison).
    boundary = box_iou(hard[1:], point_form(PRIORS))[0].max().item()
    _, conf, _ = match(hard[1:], torch.tensor([1]), torch.rand(1, 10), PRIORS, hard_face_iou=boundary)
    assert conf[2] == 1


def test_hard_face_still_takes_over_its_best_anchor_like_the_port() -> None:
    # The port's loop reassigns every face's best anchor, hard or not: an anchor positive for face 0
    # that is hard face 1's best anchor carries face 1's label and box.
    priors = torch.tensor([[0.3, 0.3, 0.2, 0.2]])  # [.2, .2, .4, .4]
    truths = torch.tensor([[0.2, 0.2, 0.4, 0.45], [0.3, 0.3, 1.0, 1.0]])  # IoU .8 and .04/.49 → hard
    loc, conf, _ = match(truths, torch.tensor([1, -1]), torch.zeros(2, 10), priors, 0.35, 0.35)
    assert conf.tolist() == [-1]
    torch.testing.assert_close(loc, encode(truths[1:], priors))


def test_loss_structure_positives_landmarks_ignored_and_hard_negatives() -> None:
    # One image, 10 anchors: 0 a face with landmarks, 1 a face without, 2 ignored, the rest background.
    conf_t = torch.tensor([[1, -1, -2, 0, 0, 0, 0, 0, 0, 0]])
    loc_t, landm_t = torch.zeros(1, 10, 4), torch.zeros(1, 10, 10)
    loc = torch.zeros(1, 10, 4)
    loc[0, 1] = 0.5  # smooth-L1 0.125 per coordinate → 0.5; over 2 positives → 0.25
    loc[0, 5] = 9.0  # a background anchor: no box loss
    loc[0, 2] = 9.0  # ignored: no box loss
    landm = torch.zeros(1, 10, 10)
    landm[0, 0, 0] = 2.0  # smooth-L1 1.5 over the one face with landmarks
    landm[0, 1] = 7.0  # face without landmarks: no landmark loss
    conf = torch.zeros(1, 10, 2)
    conf[0, 3:, 1] = torch.arange(7.0)  # background anchors, increasingly face-like
    conf[0, 2, 1] = 50.0  # the ignored anchor would be the hardest negative
    conf[0, 0, 1] = 1.0
    ce = torch.nn.functional.cross_entropy(conf[0], torch.tensor([1, 1] + [0] * 8), reduction="none")
    loss = multibox_loss(loc, conf, landm, loc_t, conf_t, landm_t, neg_pos_ratio=2, box_weight=3.0,
                         landmark_weight=5.0)
    # OHEM: 2 positives × 2 = the 4 hardest background anchors (6..9); the ignored one never counts.
    expected = 3.0 * 0.25 + (ce[:2].sum() + ce[6:].sum()) / 2 + 5.0 * 1.5
    torch.testing.assert_close(loss, expected)
    # More negatives asked for than there are: every background anchor, still no ignored one.
    loss = multibox_loss(loc, conf, landm, loc_t, conf_t, landm_t, neg_pos_ratio=10, box_weight=3.0,
                         landmark_weight=5.0)
    torch.testing.assert_close(loss, 3.0 * 0.25 + (ce[:2].sum() + ce[3:].sum()) / 2 + 5.0 * 1.5)
    # The defaults are the paper's λ₁ = 0.25, λ₂ = 0.1 and 3 negatives per positive (anchors 4..9).
    expected = 0.25 * 0.25 + (ce[:2].sum() + ce[4:].sum()) / 2 + 0.1 * 1.5
    torch.testing.assert_close(multibox_loss(loc, conf, landm, loc_t, conf_t, landm_t), expected)


def test_loss_normalisers_per_image_mining_and_no_positive_images() -> None:
    # Image 0: one face without landmarks and nine background anchors; image 1: background only.
    conf_t = torch.tensor([[-1] + [0] * 9, [0] * 10])
    loc_t, landm_t = torch.zeros(2, 10, 4), torch.zeros(2, 10, 10)
    loc, landm = torch.zeros(2, 10, 4), torch.zeros(2, 10, 10)
    loc[0, 0] = 0.5  # smooth-L1 4 · 0.125 = 0.5 over one positive
    landm[0, 0] = 7.0  # no face with landmarks: the landmark term is 0 / max(0, 1)
    conf = torch.zeros(2, 10, 2)
    conf[0, 1:, 1] = torch.arange(9.0)
    conf[1, :, 1] = 5.0  # image 1 has no positive, so none of its anchors is mined
    ce0 = torch.nn.functional.cross_entropy(conf[0], torch.tensor([1] + [0] * 9), reduction="none")
    # 10 negatives per positive, at most A − 1 = 9: every background anchor of image 0.
    loss = multibox_loss(loc, conf, landm, loc_t, conf_t, landm_t, neg_pos_ratio=10, box_weight=1.0,
                         landmark_weight=1.0)
    torch.testing.assert_close(loss, 0.5 + ce0.sum())
    # A batch without faces: every term is 0, not 0 / 0.
    none = multibox_loss(loc, conf, landm, loc_t, torch.zeros(2, 10, dtype=torch.long), landm_t)
    assert none.item() == 0.0


def test_paper_defaults_and_official_presets() -> None:
    c = RetinaFaceConfig()
    # Eq. 1 / Sec. 4.2 of the paper.
    assert (c.box_weight, c.landmark_weight, c.pos_iou, c.neg_iou, c.neg_pos_ratio) == (0.25, 0.1, 0.5, 0.3, 3)
    assert c.image_size == 640 and c.hard_face_iou == 0.2
    # biubug6/Pytorch_Retinaface data/config.py cfg_mnet and train.py (commit b984b4b7).
    assert (c.backbone, c.min_sizes, c.steps, c.variances) == (
        "mobilenet0.25", ((16, 32), (64, 128), (256, 512)), (8, 16, 32), (0.1, 0.2))
    assert (c.width_mult, c.out_channels) == (0.25, 64)
    o = OFFICIAL_MNET
    assert (o.box_weight, o.landmark_weight, o.pos_iou, o.neg_iou, o.neg_pos_ratio) == (2.0, 1.0, 0.35, 0.35, 7)
    assert (o.backbone, o.out_channels, o.image_size) == ("mobilenet0.25", 64, 640)
    r = OFFICIAL_RESNET50
    assert (r.backbone, r.out_channels, r.image_size, r.box_weight, r.pos_iou) == ("resnet50", 256, 840, 2.0, 0.35)
    with pytest.raises(ValueError, match="unknown backbone"):
        RetinaFace(RetinaFaceConfig(backbone="vgg"))


def test_official_parameter_counts() -> None:
    # Counted by instantiating biubug6/Pytorch_Retinaface models/retinaface.py (commit b984b4b7) with
    # cfg_mnet and cfg_re50 (the backbone cut after stage3 / layer4 by IntermediateLayerGetter).
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    with torch.device("meta"):
        mnet, re50 = RetinaFace(OFFICIAL_MNET), RetinaFace(OFFICIAL_RESNET50)
    assert (n(mnet), n(mnet.backbone), n(mnet.fpn), n(mnet.ssh[0])) == (426_608, 213_072, 103_040, 34_752)
    assert n(mnet.box_head) + n(mnet.cls_head) + n(mnet.landmark_head) == 6_240
    assert (n(re50), n(re50.backbone), n(re50.fpn), n(re50.ssh[0])) == (27_293_600, 23_508_032, 2_099_712, 553_728)
    assert n(re50.box_head) + n(re50.cls_head) + n(re50.landmark_head) == 24_672


def test_resnet50_levels_are_strides_8_16_32() -> None:
    feats = ResNet50().eval()(torch.rand(1, 3, 64, 96))
    assert [tuple(f.shape[1:]) for f in feats] == [(512, 8, 12), (1024, 4, 6), (2048, 2, 3)]


def _slopes(module: nn.Module) -> list[float]:
    return [m.negative_slope for m in module.modules() if isinstance(m, nn.LeakyReLU)]


def test_leaky_relu_slopes_follow_the_port() -> None:
    # models/net.py: MobileNet conv_bn / conv_dw use 0.1; FPN and SSH use 0.1 when out_channel <= 64, else 0.
    assert set(_slopes(MobileNetV1(0.25))) == {0.1} and len(_slopes(MobileNetV1(0.25))) == 27
    assert _slopes(SSH(64)) == [0.1, 0.1] and _slopes(SSH(128)) == [0.0, 0.0]
    assert _slopes(FPN((16, 32, 64), 64)) == [0.1] * 5 and _slopes(FPN((16, 32, 64), 128)) == [0.0] * 5
    # The 3×3 branch and the last conv of the 5×5 and 7×7 branches have no activation before the concat.
    ssh = SSH(64)
    assert [len(b) for b in (ssh.conv3, ssh.conv5_1, ssh.conv5_2, ssh.conv7_2, ssh.conv7_3)] == [2, 3, 2, 3, 2]


def test_ssh_wiring_and_final_relu() -> None:
    ssh = SSH(16).eval()
    x = torch.randn(1, 16, 5, 7)
    c5 = ssh.conv5_1(x)
    expected = torch.cat([ssh.conv3(x), ssh.conv5_2(c5), ssh.conv7_3(ssh.conv7_2(c5))], dim=1).clamp_min(0)
    torch.testing.assert_close(ssh(x), expected)
    assert (ssh(x) == 0).any()  # the ReLU acts


def test_fpn_upsamples_with_nearest_neighbours_from_coarse_to_fine() -> None:
    fpn = FPN((4, 8, 16), 8).eval()
    feats = [torch.randn(1, 4, 8, 12), torch.randn(1, 8, 4, 6), torch.randn(1, 16, 2, 3)]
    up = lambda t: t.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)  # noqa: E731
    o3 = fpn.lateral[2](feats[2])
    o2 = fpn.merge[1](fpn.lateral[1](feats[1]) + up(o3))
    o1 = fpn.merge[0](fpn.lateral[0](feats[0]) + up(o2))
    for got, want in zip(fpn(feats), (o1, o2, o3), strict=True):
        torch.testing.assert_close(got, want)


class _OneHot(nn.Module):
    """Stands in for an SSH module: zeros except channel 0 at one cell."""

    def __init__(self, row: int, col: int) -> None:
        super().__init__()
        self.row, self.col = row, col

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        z = torch.zeros_like(f)
        z[:, 0, self.row, self.col] = 1.0
        return z


def test_head_channels_decode_to_their_anchor_on_a_non_square_input() -> None:
    # 64 × 96 input: maps (8, 12), (4, 6), (2, 3). On level l a hot cell (r, c) through head channel
    # (anchor 1, value v) must land at anchor offset_l + (r · w_l + c) · 2 + 1, which ``prior_boxes``
    # centres at ((c + ½) step / W, (r + ½) step / H) with the level's second size.
    model = RetinaFace(TINY).eval()
    cells = [(5, 9), (2, 4), (1, 2)]
    model.ssh = nn.ModuleList(_OneHot(r, c) for r, c in cells)
    for heads, size, v in ((model.box_head, 4, 2), (model.cls_head, 2, 1), (model.landmark_head, 10, 7)):
        with torch.no_grad():
            for conv in heads:
                conv.weight.zero_()
                conv.bias.zero_()
                conv.weight[size + v, 0] = 1.0  # anchor 1 (channels size..2·size−1), value v
    loc, conf, landm = model(torch.rand(1, 3, 64, 96))
    priors = prior_boxes((64, 96), TINY.min_sizes, TINY.steps)
    assert loc.shape[1] == priors.shape[0] == 2 * (96 + 24 + 6)
    offset = 0
    for (r, c), (h, w), step, sizes in zip(cells, [(8, 12), (4, 6), (2, 3)], TINY.steps, TINY.min_sizes,
                                           strict=True):
        a = offset + (r * w + c) * 2 + 1
        for out, v in ((loc, 2), (conf, 1), (landm, 7)):
            assert out[0, a, v] == 1.0
        torch.testing.assert_close(priors[a], torch.tensor([(c + 0.5) * step / 96, (r + 0.5) * step / 64,
                                                            sizes[1] / 96, sizes[1] / 64]))
        offset += h * w * 2
    assert loc.abs().sum() == 3 and conf.abs().sum() == 3 and landm.abs().sum() == 3


def test_network_levels_match_the_anchors() -> None:
    model = RetinaFace(TINY).eval()
    feats = model.backbone(torch.rand(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [8, 4, 2] and isinstance(model.backbone, MobileNetV1)
    pyramid = model.fpn(feats)
    assert isinstance(model.fpn, FPN) and all(p.shape[1] == TINY.out_channels for p in pyramid)
    assert model.ssh[0](pyramid[0]).shape == pyramid[0].shape and isinstance(model.ssh[0], SSH)
    loc, conf, landm = model(torch.rand(1, 3, 64, 64))
    assert loc.shape[1] == prior_boxes((64, 64), TINY.min_sizes, TINY.steps).shape[0] == 168
