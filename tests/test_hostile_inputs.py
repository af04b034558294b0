"""Hostile and broken inputs: each is refused with a one-line reason, fails only its own
cell, and the run goes on. (Pickled code, Lambda layers and truncated files are in
test_image_sources.py; manifest paths and non-images in test_photos.py.)"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from parity.run.runner import FAILED, OK, run
from zoo.sources.hf import refuse_remote_code

EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def _remote_code_folder(folder, marker, auto_map=True):
    """A Hugging Face folder whose model is code it ships; that code, run, leaves a marker."""
    folder.mkdir()
    config = {"model_type": "evil-net", "architectures": ["EvilModel"], "hidden_size": 8}
    if auto_map:
        config["auto_map"] = {
            "AutoConfig": "modeling_evil.EvilConfig",
            "AutoModel": "modeling_evil.EvilModel",
        }
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    return folder


def test_a_folder_asking_for_remote_code_is_refused_before_any_worker(
    fake_pair, quick_config, tmp_path
):
    marker = tmp_path / "pwned"
    folder = _remote_code_folder(tmp_path / "evil", marker)
    with pytest.raises(
        ValueError, match=r"asks for its own code through auto_map \(modeling_evil.py\)"
    ):
        refuse_remote_code(str(folder))
    pair = replace(fake_pair(), id="evil", torch=replace(fake_pair().torch, handle=f"hf:{folder}"))
    record = run([pair, fake_pair()], quick_config(modes=EAGER_ONLY))
    (evil_cell, other_side), healthy = record["pairs"][0]["cells"], record["pairs"][1]
    assert evil_cell["status"] == FAILED
    assert "trust_remote_code=False" in evil_cell["reason"] and "wall_s" not in evil_cell
    assert other_side["status"] == OK and healthy["status"] == OK
    assert not marker.exists(), "the folder's code ran"


def test_a_broken_hf_config_is_refused_with_its_path(tmp_path):
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(ValueError, match=r"config.json cannot be read as JSON"):
        refuse_remote_code(str(tmp_path))
    refuse_remote_code(None)  # a hub id: nothing on disk to check yet


TORCH_NEEDED = ("torch", "torchvision", "transformers", "skimage", "sklearn")
torch_missing = [name for name in TORCH_NEEDED if importlib.util.find_spec(name) is None]


@pytest.mark.frameworks
@pytest.mark.skipif(bool(torch_missing), reason=f"not installed: {', '.join(torch_missing)}")
def test_broken_weights_fail_their_cells_with_one_line_reasons(quick_config, tmp_path):
    from zoo.catalog import INDEPENDENT, Side, get_pair

    misfit, empty = (str(tmp_path / n) for n in ("misfit.pth", "empty.pth"))
    code = f"""
        import torch, torchvision
        small = torchvision.models.resnet18(weights=None, num_classes=10)
        torch.save(small.state_dict(), {misfit!r})
        open({empty!r}, "wb").close()
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    marker = tmp_path / "pwned"
    custom = _remote_code_folder(tmp_path / "custom", marker, auto_map=False)

    base = get_pair("mobilenet_v2")

    def pair(name, torch_handle, other_handle):
        # Both sides are PyTorch here: each cell stands alone, and no TensorFlow is needed.
        return replace(
            base,
            id=name,
            relation=INDEPENDENT,
            torch=Side(torch_handle, preprocessing=base.torch.preprocessing),
            tensorflow=Side(other_handle, preprocessing=base.torch.preprocessing),
        )

    config = quick_config(
        latency_batches=(1,), eval_batch=1, limit=2, modes=EAGER_ONLY, timeout_s=300.0
    )
    record = run(
        [
            pair("empty-and-custom", f"torchvision:resnet18@{empty}", f"hf:{custom}"),
            pair("misfit", f"torchvision:resnet18@{misfit}", f"torchvision:resnet18@{empty}"),
        ],
        config,
    )
    (empty_cell, custom_cell), (misfit_cell, _) = (p["cells"] for p in record["pairs"])
    assert empty_cell["status"] == FAILED and "wall_s" not in empty_cell  # refused in the parent
    assert empty_cell["reason"].endswith(
        f"weights file {empty} is empty (0 bytes); download or export it again"
    )
    assert custom_cell["status"] == FAILED
    assert "model_type 'evil-net' is not built into transformers" in custom_cell["reason"]
    assert not marker.exists()
    # Measured after the failures above: the run went on, and the reason is one line.
    assert misfit_cell["status"] == FAILED and "\n" not in misfit_cell["reason"]
    assert (
        "size mismatch for fc.weight: copying a param with shape ([10, 512])"
        in misfit_cell["reason"]
    )


@pytest.mark.parametrize(
    "row_path, message",
    [
        ("images/../../outside.png", "uses '..' and would leave the package folder"),
        ("images/fake.png", "images/fake.png is not a decodable image"),
    ],
)
def test_a_bad_photo_manifest_fails_its_pair_and_the_run_goes_on(
    fake_pair, quick_config, tmp_path, monkeypatch, row_path, message
):
    from PIL import Image

    from parity.datasets.photos import HEADER

    root = tmp_path / "site" / "hostile_photos_pkg"
    (root / "images").mkdir(parents=True)
    (root / "images/fake.png").write_bytes(b"this is text, not a PNG\n")
    Image.new("RGB", (4, 4)).save(tmp_path / "site" / "outside.png")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    manifest = tmp_path / "manifest.tsv"
    rows = ["\t".join(HEADER), "\t".join(("hostile_photos_pkg", row_path, "1", "", "n"))]
    manifest.write_text("\n".join(rows) + "\n")
    images = replace(
        fake_pair(), id="bad-photos", task="image-classifier", dataset=f"photos:{manifest}"
    )
    record = run([images, fake_pair()], quick_config(modes=EAGER_ONLY))
    bad, healthy = record["pairs"]
    assert bad["status"] == FAILED and bad["reason"].startswith("inputs could not be prepared: ")
    assert message in bad["reason"] and "\n" not in bad["reason"]
    assert healthy["status"] == OK
