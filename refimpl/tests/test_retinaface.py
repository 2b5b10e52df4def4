"""RetinaFace (arXiv:1905.00641): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.retinaface import (
    FPN,
    SSH,
    TINY,
    MobileNetV1,
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


def test_matching_marks_positives_by_iou_and_keeps_every_face() -> None:
    priors = torch.tensor([[0.25, 0.25, 0.5, 0.5], [0.75, 0.75, 0.5, 0.5], [0.5, 0.5, 0.1, 0.1]])
    truths = torch.tensor([[0.0, 0.0, 0.5, 0.5], [0.4, 0.4, 0.6, 0.7]])
    loc, conf, landm = match(truths, torch.tensor([1, -1]), torch.rand(2, 10), priors)
    # prior 0 = face 0 exactly (IoU 1); prior 2 is face 1's best anchor with IoU 0.01/0.06 < 0.35, kept
    # positive anyway; prior 1 overlaps face 1 by IoU 0.02/0.29 only → background.
    assert conf.tolist() == [1, 0, -1]
    iou = box_iou(truths, point_form(priors))
    assert iou[1].max() < 0.35 and iou[1].argmax() == 2
    torch.testing.assert_close(loc[0], torch.zeros(4), atol=1e-6, rtol=0)
    torch.testing.assert_close(iou[0, 0], torch.tensor(1.0))
    assert landm.shape == (3, 10)


def test_loss_structure_positives_landmarks_and_hard_negatives() -> None:
    # One image, 10 anchors: anchor 0 a face with landmarks, anchor 1 a face without, the rest background.
    conf_t = torch.tensor([[1, -1, 0, 0, 0, 0, 0, 0, 0, 0]])
    loc_t, landm_t = torch.zeros(1, 10, 4), torch.zeros(1, 10, 10)
    loc = torch.zeros(1, 10, 4)
    loc[0, 1] = 0.5  # smooth-L1 0.125 per coordinate → 0.5; over 2 positives → 0.25
    loc[0, 5] = 9.0  # a background anchor: no box loss
    landm = torch.zeros(1, 10, 10)
    landm[0, 1] = 7.0  # face without landmarks: no landmark loss
    conf = torch.zeros(1, 10, 2)
    conf[0, 2:, 1] = torch.arange(8.0)  # background anchors, increasingly face-like
    ce = torch.nn.functional.cross_entropy(conf[0], torch.tensor([1, 1] + [0] * 8), reduction="none")
    loss = multibox_loss(loc, conf, landm, loc_t, conf_t, landm_t, neg_pos_ratio=2, loc_weight=2.0)
    # OHEM: 2 positives × 2 = the 4 hardest negatives (anchors 6..9).
    expected = 2.0 * 0.25 + (ce[:2].sum() + ce[6:].sum()) / 2
    torch.testing.assert_close(loss, expected)


def test_standard_parameter_count() -> None:
    # Sum over biubug6/Pytorch_Retinaface's mobilenet0.25 model (see the docstring).
    with torch.device("meta"):
        model = RetinaFace(RetinaFaceConfig())
    assert sum(p.numel() for p in model.parameters()) == 426_608
    assert sum(p.numel() for p in model.backbone.parameters()) == 213_072


def test_network_levels_and_head_order_match_the_anchors() -> None:
    model = RetinaFace(TINY).eval()
    feats = model.backbone(torch.rand(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [8, 4, 2] and isinstance(model.backbone, MobileNetV1)
    pyramid = model.fpn(feats)
    assert isinstance(model.fpn, FPN) and all(p.shape[1] == TINY.out_channels for p in pyramid)
    assert model.ssh[0](pyramid[0]).shape == pyramid[0].shape and isinstance(model.ssh[0], SSH)
    loc, conf, landm = model(torch.rand(1, 3, 64, 64))
    assert loc.shape[1] == prior_boxes((64, 64), TINY.min_sizes, TINY.steps).shape[0] == 168
