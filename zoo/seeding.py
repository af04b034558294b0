"""Seeded weights for same-weights pairs, so agreement still means something offline.

One random checkpoint is written by the PyTorch side's library, in a child process with
torch: timm.models.save_for_hf for timm models, transformers' save_pretrained for Hugging
Face ones. Then both sides load that file through their real loaders (timm or
transformers on PyTorch, keras-hub's conversion of it on TensorFlow). The parent half of
this module only spawns; `python -m parity.child.seeding KIND NAME FOLDER SEED` is the child
half.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from zoo.catalog import Pair
from zoo.sources import ChildJob, RunChild, get_source
from zoo.sources.files import split_checkpoint

# Hugging Face models have no architecture registry to build from offline: their configs
# are written out here, as each hub repository's config.json gives them (the library's
# defaults where these say nothing).
HF_SEEDED_CONFIGS: dict[str, tuple[str, dict]] = {
    # ViTConfig's defaults are ViT-B/16 at 224 px, as google/vit-base-patch16-224's
    # config.json is, with its 1000 ImageNet labels.
    "google/vit-base-patch16-224": ("ViTConfig", {"num_labels": 1000}),
}
CHILD_MODULE = "parity.child.seeding"


def seeded_pair(pair: Pair, work_dir: Path, seed: int, run_child: RunChild) -> tuple[Pair, str]:
    """The pair with both sides pointed at one seeded checkpoint; and that folder. The
    checkpoint is written by this module's child half, started through run_child."""
    (torch_source, torch_name), (tf_source, _) = (
        get_source(pair.torch.handle),
        get_source(pair.tensorflow.handle),
    )
    kinds = (torch_source.prefix, tf_source.prefix)
    if kinds == ("timm", "keras-hub"):
        arch, _ = split_checkpoint(torch_name)
        folder = work_dir / "seeded" / f"{arch}-seed{seed}"
        weights_file = folder / "model.safetensors"
        child_args = ("timm", arch, str(folder), str(seed))
        torch_handle = f"timm:{arch}@{weights_file}"
    elif kinds == ("hf", "keras-hub") and torch_name in HF_SEEDED_CONFIGS:
        folder = work_dir / "seeded" / f"{torch_name.replace('/', '--')}-seed{seed}"
        weights_file = folder / "model.safetensors"
        child_args = ("hf", torch_name, str(folder), str(seed))
        torch_handle = f"hf:{folder}"
    else:
        raise ValueError(
            f"seeded weights for a same-weights pair need a timm -> keras-hub conversion, or "
            f"an hf -> keras-hub one for {', '.join(HF_SEEDED_CONFIGS)}; "
            f"{pair.id} is {kinds[0]} ({torch_name}) -> {kinds[1]}"
        )
    if not weights_file.is_file():
        run_child(
            ChildJob(CHILD_MODULE, child_args, f"writing a seeded {torch_name} checkpoint failed")
        )
    return replace(
        pair,
        torch=replace(pair.torch, handle=torch_handle),
        tensorflow=replace(pair.tensorflow, handle=f"keras-hub:{folder}"),
    ), str(folder)
