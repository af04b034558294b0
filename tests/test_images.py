"""Image preprocessing as data, and the image checks (no framework needed)."""

import numpy as np
import pytest

from parity.evaluate import checks
from zoo.preprocessing import Preprocessing
from zoo.sources import keras_apps


def _image(height=40, width=60):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def test_resize_shorter_side_then_center_crop():
    recipe = Preprocessing(size=20, resize=30, mean=(0, 0, 0), std=(1, 1, 1), pixel_scale=1.0)
    out = recipe.apply(_image(40, 60))
    assert out.shape == (20, 20, 3) and out.dtype == np.float32
    # A constant image stays constant through resize and crop: checks normalisation alone.
    flat = np.full((40, 60, 3), 200, np.uint8)
    torchlike = Preprocessing(size=20, resize=30).apply(flat)
    np.testing.assert_allclose(
        torchlike[0, 0],
        (200 / 255 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
        rtol=1e-5,
    )


def test_caffe_mode_is_bgr_minus_mean_in_pixel_units():
    image = np.zeros((32, 32, 3), np.uint8)
    image[..., 0] = 255  # pure red
    out = keras_apps.preprocessing("ResNet50").apply(image)
    # BGR order: red lands last; mean subtracted in 0-255 units, no scaling.
    np.testing.assert_allclose(out[0, 0], [-103.939, -116.779, 255 - 123.68], rtol=1e-5)
    tf_mode = keras_apps.preprocessing("MobileNetV2").apply(image)
    np.testing.assert_allclose(tf_mode[0, 0], [1.0, -1.0, -1.0], atol=1e-6)  # scaled to [-1, 1]
    assert keras_apps.preprocessing("InceptionV3").size == 299


def test_preprocessing_rejects_what_it_cannot_handle():
    with pytest.raises(ValueError, match="uint8 RGB"):
        Preprocessing().apply(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="interpolation"):
        Preprocessing(interpolation="lanczos9").apply(_image())


def test_label_space_alignment_drops_background():
    logits = np.arange(2 * 1001, dtype=np.float32).reshape(2, 1001)
    aligned = checks.align_label_space(logits, 1001)
    assert aligned.shape == (2, 1000) and aligned[0, 0] == 1.0
    with pytest.raises(ValueError, match="catalog says 1000"):
        checks.align_label_space(logits, 1000)


def test_logit_and_prediction_agreement():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 1000)).astype(np.float32)
    found = checks.logits_agreement(a, a + 5e-5, atol=1e-4)
    assert found["passed"] and found["top1_agreement"] == 1.0 and found["top5_agreement"] == 1.0
    assert not checks.logits_agreement(a, a + 1e-3, atol=1e-4)["passed"]
    b = a.copy()
    b[0] = -b[0]  # one row predicts differently
    predictions = checks.prediction_agreement(a, b)
    assert predictions["top1_agreement"] == 0.75 and predictions["compared_rows"] == 4


def test_classification_accuracy_counts_acceptable_classes():
    logits = np.full((3, 10), -1.0)
    logits[0, 2] = logits[1, 5] = logits[2, 7] = 5.0  # predictions 2, 5, 7
    logits[2, 3] = 4.0  # label 3 is second for the last image
    found = checks.classification_accuracy(logits, [2, 6, 3], [(), (5,), ()])
    assert found["top1"] == pytest.approx(1 / 3)
    assert found["top1_acceptable"] == pytest.approx(2 / 3)  # 5 is acceptable for image 1
    assert found["top5"] == pytest.approx(2 / 3)
    assert found["predicted"] == [2, 5, 7]
