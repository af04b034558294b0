"""Seeded weights for same-weights pairs, so agreement still means something offline.

One random checkpoint is written by the PyTorch side's library, in a child process with
torch: timm.models.save_for_hf for timm models, transformers' save_pretrained for Hugging
Face ones. Then both sides load that file through their real loaders (timm or
transformers on PyTorch, keras-hub's conversion of it on TensorFlow). The parent half of
this module only spawns; `python -m zoo.seeding KIND NAME FOLDER SEED` is the child half.
"""

from __future__ import annotations

import sys
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
CHILD_MODULE = "zoo.seeding"  # this module's child half, below
USAGE = "usage: python -m zoo.seeding {timm ARCH | hf HUB_ID} FOLDER SEED"


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


# Batches of random images the seeded BatchNorms take their running statistics from.
NORM_BATCHES, NORM_BATCH_SIZE = 4, 8


def randomize_norms(model, image_size: int = 224) -> None:
    """Give every BatchNorm a random scale and shift, then running statistics measured on
    random images, as training would have left them.

    A freshly built timm network zero-initialises the last BatchNorm scale of each residual
    block (zero_init_last): its residual branches would add nothing, and the conversion of
    their layers would go untested. Random scales with the default running statistics (0
    and 1) instead let activations grow block by block to logits in the hundreds, where
    float32 rounding alone exceeds an absolute tolerance; measured statistics keep every
    layer's output near unit scale, as a trained network's are.
    """
    import torch

    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for module in norms:
            if module.weight is not None:
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
            if module.running_mean is not None:
                module.reset_running_stats()
                module.momentum = None  # a plain average over the batches below
        model.train()
        for _ in range(NORM_BATCHES):
            model(torch.randn(NORM_BATCH_SIZE, 3, image_size, image_size))
        model.eval()
        for module in norms:
            module.momentum = 0.1  # PyTorch's default, as a saved checkpoint expects


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] not in ("timm", "hf"):
        print(USAGE, file=sys.stderr)
        return 2
    kind, name, folder, seed = args
    import torch

    torch.manual_seed(int(seed))
    if kind == "timm":
        import timm

        model = timm.create_model(name, pretrained=False)
        randomize_norms(model)
        timm.models.save_for_hf(model, folder, safe_serialization=True)
        return 0
    import transformers

    config_class, settings = HF_SEEDED_CONFIGS[name]
    config = getattr(transformers, config_class)(**settings)
    model = transformers.AutoModelForImageClassification.from_config(config)
    model.save_pretrained(folder, safe_serialization=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
