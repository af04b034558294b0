"""Seeded weights for same-weights pairs, so agreement still means something offline.

One random checkpoint is written by the PyTorch side's library (timm.models.save_for_hf,
in a child process with torch), then both sides load that file through their real
loaders: timm on PyTorch, keras-hub's timm conversion on TensorFlow. The parent half of
this module only spawns; `python -m zoo.seeding timm ARCH FOLDER SEED` is the child half.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from zoo.catalog import Pair
from zoo.sources import get_source
from zoo.sources.files import run_module_in_child, split_checkpoint


def seeded_pair(pair: Pair, work_dir: Path, seed: int) -> tuple[Pair, str]:
    """The pair with both sides pointed at one seeded checkpoint; and that folder."""
    (torch_source, torch_name), (tf_source, _) = (
        get_source(pair.torch.handle),
        get_source(pair.tensorflow.handle),
    )
    if (torch_source.prefix, tf_source.prefix) != ("timm", "keras-hub"):
        raise ValueError(
            f"seeded weights for a same-weights pair need a timm -> keras-hub conversion; "
            f"{pair.id} is {torch_source.prefix} -> {tf_source.prefix}"
        )
    arch, _ = split_checkpoint(torch_name)
    folder = work_dir / "seeded" / f"{arch}-seed{seed}"
    if not (folder / "model.safetensors").is_file():
        run_module_in_child(
            "zoo.seeding",
            ["timm", arch, str(folder), str(seed)],
            f"writing a seeded {arch} checkpoint failed",
        )
    return replace(
        pair,
        torch=replace(pair.torch, handle=f"timm:{arch}@{folder / 'model.safetensors'}"),
        tensorflow=replace(pair.tensorflow, handle=f"keras-hub:{folder}"),
    ), str(folder)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 4 or args[0] != "timm":
        print("usage: python -m zoo.seeding timm ARCH FOLDER SEED", file=sys.stderr)
        return 2
    import timm
    import torch

    _, arch, folder, seed = args
    torch.manual_seed(int(seed))
    model = timm.create_model(arch, pretrained=False)
    timm.models.save_for_hf(model, folder, safe_serialization=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
