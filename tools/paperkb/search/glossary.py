"""Key terms in both languages, so a query in one finds notes written only in the other.

At index time each entry gets a ``glossary`` field holding the other language's
name of every glossary term its text mentions in one language only: an entry
whose notes say 判别器 is found by "discriminator", one that says "perceptual
loss" by 感知损失; notes that already use both names get nothing twice.
English terms are matched on stems ("discriminators" mentions "discriminator").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# (English, Chinese names). The first Chinese name is the usual one; others are synonyms.
TERMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cycle consistency", ("循环一致性",)),
    ("perceptual loss", ("感知损失",)),
    ("adversarial loss", ("对抗损失",)),
    ("reconstruction loss", ("重建损失", "重构损失")),
    ("identity loss", ("身份损失",)),
    ("loss function", ("损失函数",)),
    ("discriminator", ("判别器", "鉴别器")),
    ("generator", ("生成器",)),
    ("generative adversarial network", ("生成对抗网络", "对抗生成网络")),
    ("style transfer", ("风格迁移",)),
    ("instance normalization", ("实例归一化",)),
    ("batch normalization", ("批归一化", "批量归一化")),
    ("spectral normalization", ("谱归一化",)),
    ("normalization", ("归一化", "标准化")),
    ("super-resolution", ("超分辨率", "超分")),
    ("image translation", ("图像翻译",)),
    ("image synthesis", ("图像生成", "图像合成")),
    ("face swapping", ("换脸",)),
    ("face recognition", ("人脸识别",)),
    ("object detection", ("目标检测",)),
    ("semantic segmentation", ("语义分割",)),
    ("attention", ("注意力",)),
    ("diffusion model", ("扩散模型",)),
    ("encoder", ("编码器",)),
    ("decoder", ("解码器",)),
    ("upsampling", ("上采样",)),
    ("downsampling", ("下采样",)),
    ("convolution", ("卷积",)),
    ("residual block", ("残差块",)),
    ("latent space", ("潜在空间", "隐空间")),
    ("gradient penalty", ("梯度惩罚",)),
    ("feature pyramid", ("特征金字塔",)),
    ("neural radiance field", ("神经辐射场",)),
    ("volume rendering", ("体渲染",)),
    ("landmark", ("关键点",)),
    ("learning rate warmup", ("学习率预热",)),
    ("learning rate", ("学习率",)),
    ("mixed precision", ("混合精度",)),
    ("label smoothing", ("标签平滑",)),
    ("gradient clipping", ("梯度裁剪",)),
    ("weight clipping", ("权重裁剪",)),
    ("positional encoding", ("位置编码",)),
    ("anchor box", ("锚框",)),
    ("knowledge distillation", ("知识蒸馏",)),
    ("data augmentation", ("数据增强",)),
    ("overfitting", ("过拟合",)),
    ("debugging", ("调试",)),
    ("breakpoint", ("断点",)),
    ("texture", ("纹理",)),
    ("style", ("风格",)),
)


@dataclass(frozen=True)
class Term:
    en: str
    zh: tuple[str, ...]
    stems: tuple[str, ...]


@lru_cache(maxsize=1)
def terms() -> tuple[Term, ...]:
    from .analyzers import query_terms  # the same stems the index uses

    return tuple(Term(en, zh, tuple(query_terms(en))) for en, zh in TERMS)


def _contains(seq: list[str], positions: dict[str, list[int]], phrase: tuple[str, ...]) -> bool:
    if not phrase:
        return False
    return any(tuple(seq[start : start + len(phrase)]) == phrase for start in positions.get(phrase[0], ()))


def translations(english_stems: Iterable[str], chinese_text: str) -> list[str]:
    """Other-language names of the glossary terms found in an entry's text.

    ``english_stems``: the entry's English text as analysed stems, in order;
    ``chinese_text``: its Chinese text, raw.
    """
    seq = list(english_stems)
    positions: dict[str, list[int]] = {}
    for i, word in enumerate(seq):
        positions.setdefault(word, []).append(i)
    found: list[str] = []
    for term in terms():
        in_english = _contains(seq, positions, term.stems)
        in_chinese = any(name in chinese_text for name in term.zh)
        # a term the entry already has in both languages needs no translation
        if in_english and not in_chinese:
            found.extend(term.zh)
        elif in_chinese and not in_english:
            found.append(term.en)
    return found
