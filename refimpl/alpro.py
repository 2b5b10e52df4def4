"""Align and Prompt: Video-and-Language Pre-training with Entity Prompts (ALPRO).

Dongxu Li, Junnan Li, Hongdong Li, Juan Carlos Niebles, Steven C. H. Hoi.
CVPR 2022. arXiv:2112.09583. Catalog id: ``align-and-prompt``.

Implemented:

* Sec. 3.1, the model: a video encoder (TimeSformer-base: 12 pre-norm blocks
  of *divided space-time attention*, each a temporal attention among the
  tokens of one patch position across frames, then a spatial attention among
  the patches of one frame and the class token, then an MLP), whose patch
  tokens are averaged over time; a text encoder (the first 6 layers of
  BERT-base, with its embeddings); a multimodal encoder (the last 6 BERT-base
  layers) running self-attention over the concatenation
  ``[text tokens; video tokens]``. Heads: 256-d projections of the video and
  text class tokens for VTC, the 2-way video-text matching head, BERT's
  masked-language head (decoder tied to the word embeddings) and the PEM head
  (an MLP over the mean multimodal feature of a video region).
* Sec. 3.2, video-text contrastive loss (VTC): with L2-normalised video and
  text features and ``s(v, t) = vᵀt / τ``, ``L_vtc = ½ (L_v2t + L_t2v)``, each
  a cross-entropy whose positive for the i-th video is the i-th text (and vice
  versa). τ is learned, initialised to 0.07 and kept in [0.001, 0.5].
* Sec. 3.3, prompt entity modelling (PEM): the ``Prompter``, a separate pair
  of unimodal encoders with their projections trained by VTC, scores a random
  video crop against M entity prompts ("A video of a {ENTITY}.", averaged over
  templates); the soft pseudo-label is ``q = softmax(s(v̂, t_m) / τ)``; the
  model's PEM head predicts ``p`` from the multimodal features of the crop
  and ``L_pem = −Σ_m q_m log p_m``, averaged over the crops whose top pseudo
  probability reaches 0.2.

Official code: salesforce/ALPRO @ 4ff61636b0956ca0391b3d1df6d04db3d1a546b9
(``src/modeling/alpro_models.py``, ``src/modeling/timesformer/vit.py``,
``src/modeling/xbert.py``; ``config_release/base_model.json``,
``pretrain_alpro.json``, ``timesformer_divst_8x32_224_k600.json``).
``OFFICIAL`` is its pre-training configuration: 4 frames of 224², patch 16,
BERT-base with ``fusion_layer = 6``, 256-d VTC space, τ₀ = 0.07, 1000
entities. Parameter counts (official definitions instantiated on the meta
device, tested): video encoder 121,255,680; text encoder 66,364,416;
multimodal encoder 42,527,232; heads 3,736,101 (VTC projections 2 × 196,864,
matching 1,538, masked-language 622,650 besides its tied decoder, PEM
2,718,184, τ 1); ``ALPRO`` 233,883,429;
``Prompter`` 188,013,825. The official ``AlproForPretrain`` holds
465,663,874 parameters: the same plus modules it builds but never uses (a
400-way Kinetics classifier in each TimeSformer, and the prompter's fusion
layers, masked-language and matching heads), which are not built here.

Reuse: TimeSformer's patch embedding, attention and MLP are ViT's
(``refimpl/vit.py``: ``PatchEmbedding``, ``MultiHeadSelfAttention`` with a
fused, biased qkv, ``MLP`` with exact GELU), as in the official ``vit.py``.

Deviations from the paper and the official code:

* The official ``xbert.py`` keeps ALBEF's cross-attention code but switches
  it off (``BertLayer.has_cross_attention = False``): the multimodal layers
  are self-attention over ``[text; video]`` with the concatenated padding
  mask, as here, and hold no cross-attention weights.
* Stochastic depth (drop-path 0.1 in TimeSformer) is not implemented; dropout
  (0.1 in BERT) is. Both are identity at evaluation.
* The official encoders resize position / time embeddings by nearest
  interpolation when the input size differs from the configured one; here the
  input size is fixed by the config.
* The official prompter drops a crop when the *index* of its most similar
  entity is below 0.2 (``torch.max(...)[1]``), i.e. only when that entity is
  the first of the list; here a crop is dropped when its top pseudo-label
  probability is below 0.2, the intent its comment states. The prompter's τ is
  clamped here like the model's (officially it is left as loaded).
* The official prompter keeps two prompt sets, video templates ("A footage
  of a {}.") for WebVid and image templates ("A photo of a {}.") for CC3M,
  12 each; ``Prompter.prompt_features`` builds one set per call.
* VTC's negatives are the rest of the given batch; the official code gathers
  the features of every GPU (horovod all-gather) before the same loss.
* Video-text matching with hard-negative sampling and masked-language masking
  are not implemented as losses; their heads are.
* Initialisation: video cls / position embeddings and the text embedding
  tables are truncated-normal with std 0.02 and the time embedding is zero,
  as officially (BERT's own initialiser is a plain normal of std 0.02);
  linear layers keep PyTorch's defaults, where the official TimeSformer also
  zeroes ``temporal_fc`` after the first block (pre-trained ImageNet ViT and
  BERT weights are what the official model starts from).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .registry import Example, register_example, seeded
from .vit import MLP, MultiHeadSelfAttention, PatchEmbedding


@dataclass(frozen=True)
class ALPROConfig:
    # Video encoder, Sec. 3.1: TimeSformer-base, divided space-time attention.
    image_size: int = 224  # frames cropped to 224 × 224 (pretrain_alpro.json crop_img_size)
    patch_size: int = 16  # TimeSformer-base/16 (timesformer_divst_8x32_224_k600.json)
    num_frames: int = 4  # frames sampled per video in pre-training (pretrain_alpro.json num_frm)
    in_chans: int = 3
    video_depth: int = 12  # TimeSformer-base: 12 blocks
    video_eps: float = 1e-6  # TimeSformer LayerNorm ε
    # Shared width: TimeSformer-base and BERT-base are both 768 wide, 12 heads, MLP 3072.
    dim: int = 768
    num_heads: int = 12
    mlp_dim: int = 3072
    # Text and multimodal encoders, Sec. 3.1: BERT-base split after layer 6.
    vocab_size: int = 30522  # bert-base-uncased
    max_positions: int = 512
    type_vocab_size: int = 2
    text_layers: int = 6  # the first 6 layers of BERT-base (base_model.json fusion_layer 6)
    fusion_layers: int = 6  # the last 6 layers of BERT-base
    text_eps: float = 1e-12  # BERT LayerNorm ε
    dropout: float = 0.1  # BERT hidden and attention dropout
    # Heads, Sec. 3.2–3.3.
    embed_dim: int = 256  # VTC projection width
    temperature: float = 0.07  # initial τ, learned
    num_entities: int = 1000  # the most frequent nouns used as entities (config.py num_entities)
    ignore_threshold: float = 0.2  # crops whose top pseudo-label is below this are ignored (Prompter)

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2


# salesforce/ALPRO @ 4ff6163: config_release/pretrain_alpro.json (num_frm 4, crop_img_size 224),
# base_model.json (BERT-base, fusion_layer 6), timesformer_divst_8x32_224_k600.json (patch 16),
# alpro_models.py (embed_dim 256, temp 0.07), config.py (num_entities 1000), Prompter (ignore_threshold 0.2).
OFFICIAL = ALPROConfig()
TINY = ALPROConfig(image_size=8, patch_size=4, num_frames=3, video_depth=2, dim=16, num_heads=2, mlp_dim=32,
                   vocab_size=40, max_positions=16, text_layers=1, fusion_layers=1, dropout=0.0, embed_dim=8,
                   num_entities=5)

TAU_MIN, TAU_MAX = 0.001, 0.5  # official clamp of the learned temperature


# --------------------------------------------------------------------- video encoder
class DividedSpaceTimeBlock(nn.Module):
    """TimeSformer block: temporal attention (+ linear), spatial attention with the class token, MLP.

    ``cls`` is (B, 1, D); ``x`` the patch tokens (B, T, N, D). The class token joins every frame's
    spatial attention; its T outputs are averaged.
    """

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, eps: float) -> None:
        super().__init__()
        self.temporal_norm = nn.LayerNorm(dim, eps=eps)
        self.temporal_attn = MultiHeadSelfAttention(dim, num_heads)
        self.temporal_fc = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_dim)

    def forward(self, cls: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, n, d = x.shape
        xt = x.transpose(1, 2).reshape(b * n, t, d)  # one sequence over time per patch position
        res = self.temporal_attn(self.temporal_norm(xt)).reshape(b, n, t, d).transpose(1, 2)
        x = x + self.temporal_fc(res)
        xs = torch.cat([cls.unsqueeze(1).expand(b, t, 1, d), x], dim=2).reshape(b * t, n + 1, d)
        res = self.attn(self.norm1(xs)).reshape(b, t, n + 1, d)
        cls = cls + res[:, :, 0].mean(dim=1, keepdim=True)
        x = x + res[:, :, 1:]
        return cls + self.mlp(self.norm2(cls)), x + self.mlp(self.norm2(x))


class TimeSformer(nn.Module):
    """Video (B, T, C, H, W) → tokens (B, 1 + N, D): class token, then patch tokens averaged over time.

    Patches are numbered row-major within a frame, as in ``vit.PatchEmbedding``.
    """

    def __init__(self, config: ALPROConfig = OFFICIAL) -> None:
        super().__init__()
        d = config.dim
        self.patch_embed = PatchEmbedding(config.patch_size, config.in_chans, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, config.num_patches + 1, d))
        self.time_embed = nn.Parameter(torch.zeros(1, config.num_frames, d))
        self.blocks = nn.ModuleList(DividedSpaceTimeBlock(d, config.num_heads, config.mlp_dim, config.video_eps)
                                    for _ in range(config.video_depth))
        self.norm = nn.LayerNorm(d, eps=config.video_eps)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b, t = video.shape[:2]
        x = self.patch_embed(video.flatten(0, 1))  # (B·T, N, D), every frame cut alike
        x = x.reshape(b, t, x.shape[1], x.shape[2]) + self.pos_embed[:, 1:] + self.time_embed.unsqueeze(2)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(b, -1, -1)
        for block in self.blocks:
            cls, x = block(cls, x)
        # The final LayerNorm acts on every token; the patch tokens are then averaged over time.
        return torch.cat([self.norm(cls), self.norm(x).mean(dim=1)], dim=1)


# --------------------------------------------------------------------- text and multimodal encoders
class BertLayer(nn.Module):
    """Post-norm BERT layer: LN(x + Attn(x)), then LN(h + W₂ GELU(W₁ h)); padded keys are masked."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.attn_out = nn.Linear(dim, dim)
        self.attn_norm = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.fc2 = nn.Linear(mlp_dim, dim)
        self.out_norm = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` (B, L): 1 for tokens to attend to, 0 for padding."""
        b, n, d = x.shape

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.reshape(b, n, self.num_heads, d // self.num_heads).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(-2, -1) / (d // self.num_heads) ** 0.5
        scores = scores + (1.0 - mask[:, None, None, :].to(scores.dtype)) * -10000.0  # BERT's additive mask
        ctx = (self.drop(scores.softmax(dim=-1)) @ v).transpose(1, 2).reshape(b, n, d)
        h = self.attn_norm(x + self.drop(self.attn_out(ctx)))
        return self.out_norm(h + self.drop(self.fc2(F.gelu(self.fc1(h)))))


def _embedding(num: int, dim: int, padding_idx: int | None = None) -> nn.Embedding:
    """An embedding table with BERT's initialiser (std 0.02), truncated as in BERT's TensorFlow code."""
    # Truncated rather than plain normal also keeps meta-device construction cheap.
    e = nn.Embedding(num, dim, padding_idx=padding_idx, _weight=torch.empty(num, dim))
    nn.init.trunc_normal_(e.weight, std=0.02)
    return e


class TextEncoder(nn.Module):
    """BERT embeddings and the first layers: token ids (B, L) and mask (B, L) → (B, L, D)."""

    def __init__(self, config: ALPROConfig = OFFICIAL) -> None:
        super().__init__()
        d = config.dim
        self.word_embed = _embedding(config.vocab_size, d, padding_idx=0)
        self.pos_embed = _embedding(config.max_positions, d)
        self.type_embed = _embedding(config.type_vocab_size, d)
        self.norm = nn.LayerNorm(d, eps=config.text_eps)
        self.drop = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(BertLayer(d, config.num_heads, config.mlp_dim, config.text_eps, config.dropout)
                                    for _ in range(config.text_layers))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        # Every token has segment 0: ALPRO feeds single sentences.
        x = self.word_embed(tokens) + self.type_embed.weight[0] + self.pos_embed(positions)
        x = self.drop(self.norm(x))
        for layer in self.layers:
            x = layer(x, mask)
        return x


class MultimodalEncoder(nn.Module):
    """The last BERT layers over [text; video]: (B, L, D), mask (B, L), (B, V, D) → (B, L + V, D)."""

    def __init__(self, config: ALPROConfig = OFFICIAL) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            BertLayer(config.dim, config.num_heads, config.mlp_dim, config.text_eps, config.dropout)
            for _ in range(config.fusion_layers))

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        x = torch.cat([text, video], dim=1)
        mask = torch.cat([text_mask, text_mask.new_ones(video.shape[:2])], dim=1)  # every video token is real
        for layer in self.layers:
            x = layer(x, mask)
        return x


class MLMHead(nn.Module):
    """BERT's masked-language head: dense, GELU, LayerNorm, then the (tied) word embeddings plus a bias."""

    def __init__(self, config: ALPROConfig, word_embed: nn.Embedding) -> None:
        super().__init__()
        self.dense = nn.Linear(config.dim, config.dim)
        self.norm = nn.LayerNorm(config.dim, eps=config.text_eps)
        self.word_embed = word_embed  # shared, not a copy
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.gelu(self.dense(x))) @ self.word_embed.weight.T + self.bias


# --------------------------------------------------------------------- the models
class UnimodalEncoders(nn.Module):
    """Video and text encoders with their VTC projections and the learned temperature."""

    def __init__(self, config: ALPROConfig = OFFICIAL) -> None:
        super().__init__()
        self.config = config
        self.video_encoder = TimeSformer(config)
        self.text_encoder = TextEncoder(config)
        self.vision_proj = nn.Linear(config.dim, config.embed_dim)
        self.text_proj = nn.Linear(config.dim, config.embed_dim)
        self.temperature = nn.Parameter(torch.tensor(config.temperature))

    def tau(self) -> torch.Tensor:
        """The learned τ, clamped in place to [0.001, 0.5] as the official training step does (once per step)."""
        with torch.no_grad():
            self.temperature.clamp_(TAU_MIN, TAU_MAX)
        return self.temperature

    def encode_video(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Video (B, T, C, H, W) → tokens (B, 1 + N, D) and the unit VTC feature (B, embed_dim)."""
        tokens = self.video_encoder(video)
        return tokens, F.normalize(self.vision_proj(tokens[:, 0]), dim=-1)

    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids and mask (B, L) → tokens (B, L, D) and the unit VTC feature (B, embed_dim)."""
        x = self.text_encoder(tokens, mask)
        return x, F.normalize(self.text_proj(x[:, 0]), dim=-1)


class ALPRO(UnimodalEncoders):
    """The video-language model of Sec. 3.1 with its pre-training heads."""

    def __init__(self, config: ALPROConfig = OFFICIAL) -> None:
        super().__init__(config)
        d = config.dim
        self.multimodal_encoder = MultimodalEncoder(config)
        self.vtm_head = nn.Linear(d, 2)
        self.mlm_head = MLMHead(config, self.text_encoder.word_embed)
        self.pem_head = nn.Sequential(nn.Linear(d, 2 * d), nn.ReLU(), nn.Linear(2 * d, config.num_entities))

    def fuse(self, text: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        return self.multimodal_encoder(text, text_mask, video)

    def vtm_logits(self, fused: torch.Tensor) -> torch.Tensor:
        """Match / no-match logits (B, 2) from the first multimodal token ([CLS] of the text)."""
        return self.vtm_head(fused[:, 0])

    def mlm_logits(self, fused: torch.Tensor, text_len: int) -> torch.Tensor:
        """Vocabulary logits (B, L, vocab) of the text positions."""
        return self.mlm_head(fused[:, :text_len])

    def pem_logits(self, fused: torch.Tensor, text_len: int, region: torch.Tensor) -> torch.Tensor:
        """Entity logits (B, M) of the mean multimodal feature of the patches in ``region`` (B, N), 1 inside."""
        patches = fused[:, text_len + 1:]  # skip the text and the video class token
        w = region.to(patches.dtype).unsqueeze(-1)
        return self.pem_head((w * patches).sum(dim=1) / w.sum(dim=1))


class Prompter(UnimodalEncoders):
    """Sec. 3.3: the frozen entity prompter, a separate pair of unimodal encoders trained with VTC."""

    def prompt_features(self, tokens: torch.Tensor, mask: torch.Tensor, num_templates: int) -> torch.Tensor:
        """Prompt ids (K·M, L), template-major, → (M, embed_dim): each entity's unit features averaged over K."""
        feats = self.encode_text(tokens, mask)[1]
        return feats.reshape(num_templates, -1, feats.shape[-1]).mean(dim=0)

    @torch.no_grad()
    def pseudo_labels(self, crop: torch.Tensor, prompts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Video crops (B, T, C, H, W) and prompt features (M, E) → q (B, M) and the mask of crops to ignore."""
        q = entity_pseudo_labels(self.encode_video(crop)[1], prompts, self.tau())
        return q, q.max(dim=-1).values < self.config.ignore_threshold


# --------------------------------------------------------------------- losses
def vtc_loss(video: torch.Tensor, text: torch.Tensor,
             temperature: float | torch.Tensor = ALPROConfig.temperature) -> torch.Tensor:
    """Symmetric InfoNCE of paired embeddings (N, D), cosine similarity over τ."""
    sim = F.normalize(video, dim=-1) @ F.normalize(text, dim=-1).T / temperature
    labels = torch.arange(video.shape[0], device=video.device)
    return 0.5 * (F.cross_entropy(sim, labels) + F.cross_entropy(sim.T, labels))


def entity_pseudo_labels(crop: torch.Tensor, prompts: torch.Tensor,
                         temperature: float | torch.Tensor = ALPROConfig.temperature) -> torch.Tensor:
    """Prompter scores: unit crop features (N, D) against prompt features (M, D) → q (N, M), rows sum to 1.

    The prompt features are used as given: template averages of unit vectors are not re-normalised,
    as in the official prompter.
    """
    return (F.normalize(crop, dim=-1) @ prompts.T / temperature).softmax(dim=-1)


def pem_loss(entity_logits: torch.Tensor, pseudo_labels: torch.Tensor,
             ignore: torch.Tensor | None = None) -> torch.Tensor:
    """−Σ_m q_m log softmax(logits)_m, averaged over the crops not ignored; the pseudo-labels get no gradient."""
    ce = -(pseudo_labels.detach() * F.log_softmax(entity_logits, dim=-1)).sum(dim=-1)
    if ignore is None:
        return ce.mean()
    keep = ~ignore
    return (ce * keep).sum() / keep.sum()


# --------------------------------------------------------------------- examples
def _tiny_batch(g: torch.Generator, b: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    c = TINY
    video = torch.randn(b, c.num_frames, c.in_chans, c.image_size, c.image_size, generator=g)
    tokens = torch.randint(1, c.vocab_size, (b, 5), generator=g)
    mask = torch.ones(b, 5, dtype=torch.long)
    mask[0, 3:] = 0
    return video, tokens, mask


@register_example(covers=[ALPRO, TimeSformer, DividedSpaceTimeBlock, TextEncoder, BertLayer, MultimodalEncoder,
                          MLMHead, UnimodalEncoders, vtc_loss, pem_loss])
def alpro_tiny() -> Example:
    g = seeded(0)
    model = ALPRO(TINY)
    video, tokens, mask = _tiny_batch(g)
    region = torch.zeros(3, TINY.num_patches)
    region[:, :2] = 1
    q = torch.softmax(torch.randn(3, TINY.num_entities, generator=g), dim=-1)

    def run(m: ALPRO, video: torch.Tensor) -> tuple[torch.Tensor, ...]:
        v_tokens, v_feat = m.encode_video(video)
        t_tokens, t_feat = m.encode_text(tokens.to(video.device), mask.to(video.device))
        fused = m.fuse(t_tokens, mask.to(video.device), v_tokens)
        loss = vtc_loss(v_feat, t_feat, m.tau())
        pem = pem_loss(m.pem_logits(fused, 5, region.to(video.device)), q.to(video.device))
        return loss, m.vtm_logits(fused), m.mlm_logits(fused, 5), pem

    return Example(model=model, inputs=(video,), run=run,
                   output_shapes=((), (3, 2), (3, 5, TINY.vocab_size), ()))


@register_example(covers=[Prompter, entity_pseudo_labels])
def alpro_prompter() -> Example:
    g = seeded(1)
    model = Prompter(TINY)
    video, tokens, mask = _tiny_batch(g)
    prompt_tokens = torch.randint(1, TINY.vocab_size, (2 * TINY.num_entities, 4), generator=g)

    def run(m: Prompter, video: torch.Tensor) -> tuple[torch.Tensor, ...]:
        prompts = m.prompt_features(prompt_tokens.to(video.device), torch.ones_like(prompt_tokens).to(video.device), 2)
        v_feat = m.encode_video(video)[1]
        t_feat = m.encode_text(tokens.to(video.device), mask.to(video.device))[1]
        tau = m.tau()  # clamps in place: once per step
        return vtc_loss(v_feat, t_feat, tau), entity_pseudo_labels(v_feat, prompts, tau)

    return Example(model=model, inputs=(video,), run=run, output_shapes=((), (3, TINY.num_entities)))
