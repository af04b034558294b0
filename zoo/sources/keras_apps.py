"""`keras-apps:` keras.applications models, TensorFlow side (Keras 3, KERAS_BACKEND=tensorflow;
loader: parity/child/loaders/keras_apps.py).

    keras-apps:ResNet50                      weights="imagenet" (download or Keras cache)
    keras-apps:ResNet50@/path/x.weights.h5   the architecture with a local weights file
    keras-apps:/path/model.keras             a whole saved model, loaded with safe_mode=True

Each application's preprocess_input mode is data here (APPS), so the catalog can state
each side's preprocessing instead of calling the library's function.
"""

from __future__ import annotations

import os
from pathlib import Path

from parity.errors import UnknownArchitectureError, did_you_mean
from zoo.preprocessing import IMAGENET_MEAN, IMAGENET_STD, Preprocessing
from zoo.sources import CACHED, NETWORK, Location, Source, register_source
from zoo.sources.files import locate_checkpoint

MODES = {
    "caffe": Preprocessing(
        channel_order="BGR",
        pixel_scale=1.0,
        mean=(103.939, 116.779, 123.68),
        std=(1.0, 1.0, 1.0),
        origin="keras.applications preprocess_input mode 'caffe'",
    ),
    "tf": Preprocessing(
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        origin="keras.applications preprocess_input mode 'tf' (to [-1, 1])",
    ),
    "torch": Preprocessing(
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        origin="keras.applications preprocess_input mode 'torch'",
    ),
    # The model rescales internally and takes raw 0-255 pixels.
    "raw": Preprocessing(
        pixel_scale=1.0,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        origin="keras.applications model with built-in preprocessing (raw 0-255 input)",
    ),
}

# application -> (preprocess_input mode, input size, cached weights file pattern)
APPS = {
    "ResNet50": ("caffe", 224, "resnet50_weights_tf_dim_ordering_tf_kernels*.h5"),
    "VGG16": ("caffe", 224, "vgg16_weights_tf_dim_ordering_tf_kernels*.h5"),
    "MobileNetV2": ("tf", 224, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224*.h5"),
    "InceptionV3": ("tf", 299, "inception_v3_weights_tf_dim_ordering_tf_kernels*.h5"),
    "DenseNet121": ("torch", 224, "densenet121_weights_tf_dim_ordering_tf_kernels*.h5"),
    "EfficientNetB0": ("raw", 224, "efficientnetb0*.h5"),
    "ConvNeXtTiny": ("raw", 224, "convnext_tiny*.h5"),
    "MobileNetV3Large": ("raw", 224, "weights_mobilenet_v3_large_224_1.0_float*.h5"),
}


def preprocessing(app: str) -> Preprocessing:
    mode, size, _ = APPS[app]
    base = MODES[mode]
    return Preprocessing(**{**base.to_dict(), "size": size, "resize": round(size / 0.875)})


def keras_models_dir() -> Path:
    keras_home = os.environ.get("KERAS_HOME") or os.path.expanduser("~/.keras")
    return Path(keras_home) / "models"


@register_source
class KerasApplications(Source):
    prefix = "keras-apps"
    framework = "tensorflow"
    description = "keras.applications with ImageNet weights, a local weights file, or a .keras file"
    tasks = ("image-classifier",)

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        app, at, path = name.partition("@")
        if name.endswith(".keras") and not at:
            path, app = name, ""
        if path:
            return locate_checkpoint(handle, path)
        if app not in APPS:
            raise UnknownArchitectureError(
                f"keras-apps: unknown application {app!r}.{did_you_mean(app, APPS)} "
                f"Known: {', '.join(APPS)}"
            )
        found = sorted(keras_models_dir().glob(APPS[app][2]))
        if found:
            return Location(handle, CACHED, path=str(found[-1]), hub_id=app)
        return Location(
            handle,
            NETWORK,
            hub_id=app,
            note=f"needs storage.googleapis.com (or the Keras cache at {keras_models_dir()}, "
            "set by KERAS_HOME)",
        )
