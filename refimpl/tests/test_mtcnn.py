"""MTCNN (arXiv:1604.02878): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.mtcnn import (
    LANDMARK,
    NEGATIVE,
    PART,
    POSITIVE,
    MTCNNConfig,
    ONet,
    PNet,
    RNet,
    box_overlap,
    calibrate_boxes,
    crop_and_resize,
    detect_faces,
    generate_boxes,
    mtcnn_loss,
    nms,
    pyramid_scales,
    square_boxes,
)


def test_parameter_counts_match_the_authors_models() -> None:
    # Sums over facenet-pytorch's PNet / RNet / ONet layer definitions (converted official weights).
    counts = [sum(p.numel() for p in net.parameters()) for net in (PNet(), RNet(), ONet())]
    assert counts == [6_632, 100_178, 389_040]


def test_pnet_maps_a_12x12_window_to_one_cell_with_stride_2() -> None:
    pnet = PNet()
    cls, box = pnet(torch.rand(1, 3, 12, 12))
    assert cls.shape == (1, 2, 1, 1) and box.shape == (1, 4, 1, 1)
    # Each extra 2 input pixels add one output cell: stride 2.
    for size, cells in ((14, 2), (16, 3), (22, 6)):
        assert pnet(torch.rand(1, 3, size, size))[0].shape[-1] == cells
    # Fully convolutional: cell (0, 1) of a 14×14 input sees exactly the window shifted by 2 pixels.
    x = torch.rand(1, 3, 14, 14)
    torch.testing.assert_close(pnet(x)[0][..., 0, 1], pnet(x[..., :12, 2:14])[0][..., 0, 0], atol=1e-5, rtol=1e-5)


def test_rnet_and_onet_take_24_and_48_crops() -> None:
    assert [t.shape for t in RNet()(torch.rand(2, 3, 24, 24))] == [(2, 2), (2, 4)]
    assert [t.shape for t in ONet()(torch.rand(2, 3, 48, 48))] == [(2, 2), (2, 4), (2, 10)]


def test_pyramid_scales_follow_the_formula() -> None:
    # m = 12/20 = 0.6; 100 px → 60, 42.5, 30.2, 21.4, 15.2, 10.8 (< 12: stop) → 5 scales.
    scales = pyramid_scales(100, 120, min_face_size=20, factor=0.709)
    assert len(scales) == 5
    torch.testing.assert_close(torch.tensor(scales), 0.6 * 0.709 ** torch.arange(5.0))
    assert all(100 * s >= 12 for s in scales) and 100 * 0.6 * 0.709**5 < 12


def test_generated_windows_are_12x12_cells_mapped_back_by_the_scale(device: torch.device) -> None:
    prob = torch.tensor([[0.1, 0.9], [0.95, 0.2]], device=device)
    offsets = torch.arange(16.0, device=device).view(4, 2, 2)
    boxes = generate_boxes(prob, offsets, scale=0.5, threshold=0.6)
    # cell (row 0, col 1): x = 2·1 + 1 = 3 .. 2·1 + 12 = 14, y = 1 .. 12, divided by 0.5
    expected = torch.tensor([[6.0, 2.0, 28.0, 24.0, 0.9, 1.0, 5.0, 9.0, 13.0],
                             [2.0, 6.0, 24.0, 28.0, 0.95, 2.0, 6.0, 10.0, 14.0]], device=device)
    torch.testing.assert_close(boxes, expected)


def test_nms_keeps_the_best_and_suppresses_overlaps_above_the_threshold() -> None:
    boxes = torch.tensor([[0.0, 0, 9, 9], [1, 1, 10, 10], [20, 20, 29, 29], [0, 0, 4, 9]])
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6])
    # IoU(0, 1) = 81/119 ≈ 0.68; box 3 is half of box 0 (IoU 0.5, "Min" overlap 1).
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes, scores, 0.7).tolist() == [1, 0, 2, 3]
    assert nms(boxes, scores, 0.7, method="min").tolist() == [1, 2]  # box 3 lies inside box 1 (min-overlap 45/50)
    torch.testing.assert_close(box_overlap(boxes[0], boxes[3:], "union"), torch.tensor([0.5]))


def test_calibration_by_hand_in_both_pixel_conventions() -> None:
    boxes = torch.tensor([[10.0, 20.0, 29.0, 59.0]])  # x2 − x1 = 19, y2 − y1 = 39
    offsets = torch.tensor([[0.1, -0.05, 0.0, 0.5]])
    # bbreg.m (R-Net, O-Net): w = 20, h = 40 → (10 + 2, 20 − 2, 29, 59 + 20)
    torch.testing.assert_close(calibrate_boxes(boxes, offsets), torch.tensor([[12.0, 18.0, 29.0, 79.0]]))
    # detect_face.m after P-Net: w = 19, h = 39 → (10 + 1.9, 20 − 1.95, 29, 59 + 19.5)
    torch.testing.assert_close(calibrate_boxes(boxes, offsets, inclusive=False),
                               torch.tensor([[11.9, 18.05, 29.0, 78.5]]))


def test_squaring_uses_the_longer_side_around_the_centre() -> None:
    # rerec.m: w = 19, h = 39 → l = 39; x1 = 10 + 9.5 − 19.5 = 0, y1 = 20 + 19.5 − 19.5 = 20
    sq = square_boxes(torch.tensor([[10.0, 20.0, 29.0, 59.0], [0.0, 0.0, 30.0, 10.0]]))
    torch.testing.assert_close(sq, torch.tensor([[0.0, 20.0, 39.0, 59.0], [0.0, -10.0, 30.0, 20.0]]))


def test_crop_and_resize_reads_the_box_pixels() -> None:
    image = torch.arange(64.0).view(1, 8, 8).expand(3, 8, 8)
    crop = crop_and_resize(image, torch.tensor([[2.0, 3.0, 5.0, 6.0]]), 4)  # a 4×4 box at its own size
    torch.testing.assert_close(crop[0, 0], image[0, 3:7, 2:6])


def test_loss_uses_each_sample_type_for_its_tasks() -> None:
    types = torch.tensor([POSITIVE, NEGATIVE, PART, LANDMARK])
    logits = torch.zeros(4, 2)
    box_gt = torch.zeros(4, 4)
    box_pred = torch.tensor([[1.0, 0, 0, 0], [5.0, 5, 5, 5], [0, 2.0, 0, 0], [9.0, 9, 9, 9]])
    lm_pred, lm_gt = torch.zeros(4, 10), torch.zeros(4, 10)
    lm_pred[3, 0] = 3.0
    lm_pred[0, 0] = 100.0  # not a landmark sample: ignored
    # det: CE = ln 2 on pos/neg; box: mean(1, 4) over pos/part = 2.5; landmark: 9 on the landmark face
    loss = mtcnn_loss(logits, box_pred, types, box_gt, lm_pred, lm_gt, (1.0, 0.5, 1.0), ohem_ratio=1.0)
    torch.testing.assert_close(loss, torch.tensor(0.6931472 + 0.5 * 2.5 + 9.0))


def test_online_hard_mining_keeps_the_top_70_percent() -> None:
    types = torch.full((10,), NEGATIVE)
    logits = torch.zeros(10, 2)
    logits[:, 1] = torch.arange(10.0)  # negatives with growing face logits: growing losses
    ce = torch.nn.functional.cross_entropy(logits, torch.zeros(10, dtype=torch.long), reduction="none")
    loss = mtcnn_loss(logits, torch.zeros(10, 4), types, torch.zeros(10, 4), weights=(1.0, 0.5, 0.5))
    torch.testing.assert_close(loss, ce[3:].mean())  # the 7 hardest
    assert MTCNNConfig().ohem_ratio == 0.7


def test_cascade_runs_end_to_end_and_returns_calibrated_faces() -> None:
    nets = PNet(), RNet(), ONet()
    with torch.no_grad():
        for net in nets:
            net.cls.bias.copy_(torch.tensor([-3.0, 3.0]))
    boxes, landmarks = detect_faces(torch.rand(3, 48, 48), *nets, MTCNNConfig(min_face_size=24))
    assert boxes.shape[1] == 5 and landmarks.shape == (boxes.shape[0], 10) and boxes.shape[0] >= 1
    assert (boxes[:, 4] > 0.7).all()
    with torch.no_grad():
        nets[0].cls.bias.copy_(torch.tensor([5.0, -5.0]))  # P-Net rejects everything
    assert detect_faces(torch.rand(3, 48, 48), *nets)[0].shape == (0, 5)


class _StubPNet(torch.nn.Module):
    """Fires at cell (0, 0) of the unscaled image only, with the given offsets."""

    def __init__(self, offsets: tuple[float, float, float, float]) -> None:
        super().__init__()
        self.offsets = torch.tensor(offsets)
        self.sizes: list[tuple[int, int]] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, w = x.shape[-2:]
        self.sizes.append((h, w))
        hh, ww = (h - 12) // 2 + 1, (w - 12) // 2 + 1
        logits = torch.zeros(1, 2, hh, ww)
        logits[:, 0] = 5.0  # background everywhere …
        if (h, w) == (24, 30):
            logits[0, :, 0, 0] = torch.tensor([-5.0, 5.0])  # … except one cell at scale 1
        return logits, self.offsets.view(1, 4, 1, 1).expand(1, 4, hh, ww)


class _StubStage(torch.nn.Module):
    """R-Net / O-Net stand-in: face, fixed offsets (and landmarks); records its crops."""

    def __init__(self, offsets: tuple[float, ...], marks: torch.Tensor | None = None) -> None:
        super().__init__()
        self.offsets, self.marks, self.crops = torch.tensor(offsets), marks, []

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        self.crops.append(crops)
        n = crops.shape[0]
        logits = torch.tensor([[0.0, 2.0]]).expand(n, 2)
        out = (logits, self.offsets.expand(n, 4))
        return out if self.marks is None else (*out, self.marks.expand(n, 10))


def test_cascade_by_hand_with_stub_stages() -> None:
    # 24 × 30 image, min face 12 → scales 1, 0.709, 0.503 (24 · 0.709³ < 12).
    pnet = _StubPNet((0.5, 0.5, 0.5, 0.5))
    rnet = _StubStage((0.0, 0.0, 0.0, 0.0))
    marks = torch.tensor([0.25] * 5 + [0.75] * 5)
    onet = _StubStage((0.1, 0.0, 0.0, -0.1), marks)
    boxes, landmarks = detect_faces(torch.rand(3, 24, 30), pnet, rnet, onet, MTCNNConfig(min_face_size=12))
    assert pnet.sizes == [(24, 30), (18, 22), (13, 16)]  # ceil(24 · s), ceil(30 · s)
    # P-Net window (1, 1, 12, 12); calibrated with w = x2 − x1 = 11: (6.5, 6.5, 17.5, 17.5); square; floor.
    assert rnet.crops[0].shape == (1, 3, 24, 24) and onet.crops[0].shape == (1, 3, 48, 48)
    # O-Net: w = h = 17 − 6 + 1 = 12 → x1 = 6 + 1.2, y2 = 17 − 1.2; landmarks x1 + w · t − 1.
    torch.testing.assert_close(boxes[:, :4], torch.tensor([[7.2, 6.0, 17.0, 15.8]]))
    torch.testing.assert_close(boxes[:, 4], torch.tensor([2.0]).sigmoid())
    torch.testing.assert_close(landmarks, torch.tensor([[8.0] * 5 + [14.0] * 5]))


def test_default_config_is_the_authors_demo() -> None:
    # kpzhang93/MTCNN_face_detection_alignment code/codes/MTCNNv2/demo.m, detect_face.m (commit 4617f55b).
    c = MTCNNConfig()
    assert (c.min_face_size, c.factor, c.thresholds) == (20, 0.709, (0.6, 0.7, 0.7))
    assert (c.nms_scale, c.nms_thresholds) == (0.5, (0.7, 0.7, 0.7))
    # Sec. II-C: α_det, α_box, α_landmark and the 70 % hard-sample ratio.
    assert (c.weights_pr, c.weights_o, c.ohem_ratio) == ((1.0, 0.5, 0.5), (1.0, 0.5, 1.0), 0.7)


def test_prelu_after_every_hidden_layer_as_in_the_prototxt() -> None:
    # det1/det2/det3.prototxt: PReLU1..3 (P-Net), PReLU1..4 (R-Net), PReLU1..5 (O-Net); no ReLU.
    for net, n in ((PNet(), 3), (RNet(), 4), (ONet(), 5)):
        prelus = [m for m in net.modules() if isinstance(m, torch.nn.PReLU)]
        assert len(prelus) == n and not any(isinstance(m, torch.nn.ReLU) for m in net.modules())
        assert all(p.weight.numel() > 1 and torch.allclose(p.weight, torch.full_like(p.weight, 0.25)) for p in prelus)


def test_loss_averages_landmarks_and_handles_missing_sample_types() -> None:
    types = torch.tensor([LANDMARK, LANDMARK])
    lm_pred, lm_gt = torch.zeros(2, 10), torch.zeros(2, 10)
    lm_pred[0, 0], lm_pred[1, 3] = 3.0, 1.0  # squared errors 9 and 1: mean 5
    zeros = torch.zeros(2, 4)
    # No face/non-face and no box samples: only the landmark term, 1.0 · 5.
    loss = mtcnn_loss(torch.zeros(2, 2), zeros, types, zeros, lm_pred, lm_gt, (1.0, 0.5, 1.0))
    torch.testing.assert_close(loss, torch.tensor(5.0))
    # Part faces only: the box term alone (0.5 · mean(4, 0)); no landmark samples: no landmark term.
    part = torch.tensor([PART, PART])
    box_pred = torch.tensor([[2.0, 0, 0, 0], [0, 0, 0, 0]])
    torch.testing.assert_close(mtcnn_loss(torch.zeros(2, 2), box_pred, part, zeros, lm_pred, lm_gt),
                               torch.tensor(0.5 * 2.0))


def test_hard_mining_keeps_at_least_one_and_rounds_down() -> None:
    logits = torch.tensor([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0]])  # three negatives, losses growing with the logit
    ce = torch.nn.functional.cross_entropy(logits, torch.zeros(3, dtype=torch.long), reduction="none")
    types = torch.full((3,), NEGATIVE)
    zeros = torch.zeros(3, 4)
    # int(3 · 0.7) = 2: the two hardest (samples 1 and 2).
    torch.testing.assert_close(mtcnn_loss(logits, zeros, types, zeros), (ce[1] + ce[2]) / 2)
    # int(3 · 0.3) = 0 → at least one: the hardest.
    torch.testing.assert_close(mtcnn_loss(logits, zeros, types, zeros, ohem_ratio=0.3), ce[1])


def test_thresholds_are_inclusive_where_the_authors_code_is() -> None:
    # generateBoundingBox.m: map >= t; the pyramid keeps a scale whose shorter side is exactly 12.
    prob = torch.tensor([[0.6, 0.59]])
    assert generate_boxes(prob, torch.zeros(4, 1, 2), 1.0, 0.6).shape == (1, 9)
    assert pyramid_scales(20, 30, min_face_size=20) == [0.6]  # 20 · 0.6 = 12
