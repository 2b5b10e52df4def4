"""Generative Adversarial Nets.

Ian Goodfellow, Jean Pouget-Abadie, Mehdi Mirza, Bing Xu, David Warde-Farley,
Sherjil Ozair, Aaron Courville, Yoshua Bengio. NeurIPS 2014. arXiv:1406.2661.
Catalog id: ``gan``.

Implemented:

* Eq. 1, the two-player value function
  ``V(D, G) = E_x[log D(x)] + E_z[log(1 − D(G(z)))]``, on discriminator
  logits (``log D = log σ(l)``, ``log(1 − D) = log σ(−l)``, numerically safe).
* The discriminator loss ``−V`` and the two generator losses: the minimax one
  ``E_z[log(1 − D(G(z)))]`` and the non-saturating one ``−E_z[log D(G(z))]``
  that Sec. 3 recommends because the minimax gradient vanishes early in
  training, when ``D(G(z)) ≈ 0``.
* Prop. 1, the optimal discriminator ``D*(x) = p_data(x) / (p_data(x) + p_g(x))``,
  and Thm. 1: ``C(G) = V(D*, G) = −log 4 + 2 · JSD(p_data ‖ p_g)``.
* A small multilayer-perceptron generator and discriminator (Sec. 5 uses
  MLPs; widths here are illustrative).

Parameter count: the paper fixes no standard architecture (its MNIST/TFD
models are maxout nets in pylearn2 YAML files), so none is tested.

Deviations from the paper:

* The MLPs use ReLU/LeakyReLU instead of maxout units and no dropout.
* The discriminator returns logits; the sigmoid lives inside the losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class GANConfig:
    latent_dim: int = 100  # dimension of the noise prior p_z (illustrative; Sec. 5 gives none)
    data_dim: int = 784  # MNIST 28×28, flattened (Sec. 5)
    hidden: int = 256  # width of each hidden layer
    n_hidden: int = 2  # hidden layers in G and D


TINY = GANConfig(latent_dim=4, data_dim=6, hidden=8, n_hidden=1)


# --------------------------------------------------------------------- models
def _mlp(d_in: int, hidden: int, n_hidden: int, d_out: int, act: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_hidden):
        layers += [nn.Linear(d_in if i == 0 else hidden, hidden), act()]
    layers.append(nn.Linear(hidden if n_hidden else d_in, d_out))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G(z; θ_g): noise (N, latent_dim) → sample (N, data_dim) in (−1, 1)."""

    def __init__(self, config: GANConfig = GANConfig()) -> None:
        super().__init__()
        self.net = _mlp(config.latent_dim, config.hidden, config.n_hidden, config.data_dim, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z))


class MLPDiscriminator(nn.Module):
    """D(x; θ_d) as a logit: sample (N, data_dim) → (N,), with D(x) = σ(logit)."""

    def __init__(self, config: GANConfig = GANConfig()) -> None:
        super().__init__()
        self.net = _mlp(config.data_dim, config.hidden, config.n_hidden, 1, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


# --------------------------------------------------------------------- value function and losses
def _expect(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    # Empirical mean, or an exact expectation when the probability masses are given.
    return values.mean() if weights is None else (values * weights).sum()


def value_function(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_weights: torch.Tensor | None = None,
    fake_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 1, ``V(D, G)``, from D's logits on real and generated samples.

    Without weights the expectations are sample means; with weights (probability
    masses summing to 1) they are exact expectations over a finite support.
    """
    return _expect(F.logsigmoid(real_logits), real_weights) + _expect(F.logsigmoid(-fake_logits), fake_weights)


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """D ascends V, i.e. minimises ``−V`` (binary cross-entropy, real = 1, fake = 0)."""
    return -value_function(real_logits, fake_logits)


def generator_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """G descends ``E_z[log(1 − D(G(z)))]``: the saturating loss of Eq. 1."""
    return F.logsigmoid(-fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Sec. 3: G maximises ``log D(G(z))`` instead, i.e. minimises ``−E_z[log D(G(z))]``."""
    return -F.logsigmoid(fake_logits).mean()


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """Prop. 1: ``D*_G(x) = p_data(x) / (p_data(x) + p_g(x))`` (densities at the same x)."""
    return p_data / (p_data + p_g)


def virtual_training_criterion(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """Thm. 1: ``C(G) = max_D V(G, D) = −log 4 + 2 · JSD(p_data ‖ p_g)`` for discrete masses."""
    m = (p_data + p_g) / 2

    def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return torch.where(p > 0, p * (p / q).log(), torch.zeros_like(p)).sum()

    jsd = (kl(p_data, m) + kl(p_g, m)) / 2
    return -math.log(4.0) + 2 * jsd


# --------------------------------------------------------------------- examples
@register_example(covers=[MLPGenerator, MLPDiscriminator, value_function, discriminator_loss,
                          generator_loss_minimax, generator_loss_nonsaturating])
def gan_mlp() -> Example:
    g = seeded(0)
    model = nn.ModuleDict({"G": MLPGenerator(TINY), "D": MLPDiscriminator(TINY)})
    z = torch.randn(5, TINY.latent_dim, generator=g)
    x = torch.rand(5, TINY.data_dim, generator=g) * 2 - 1

    def run(m: nn.ModuleDict, z: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        fake = m["G"](z)
        real_logits, fake_logits = m["D"](x), m["D"](fake)
        return (fake, discriminator_loss(real_logits, fake_logits), generator_loss_minimax(fake_logits),
                generator_loss_nonsaturating(fake_logits))

    return Example(model=model, inputs=(z, x), output_shapes=((5, TINY.data_dim), (), (), ()), run=run)


@register_example(covers=[optimal_discriminator, virtual_training_criterion])
def gan_optimal_discriminator() -> Example:
    g = seeded(0)
    p_data = torch.softmax(torch.randn(7, generator=g), 0).requires_grad_(True)
    p_g = torch.softmax(torch.randn(7, generator=g), 0).requires_grad_(True)

    def run(_m: nn.Module, p_data: torch.Tensor, p_g: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return optimal_discriminator(p_data, p_g), virtual_training_criterion(p_data, p_g)

    return Example(model=nn.Module(), inputs=(p_data, p_g), output_shapes=((7,), ()), run=run)
