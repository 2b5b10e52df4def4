"""FUNIT (arXiv:1905.01723): the claims that define the paper."""

from __future__ import annotations

import torch

from refimpl.funit import (
    TINY,
    FewShotGenerator,
    MultiTaskDiscriminator,
    content_reconstruction_loss,
    discriminator_objective,
    feature_matching_loss,
    generator_objective,
)
from refimpl.losses_gan import hinge_discriminator_loss


def test_class_code_is_the_mean_of_the_shots_codes(device: torch.device) -> None:
    g = FewShotGenerator(TINY).to(device).eval()
    shots = torch.rand(2, 4, 3, 16, 16, device=device)
    per_shot = torch.stack([g.class_encoder(shots[:, k]).flatten(1) for k in range(4)], 1)
    torch.testing.assert_close(g.class_code(shots), per_shot.mean(1), atol=1e-6, rtol=1e-5)


def test_class_code_is_permutation_invariant_and_k1_is_the_single_encoding() -> None:
    g = FewShotGenerator(TINY).eval()
    shots = torch.rand(1, 5, 3, 16, 16)
    perm = torch.tensor([3, 0, 4, 2, 1])
    torch.testing.assert_close(g.class_code(shots[:, perm]), g.class_code(shots), atol=1e-6, rtol=1e-5)
    x = torch.rand(1, 5, 3, 16, 16)
    torch.testing.assert_close(g(x[:, 0], shots[:, perm]), g(x[:, 0], shots), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(g.class_code(shots[:, :1]), g.class_encoder(shots[:, 0]).flatten(1))


def test_translation_keeps_the_size_and_depends_on_the_class_images() -> None:
    g = FewShotGenerator(TINY).eval()
    x = torch.rand(1, 3, 16, 16)
    a = g(x, torch.rand(1, 2, 3, 16, 16))
    b = g(x, torch.rand(1, 2, 3, 16, 16))
    assert a.shape == (1, 3, 16, 16) and not torch.allclose(a, b)
    assert g.content_encoder(x).shape == (1, TINY.nf * 4, 4, 4)  # two down-samplings in TINY


def test_multi_task_discriminator_reads_only_the_labelled_class_output() -> None:
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_downs=TINY.n_dis_downs, num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    full = d.head(d.features(x))
    score, _ = d(x, torch.tensor([2, 0]))
    torch.testing.assert_close(score[0], full[0, 2])
    torch.testing.assert_close(score[1], full[1, 0])
    fake = torch.rand(2, 3, 16, 16)
    labels = torch.tensor([1, 1])
    torch.testing.assert_close(discriminator_objective(d, x, labels, fake, labels),
                               hinge_discriminator_loss(full[:, 1], d.head(d.features(fake))[:, 1]))


def test_feature_matching_compares_spatial_means_against_the_mean_over_shots() -> None:
    class_feat = torch.randn(2, 3, 4, 5, 5)
    target = class_feat.mean(dim=(1, 3, 4))  # (N, C)
    fake = target[..., None, None].expand(2, 4, 5, 5).flip(-1)
    torch.testing.assert_close(feature_matching_loss(fake, class_feat), torch.tensor(0.0))
    torch.testing.assert_close(feature_matching_loss(fake + 0.3, class_feat), torch.tensor(0.3))


def test_content_reconstruction_and_generator_objective_combine_with_paper_weights() -> None:
    g = FewShotGenerator(TINY).eval()
    d = MultiTaskDiscriminator(nf=TINY.nf_dis, n_downs=TINY.n_dis_downs, num_classes=3).eval()
    x = torch.rand(2, 3, 16, 16)
    rec = content_reconstruction_loss(g, x)
    torch.testing.assert_close(rec, (g(x, x.unsqueeze(1)) - x).abs().mean())
    shots, labels = torch.rand(2, 2, 3, 16, 16), torch.tensor([0, 2])
    fake = g(x, shots)
    score, ff = d(fake, labels)
    _, cf = d(shots.flatten(0, 1), labels.repeat_interleave(2))
    expected = -score.mean() + 0.1 * rec + 1.0 * feature_matching_loss(ff, cf.view(2, 2, *cf.shape[1:]))
    torch.testing.assert_close(generator_objective(g, d, x, shots, labels, TINY), expected)
