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


def test_calibration_and_squaring() -> None:
    boxes = torch.tensor([[10.0, 20.0, 29.0, 59.0]])  # w = 20, h = 40 (+1 convention)
    out = calibrate_boxes(boxes, torch.tensor([[0.1, -0.05, 0.0, 0.5]]))
    torch.testing.assert_close(out, torch.tensor([[12.0, 18.0, 29.0, 79.0]]))
    sq = square_boxes(boxes)
    torch.testing.assert_close(sq[:, 2] - sq[:, 0], sq[:, 3] - sq[:, 1])
    torch.testing.assert_close((sq[:, 0] + sq[:, 2]) / 2, (boxes[:, 0] + boxes[:, 2]) / 2)


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
