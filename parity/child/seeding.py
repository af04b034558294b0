"""The child half of zoo/seeding.py: one seeded checkpoint, written by the PyTorch side's
library (timm.models.save_for_hf, or transformers' save_pretrained).

    python -m parity.child.seeding {timm ARCH | hf HUB_ID} FOLDER SEED
"""

from __future__ import annotations

import sys

from zoo.seeding import HF_SEEDED_CONFIGS

USAGE = "usage: python -m parity.child.seeding {timm ARCH | hf HUB_ID} FOLDER SEED"
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
