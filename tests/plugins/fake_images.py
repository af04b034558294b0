"""A test plugin: image classifiers in numpy whose answer depends on the preprocessing.

    fakeimg:rgb   reads its input as TorchVision-normalised RGB (mean/std on 0-1 pixels)
    fakeimg:bgr   reads its input as keras.applications 'caffe' tensors (BGR, mean subtracted)

Each recovers the picture's mean red value R (0-255) from its input and predicts ImageNet
class round(R): a solid-colour image whose red value is its label is classified correctly
only when the model gets the preprocessing it expects. So a pair (rgb with TorchVision's
recipe, bgr with the caffe recipe) scores 100% in track A, and in track B (both fed the
PyTorch side's tensors) the bgr side reads the wrong channel in the wrong units.
"""

from __future__ import annotations

import fake_zoo  # noqa: F401  (registers the numpy engine)
import numpy as np

from parity.child.loaders import LoadedModel, register_loader
from zoo.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from zoo.sources import LOCAL, Location, Source, register_source

CLASSES = 1000


def _red_reader(layout: str):
    def forward(inputs):
        x = np.asarray(inputs["pixel_values"], dtype=np.float64)  # (N, H, W, 3)
        if layout == "rgb":
            red = (x[..., 0] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255.0
        else:
            red = x[..., 2] + 123.68
        value = red.mean(axis=(1, 2))
        return -np.abs(np.arange(CLASSES)[None, :] - value[:, None]).astype(np.float32)

    return forward


@register_source
class FakeImageSource(Source):
    prefix = "fakeimg"
    framework = "numpy"
    description = "test image classifiers that depend on their preprocessing"

    def resolve(self, name):
        return Location(f"fakeimg:{name}", LOCAL, path=f"/fakeimg/{name}")


@register_loader("fakeimg")
def load_fakeimg(location, task, options, weights="pretrained", seed=0):
    layout = location.handle.split(":", 1)[1]
    if layout not in ("rgb", "bgr"):
        raise ValueError(f"fakeimg: no model {layout!r}; use rgb or bgr")
    return LoadedModel(forward=_red_reader(layout), parameters=0, details={"layout": layout})
