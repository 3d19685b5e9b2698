"""The generated ``shapes`` images: sizes, classes, the seed, and that the label is the shape."""

from __future__ import annotations

import pytest
import torch

from dlstudio.train import DatasetError, load_dataset


def test_shapes_sizes_classes_and_seed():
    data = load_dataset("shapes", {"size": 48, "n_samples": 40})
    assert data.input_specs[0].shape == (3, 48, 48) and len(data) == 40
    assert data.class_names == ["circle", "square", "triangle", "cross"]
    assert set(data.data.target.tolist()) == {0, 1, 2, 3}
    x = data.data.inputs[0]
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3
    again = load_dataset("shapes", {"size": 48, "n_samples": 40})
    assert torch.equal(again.data.inputs[0], x)
    other = load_dataset("shapes", {"size": 48, "n_samples": 40, "seed": 1})
    assert not torch.equal(other.data.inputs[0], x)
    grey = load_dataset("shapes", {"size": 28, "n_samples": 8, "channels": 1})
    assert grey.input_specs[0].shape == (1, 28, 28)
    with pytest.raises(DatasetError, match="lower n_samples or size"):
        load_dataset("shapes", {"size": 512, "n_samples": 100_000})


def test_the_label_is_the_shape():
    # Two measurements of the bright region tell the shapes apart, whatever their colour: how
    # much of its bounding box it fills (circle 0.79, square 1, triangle and cross about 0.5)
    # and whether it is top-heavy (the triangle widens downwards). Nearest centroid on them is
    # far above chance (0.25).
    data = load_dataset("shapes", {"size": 32, "n_samples": 400})
    x, y = data.data.inputs[0].mean(dim=1), data.data.target
    features = []
    rows = torch.arange(32.0)
    for image in x:
        mask = (image > (image.min() + image.max()) / 2).float()
        ys, xs = mask.nonzero(as_tuple=True)
        box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
        fill = mask.sum() / box
        widths = mask.sum(dim=1)
        centre = (rows * widths).sum() / widths.sum()
        middle = (ys.max() + ys.min()) / 2
        features.append(torch.stack([fill, (centre - middle) / (ys.max() - ys.min() + 1)]))
    f = torch.stack(features)
    f = (f - f.mean(0)) / f.std(0)
    train, test = slice(0, 300), slice(300, 400)
    centroids = torch.stack([f[train][y[train] == k].mean(0) for k in range(4)])
    guess = torch.cdist(f[test], centroids).argmin(1)
    accuracy = (guess == y[test]).float().mean()
    print(f"nearest centroid accuracy {accuracy:.2f}")
    assert accuracy > 0.8
