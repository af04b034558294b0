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

# application -> (preprocess_input mode, input size, cached weights file pattern): every
# builder keras.applications (Keras 3) offers, as its module's preprocess_input, default
# input size and weights file name (with top) state them.
APPS = {
    "ResNet50": ("caffe", 224, "resnet50_weights_tf_dim_ordering_tf_kernels*.h5"),
    "ResNet101": ("caffe", 224, "resnet101_weights_tf_dim_ordering_tf_kernels.h5"),
    "ResNet152": ("caffe", 224, "resnet152_weights_tf_dim_ordering_tf_kernels.h5"),
    "ResNet50V2": ("tf", 224, "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5"),
    "ResNet101V2": ("tf", 224, "resnet101v2_weights_tf_dim_ordering_tf_kernels.h5"),
    "ResNet152V2": ("tf", 224, "resnet152v2_weights_tf_dim_ordering_tf_kernels.h5"),
    "VGG16": ("caffe", 224, "vgg16_weights_tf_dim_ordering_tf_kernels*.h5"),
    "VGG19": ("caffe", 224, "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
    "DenseNet121": ("torch", 224, "densenet121_weights_tf_dim_ordering_tf_kernels*.h5"),
    "DenseNet169": ("torch", 224, "densenet169_weights_tf_dim_ordering_tf_kernels.h5"),
    "DenseNet201": ("torch", 224, "densenet201_weights_tf_dim_ordering_tf_kernels.h5"),
    "MobileNet": ("tf", 224, "mobilenet_1_0_224_tf.h5"),
    "MobileNetV2": ("tf", 224, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224*.h5"),
    "MobileNetV3Small": ("raw", 224, "weights_mobilenet_v3_small_224_1.0_float.h5"),
    "MobileNetV3Large": ("raw", 224, "weights_mobilenet_v3_large_224_1.0_float*.h5"),
    "InceptionV3": ("tf", 299, "inception_v3_weights_tf_dim_ordering_tf_kernels*.h5"),
    "InceptionResNetV2": ("tf", 299, "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"),
    "Xception": ("tf", 299, "xception_weights_tf_dim_ordering_tf_kernels.h5"),
    "NASNetMobile": ("tf", 224, "nasnet_mobile.h5"),
    "NASNetLarge": ("tf", 331, "nasnet_large.h5"),
    "EfficientNetB0": ("raw", 224, "efficientnetb0*.h5"),
    "EfficientNetB1": ("raw", 240, "efficientnetb1.h5"),
    "EfficientNetB2": ("raw", 260, "efficientnetb2.h5"),
    "EfficientNetB3": ("raw", 300, "efficientnetb3.h5"),
    "EfficientNetB4": ("raw", 380, "efficientnetb4.h5"),
    "EfficientNetB5": ("raw", 456, "efficientnetb5.h5"),
    "EfficientNetB6": ("raw", 528, "efficientnetb6.h5"),
    "EfficientNetB7": ("raw", 600, "efficientnetb7.h5"),
    "EfficientNetV2B0": ("raw", 224, "efficientnetv2-b0.h5"),
    "EfficientNetV2B1": ("raw", 240, "efficientnetv2-b1.h5"),
    "EfficientNetV2B2": ("raw", 260, "efficientnetv2-b2.h5"),
    "EfficientNetV2B3": ("raw", 300, "efficientnetv2-b3.h5"),
    "EfficientNetV2S": ("raw", 384, "efficientnetv2-s.h5"),
    "EfficientNetV2M": ("raw", 480, "efficientnetv2-m.h5"),
    "EfficientNetV2L": ("raw", 480, "efficientnetv2-l.h5"),
    "ConvNeXtTiny": ("raw", 224, "convnext_tiny*.h5"),
    "ConvNeXtSmall": ("raw", 224, "convnext_small.h5"),
    "ConvNeXtBase": ("raw", 224, "convnext_base.h5"),
    "ConvNeXtLarge": ("raw", 224, "convnext_large.h5"),
    "ConvNeXtXLarge": ("raw", 224, "convnext_xlarge.h5"),
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
    seeds_itself = True

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
