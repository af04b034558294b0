"""Which keras.applications model has which TorchVision or timm twin: the join table.

Data only. zoo.derived joins it with what the installed packages say they hold (read in a
child: parity.child.catalog), so a name the installed torchvision, timm or keras does not
list is dropped with a reason instead of listed. A twin names the architecture; the
weights are the library's own default (torchvision's DEFAULT enum member, timm's first
pretrained tag) unless a timm tag is written here.

Relation: a twin is trained separately (INDEPENDENT) unless both publishers say the two
hold one checkpoint; then `same_weights` cites where that is said. Where the origin of
keras.applications' weights is not documented (EfficientNet, MobileNetV3, Inception,
NASNet were ported from TensorFlow checkpoints of uncertain lineage) the twin stays
independent: comparing predictions is safe either way, comparing numbers is not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Twin:
    app: str  # a keras.applications builder
    torch: str  # "torchvision:ARCH" or "timm:ARCH" or "timm:ARCH.TAG"
    same_weights: str = ""  # where it is said that both hold one checkpoint; "": independent


CONVNEXT_SAME = (
    "keras.applications ConvNeXt docstring: parameters assembled from the official "
    "facebookresearch/ConvNeXt checkpoints (Base, Large, XLarge: ImageNet-21k then 1k), "
    "which timm's convnext_*.fb_* weights are"
)
XCEPTION_SAME = (
    "timm/models/xception.py: 'This weights ported from the Keras implementation' "
    "(legacy_xception.tf_in1k)"
)


def _both(app: str, torchvision: str | None, timm: str | None) -> tuple[Twin, ...]:
    found = []
    if torchvision:
        found.append(Twin(app, f"torchvision:{torchvision}"))
    if timm:
        found.append(Twin(app, f"timm:{timm}"))
    return tuple(found)


TWINS: tuple[Twin, ...] = (
    *_both("ResNet50", "resnet50", "resnet50"),
    *_both("ResNet101", "resnet101", "resnet101"),
    *_both("ResNet152", "resnet152", "resnet152"),
    # keras' V2 is the pre-activation ResNet, as timm's resnetv2_* is; torchvision has none.
    *_both("ResNet50V2", None, "resnetv2_50"),
    *_both("ResNet101V2", None, "resnetv2_101"),
    *_both("ResNet152V2", None, "resnetv2_152"),
    *_both("VGG16", "vgg16", "vgg16"),
    *_both("VGG19", "vgg19", "vgg19"),
    *_both("DenseNet121", "densenet121", "densenet121"),
    *_both("DenseNet169", "densenet169", "densenet169"),
    *_both("DenseNet201", "densenet201", "densenet201"),
    *_both("MobileNet", None, "mobilenetv1_100"),
    *_both("MobileNetV2", "mobilenet_v2", "mobilenetv2_100"),
    *_both("MobileNetV3Small", "mobilenet_v3_small", "tf_mobilenetv3_small_100"),
    *_both("MobileNetV3Large", "mobilenet_v3_large", "tf_mobilenetv3_large_100"),
    *_both("InceptionV3", "inception_v3", "inception_v3"),
    *_both("InceptionResNetV2", None, "inception_resnet_v2"),
    Twin("Xception", "timm:legacy_xception.tf_in1k", same_weights=XCEPTION_SAME),
    *_both("NASNetLarge", None, "nasnetalarge"),
    # timm has NASNet-A Large only; listed so the drop says so
    *_both("NASNetMobile", None, "nasnetamobile"),
    *(
        twin
        for b in range(8)
        for twin in _both(f"EfficientNetB{b}", f"efficientnet_b{b}", f"tf_efficientnet_b{b}")
    ),
    *(
        twin
        for v in ("B0", "B1", "B2", "B3")
        for twin in _both(f"EfficientNetV2{v}", None, f"tf_efficientnetv2_{v.lower()}")
    ),
    *(
        twin
        for v in ("S", "M", "L")
        for twin in _both(
            f"EfficientNetV2{v}", f"efficientnet_v2_{v.lower()}", f"tf_efficientnetv2_{v.lower()}"
        )
    ),
    *(
        twin
        for size, tag in (
            ("Tiny", "fb_in1k"),
            ("Small", "fb_in1k"),
            ("Base", "fb_in22k_ft_in1k"),
            ("Large", "fb_in22k_ft_in1k"),
            ("XLarge", "fb_in22k_ft_in1k"),
        )
        for twin in (
            *_both(f"ConvNeXt{size}", f"convnext_{size.lower()}", None),
            Twin(f"ConvNeXt{size}", f"timm:convnext_{size.lower()}.{tag}", CONVNEXT_SAME),
        )
    ),
    # keras.applications of Keras 2 (tf.keras) also had these; a Keras 3 install drops them
    # with a reason, one that still ships them lists them.
    *(
        Twin(f"RegNet{kind.upper()}{keras_size}", f"torchvision:regnet_{kind}_{torch_size}")
        for kind in ("x", "y")
        for keras_size, torch_size in (
            ("004", "400mf"),
            ("008", "800mf"),
            ("016", "1_6gf"),
            ("032", "3_2gf"),
            ("080", "8gf"),
            ("160", "16gf"),
            ("320", "32gf"),
        )
    ),
    *(Twin(f"ResNetRS{depth}", f"timm:resnetrs{depth}") for depth in (50, 101, 152, 200)),
)
