"""numpy pictures as Qt pixmaps."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_pixmap(picture: np.ndarray) -> QPixmap:
    """An (H, W, 3) uint8 array as a pixmap (copied: the array may go)."""
    data = np.ascontiguousarray(picture[..., :3])
    h, w = data.shape[:2]
    image = QImage(data.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())
