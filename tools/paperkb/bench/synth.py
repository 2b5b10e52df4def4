"""Synthetic catalogs at scale (1,000 or 10,000 entries with ~400-word bilingual notes)."""

from __future__ import annotations

import random
from pathlib import Path

from ..catalog.emit import entry_to_yaml

_EN_WORDS = (
    "generator discriminator adversarial loss perceptual style content encoder decoder attention "
    "transformer patch residual normalization instance batch feature pyramid latent mapping noise "
    "synthesis translation cycle consistency identity reconstruction gradient penalty spectral "
    "upsampling convolution diffusion guidance rendering radiance field sampling alignment domain "
    "adaptation segmentation detection landmark face swap texture resolution training stability"
).split()
_ZH_WORDS = (
    "生成器 判别器 对抗 损失 感知 风格 内容 编码器 解码器 注意力 变换器 残差 归一化 实例 特征 金字塔 "
    "潜在 映射 噪声 合成 图像 翻译 循环一致性 重建 梯度 惩罚 上采样 卷积 扩散 引导 渲染 采样 对齐 "
    "域适应 分割 检测 关键点 人脸 纹理 分辨率 训练 稳定"
).split()
TAGS = {
    "gan": ("GAN", "生成对抗网络"),
    "image-synthesis": ("Image Synthesis", "图像生成"),
    "style-transfer": ("Style Transfer", "风格迁移"),
    "super-resolution": ("Super-Resolution", "超分辨率"),
    "detection": ("Detection", "目标检测"),
    "loss": ("Loss Function", "损失函数"),
}


def synth_entry(index: int, rng: random.Random, words: int = 400) -> dict:
    en = " ".join(rng.choice(_EN_WORDS) for _ in range(words // 2))
    zh = "".join(rng.choice(_ZH_WORDS) for _ in range(words // 2))
    return {
        "id": f"synth-{index:05d}",
        "kind": "paper" if index % 5 else "trick",
        "title": f"Synthetic {rng.choice(_EN_WORDS).title()} {rng.choice(_EN_WORDS).title()} Study {index}",
        "authors": ["A. Author", "B. Author"],
        "year": 2000 + index % 24,
        "venue": "arXiv",
        "links": {"arxiv": f"{2000 + index % 24 - 2000:02d}{(index % 12) + 1:02d}.{index:05d}"},
        "tags": sorted(rng.sample(sorted(TAGS), 2)),
        "status": ("unread", "reading", "read")[index % 3],
        "notes": {"en": _wrap(en), "zh": _wrap(zh, 40)},
        "refimpl": {"none": "synthetic entry"},
        "sources": ["synthetic"],
        "added": "2026-01-01",
    }


def _wrap(text: str, width: int = 88) -> str:
    lines, line = [], ""
    for token in text.split(" ") if " " in text else [text[i : i + width] for i in range(0, len(text), width)]:
        if len(line) + len(token) + 1 > width and line:
            lines.append(line)
            line = token
        else:
            line = f"{line} {token}".strip() if " " in text else line + token
    lines.append(line)
    return "\n".join(lines) + "\n"


def write_synthetic_catalog(path: str | Path, n: int, seed: int = 0) -> Path:
    """Write an ``n``-entry catalog in the project's format; returns the path."""
    rng = random.Random(seed)
    path = Path(path)
    head = ["# yaml-language-server: $schema=./catalog.schema.json\n", "version: 1\n", "\n", "tags:\n"]
    head += [f"  {slug}: {{en: {en}, zh: {zh}}}\n" for slug, (en, zh) in TAGS.items()]
    head += ["\n", "entries:\n"]
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(head)
        for i in range(n):
            handle.write(entry_to_yaml(synth_entry(i, rng)))
            handle.write("\n")
    return path
