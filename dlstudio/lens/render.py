"""Pictures of values: feature-map grids, images, heat strips, class bars and histograms.

Pure numpy and Pillow, so ``inspect`` writes the same pictures without a screen and the window
shows them as they are. Every function returns an (H, W, 3) uint8 array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from dlstudio.core.files import atomic_path

_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)
_HEAT = np.array([[0, 0, 0], [120, 0, 0], [230, 60, 0], [255, 200, 0], [255, 255, 220]], float)
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
BAR = (70, 110, 190)
BAR_TOP = (220, 90, 40)


def colormap(values: np.ndarray, table: np.ndarray = _VIRIDIS) -> np.ndarray:
    """Values in [0, 1] (any shape) -> RGB uint8 by piecewise-linear interpolation."""
    v = np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * (len(table) - 1)
    low = np.floor(v).astype(int).clip(0, len(table) - 2)
    t = (v - low)[..., None]
    return (table[low] * (1 - t) + table[low + 1] * t).round().astype(np.uint8)


def heat_colors(values: np.ndarray) -> np.ndarray:
    """The black-red-yellow map saliency is drawn with."""
    return colormap(values, _HEAT)


def normalise(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the finite minimum and maximum (a constant becomes 0.5)."""
    data = np.asarray(values, dtype=np.float64)
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return np.full(data.shape, 0.5)
    low, high = finite.min(), finite.max()
    if high - low < 1e-12:
        return np.full(data.shape, 0.5)
    return (np.nan_to_num(data, nan=low) - low) / (high - low)


def _scaled(picture: np.ndarray, longest: int) -> np.ndarray:
    h, w = picture.shape[:2]
    factor = longest / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    resample = Image.Resampling.NEAREST if factor >= 1 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(picture).resize(size, resample))


def image(value: np.ndarray, longest: int = 256) -> np.ndarray:
    """A (1, H, W) or (3, H, W) value drawn as the picture it is."""
    data = normalise(value)
    rgb = np.repeat(data, 3, axis=0) if data.shape[0] == 1 else data[:3]
    picture = (rgb.transpose(1, 2, 0) * 255).round().astype(np.uint8)
    return _scaled(picture, longest)


def feature_grid(value: np.ndarray, longest: int = 512, max_maps: int = 64) -> np.ndarray:
    """(C, H, W) as a grid of its first ``max_maps`` channels, each scaled on its own."""
    maps = value[:max_maps]
    count = len(maps)
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    h, w = maps.shape[1:]
    gap = 1
    canvas = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, np.uint8)
    for index, channel in enumerate(maps):
        r, c = divmod(index, columns)
        top, left = r * (h + gap), c * (w + gap)
        canvas[top : top + h, left : left + w] = colormap(normalise(channel))
    return _scaled(canvas, longest)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default()


def heat_strip(
    value: np.ndarray, tokens: Sequence[str] | None = None, longest: int = 512
) -> np.ndarray:
    """(T, E) as a heat map, one row per step, labelled with the tokens when known."""
    strip = colormap(normalise(value))
    t, e = strip.shape[:2]
    cell_h = max(4, min(24, longest // max(t, 1)))
    # Rows too short for a label (a thumbnail, a long sequence) get no empty label column.
    label_w = 90 if tokens and cell_h >= 10 else 0
    cell_w = max(1, min(8, (longest - label_w) // max(e, 1)))
    body = np.asarray(
        Image.fromarray(strip).resize((e * cell_w, t * cell_h), Image.Resampling.NEAREST)
    )
    canvas = Image.new("RGB", (label_w + body.shape[1], body.shape[0]), BACKGROUND)
    canvas.paste(Image.fromarray(body), (label_w, 0))
    if tokens and label_w:
        draw = ImageDraw.Draw(canvas)
        for row, token in enumerate(list(tokens)[:t]):
            draw.text((2, row * cell_h + (cell_h - 10) // 2), token[:14], fill=INK, font=_font())
    return np.asarray(canvas)


def class_bars(
    values: np.ndarray, names: Sequence[str] | None = None, top: int = 10, width: int = 360
) -> np.ndarray:
    """The ``top`` largest scores as horizontal bars with their class names and values."""
    scores = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(-scores, kind="stable")[:top]
    row_h, label_w, value_w = 18, 110, 60
    canvas = Image.new("RGB", (width, row_h * len(order) + 4), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    low = min(0.0, float(scores[order].min()))
    high = max(float(scores[order].max()), low + 1e-12)
    span = width - label_w - value_w
    for row, index in enumerate(order):
        name = names[index] if names is not None and index < len(names) else str(index)
        y = row * row_h + 2
        length = int(span * (scores[index] - low) / (high - low))
        draw.rectangle(
            (label_w, y + 2, label_w + max(length, 1), y + row_h - 3),
            fill=BAR_TOP if row == 0 else BAR,
        )
        draw.text((2, y + 3), str(name)[:16], fill=INK, font=_font())
        draw.text((width - value_w + 4, y + 3), f"{scores[index]:.3g}", fill=INK, font=_font())
    return np.asarray(canvas)


def histogram(
    values: np.ndarray, bins: int = 40, width: int = 360, height: int = 160
) -> np.ndarray:
    """A histogram of every finite value, with the range written under it."""
    data = np.asarray(values, dtype=np.float64).ravel()
    data = data[np.isfinite(data)]
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    labelled = height >= 80
    if data.size == 0:
        draw.text((8, height // 2), "no finite values", fill=INK, font=_font())
        return np.asarray(canvas)
    counts, edges = np.histogram(data, bins=bins)
    plot_h = height - 18 if labelled else height - 1
    bar_w = width / bins
    peak = max(int(counts.max()), 1)
    for i, count in enumerate(counts):
        top = plot_h - int((plot_h - 4) * count / peak)
        draw.rectangle((int(i * bar_w), top, int((i + 1) * bar_w) - 1, plot_h), fill=BAR)
    if labelled:
        draw.text((2, plot_h + 3), f"{edges[0]:.3g}", fill=INK, font=_font())
        right = f"{edges[-1]:.3g}"
        draw.text((width - 6 * len(right) - 2, plot_h + 3), right, fill=INK, font=_font())
    return np.asarray(canvas)


def overlay(base: np.ndarray, heat: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """A heat map in [0, 1] (H, W) blended over an RGB picture of any size."""
    h, w = base.shape[:2]
    colors = heat_colors(heat)
    colors = np.asarray(Image.fromarray(colors).resize((w, h), Image.Resampling.BILINEAR))
    blended = base.astype(np.float64) * (1 - alpha) + colors.astype(np.float64) * alpha
    return blended.round().clip(0, 255).astype(np.uint8)


def token_heat(tokens: Sequence[str], scores: np.ndarray, width: int = 520) -> np.ndarray:
    """Tokens laid out as text, each on a background coloured by its score in [0, 1]."""
    font = _font()
    row_h, x, y = 20, 4, 4
    placed = []
    for token, score in zip(tokens, np.asarray(scores, dtype=np.float64), strict=False):
        w = 7 * len(token) + 8
        if x + w > width - 4 and x > 4:
            x, y = 4, y + row_h
        placed.append((x, y, w, token, float(score)))
        x += w + 4
    canvas = Image.new("RGB", (width, y + row_h + 4), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for x, y, w, token, score in placed:
        color = tuple(int(c) for c in heat_colors(np.array([0.25 + 0.75 * score]))[0])
        draw.rectangle((x, y, x + w, y + row_h - 4), fill=color)
        ink = INK if score > 0.5 else (250, 250, 250)
        draw.text((x + 4, y + 3), token, fill=ink, font=font)
    return np.asarray(canvas)


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    """Write an RGB array as a PNG, atomically (a crash never leaves half a picture)."""
    with atomic_path(path) as tmp:
        Image.fromarray(picture).save(tmp, format="PNG")
    return Path(path)


def captioned(picture: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """The picture with lines of text above it (on a white band at least 360 px wide)."""
    row_h = 14
    width = max(picture.shape[1], 360)
    canvas = Image.new("RGB", (width, picture.shape[0] + row_h * len(lines) + 6), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((4, 3 + i * row_h), line, fill=INK, font=_font())
    canvas.paste(Image.fromarray(picture), (0, row_h * len(lines) + 6))
    return np.asarray(canvas)


def scatter_positions(coords: np.ndarray, size: int = 640) -> np.ndarray:
    """Where :func:`scatter` draws each point, in pixels (x right, y down)."""
    if len(coords) == 0:
        return np.zeros((0, 2))
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low < 1e-12, 1.0, high - low)
    margin = 40
    points = (coords - low) / span * (size - 2 * margin) + margin
    points[:, 1] = size - points[:, 1]
    return points


def scatter(
    coords: np.ndarray, labels: Sequence[str], size: int = 640, highlight: Sequence[int] = ()
) -> np.ndarray:
    """Points with their labels (an embedding map); ``highlight`` points in the accent."""
    canvas = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for i, ((x, y), label) in enumerate(zip(scatter_positions(coords, size), labels, strict=False)):
        color = BAR_TOP if i in highlight else BAR
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=color)
        draw.text((x + 5, y - 6), str(label)[:16], fill=INK, font=_font())
    return np.asarray(canvas)


def filter_grid(weight: np.ndarray, longest: int = 480, max_filters: int = 64) -> np.ndarray:
    """A convolution's kernels (out, in, kh, kw) as small pictures: in colour when they read
    three channels (an RGB input), else the first input channel; each scaled on its own, so the
    pattern shows whatever its size."""
    kernels = weight[:max_filters]
    count, channels, kh, kw = kernels.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    gap = 1
    canvas = np.full((rows * (kh + gap) - gap, columns * (kw + gap) - gap, 3), 255, np.uint8)
    for index, kernel in enumerate(kernels):
        r, c = divmod(index, columns)
        top, left = r * (kh + gap), c * (kw + gap)
        if channels == 3:
            tile = (normalise(kernel).transpose(1, 2, 0) * 255).round().astype(np.uint8)
        else:
            tile = colormap(normalise(kernel[0]))
        canvas[top : top + kh, left : left + kw] = tile
    return _scaled(canvas, longest)


def mini_bars(values: np.ndarray, width: int, height: int, top: int = 10) -> np.ndarray:
    """The ``top`` largest scores as plain vertical bars, largest first (a thumbnail)."""
    scores = np.sort(np.asarray(values, dtype=np.float64).ravel())[::-1][:top]
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if scores.size == 0:
        return np.asarray(canvas)
    low = min(0.0, float(scores.min()))
    span = max(float(scores.max()) - low, 1e-12)
    bar = width / len(scores)
    for i, score in enumerate(scores):
        top_y = height - 2 - int((height - 4) * (score - low) / span)
        color = BAR_TOP if i == 0 else BAR
        draw.rectangle((int(i * bar) + 1, top_y, int((i + 1) * bar) - 1, height - 2), fill=color)
    return np.asarray(canvas)
