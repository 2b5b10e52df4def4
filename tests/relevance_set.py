"""A labelled query set on the real catalog, run through the browser search and the
terminal search alike: English, Chinese, mixed, plurals, typos, author names, arXiv ids.

Each query lists the entries a reader expects among the first five results. The set is
written from what the notes and metadata say, not from what either engine returns.
"""

from __future__ import annotations

LABELLED: dict[str, list[tuple[str, set[str]]]] = {
    "english": [
        ("PatchGAN", {"pix2pix"}),
        ("cycle consistency", {"cyclegan"}),
        ("adaptive instance normalization", {"adain"}),
        ("style transfer", {"adain"}),
        ("super-resolution", {"srgan", "esrgan"}),
        ("volume rendering", {"nerf"}),
        ("face detection", {"mtcnn", "retinaface"}),
        ("additive angular margin", {"arcface"}),
        ("LPIPS", {"lpips"}),
        ("spatially-adaptive normalization", {"spade"}),
        ("masked autoencoders", {"mae"}),
        ("thin plate spline", {"thin-plate-spline"}),
        ("pdb breakpoint", {"pdb-debugging"}),
        ("progressive growing", {"progan"}),
    ],
    "chinese": [
        ("判别器", {"pix2pix", "pix2pixhd"}),
        ("人脸识别", {"arcface", "cosface", "sphereface"}),
        ("超分辨率", {"srgan", "esrgan"}),
        ("风格迁移", {"adain"}),
        ("人脸检测", {"mtcnn", "retinaface"}),
        ("关键点", {"pfld"}),
        ("换脸", {"faceswap-gan"}),
        ("归一化", {"adain"}),
    ],
    "mixed": [
        ("PatchGAN 判别器", {"pix2pix"}),
        ("GAN 超分辨率", {"srgan", "esrgan"}),
        ("AdaIN 风格", {"adain"}),
        ("CycleGAN 换脸", {"cyclegan-face-swap-experiment"}),
        ("StarGAN 多域", {"stargan"}),
    ],
    "plurals": [
        ("discriminators", {"pix2pix"}),
        ("landmarks", {"pfld", "mtcnn"}),
        ("anchors", {"retinaface"}),
        ("margins", {"arcface", "cosface"}),
        ("radiance fields", {"nerf"}),
    ],
    "typos": [
        ("pix2pxi", {"pix2pix"}),
        ("cycle consistancy", {"cyclegan"}),
        ("radiance feilds", {"nerf"}),
        ("perceptaul loss", {"perceptual-loss"}),
        ("debuging", {"pdb-debugging"}),
        ("retinafce", {"retinaface"}),
    ],
    "authors": [
        ("Belongie", {"adain"}),
        ("Goodfellow", {"gan"}),
        ("Karras", {"progan", "stylegan", "stylegan2"}),
        ("Mildenhall", {"nerf"}),
    ],
    "arxiv": [
        ("1703.06868", {"adain"}),
        ("1703.10593", {"cyclegan"}),
        ("2003.08934", {"nerf"}),
        ("1801.07698", {"arcface"}),
    ],
}

RECALL_FLOOR = 0.9
MRR_FLOOR = 0.75


def everything() -> list[tuple[str, set[str]]]:
    return [q for queries in LABELLED.values() for q in queries]


def score(ranked: dict[str, list[str]]) -> tuple[float, float, list[str]]:
    """recall@5 and MRR (first expected entry's reciprocal rank) over the whole set,
    and a line per query that missed something."""
    recall = mrr = 0.0
    misses = []
    queries = everything()
    for text, expected in queries:
        top = ranked.get(text, [])
        found = expected & set(top[:5])
        recall += len(found) / len(expected)
        rank = first_rank(top, expected)
        mrr += 1 / rank if rank else 0.0
        if found != expected:
            misses.append(f"{text!r}: missing {sorted(expected - found)} in {top[:5]}")
    return recall / len(queries), mrr / len(queries), misses


def first_rank(top: list[str], expected: set[str]) -> int | None:
    """1-based rank of the first expected entry in ``top``, or None."""
    return next((i for i, entry in enumerate(top, 1) if entry in expected), None)


def ranks(*runs: dict[str, list[str]]) -> list[tuple]:
    """``(query, rank in each run...)`` for every query, to compare engines query by query."""
    return [(text, *(first_rank(run.get(text, []), expected) for run in runs)) for text, expected in everything()]
