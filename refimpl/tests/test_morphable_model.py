"""The linear 3D Morphable Model (Blanz & Vetter 1999) as Deng et al. and 3DDFA use it."""

from __future__ import annotations

import math

import pytest
import torch

from refimpl.morphable_model import (
    BFM_3DDFA,
    BFM_FRONT,
    TINY,
    MorphableModel,
    MorphableModelConfig,
    euler_rotation,
    landmark_loss,
    perspective_projection,
    photometric_loss,
    rigid_transform,
    sh_basis,
    sh_shading,
    synthetic_model,
    vertex_normals,
    weak_perspective,
)

D = torch.float64


def test_config_defaults_are_deng_bfm_front() -> None:
    # Deng et al. 2019 Sec. 3.1 (80 / 64 / 80, 9 SH bands) and BFM_model_front.mat (35,709 vertices);
    # the ambient 0.8 is models/bfm.py (sicxu/Deep3DFaceRecon_pytorch @ 9167c71).
    assert MorphableModelConfig() == BFM_FRONT
    assert BFM_FRONT.n_vertices == 35709
    assert MorphableModelConfig() == MorphableModelConfig(n_vertices=35709, n_id=80, n_exp=64, n_tex=80, n_landmarks=68,
                                             sh_bands=9, ambient_init=0.8)
    # face3d / 3DDFA: BFM 2009 with 199 shape, 29 expression (FaceWarehouse) components, 53,215 vertices.
    assert (BFM_3DDFA.n_vertices, BFM_3DDFA.n_id, BFM_3DDFA.n_exp, BFM_3DDFA.n_tex) == (53215, 199, 29, 199)


def _hand_model() -> MorphableModel:
    # Two vertices, one identity and one expression direction, written out by hand.
    mean = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=D)
    id_basis = torch.tensor([[1.0], [0.0], [0.0], [0.0], [2.0], [0.0]], dtype=D)  # moves x0 and y1
    exp_basis = torch.tensor([[0.0], [0.0], [0.0], [0.0], [0.0], [3.0]], dtype=D)  # moves z1
    tex_basis = torch.tensor([[0.1], [0.2], [0.3], [0.0], [0.0], [0.0]], dtype=D)
    return MorphableModel(mean, id_basis, exp_basis, torch.full((2, 3), 0.5, dtype=D), tex_basis,
                          torch.tensor([[0, 1, 1]]), torch.tensor([1]))


def test_known_coefficients_reproduce_the_expected_vertices() -> None:
    model = _hand_model()
    verts = model.shape(torch.tensor([[0.5]], dtype=D), torch.tensor([[-1.0]], dtype=D))
    # The bases are interleaved (x0, y0, z0, x1, y1, z1): α = 0.5 moves x0 by 0.5 and y1 by 1; β moves z1 by −3.
    torch.testing.assert_close(verts, torch.tensor([[[0.5, 0.0, 1.0], [1.0, 1.0, -3.0]]], dtype=D))
    tex = model.texture(torch.tensor([[2.0]], dtype=D))
    torch.testing.assert_close(tex, torch.tensor([[[0.7, 0.9, 1.1], [0.5, 0.5, 0.5]]], dtype=D))


def test_basis_rows_must_match_three_times_the_vertices() -> None:
    with pytest.raises(ValueError, match="3·2"):
        MorphableModel(torch.zeros(2, 3), torch.zeros(5, 1), torch.zeros(6, 1), torch.zeros(2, 3),
                       torch.zeros(6, 1), torch.zeros(1, 3), torch.zeros(1))


def test_synthetic_model_is_orthonormal_and_faces_the_camera() -> None:
    model = synthetic_model(TINY, torch.Generator().manual_seed(0))
    gram = model.id_basis.T @ model.id_basis
    torch.testing.assert_close(gram, 0.09 * torch.eye(TINY.n_id), atol=1e-5, rtol=0)
    normals = vertex_normals(model.mean_shape[None], model.triangles)
    assert (normals[..., 2] > 0).all()  # counter-clockwise triangles seen from +z
    assert model.landmarks.tolist() == [0, 6, 12, 18, 24]


def test_euler_rotation_matches_hand_matrices() -> None:
    # Yaw of 90°: x goes to −z, z goes to x (a right-handed rotation about y).
    r = euler_rotation(torch.tensor([[0.0, math.pi / 2, 0.0]], dtype=D))[0]
    torch.testing.assert_close(r @ torch.tensor([1.0, 0.0, 0.0], dtype=D), torch.tensor([0.0, 0.0, -1.0], dtype=D))
    # Order R_z R_y R_x: pitch 90° then roll 90° sends y to z and then z stays z; x goes to y.
    r = euler_rotation(torch.tensor([[math.pi / 2, 0.0, math.pi / 2]], dtype=D))[0]
    torch.testing.assert_close(r @ torch.tensor([0.0, 1.0, 0.0], dtype=D), torch.tensor([0.0, 0.0, 1.0], dtype=D))
    torch.testing.assert_close(r @ torch.tensor([1.0, 0.0, 0.0], dtype=D), torch.tensor([0.0, 1.0, 0.0], dtype=D))
    torch.testing.assert_close(r @ r.T, torch.eye(3, dtype=D))


def test_weak_perspective_of_a_known_point_by_hand() -> None:
    # v = (1, 2, 3), roll 90° (x->y, y->-x): R v = (-2, 1, 3); f = 2, t = (10, 20): (6, 22).
    v = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=D)
    rot = euler_rotation(torch.tensor([[0.0, 0.0, math.pi / 2]], dtype=D))
    out = weak_perspective(v, torch.tensor([2.0], dtype=D), rot, torch.tensor([[10.0, 20.0]], dtype=D))
    torch.testing.assert_close(out, torch.tensor([[[6.0, 22.0]]], dtype=D))


def test_perspective_projection_of_a_known_point_by_hand() -> None:
    # Deng's camera: f = 1015, c = 112, d = 10. Point (0.5, -0.2, 1): depth 9 -> (112 + 1015·0.5/9, 112 − 1015·0.2/9).
    v = torch.tensor([[[0.5, -0.2, 1.0]]], dtype=D)
    out = perspective_projection(v, focal=1015.0, center=112.0, camera_distance=10.0)
    torch.testing.assert_close(out, torch.tensor([[[112 + 1015 * 0.5 / 9, 112 - 1015 * 0.2 / 9]]], dtype=D))


def test_rigid_transform_rotates_then_translates() -> None:
    v = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=D)
    rot = euler_rotation(torch.tensor([[0.0, 0.0, math.pi / 2]], dtype=D))
    out = rigid_transform(v, rot, torch.tensor([[0.0, 0.0, 5.0]], dtype=D))
    torch.testing.assert_close(out, torch.tensor([[[0.0, 1.0, 5.0]]], dtype=D))


def test_vertex_normals_of_a_tilted_pair_of_faces() -> None:
    # Two right triangles sharing vertex 0: one in the z = 0 plane (normal +z, area 1/2), one in x = 0
    # (normal +x, area 3/2). Unit face normals are summed, so the larger face does not dominate vertex 0.
    verts = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 3.0]]], dtype=D)
    tris = torch.tensor([[0, 1, 2], [0, 2, 3]])
    n = vertex_normals(verts, tris)
    torch.testing.assert_close(n[0, 1], torch.tensor([0.0, 0.0, 1.0], dtype=D))
    torch.testing.assert_close(n[0, 3], torch.tensor([1.0, 0.0, 0.0], dtype=D))
    torch.testing.assert_close(n[0, 0], torch.tensor([1.0, 0.0, 1.0], dtype=D) / math.sqrt(2))


def test_sh_basis_constants_by_hand() -> None:
    # n = +z: Y0 = π/√(4π) = √π/2, Y2 = (2π/√3)(√3/√(4π)) = √π, Y6 = ½(2π/√8)(3√5/√(12π))/√3 · 2; the rest 0.
    y = sh_basis(torch.tensor([0.0, 0.0, 1.0], dtype=D))
    y6 = (2 * math.pi / math.sqrt(8)) * (3 * math.sqrt(5) / math.sqrt(12 * math.pi)) / math.sqrt(3)
    expected = torch.tensor([math.sqrt(math.pi) / 2, 0, math.sqrt(math.pi), 0, 0, 0, y6, 0, 0], dtype=D)
    torch.testing.assert_close(y, expected)
    # n = (1, 1, 0)/√2 exercises the signed and quadratic bands (Y3 = −√π x, Y4 ∝ xy, Y8 ∝ x² − y²).
    y = sh_basis(torch.tensor([1.0, 1.0, 0.0], dtype=D) / math.sqrt(2))
    k2 = (2 * math.pi / math.sqrt(8)) * (3 * math.sqrt(5) / math.sqrt(12 * math.pi))
    torch.testing.assert_close(y[1], torch.tensor(-math.sqrt(math.pi / 2), dtype=D))
    torch.testing.assert_close(y[3], torch.tensor(-math.sqrt(math.pi / 2), dtype=D))
    torch.testing.assert_close(y[4], torch.tensor(k2 / 2, dtype=D))
    torch.testing.assert_close(y[6], torch.tensor(-0.5 * k2 / math.sqrt(3), dtype=D))
    torch.testing.assert_close(y[8], torch.tensor(0.0, dtype=D), atol=1e-12, rtol=0)


def test_sh_shading_is_albedo_times_per_channel_irradiance() -> None:
    albedo = torch.tensor([[[0.2, 0.4, 0.6]]], dtype=D)
    normal = torch.tensor([[[0.0, 0.0, 1.0]]], dtype=D)
    gamma = torch.zeros(1, 27, dtype=D)
    gamma[0, 9 + 2] = 0.5  # green channel, band 2 (z): irradiance √π/2 · 0.8 + √π · 0.5
    gamma[0, 0] = 0.3  # red channel, band 0: added to the ambient initialisation, √π/2 · (0.8 + 0.3)
    out = sh_shading(albedo, normal, gamma)
    ambient = math.sqrt(math.pi) / 2 * 0.8
    torch.testing.assert_close(out, torch.tensor([[[0.2 * math.sqrt(math.pi) / 2 * 1.1,
                                                    0.4 * (ambient + math.sqrt(math.pi) * 0.5),
                                                    0.6 * ambient]]], dtype=D))
    assert gamma[0, 0] == 0.3  # the ambient initialisation does not write into the caller's tensor


def test_landmark_loss_is_zero_at_the_truth_and_weighted_mean_of_squares() -> None:
    gt = torch.rand(2, 4, 2, dtype=D)
    assert landmark_loss(gt, gt) == 0
    pred = gt.clone()
    pred[0, 1] += torch.tensor([3.0, 4.0], dtype=D)  # squared distance 25
    pred[1, 3] += torch.tensor([1.0, 0.0], dtype=D)  # squared distance 1
    torch.testing.assert_close(landmark_loss(pred, gt), torch.tensor(26 / 8, dtype=D))
    w = torch.tensor([1.0, 20.0, 1.0, 1.0], dtype=D)
    torch.testing.assert_close(landmark_loss(pred, gt, w), torch.tensor((25 * 20 + 1) / 8, dtype=D))
    assert landmark_loss(gt + 0.2, gt) < landmark_loss(gt + 0.4, gt)


def test_photometric_loss_is_the_masked_mean_of_unsquared_pixel_norms() -> None:
    image = torch.zeros(1, 3, 2, 2, dtype=D)
    rendered = image.clone()
    rendered[0, :2, 0, 0] = torch.tensor([3.0, 4.0], dtype=D)  # norm 5 at a masked-in pixel
    rendered[0, 0, 1, 1] = 7.0  # outside the mask: ignored
    mask = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]], dtype=D)
    torch.testing.assert_close(photometric_loss(rendered, image, mask, eps=0.0), torch.tensor(2.5, dtype=D))
    assert photometric_loss(image, image, mask) < 1e-2  # ≈ √eps at the truth
    assert photometric_loss(image + 0.1, image, mask) < photometric_loss(image + 0.3, image, mask)
    grad = torch.zeros_like(image, requires_grad=True)
    photometric_loss(grad, image, mask).backward()
    assert torch.isfinite(grad.grad).all()  # eps keeps the gradient finite at zero residual


def test_fitting_landmarks_recovers_known_coefficients() -> None:
    # Landmark-only fitting of identity and expression on the synthetic model, with known pose.
    g = torch.Generator().manual_seed(1)
    cfg = MorphableModelConfig(n_vertices=25, n_id=3, n_exp=2, n_tex=2, n_landmarks=25)
    model = synthetic_model(cfg, g).double()
    alpha, beta = torch.randn(1, 3, generator=g, dtype=D), torch.randn(1, 2, generator=g, dtype=D)
    rot = euler_rotation(torch.tensor([[0.1, -0.2, 0.05]], dtype=D))
    scale, t = torch.tensor([1.5], dtype=D), torch.tensor([[0.2, -0.1]], dtype=D)
    target = weak_perspective(model.shape(alpha, beta), scale, rot, t)
    # The projection is linear in (α, β) at a fixed pose: one Gauss–Newton step from zero is exact.
    def residual(params: torch.Tensor) -> torch.Tensor:
        verts = model.shape(params[None, :3], params[None, 3:])
        return (weak_perspective(verts, scale, rot, t) - target).reshape(-1)

    zero = torch.zeros(5, dtype=D)
    jac = torch.autograd.functional.jacobian(residual, zero)
    step = torch.linalg.lstsq(jac, -residual(zero)[:, None]).solution[:, 0]
    torch.testing.assert_close(step[:3], alpha[0])
    torch.testing.assert_close(step[3:], beta[0])
    assert landmark_loss(weak_perspective(model.shape(step[None, :3], step[None, 3:]), scale, rot, t),
                         target) < 1e-20


def test_synthetic_bases_have_the_stated_scales() -> None:
    # Identity 0.3, expression 0.2, texture 0.2 times orthonormal columns.
    model = synthetic_model(TINY, torch.Generator().manual_seed(0))
    for basis, scale in ((model.exp_basis, 0.2), (model.tex_basis, 0.2)):
        torch.testing.assert_close(basis.T @ basis, scale ** 2 * torch.eye(basis.shape[1]), atol=1e-5, rtol=0)
    assert ((model.mean_texture >= 0.5) & (model.mean_texture <= 0.6)).all()  # 0.5 + 0.1 · U(0, 1)
    assert model.mean_texture.std() > 0.01


def test_synthetic_mesh_is_a_bulge_over_a_triangulated_grid() -> None:
    # A 3 × 3 grid over [-0.8, 0.8]², x fastest, lifted to z = √(1.5 − x² − y²).
    cfg = MorphableModelConfig(n_vertices=9, n_id=1, n_exp=1, n_tex=1, n_landmarks=2)
    model = synthetic_model(cfg, torch.Generator().manual_seed(0))
    t = (-0.8, 0.0, 0.8)
    expected = torch.tensor([[x, y, math.sqrt(1.5 - x * x - y * y)] for y in t for x in t])
    torch.testing.assert_close(model.mean_shape, expected)
    # Each grid cell (a, b / c, d) is split into (a, b, d) and (a, d, c), counter-clockwise seen from +z.
    assert model.triangles.tolist() == [[0, 1, 4], [1, 2, 5], [3, 4, 7], [4, 5, 8],
                                        [0, 4, 3], [1, 5, 4], [3, 7, 6], [4, 8, 7]]


# Deep3DFaceRecon_pytorch @ 9167c7136aebef0c54d3ac74f4b0396222a491c1, models/bfm.py compute_rotation, in float64 on
# these angles (pitch, yaw, roll); it returns the matrix for row vectors, transposed here to act on columns.
OFFICIAL_ROTATIONS = (
    ((0.3, -0.5, 0.7), ((0.6712121728985049, -0.7238074486462436, -0.1599280970845426),
                        (0.5653542003796712, 0.6394089327835228, -0.5210862162729877),
                        (0.479425538604203, 0.25934339004657836, 0.8383866405025895))),
    ((-1.1, 0.4, 2.0), ((-0.3832966179553428, -0.26802896592295344, -0.8838801819761931),
                        (0.8375183896857449, -0.5043365291214282, -0.21025606372218503),
                        (-0.3894183477986018, -0.8208563448131609, 0.41778967385250704))),
)


def test_euler_rotation_matches_the_official_code_on_a_batch_of_general_angles() -> None:
    angles = torch.tensor([a for a, _ in OFFICIAL_ROTATIONS], dtype=D)
    expected = torch.tensor([r for _, r in OFFICIAL_ROTATIONS], dtype=D)
    torch.testing.assert_close(euler_rotation(angles), expected)
    # Independently: R_z R_y R_x as exponentials of the axis generators.
    def about(axis: int, angle: float) -> torch.Tensor:
        # exp of angle · (e_j e_iᵀ − e_i e_jᵀ) for the other two axes i < j: right-handed about x and z, and
        # about y the opposite way (i, j = x, z is the cyclic order z, x reversed), hence -yaw below.
        k = torch.zeros(3, 3, dtype=D)
        i, j = [a for a in range(3) if a != axis]
        k[j, i], k[i, j] = angle, -angle
        return torch.linalg.matrix_exp(k)

    for (pitch, yaw, roll), rot in zip(angles.tolist(), euler_rotation(angles), strict=True):
        torch.testing.assert_close(rot, about(2, roll) @ about(1, -yaw) @ about(0, pitch))


def test_transforms_are_per_batch_item_and_per_vertex() -> None:
    # Two faces of three vertices each, with different rotations, scales and translations.
    v = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]], dtype=D).expand(2, -1, -1)
    rot = euler_rotation(torch.tensor([[0.0, 0.0, math.pi / 2], [0.0, 0.0, 0.0]], dtype=D))
    out = rigid_transform(v, rot, torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]], dtype=D))
    expected = torch.tensor([[[1.0, 3.0, 3.0], [0.0, 2.0, 3.0], [1.0, 2.0, 4.0]],
                             [[0.0, 0.0, 5.0], [-1.0, 1.0, 5.0], [-1.0, 0.0, 6.0]]], dtype=D)
    torch.testing.assert_close(out, expected)
    out = weak_perspective(v, torch.tensor([2.0, 3.0], dtype=D), rot, torch.tensor([[10.0, 20.0], [0.0, -1.0]], dtype=D))
    expected = torch.tensor([[[10.0, 22.0], [8.0, 20.0], [10.0, 20.0]],
                             [[3.0, -1.0], [0.0, 2.0], [0.0, -1.0]]], dtype=D)
    torch.testing.assert_close(out, expected)


# Deep3DFaceRecon_pytorch @ 9167c71, models/bfm.py compute_color, float64: unit albedo, the normal (2, -3, 6)/7, and
# gamma with a single 1 in the red channel's band k (band 0: 0.2, so that with the ambient 0.8 it is 1). The red
# output is Y_k + 0.8 Y_0 (the ambient is added to every band-0 coefficient); for k = 0 it is Y_0.
OFFICIAL_RED = (0.8862269360174061, 1.4686046298863613, 2.228227708845868, 0.20256616495384994, 0.41179391124996184,
                1.6005444699575326, 1.5525899227826652, 0.11460627157306913, 0.5851533677281493)


def test_sh_shading_matches_the_official_code_on_a_general_normal() -> None:
    normal = torch.tensor([[[2.0, -3.0, 6.0]]], dtype=D) / 7
    albedo = torch.ones(1, 1, 3, dtype=D)
    for k, red in enumerate(OFFICIAL_RED):
        gamma = torch.zeros(1, 27, dtype=D)
        gamma[0, k] = 0.2 if k == 0 else 1.0
        out = sh_shading(albedo, normal, gamma)
        torch.testing.assert_close(out[0, 0, 0], torch.tensor(red, dtype=D))
        torch.testing.assert_close(out[0, 0, 1:], torch.full((2,), 0.8 * OFFICIAL_RED[0], dtype=D))
    # A batch of two normals with different lights: each face gets its own coefficients.
    normals = torch.cat([normal, torch.tensor([[[0.0, 0.0, 1.0]]], dtype=D)])
    gamma = torch.zeros(2, 27, dtype=D)
    gamma[1, 18 + 2] = 1.0  # blue, band 2 (z) of the second face: + √π
    out = sh_shading(torch.ones(2, 1, 3, dtype=D), normals, gamma)
    torch.testing.assert_close(out[1, 0], torch.tensor([0.8, 0.8, 0.8 + 2.0], dtype=D) * math.sqrt(math.pi) / 2)
    torch.testing.assert_close(out[0, 0], torch.full((3,), 0.8 * OFFICIAL_RED[0], dtype=D))


def test_photometric_loss_per_image_and_with_a_one_pixel_or_empty_mask() -> None:
    image = torch.zeros(2, 3, 2, 2, dtype=D)
    rendered = image.clone()
    rendered[0, :, 0, 0] = torch.tensor([2.0, 3.0, 6.0], dtype=D)  # norm 7 in face 0
    rendered[1, 0, 0, 1] = 1.0  # norm 1 in face 1, at a pixel face 0's mask leaves out
    rendered[1, 1, 0, 0] = 5.0  # and 5 in face 1 where only face 0's mask is on: never counted
    mask = torch.zeros(2, 1, 2, 2, dtype=D)
    mask[0, 0, 0, 0] = 1.0
    # One pixel in the whole batch's mask: the loss is that pixel's norm (the mask count is not floored above 1).
    torch.testing.assert_close(photometric_loss(rendered, image, mask, eps=0.0), torch.tensor(7.0, dtype=D))
    mask[1, 0, 0, 1] = 1.0
    torch.testing.assert_close(photometric_loss(rendered, image, mask, eps=0.0), torch.tensor(4.0, dtype=D))
    # An empty mask gives 0, not 0/0.
    assert photometric_loss(rendered, image, torch.zeros_like(mask), eps=0.0) == 0


def test_vertex_normals_normalise_each_face_of_each_mesh_on_its_own() -> None:
    # A face in z = 0 (normal +z) and a tilted one, (0, 1, 0) × (−1, 0, 2) = (2, 0, 1): unit (2, 0, 1)/√5.
    # The second mesh of the batch is the first scaled by 3 (same normals): normalising across faces or across
    # the batch instead of per face would change them.
    verts = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 2.0]]], dtype=D)
    verts = torch.cat([verts, 3 * verts])
    n = vertex_normals(verts, torch.tensor([[0, 1, 2], [0, 2, 3]]))
    tilted = torch.tensor([2.0, 0.0, 1.0], dtype=D) / math.sqrt(5)
    shared = torch.tensor([0.0, 0.0, 1.0], dtype=D) + tilted
    for b in range(2):
        torch.testing.assert_close(n[b, 1], torch.tensor([0.0, 0.0, 1.0], dtype=D))
        torch.testing.assert_close(n[b, 3], tilted)
        torch.testing.assert_close(n[b, 0], shared / shared.norm())
