"""Seeded weights for same-weights pairs, so agreement still means something offline.

One random checkpoint is written by the PyTorch side's library, in a child process with
torch: timm.models.save_for_hf for timm models, transformers' save_pretrained for Hugging
Face ones. Then both sides load that file through their real loaders (timm or
transformers on PyTorch, keras-hub's conversion of it on TensorFlow). The parent half of
this module only spawns; `python -m parity.child.seeding KIND NAME FOLDER SEED` is the child
half.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from zoo.catalog import SAME_WEIGHTS, Pair
from zoo.conversions import TIMM, converter_of
from zoo.sources import ChildJob, RunChild, get_source
from zoo.sources.files import split_checkpoint


@dataclass(frozen=True)
class SeededConfig:
    """What the child builds: transformers' `config_class(**settings)` as `model_class`.
    A causal LM (lm=True) is reduced (few, narrow layers) and gets a small byte-level BPE
    tokenizer of its own, trained on the project's bundled text; its vocab_size is the
    tokenizer's."""

    config_class: str
    settings: dict[str, Any] = field(default_factory=dict)
    model_class: str = "AutoModelForImageClassification"
    lm: bool = False


def _reduced_lm(config_class: str, **settings: Any) -> SeededConfig:
    return SeededConfig(config_class, settings, "AutoModelForCausalLM", lm=True)


# Reduced Llama-style decoder: 2 layers, width 64, grouped-query attention (4 query heads,
# 2 key-value heads unless told), a 128-token context; the repository's own norm epsilon
# and tying.
def _reduced_llama(config_class: str = "LlamaConfig", **settings: Any) -> SeededConfig:
    reduced = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
    )
    return _reduced_lm(config_class, **{**reduced, **settings})


# Hugging Face models have no architecture registry to build from offline: their configs
# are written out here, as each hub repository's config.json gives them (the library's
# defaults where these say nothing); causal LMs reduced to a few narrow layers.
HF_SEEDED_CONFIGS: dict[str, SeededConfig] = {
    # ViTConfig's defaults are ViT-B/16 at 224 px, as google/vit-base-patch16-224's
    # config.json is, with its 1000 ImageNet labels.
    "google/vit-base-patch16-224": SeededConfig("ViTConfig", {"num_labels": 1000}),
    "openai-community/gpt2": _reduced_lm(
        "GPT2Config", n_layer=2, n_head=4, n_embd=64, n_positions=128
    ),
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": _reduced_llama(
        rms_norm_eps=1e-5, tie_word_embeddings=False
    ),
    "HuggingFaceTB/SmolLM-135M": _reduced_llama(rms_norm_eps=1e-5, tie_word_embeddings=True),
    "Qwen/Qwen2.5-0.5B": _reduced_llama("Qwen2Config", rms_norm_eps=1e-6, tie_word_embeddings=True),
    "google/gemma-2b": _reduced_llama(
        "GemmaConfig", head_dim=16, num_key_value_heads=1, rms_norm_eps=1e-6
    ),
}
CHILD_MODULE = "parity.child.seeding"


def seeded_offline(pair: Pair) -> bool:
    """Whether `parity run PAIR --weights seeded` runs here without the network. A
    same-weights pair needs one seeded checkpoint that both sides load (seeded_pair): a timm
    architecture keras-hub's timm loader dispatches, or a Hugging Face checkpoint whose
    config HF_SEEDED_CONFIGS writes out. An independent pair needs both sides' loaders to
    build random weights themselves."""
    (torch_source, torch_name), (tf_source, _) = (
        get_source(pair.torch.handle),
        get_source(pair.tensorflow.handle),
    )
    if pair.relation != SAME_WEIGHTS:
        return torch_source.seeds_itself and tf_source.seeds_itself
    kinds = (torch_source.prefix, tf_source.prefix)
    if kinds == ("timm", "keras-hub"):
        arch = split_checkpoint(torch_name)[0].partition(".")[0]
        return converter_of(TIMM, arch).startswith("timm/")
    return kinds == ("hf", "keras-hub") and torch_name in HF_SEEDED_CONFIGS


def seeded_pair(pair: Pair, work_dir: Path, seed: int, run_child: RunChild) -> tuple[Pair, str]:
    """The pair with both sides pointed at one seeded checkpoint; and that folder. The
    checkpoint is written by this module's child half, started through run_child."""
    (torch_source, torch_name), (tf_source, _) = (
        get_source(pair.torch.handle),
        get_source(pair.tensorflow.handle),
    )
    kinds = (torch_source.prefix, tf_source.prefix)
    # Absolute: the handles below must name this folder from any working directory, and
    # keras-hub reads a bare relative name as one of its presets.
    work_dir = Path(work_dir).resolve()
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
        if HF_SEEDED_CONFIGS[torch_name].lm:  # its own tokenizer, written beside it
            pair = replace(pair, tokenizer=f"hf:{folder}")
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
