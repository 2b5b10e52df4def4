"""DCGAN (arXiv:1511.06434): the claims that define the paper."""

from __future__ import annotations

import torch
from torch import nn

from refimpl.dcgan import OFFICIAL, TINY, DCGANConfig, DCGANDiscriminator, DCGANGenerator, build_dcgan, init_weights


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_standard_64x64_parameter_counts() -> None:
    # pytorch/examples @ 77f55b912142e11fcfdf5b530231fb9c52f181e8 dcgan/main.py Generator / Discriminator
    # instantiated with nz=100, ngf=ndf=64, nc=3: 3,576,704 and 2,765,568.
    with torch.device("meta"):  # no memory, no initialisation: only the shapes matter
        assert _count(DCGANGenerator(DCGANConfig())) == 3_576_704
        assert _count(DCGANDiscriminator(DCGANConfig())) == 2_765_568


def test_generator_maps_noise_to_64x64_images_and_discriminator_back_to_one_score(device: torch.device) -> None:
    g, d = build_dcgan(TINY)
    g, d = g.to(device).eval(), d.to(device).eval()
    img = g(torch.randn(3, TINY.nz, 1, 1, device=device))
    assert img.shape == (3, 3, 64, 64)
    assert img.abs().max() <= 1  # Tanh output
    assert d(img).shape == (3,)


def test_all_convolutional_no_pooling_no_hidden_fully_connected() -> None:
    # Sec. 3 guidelines 1 and 3.
    for model in (DCGANGenerator(TINY), DCGANDiscriminator(TINY)):
        kinds = {type(m) for m in model.modules()}
        assert not kinds & {nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d}


def test_batchnorm_everywhere_except_generator_output_and_discriminator_input() -> None:
    g_layers = list(DCGANGenerator(TINY).net)
    d_layers = list(DCGANDiscriminator(TINY).net)
    assert isinstance(g_layers[-2], nn.ConvTranspose2d) and isinstance(g_layers[-1], nn.Tanh)
    assert isinstance(d_layers[1], nn.LeakyReLU)  # first conv straight into LeakyReLU
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g_layers) == 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d_layers) == 3
    assert all(m.negative_slope == 0.2 for m in d_layers if isinstance(m, nn.LeakyReLU))


def test_weights_are_drawn_from_normal_0_002() -> None:
    torch.manual_seed(0)
    config = DCGANConfig(ngf=16, ndf=16)
    g = DCGANGenerator(config)
    g.apply(init_weights)
    w = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, nn.ConvTranspose2d)])
    assert abs(w.mean().item()) < 1e-3
    assert abs(w.std().item() - 0.02) < 1e-3
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(bn.mean().item() - 1.0) < 5e-3 and bn.std().item() < 0.03
    assert all((m.bias == 0).all() for m in g.modules() if isinstance(m, nn.BatchNorm2d))


def test_config_defaults_are_the_papers() -> None:
    c = DCGANConfig()
    assert c.nz == 100  # Sec. 4 / Fig. 1
    assert (c.ngf, c.ndf, c.channels) == (64, 64, 3)  # pytorch/examples dcgan/main.py defaults
    assert c.leaky_slope == 0.2  # Sec. 3
    assert c.init_std == 0.02  # Sec. 4
    assert c == OFFICIAL


def test_architecture_details_below_the_parameter_count() -> None:
    g, d = DCGANGenerator(DCGANConfig()), DCGANDiscriminator(DCGANConfig())
    convs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.stride[0], m.padding[0], m.kernel_size[0]) for m in convs] == [(1, 0, 4)] + [(2, 1, 4)] * 4
    assert [m.out_channels for m in convs] == [512, 256, 128, 64, 3]
    assert sum(isinstance(m, nn.ReLU) for m in g.modules()) == 4 and isinstance(list(g.modules())[-1], nn.Tanh)
    dconvs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.stride[0], m.padding[0]) for m in dconvs] == [(2, 1)] * 4 + [(1, 0)]
    assert [m.out_channels for m in dconvs] == [64, 128, 256, 512, 1]
    slopes = [m.negative_slope for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 4
