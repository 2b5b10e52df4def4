"""Registry of runnable examples: one tiny model and input per entry point.

A paper module registers examples with ``@register_example(covers=[...])``;
``covers`` names the classes and functions the example exercises, so the
catalog validator can check (statically, without torch) that every catalog
target is run by the shared smoke test.

The shared test (``refimpl/tests/test_examples.py``) builds every example,
runs forward and backward, and checks declared shapes, finite values and that
every learnable parameter receives a gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class Example:
    """What the smoke test needs: a model holding every learnable parameter,
    inputs, and the output shapes the paper's architecture implies."""

    model: nn.Module
    inputs: tuple[torch.Tensor, ...]
    output_shapes: tuple[tuple[int, ...], ...]
    # Called as run(model, *inputs); defaults to model(*inputs). Returns a
    # tensor or a tuple/list of tensors, compared with output_shapes in order.
    run: Callable[..., object] | None = None
    # Parameter names (prefixes) that legitimately get no gradient from this run.
    no_grad: tuple[str, ...] = ()

    def __call__(self, model: nn.Module | None = None, inputs: Sequence[torch.Tensor] | None = None) -> object:
        model = self.model if model is None else model
        inputs = self.inputs if inputs is None else tuple(inputs)
        return self.run(model, *inputs) if self.run is not None else model(*inputs)


@dataclass(frozen=True)
class ExampleSpec:
    name: str
    module: str  # e.g. "refimpl.adain"
    build: Callable[[], Example]
    covers: tuple[str, ...]  # qualified names: "refimpl/adain.py:adain"
    pending: bool = False
    tags: tuple[str, ...] = field(default=())


EXAMPLES: dict[str, ExampleSpec] = {}


def register_example(
    *, covers: Sequence[object], pending: bool = False
) -> Callable[[Callable[[], Example]], Callable[[], Example]]:
    """Register a zero-argument builder; its name is the example's name.

    ``pending=True`` marks a scaffold whose implementation is not written yet:
    its smoke test is skipped with "not implemented yet", never counted as passing.
    """

    def decorate(build: Callable[[], Example]) -> Callable[[], Example]:
        module = build.__module__
        name = f"{module.rsplit('.', 1)[-1]}.{build.__name__}"
        if name in EXAMPLES:
            raise ValueError(f"example {name} registered twice")
        file = module.replace(".", "/") + ".py"
        EXAMPLES[name] = ExampleSpec(
            name=name,
            module=module,
            build=build,
            covers=tuple(f"{file}:{obj.__name__}" for obj in covers),
            pending=pending,
        )
        return build

    return decorate


def seeded(seed: int = 0) -> torch.Generator:
    """Seed torch's global RNG (parameters are initialised from it) and return
    a generator for example inputs."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
