"""ONNX Resize and Upsample -> the Resize layer (``F.interpolate``), where torch computes the
same coordinates: nearest neighbours are checked index by index at the file's sizes; linear and
cubic need ONNX's half-pixel or align-corners coordinates (and cubic torch's A = -0.75)."""

from __future__ import annotations

import math

import numpy as np

from dlstudio.compile.importers.values import Unmapped

_HALF_PIXEL = ("half_pixel", "pytorch_half_pixel")


def _text(value, default: str) -> str:
    if value is None:
        return default
    return value.decode() if isinstance(value, bytes) else str(value)


def _constant(inputs, index: int, what: str) -> list[float] | None:
    if len(inputs) <= index or inputs[index] is None:
        return None
    value = inputs[index]
    if not isinstance(value, np.ndarray):
        raise Unmapped(f"{what} are computed, not constant")
    return [float(v) for v in value.reshape(-1)] or None


def _onnx_nearest(length: int, out: int, scale: float, coords: str, rounding: str) -> list[int]:
    """The source index ONNX reads for each output position along one axis."""
    picked = []
    for x in range(out):
        if coords == "asymmetric":
            src = x / scale
        elif coords == "half_pixel":
            src = (x + 0.5) / scale - 0.5
        elif coords == "pytorch_half_pixel":
            src = (x + 0.5) / scale - 0.5 if out > 1 else 0.0
        elif coords == "tf_half_pixel_for_nn":
            src = (x + 0.5) / scale
        elif coords == "align_corners":
            src = x * (length - 1) / (out - 1) if out > 1 else 0.0
        else:
            raise Unmapped(f"nearest neighbours with {coords} coordinates")
        index = {
            "round_prefer_floor": math.ceil(src - 0.5),
            "round_prefer_ceil": math.floor(src + 0.5),
            "floor": math.floor(src),
            "ceil": math.ceil(src),
        }[rounding]
        picked.append(min(max(index, 0), length - 1))
    return picked


def _torch_nearest(length: int, out: int, scale: float | None, exact: bool) -> list[int]:
    """The source index torch's nearest (or nearest-exact) reads, in its float32 arithmetic."""
    step = np.float32(1.0 / scale) if scale is not None else np.float32(length / out)
    shift = np.float32(0.5) if exact else np.float32(0.0)
    return [min(int(np.floor((np.float32(x) + shift) * step)), length - 1) for x in range(out)]


def resize(w, node, inputs, attrs):
    """Resize (opset 10 on) and Upsample: the spatial axes scaled, batch and channels kept."""
    before, after = w.shape(node.input[0]), w.shape(node.output[0])
    rank = len(before)
    if rank not in (3, 4, 5) or tuple(before[:2]) != tuple(after[:2]):
        raise Unmapped(f"resizes {list(before)} to {list(after)} (only the spatial axes resize)")
    mode = _text(attrs.get("mode"), "nearest")
    legacy = node.op_type == "Upsample" or w.opset < 11
    coords = "asymmetric" if legacy else _text(attrs.get("coordinate_transformation_mode"), "")
    coords = coords or "half_pixel"
    rounding = "floor" if legacy else _text(attrs.get("nearest_mode"), "round_prefer_floor")
    if attrs.get("antialias", 0) and any(a < b for a, b in zip(after, before, strict=True)):
        raise Unmapped("antialiased downsampling")
    if node.op_type == "Upsample" and "scales" in attrs:
        scales = [float(s) for s in attrs["scales"]]
    elif legacy:
        scales = _constant(inputs, 1, "scales")
    else:
        scales = _constant(inputs, 2, "scales")
        axes = attrs.get("axes")
        if scales and axes:
            full = [1.0] * rank
            for axis, value in zip(axes, scales, strict=True):
                full[axis % rank] = value
            scales = full
    spatial_in, spatial_out = before[2:], after[2:]
    if scales is not None:
        spatial_scales = scales[2:]
    else:
        spatial_scales = [o / i for i, o in zip(spatial_in, spatial_out, strict=True)]
    same = len(set(spatial_scales)) == 1 and scales is not None
    params: dict = {"scale_factor": spatial_scales[0], "size": None} if same else {}
    if not same:
        params = {"scale_factor": None, "size": tuple(spatial_out)}
    torch_scale = spatial_scales[0] if same else None
    if mode == "nearest":
        wanted = [
            _onnx_nearest(i, o, s, coords, rounding)
            for i, o, s in zip(spatial_in, spatial_out, spatial_scales, strict=True)
        ]
        for torch_mode, exact in (("nearest", False), ("nearest-exact", True)):
            got = [
                _torch_nearest(i, o, torch_scale, exact)
                for i, o in zip(spatial_in, spatial_out, strict=True)
            ]
            if got == wanted:
                params["mode"] = torch_mode
                break
        else:
            raise Unmapped(f"nearest neighbours picked by {coords} and {rounding} coordinates")
    elif mode in ("linear", "cubic"):
        if coords not in (*_HALF_PIXEL, "align_corners"):
            raise Unmapped(f"{mode} interpolation with {coords} coordinates")
        if mode == "cubic" and (
            float(attrs.get("cubic_coeff_a", -0.75)) != -0.75 or attrs.get("exclude_outside", 0)
        ):
            raise Unmapped("a cubic kernel other than torch's (A = -0.75, outside included)")
        whole = all(
            float(i * s).is_integer() for i, s in zip(spatial_in, spatial_scales, strict=True)
        )
        if coords == "align_corners" and scales is not None and not whole:
            # onnx's reference maps corners by the scale, onnxruntime (and torch) by the sizes
            raise Unmapped("align_corners with a scale that gives no whole size")
        params["mode"] = "linear" if mode == "linear" else "bicubic"
        params["align_corners"] = coords == "align_corners"
    else:
        raise Unmapped(f"mode {mode}")
    return w.layer(node, "resize", params, w._ref(inputs[0]))


OPS = {"Resize": resize, "Upsample": resize}
"""Mappers by ONNX ``op_type``."""
