"""Off-Policy Reinforcement Learning for Efficient and Effective GAN Architecture Search (E2GAN).

Yuan Tian, Qin Wang, Zhiwu Huang, Wen Li, Dengxin Dai, Minghao Yang, Jun Wang, Olga Fink.
ECCV 2020. arXiv:2007.09180. Catalog id: ``e2gan``.

The search as a Markov decision process (Sec. 3), reduced to a toy that runs in a test:

* **Progressive state.** The generator is built cell by cell; step ``t`` chooses
  the operations of cell ``t`` given the cells chosen so far, so the state is
  the partial architecture ``s_t = (a_0, …, a_{t−1})`` (the paper's state also
  carries the depth and the current model's IS/FID, which here are functions
  of the partial architecture).
* **Reward.** The improvement made by the step:
  ``R_t = IS(t) − IS(t−1) + α (FID(t−1) − FID(t))``. The return over an
  episode telescopes to the final model's score against the empty one.
* **Off-policy learning.** Transitions ``(s, a, r, s', done)`` go into a replay
  buffer and the learner updates from uniformly sampled minibatches, so past
  episodes keep training the current policy.

Here the scores come from a given table (``toy_scores``: fixed IS/FID per
partial architecture, no GAN is trained), and the learner is tabular
Q-learning with ε-greedy exploration.

Official preset: none here (the catalog links only the paper's PDF). The toy
space has 3 cells like the paper's generator, with 3 operation choices each.

Deviations from the paper:

* Tabular Q-learning instead of soft actor-critic with neural actor and
  critics; the action is one discrete operation per cell rather than the
  paper's tuple of choices (convolution, normalisation, up-sampling, shortcut).
* IS/FID of each partial architecture come from a fixed table instead of
  training the shared generator and evaluating it; α, γ, the learning rate,
  ε, the buffer size and the batch size are my choice.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .registry import Example, register_example, seeded

State = tuple[int, ...]
Transition = tuple[State, int, float, State, bool]
Scores = Callable[[State], tuple[float, float]]  # partial architecture → (IS, FID)


@dataclass(frozen=True)
class E2GANConfig:
    cells: int = 3  # the generator's cells, one chosen per step (Sec. 3)
    ops: int = 3  # choices per cell in the toy space (my choice)
    alpha: float = 0.01  # α balancing FID against IS in the reward (my choice)
    gamma: float = 1.0  # discount: 1 makes the return the whole improvement (my choice)
    lr: float = 0.5  # Q-learning step size (my choice)
    epsilon: float = 0.5  # ε-greedy exploration (my choice)
    buffer_size: int = 256  # replay capacity (my choice)
    batch_size: int = 16  # transitions per update (my choice)
    episodes: int = 300  # search budget (my choice)


# --------------------------------------------------------------------- the toy space
# IS contribution of each operation per cell, and a bonus for one pair of cells working together:
# a greedy choice of cell 0 (operation 0) misses the best architecture (1, 2, 2).
_CELL_IS = ((1.0, 0.5, 0.2), (0.3, 0.4, 0.1), (0.2, 0.1, 0.6))
_PAIR_BONUS = {(1, 2): 1.5}


def toy_scores(arch: State) -> tuple[float, float]:
    """Fixed (IS, FID) of a partial architecture: IS adds per-cell values and a pair bonus; FID = 60 − 8·IS."""
    inception = sum(_CELL_IS[t][a] for t, a in enumerate(arch)) + _PAIR_BONUS.get(arch[:2], 0.0)
    return inception, 60.0 - 8.0 * inception


def step_reward(is_prev: float, fid_prev: float, is_now: float, fid_now: float, alpha: float) -> float:
    """``R_t = IS(t) − IS(t−1) + α (FID(t−1) − FID(t))``."""
    return (is_now - is_prev) + alpha * (fid_prev - fid_now)


def shaped_rewards(inception: torch.Tensor, fid: torch.Tensor, alpha: float) -> torch.Tensor:
    """The reward of every step of an episode from its scores after 0..T cells: (T+1,) → (T,)."""
    return (inception[1:] - inception[:-1]) + alpha * (fid[:-1] - fid[1:])


class ArchitectureEnv:
    """Builds an architecture one cell per step; the reward is the step's improvement."""

    def __init__(self, scores: Scores = toy_scores, config: E2GANConfig = E2GANConfig()) -> None:
        self.scores, self.config = scores, config
        self.state: State = ()

    def reset(self) -> State:
        self.state = ()
        return self.state

    def step(self, action: int) -> tuple[State, float, bool]:
        if not 0 <= action < self.config.ops:
            raise ValueError(f"operation {action} outside 0..{self.config.ops - 1}")
        prev = self.scores(self.state)
        self.state = (*self.state, action)
        now = self.scores(self.state)
        reward = step_reward(prev[0], prev[1], now[0], now[1], self.config.alpha)
        return self.state, reward, len(self.state) == self.config.cells


# --------------------------------------------------------------------- off-policy learner
class ReplayBuffer:
    """FIFO store of transitions with uniform, seeded minibatch sampling (with replacement)."""

    def __init__(self, capacity: int) -> None:
        self.items: deque[Transition] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self.items)

    def push(self, transition: Transition) -> None:
        self.items.append(transition)

    def sample(self, batch_size: int, generator: torch.Generator) -> list[Transition]:
        idx = torch.randint(0, len(self.items), (batch_size,), generator=generator)
        return [self.items[int(i)] for i in idx]


class QLearner:
    """Tabular Q over (partial architecture, operation), trained from the replay buffer."""

    def __init__(self, config: E2GANConfig = E2GANConfig()) -> None:
        self.config = config
        self.q: dict[State, list[float]] = {}

    def values(self, state: State) -> list[float]:
        return self.q.setdefault(state, [0.0] * self.config.ops)

    def act(self, state: State, generator: torch.Generator, explore: bool = True) -> int:
        if explore and float(torch.rand((), generator=generator)) < self.config.epsilon:
            return int(torch.randint(0, self.config.ops, (), generator=generator))
        v = self.values(state)
        return max(range(len(v)), key=v.__getitem__)  # lowest index among ties

    def update(self, batch: list[Transition]) -> None:
        for s, a, r, s2, done in batch:
            target = r if done else r + self.config.gamma * max(self.values(s2))
            v = self.values(s)
            v[a] += self.config.lr * (target - v[a])

    def best_architecture(self) -> State:
        state: State = ()
        while len(state) < self.config.cells:
            state = (*state, self.act(state, torch.Generator(), explore=False))
        return state


def search(scores: Scores = toy_scores, config: E2GANConfig = E2GANConfig(),
           seed: int = 0) -> tuple[State, QLearner, ReplayBuffer]:
    """Run ``config.episodes`` episodes; after each step, one update from a replayed minibatch."""
    g = torch.Generator().manual_seed(seed)
    env, learner, buffer = ArchitectureEnv(scores, config), QLearner(config), ReplayBuffer(config.buffer_size)
    for _ in range(config.episodes):
        state, done = env.reset(), False
        while not done:
            action = learner.act(state, g)
            nxt, reward, done = env.step(action)
            buffer.push((state, action, reward, nxt, done))
            learner.update(buffer.sample(config.batch_size, g))
            state = nxt
    return learner.best_architecture(), learner, buffer


def exhaustive_best(scores: Scores = toy_scores, config: E2GANConfig = E2GANConfig()) -> State:
    """The architecture with the best final ``IS − α·FID`` by enumeration (the search's target)."""
    def value(arch: State) -> float:
        inception, fid = scores(arch)
        return inception - config.alpha * fid
    return max(itertools.product(range(config.ops), repeat=config.cells), key=value)


# --------------------------------------------------------------------- examples
@register_example(covers=[shaped_rewards, search, ArchitectureEnv, ReplayBuffer, QLearner, toy_scores,
                          step_reward])
def e2gan_search() -> Example:
    g = seeded(0)
    inception = (torch.rand(4, generator=g) * 3).requires_grad_(True)
    fid = (50 + torch.rand(4, generator=g) * 10).requires_grad_(True)
    config = E2GANConfig(episodes=60)

    def run(_m: nn.Module, i: torch.Tensor, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, learner, _ = search(toy_scores, config, seed=0)
        return shaped_rewards(i, f, config.alpha), torch.tensor(learner.values(()), device=i.device)

    return Example(model=nn.Module(), inputs=(inception, fid), output_shapes=((3,), (3,)), run=run)
