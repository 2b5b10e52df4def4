"""E2GAN (arXiv:2007.09180): off-policy search over a progressive architecture MDP."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

import refimpl.e2gan as e2gan
from refimpl.e2gan import (
    ArchitectureEnv,
    E2GANConfig,
    QLearner,
    ReplayBuffer,
    exhaustive_best,
    search,
    shaped_rewards,
    step_reward,
    toy_scores,
)

D = torch.float64


def test_defaults() -> None:
    c = E2GANConfig()
    assert c.cells == 3  # the generator's three cells
    # My choice (the toy and its learner):
    assert (c.ops, c.alpha, c.gamma, c.lr, c.epsilon) == (3, 0.01, 1.0, 0.5, 0.5)
    assert (c.buffer_size, c.batch_size, c.episodes) == (256, 16, 300)


def test_toy_scores_by_hand() -> None:
    assert toy_scores(()) == (0.0, 60.0)
    i, f = toy_scores((1, 2))
    assert math.isclose(i, 0.5 + 0.1 + 1.5) and math.isclose(f, 60 - 8 * 2.1)
    assert math.isclose(toy_scores((0, 1, 2))[0], 1.0 + 0.4 + 0.6)


def test_step_reward_is_the_improvement() -> None:
    # IS 2.0 → 2.5 and FID 40 → 30 with α = 0.1: 0.5 + 0.1 · 10.
    assert math.isclose(step_reward(2.0, 40.0, 2.5, 30.0, 0.1), 1.5, rel_tol=1e-12)
    # A worse FID is penalised: FID 30 → 45.
    assert math.isclose(step_reward(2.0, 30.0, 2.0, 45.0, 0.1), -1.5, rel_tol=1e-12)


def test_shaped_rewards_by_hand_and_they_telescope() -> None:
    inception = torch.tensor([1.0, 3.0, 2.5, 4.0], dtype=D)
    fid = torch.tensor([80.0, 50.0, 55.0, 20.0], dtype=D)
    r = shaped_rewards(inception, fid, alpha=0.01)
    torch.testing.assert_close(r, torch.tensor([2.0 + 0.3, -0.5 - 0.05, 1.5 + 0.35], dtype=D))
    torch.testing.assert_close(r.sum(), (inception[-1] - inception[0]) + 0.01 * (fid[0] - fid[-1]))


def test_environment_is_progressive_and_returns_the_step_improvement() -> None:
    config = E2GANConfig(alpha=0.05)
    env = ArchitectureEnv(toy_scores, config)
    assert env.reset() == ()
    s1, r1, d1 = env.step(1)
    s2, r2, d2 = env.step(2)
    s3, r3, d3 = env.step(0)
    assert (s1, s2, s3) == ((1,), (1, 2), (1, 2, 0)) and (d1, d2, d3) == (False, False, True)
    # IS: 0 → 0.5 → 2.1 → 2.3; FID = 60 − 8·IS, so each reward is ΔIS · (1 + 8α).
    for r, d_is in ((r1, 0.5), (r2, 1.6), (r3, 0.2)):
        assert math.isclose(r, d_is * (1 + 8 * 0.05), rel_tol=1e-9)
    with pytest.raises(ValueError, match="outside"):
        env.step(3)


def test_replay_buffer_is_fifo_and_samples_uniformly_from_what_it_holds() -> None:
    buf = ReplayBuffer(capacity=4)
    for k in range(6):
        buf.push(((k,), k, float(k), (k, 0), False))
    assert len(buf) == 4
    assert [t[1] for t in buf.items] == [2, 3, 4, 5]  # the two oldest dropped
    g = torch.Generator().manual_seed(0)
    batch = buf.sample(4000, g)
    counts = torch.bincount(torch.tensor([t[1] for t in batch]), minlength=6)
    assert counts[:2].sum() == 0
    assert ((counts[2:].double() / 4000) - 0.25).abs().max() < 0.03
    again = ReplayBuffer(4)
    for t in buf.items:
        again.push(t)
    assert again.sample(10, torch.Generator().manual_seed(7)) == buf.sample(10, torch.Generator().manual_seed(7))


def test_q_update_by_hand() -> None:
    learner = QLearner(E2GANConfig(lr=0.5, gamma=0.9))
    learner.q[(0,)] = [1.0, 4.0, 2.0]
    learner.update([((), 1, 2.0, (0,), False)])  # target 2 + 0.9 · 4 = 5.6; 0 + 0.5 · 5.6
    assert math.isclose(learner.values(())[1], 2.8, rel_tol=1e-12)
    learner.q[(0, 2)] = [5.0, 5.0, 5.0]  # ignored: nothing follows a terminal step
    learner.update([((0,), 2, 1.0, (0, 2), True)])  # terminal: target 1; 2 + 0.5 · (1 − 2)
    assert math.isclose(learner.values((0,))[2], 1.5, rel_tol=1e-12)


def test_greedy_first_choice_is_a_trap() -> None:
    # The first cell's best immediate reward (operation 0) does not lead to the best architecture.
    best = exhaustive_best()
    assert best == (1, 2, 2)
    first = [step_reward(0.0, 60.0, *toy_scores((a,)), 0.01) for a in range(3)]
    assert max(range(3), key=first.__getitem__) == 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_search_finds_the_best_architecture_within_the_budget(seed: int) -> None:
    arch, learner, buffer = search(toy_scores, E2GANConfig(), seed=seed)
    assert arch == exhaustive_best()
    assert len(buffer) == 256  # 300 episodes × 3 steps, the oldest dropped
    # With γ = 1 the value of the start state is the best episode's return (the final improvement).
    i, f = toy_scores(arch)
    assert abs(max(learner.values(())) - ((i - 0.0) + 0.01 * (60.0 - f))) < 0.05


def test_a_myopic_learner_falls_into_the_trap() -> None:
    # γ = 0 learns only immediate improvements: the progressive reward needs the future term.
    arch, _, _ = search(toy_scores, replace(E2GANConfig(), gamma=0.0), seed=0)
    assert arch[0] == 0 and arch != exhaustive_best()


def test_search_is_seeded() -> None:
    a = search(toy_scores, replace(E2GANConfig(), episodes=20), seed=3)[1].q
    b = search(toy_scores, replace(E2GANConfig(), episodes=20), seed=3)[1].q
    c = search(toy_scores, replace(E2GANConfig(), episodes=20), seed=4)[1].q
    assert a == b and a != c


def test_epsilon_greedy_exploration() -> None:
    g = torch.Generator().manual_seed(0)
    greedy = QLearner(E2GANConfig(epsilon=0.0))
    greedy.q[()] = [0.1, 0.7, 0.3]
    assert {greedy.act((), g) for _ in range(200)} == {1}
    rand = QLearner(E2GANConfig(epsilon=1.0))
    rand.q[()] = [0.1, 0.7, 0.3]
    counts = torch.bincount(torch.tensor([rand.act((), g) for _ in range(3000)]), minlength=3)
    assert ((counts.double() / 3000) - 1 / 3).abs().max() < 0.04
    assert rand.act((), g, explore=False) == 1


def test_every_step_learns_from_a_replayed_minibatch(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = e2gan.ReplayBuffer.sample

    def spy(self: ReplayBuffer, batch_size: int, generator: torch.Generator) -> list:
        calls.append(batch_size)
        return original(self, batch_size, generator)

    monkeypatch.setattr(e2gan.ReplayBuffer, "sample", spy)
    search(toy_scores, replace(E2GANConfig(), episodes=5, batch_size=7), seed=0)
    assert calls == [7] * 15


def test_exhaustive_best_weighs_fid_against_is() -> None:
    # (2, 2, 2) has the best IS but a worse FID: 0.5 − 0.01·30 = 0.2 < (0, 0, 0)'s 0.4 − 0 = 0.4.
    def scores(arch: tuple[int, ...]) -> tuple[float, float]:
        return {(2, 2, 2): (0.5, 30.0), (0, 0, 0): (0.4, 0.0)}.get(arch, (0.0, 50.0))

    assert exhaustive_best(scores, E2GANConfig()) == (0, 0, 0)
    assert exhaustive_best(scores, E2GANConfig(alpha=0.001)) == (2, 2, 2)


def test_every_cell_value_of_the_toy_table() -> None:
    values = ((1.0, 0.5, 0.2), (0.3, 0.4, 0.1), (0.2, 0.1, 0.6))
    for a in range(3):
        for b in range(3):
            for c in range(3):
                expected = values[0][a] + values[1][b] + values[2][c] + (1.5 if (a, b) == (1, 2) else 0.0)
                assert math.isclose(toy_scores((a, b, c))[0], expected, rel_tol=1e-12)


def test_search_default_seed_is_zero() -> None:
    config = replace(E2GANConfig(), episodes=10)
    assert search(toy_scores, config)[1].q == search(toy_scores, config, seed=0)[1].q
