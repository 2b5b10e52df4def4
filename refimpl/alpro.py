"""Align and Prompt: Video-and-Language Pre-training with Entity Prompts (ALPRO).

Dongxu Li, Junnan Li, Hongdong Li, Juan Carlos Niebles, Steven C. H. Hoi.
CVPR 2022. arXiv:2112.09583. Catalog id: ``align-and-prompt``.

Implemented, at toy size:

* Sec. 3.2, video-text contrastive loss (VTC): with L2-normalised video and
  text embeddings and ``s(v, t) = vᵀt / τ``,
  ``L_vtc = ½ (L_v2t + L_t2v)``, each a cross-entropy whose positive for the
  i-th video is the i-th text (and vice versa) among the batch.
* Sec. 3.3, prompt entity modelling (PEM): a prompter scores a random video
  crop against the texts of M entity prompts ("A video of a {ENTITY}.");
  the soft pseudo-label is ``q = softmax(s(v̂, t_m) / τ)`` over the M
  prompts, and the video-language model's entity prediction ``p`` is trained
  with ``L_pem = −Σ_m q_m log p_m``.
* ``VideoTextEncoder``: a toy pair of encoders (frame features averaged over
  time, token embeddings averaged over the sentence) with projections to the
  shared space, standing in for ALPRO's TimeSformer and BERT.

Official code: salesforce/ALPRO (not instantiated here; the toy encoders
replace its 12-layer video and text transformers).

Deviations from the paper: the encoders are toys; τ = 0.07 (the usual
contrastive initial temperature) is fixed rather than learned; the
multimodal encoder and the video-text matching / masked language losses are
not included.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded


@dataclass(frozen=True)
class ALPROConfig:
    temperature: float = 0.07  # τ of VTC and of the prompter (see Deviations)
    embed_dim: int = 256  # shared video-text space (ALBEF-style projection width)


TINY = ALPROConfig(embed_dim=8)


def vtc_loss(video: torch.Tensor, text: torch.Tensor, temperature: float = ALPROConfig.temperature) -> torch.Tensor:
    """Symmetric InfoNCE of paired embeddings (N, D), cosine similarity over τ."""
    sim = F.normalize(video, dim=-1) @ F.normalize(text, dim=-1).T / temperature
    labels = torch.arange(video.shape[0], device=video.device)
    return 0.5 * (F.cross_entropy(sim, labels) + F.cross_entropy(sim.T, labels))


def entity_pseudo_labels(crop: torch.Tensor, prompts: torch.Tensor,
                         temperature: float = ALPROConfig.temperature) -> torch.Tensor:
    """Prompter: crop embeddings (N, D) against M prompt embeddings (M, D) → q (N, M), rows sum to 1."""
    sim = F.normalize(crop, dim=-1) @ F.normalize(prompts, dim=-1).T / temperature
    return sim.softmax(dim=-1)


def pem_loss(entity_logits: torch.Tensor, pseudo_labels: torch.Tensor) -> torch.Tensor:
    """−Σ_m q_m log softmax(logits)_m, averaged over the batch; the pseudo-labels get no gradient."""
    return -(pseudo_labels.detach() * F.log_softmax(entity_logits, dim=-1)).sum(dim=-1).mean()


class VideoTextEncoder(nn.Module):
    """Toy unimodal encoders: video (N, T, F) → (N, D); token ids (N, L) → (N, D)."""

    def __init__(self, frame_dim: int, vocab: int, config: ALPROConfig = ALPROConfig()) -> None:
        super().__init__()
        self.video_proj = nn.Linear(frame_dim, config.embed_dim)
        self.token_embed = nn.Embedding(vocab, config.embed_dim)
        self.text_proj = nn.Linear(config.embed_dim, config.embed_dim)

    def encode_video(self, frames: torch.Tensor) -> torch.Tensor:
        return self.video_proj(frames.mean(dim=1))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.text_proj(self.token_embed(tokens).mean(dim=1))


@register_example(covers=[VideoTextEncoder, vtc_loss, entity_pseudo_labels, pem_loss])
def alpro_toy() -> Example:
    g = seeded(0)
    model = VideoTextEncoder(6, 20, TINY)
    frames = torch.randn(3, 4, 6, generator=g)
    tokens = torch.randint(0, 20, (3, 5), generator=g)
    prompt_tokens = torch.randint(0, 20, (4, 5), generator=g)
    head = torch.randn(TINY.embed_dim, 4, generator=g)

    def run(m: VideoTextEncoder, frames: torch.Tensor) -> tuple[torch.Tensor, ...]:
        v = m.encode_video(frames)
        t = m.encode_text(tokens.to(frames.device))
        q = entity_pseudo_labels(m.encode_video(frames[:, :2]), m.encode_text(prompt_tokens.to(frames.device)))
        return vtc_loss(v, t), q, pem_loss(v @ head.to(frames.device), q)

    return Example(model=model, inputs=(frames,), output_shapes=((), (3, 4), ()), run=run)
