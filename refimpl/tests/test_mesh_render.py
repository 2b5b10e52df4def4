"""face3d's mesh utilities: image coordinates, the z-buffer and barycentric interpolation."""

from __future__ import annotations

import torch

from refimpl.mesh_render import (
    RasterConfig,
    Rasterized,
    barycentric_weights,
    interpolate_attributes,
    rasterize_triangles,
    render_colors,
    to_image,
)

D = torch.float64


def test_config_default_is_face3d_background_depth() -> None:
    assert RasterConfig().background_depth == -999999.0  # face3d/mesh_numpy/render.py @ 2fc2690


def test_to_image_centres_and_flips_y_by_hand() -> None:
    # 10 × 8 image: x + 4, y -> 10 − (y + 5) − 1; z unchanged.
    out = to_image(torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]], dtype=D), height=10, width=8)
    torch.testing.assert_close(out, torch.tensor([[5.0, 2.0, 3.0], [4.0, 4.0, -1.0]], dtype=D))


def test_barycentric_weights_at_vertices_centroid_and_outside() -> None:
    tri = torch.tensor([[[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]], dtype=D)
    pts = torch.tensor([[0.0, 0.0], [4.0, 0.0], [4 / 3, 4 / 3], [1.0, 2.0], [3.0, 3.0]], dtype=D)
    w, inside = barycentric_weights(pts, tri)
    torch.testing.assert_close(w[0, 0], torch.tensor([1.0, 0.0, 0.0], dtype=D))
    torch.testing.assert_close(w[2, 0], torch.full((3,), 1 / 3, dtype=D))
    torch.testing.assert_close(w[3, 0], torch.tensor([0.25, 0.25, 0.5], dtype=D))  # (1, 2) = ¼p0 + ¼p1 + ½p2
    # face3d's rule: β + γ < 1 strictly, so vertex 1 itself (β = 1) counts as outside; (3, 3) is outside.
    assert inside[:, 0].tolist() == [True, False, True, True, False]


def test_z_buffer_picks_the_nearer_triangle_in_either_order() -> None:
    # Two overlapping triangles covering the same pixels; the one with larger z (nearer, face3d) wins.
    far = [[0.0, 0.0, 1.0], [6.0, 0.0, 1.0], [0.0, 6.0, 1.0]]
    near = [[0.0, 0.0, 2.0], [6.0, 0.0, 2.0], [0.0, 6.0, 2.0]]
    tris = torch.tensor([[0, 1, 2], [3, 4, 5]])
    for order, nearer in ((far + near, 1), (near + far, 0)):
        r = rasterize_triangles(torch.tensor(order, dtype=D), tris, 4, 4)
        assert r.triangle[1, 1] == nearer
        assert r.depth[1, 1] == 2.0


def test_rasterisation_matches_face3d_on_a_small_mesh() -> None:
    # Triangle buffer, depth and one pixel's weights from face3d's numpy rasterize_triangles
    # (YadiraF/face3d, face3d/mesh_numpy/render.py @ 2fc2690), run on these vertices.
    v = torch.tensor([[0.5, 0.5, 0.0], [5.5, 1.0, 0.0], [1.0, 5.2, 0.0], [5.0, 5.0, 2.0], [0.2, 3.0, 1.0],
                      [4.0, 0.2, -1.0]], dtype=D)
    t = torch.tensor([[0, 1, 2], [3, 4, 5], [1, 3, 2]])
    r = rasterize_triangles(v, t, 6, 6)
    assert r.triangle.tolist() == [[-1, -1, -1, -1, -1, -1], [-1, 0, 0, 0, 0, 0], [-1, 0, 1, 1, 1, 2],
                                   [-1, 1, 1, 1, 1, 2], [-1, 0, 0, 1, 1, 2], [-1, 0, 2, 2, 2, 1]]
    bg = -999999.0
    expected_depth = torch.tensor([[bg] * 6, [bg, 0, 0, 0, 0, 0], [bg, 0, 0.2605, 0.2034, 0.1464, 0.3019],
                                   [bg, 0.9544, 0.8973, 0.8403, 0.7833, 0.8679],
                                   [bg, 0, 0, 1.4772, 1.4202, 1.434], [bg, 0, 0.4151, 0.9434, 1.4717, 2.0]], dtype=D)
    torch.testing.assert_close(r.depth, expected_depth, atol=1e-4, rtol=0)
    torch.testing.assert_close(r.barycentric[3, 2], torch.tensor([0.239544, 0.589354, 0.171103], dtype=D),
                               atol=1e-6, rtol=0)
    torch.testing.assert_close(r.barycentric[0, 0], torch.zeros(3, dtype=D))


def test_interpolation_reproduces_a_linear_attribute() -> None:
    # Barycentric blending is exact for attributes that are affine in (u, v): a = 2u − v + 1.
    v = torch.tensor([[0.2, 0.1, 0.0], [7.7, 0.3, 0.0], [0.4, 7.6, 0.0]], dtype=D)
    tris = torch.tensor([[0, 1, 2]])
    attr = (2 * v[:, 0] - v[:, 1] + 1)[:, None]
    r = rasterize_triangles(v, tris, 8, 8)
    out = interpolate_attributes(attr, tris, r)
    u, w = torch.meshgrid(torch.arange(8, dtype=D), torch.arange(8, dtype=D), indexing="xy")
    covered = r.triangle >= 0
    assert covered.sum() > 10 and (~covered).sum() > 10
    torch.testing.assert_close(out[..., 0][covered], (2 * u - w + 1)[covered])
    assert (out[~covered] == 0).all()


def test_render_colors_paints_each_triangle_and_leaves_the_background_black() -> None:
    v = torch.tensor([[0.0, 0.0, 0.0], [7.0, 0.0, 0.0], [0.0, 7.0, 0.0], [7.0, 7.0, 0.0]], dtype=D)
    tris = torch.tensor([[0, 1, 2], [3, 2, 1]])
    colors = torch.tensor([[1.0, 0.0, 0.0]] * 3 + [[0.0, 0.0, 1.0]], dtype=D)
    img = render_colors(v, tris, colors, 9, 9)
    assert img.shape == (9, 9, 3)
    torch.testing.assert_close(img[1, 1], torch.tensor([1.0, 0.0, 0.0], dtype=D))
    torch.testing.assert_close(img[8, 8], torch.zeros(3, dtype=D))  # outside the square
    assert img[6, 6, 2] > 0  # inside the second triangle, blue comes from vertex 3
    assert isinstance(rasterize_triangles(v, tris, 9, 9), Rasterized)
