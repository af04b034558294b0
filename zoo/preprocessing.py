"""Preprocessing as data: how each zoo turns a photo into its model's input tensor.

Applied in the parent with Pillow and numpy, once per distinct recipe, so two sides
with the same recipe get byte-identical tensors. Output layout is NHWC float32; a
source whose model wants NCHW transposes in the worker, outside the timed loop.

Recipe: resize the shorter side to `resize` with `interpolation`, center-crop `size`,
reorder channels to `channel_order`, divide by `pixel_scale`, subtract `mean`, divide
by `std` (mean and std in the units left after dividing by pixel_scale).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    size: int = 224
    resize: int = 256
    interpolation: str = "bilinear"
    channel_order: str = "RGB"
    pixel_scale: float = 255.0
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    origin: str = ""  # where this recipe is documented

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> tuple:
        """What determines the output; origin is documentation only."""
        return tuple(v for k, v in asdict(self).items() if k != "origin")

    def apply(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB -> (size, size, 3) float32."""
        from PIL import Image

        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(
                f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}"
            )
        resample = {
            "bilinear": Image.BILINEAR,
            "bicubic": Image.BICUBIC,
            "nearest": Image.NEAREST,
        }.get(self.interpolation)
        if resample is None:
            raise ValueError(f"unknown interpolation {self.interpolation!r}")
        picture = Image.fromarray(image)
        width, height = picture.size
        scale = self.resize / min(width, height)
        resized = picture.resize(
            (max(self.size, round(width * scale)), max(self.size, round(height * scale))), resample
        )
        left = (resized.size[0] - self.size) // 2
        top = (resized.size[1] - self.size) // 2
        cropped = np.asarray(resized.crop((left, top, left + self.size, top + self.size)))
        pixels = cropped.astype(np.float32)
        if self.channel_order == "BGR":
            pixels = pixels[..., ::-1]
        elif self.channel_order != "RGB":
            raise ValueError(f"channel_order must be RGB or BGR, not {self.channel_order!r}")
        pixels = pixels / self.pixel_scale
        return (
            (pixels - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        ).astype(np.float32)


# The recipes the catalog's sources publish.
TORCHVISION_IMAGENET = Preprocessing(
    origin="torchvision ImageClassification transforms (resize 256, crop 224)"
)
KERAS_CAFFE = Preprocessing(
    resize=256,
    channel_order="BGR",
    pixel_scale=1.0,
    mean=(103.939, 116.779, 123.68),
    std=(1.0, 1.0, 1.0),
    origin="keras.applications preprocess_input mode 'caffe'",
)
KERAS_TF = Preprocessing(
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    origin="keras.applications preprocess_input mode 'tf' (scale to [-1, 1])",
)
