"""The derived catalog: pairs made by joining the zoos' own metadata with two tables.

    keras.applications x TorchVision / timm     zoo.twins.TWINS
    keras-hub presets x timm / Hugging Face     zoo.hub_origins.ORIGINS, FAMILY_TASKS

`facts` is what the installed packages say they hold, as parity.child.catalog prints it:
{"torchvision": ..., "timm": ..., "keras": ..., "keras-hub": ...}, each library either its
facts or {"error": "why it could not be read"}. `derive(facts)` is pure (no framework, no
child, no file): a table row whose names the installed packages do not list becomes a
Dropped with the reason, never a pair. The hand-written pairs (zoo.catalog.PAIRS) stay
authoritative: a derived pair with the id, or both handles, of one of them is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parity.errors import HandleError
from zoo.catalog import (
    DENSENET_TF_SAME_PADDING,
    INDEPENDENT,
    PAIRS,
    SAME_WEIGHTS,
    TANH_GELU,
    VIT_LN_EPS,
    Diagnostic,
    Pair,
    Published,
    Side,
)
from zoo.hub_origins import FAMILY_TASKS, IMAGE, LM, ORIGINS, TEXT
from zoo.preprocessing import Preprocessing
from zoo.sources import keras_apps
from zoo.sources.hf import check_hub_id
from zoo.twins import TWINS, Twin

LIBRARIES = ("torchvision", "timm", "keras", "keras-hub")
IMAGENET_CLASSES = 1000  # the bundled photos are labelled in ImageNet-1k's classes
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")  # what zoo.preprocessing resizes with

# Hypotheses the hand-written pairs test, per keras-hub family, for the derived ones too.
FAMILY_DIAGNOSTICS: dict[str, tuple[Diagnostic, ...]] = {
    "bert": (TANH_GELU,),
    "vit": (VIT_LN_EPS,),
    "densenet": (DENSENET_TF_SAME_PADDING,),
}
TASK_CLASSES = {IMAGE: "ImageClassifier", LM: "CausalLM"}  # keras-hub task class per task
DATASETS = {IMAGE: "photos", TEXT: "sts-smoke", LM: "lm-prompts"}


@dataclass(frozen=True)
class Dropped:
    """A table row no pair was made from, and why."""

    table: str  # "twins" or "keras-hub"
    row: str  # what the row names, e.g. "ResNet50V2 ~ timm:resnetv2_152"
    reason: str


@dataclass
class Derived:
    pairs: dict[str, Pair] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)
    # what is taken already: ids in any case, and (torch handle, tensorflow handle)
    _taken: dict[object, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for pair in PAIRS.values():
            self._take(pair)

    def _take(self, pair: Pair) -> None:
        self._taken[pair.id.lower()] = pair.id
        self._taken[(pair.torch.handle, pair.tensorflow.handle)] = pair.id

    def add(self, pair: Pair, row: tuple[str, str]) -> None:
        """Keep `pair` unless a hand-written pair (or an earlier derived one) has its id or
        both its handles."""
        for key in (pair.id.lower(), (pair.torch.handle, pair.tensorflow.handle)):
            if key in self._taken:
                self.dropped.append(Dropped(*row, f"already in the catalog as {self._taken[key]}"))
                return
        self._take(pair)
        self.pairs[pair.id] = pair


class Missing(Exception):
    """A name the installed packages do not hold; its message is the Dropped reason."""


def _library(facts: dict[str, Any], name: str) -> dict[str, Any]:
    found = facts.get(name)
    if not isinstance(found, dict):
        raise Missing(f"{name} was not read")
    if "error" in found:
        raise Missing(f"{name} could not be read ({found['error']})")
    return found


def _timm_side(facts: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """timm ARCH or ARCH.TAG -> (ARCH.TAG with the installed timm's tag, its pretrained cfg)."""
    timm = _library(facts, "timm")
    arch, _, tag = name.partition(".")
    tags = timm["tags"].get(arch)
    if not tags:
        if arch in timm["architectures"]:
            raise Missing(f"timm {timm['version']} has {arch} but no pretrained weights for it")
        raise Missing(f"timm {timm['version']} has no architecture {arch!r}")
    if tag and tag not in tags:
        raise Missing(
            f"timm {timm['version']} has no pretrained tag {tag!r} for {arch} "
            f"(it has: {', '.join(tags)})"
        )
    tagged = f"{arch}.{tag or tags[0]}"
    cfg = timm["cfgs"][tagged]
    if cfg["classes"] != IMAGENET_CLASSES:
        raise Missing(
            f"timm {tagged} classifies {cfg['classes']} classes; the photos are labelled "
            f"in ImageNet-1k's {IMAGENET_CLASSES}"
        )
    return tagged, cfg


def timm_recipe(tagged: str, cfg: dict[str, Any]) -> Preprocessing:
    if cfg["interpolation"] not in INTERPOLATIONS:
        raise Missing(
            f"timm {tagged} resizes with {cfg['interpolation']!r}, which the photos' recipe "
            f"does not offer ({', '.join(INTERPOLATIONS)})"
        )
    size = int(cfg["input_size"][-1])
    return Preprocessing(
        size=size,
        resize=round(size / cfg["crop_pct"]),
        interpolation=cfg["interpolation"],
        mean=tuple(cfg["mean"]),
        std=tuple(cfg["std"]),
        origin=f"timm {tagged} pretrained_cfg (crop_pct {cfg['crop_pct']}, {cfg['interpolation']})",
    )


def _torchvision_side(facts: dict[str, Any], arch: str) -> tuple[str, dict[str, Any]]:
    torchvision = _library(facts, "torchvision")
    model = torchvision["models"].get(arch)
    if model is None:
        raise Missing(f"torchvision {torchvision['version']} has no classification model {arch!r}")
    if not model["default"]:
        raise Missing(f"torchvision {torchvision['version']} has no weights for {arch}")
    return model["default"], model["weights"][model["default"]]


def twin_pair(facts: dict[str, Any], twin: Twin) -> Pair:
    keras = _library(facts, "keras")
    if twin.app not in keras["applications"]:
        raise Missing(f"keras {keras['version']} has no keras.applications.{twin.app}")
    if twin.app not in keras_apps.APPS:
        raise Missing(f"no preprocessing recorded for {twin.app} (zoo/sources/keras_apps.py APPS)")
    tf_side = Side(f"keras-apps:{twin.app}", preprocessing=keras_apps.preprocessing(twin.app))
    source, _, name = twin.torch.partition(":")
    relation = SAME_WEIGHTS if twin.same_weights else INDEPENDENT
    published: tuple[Published, ...] = ()
    if source == "torchvision":
        weights, meta = _torchvision_side(facts, name)
        enum = f"{name} {weights}"
        torch_side = Side(
            f"torchvision:{name}.{weights}",
            preprocessing=Preprocessing(
                size=meta["crop"],
                resize=meta["resize"],
                interpolation=meta["interpolation"],
                origin=f"torchvision {enum} transforms()",
            ),
        )
        published = tuple(
            Published("torch", metric, meta[key], f"torchvision {enum} Weights.meta")
            for metric, key in (("top-1 %", "acc1"), ("top-5 %", "acc5"))
            if meta.get(key) is not None
        )
        pair_id, library = name, f"TorchVision {name} ({weights})"
    else:
        tagged, cfg = _timm_side(facts, name)
        recipe = timm_recipe(tagged, cfg)
        if twin.same_weights:
            # One checkpoint: both sides see the same pixels (keras' geometry), each
            # normalised as its model expects.
            geometry = tf_side.preprocessing
            recipe = Preprocessing(
                size=geometry.size,
                resize=geometry.resize,
                interpolation=geometry.interpolation,
                mean=recipe.mean,
                std=recipe.std,
                origin=f"timm {tagged} mean/std at keras.applications' {twin.app} geometry",
            )
        torch_side = Side(f"timm:{tagged}", preprocessing=recipe)
        pair_id, library = f"{tagged.partition('.')[0]}-vs-{twin.app}", f"timm {tagged}"
    how = (
        f"the same checkpoint ({twin.same_weights})"
        if twin.same_weights
        else "trained separately, so predictions are compared, not numbers"
    )
    return Pair(
        id=pair_id,
        task=IMAGE,
        relation=relation,
        torch=torch_side,
        tensorflow=tf_side,
        dataset="photos",
        description=f"{library} against keras.applications {twin.app}: {how}. "
        "(derived: zoo/twins.py)",
        published=published,
    )


def _image_size(hub_id: str) -> int:
    """ViT checkpoints name their resolution last: google/vit-base-patch16-384 -> 384."""
    found = re.findall(r"(\d+)", hub_id)
    return int(found[-1]) if found else 224


def hub_pair(facts: dict[str, Any], preset: str, info: dict[str, Any], origin: str) -> Pair:
    family = info["family"]
    task = FAMILY_TASKS[family]
    hub = _library(facts, "keras-hub")
    needed = TASK_CLASSES.get(task)
    if needed and needed not in info["tasks"]:
        raise Missing(f"keras-hub {hub['version']} has no {needed} for {preset}")
    source, _, name = origin.partition(":")
    # The preset's own Kaggle handle, versioned, where keras-hub records it: `parity list`
    # then sees it in kagglehub's cache, and a run loads exactly that version.
    tf_handle = f"keras-hub:{info.get('kaggle_handle') or preset}"
    tokenizer = None
    if source == "timm":
        tagged, cfg = _timm_side(facts, name)
        recipe = timm_recipe(tagged, cfg)
        torch_side = Side(f"timm:{tagged}", preprocessing=recipe)
        tf_side = Side(tf_handle, preprocessing=recipe)
    else:
        try:
            check_hub_id(origin, name)
        except HandleError as error:
            raise Missing(str(error)) from None
        torch_side, tf_side = Side(f"hf:{name}"), Side(tf_handle)
        if task == IMAGE:  # ViT: scaled to [-1, 1], as ViTImageProcessor does
            size = _image_size(name)
            recipe = Preprocessing(
                size=size,
                resize=size,
                mean=(0.5, 0.5, 0.5),
                std=(0.5, 0.5, 0.5),
                origin="ViTImageProcessor's scaling (mean 0.5, std 0.5); shorter side to the "
                "resolution and a centre crop, where the processor squashes",
            )
            torch_side = Side(torch_side.handle, preprocessing=recipe)
            tf_side = Side(tf_side.handle, preprocessing=recipe)
        else:
            tokenizer = f"hf:{name}"
    what = info.get("description", "").strip().rstrip(".")
    return Pair(
        id=preset,
        task=task,
        relation=SAME_WEIGHTS,
        torch=torch_side,
        tensorflow=tf_side,
        dataset=DATASETS[task],
        tokenizer=tokenizer,
        description=f"keras-hub preset {preset} ({what}) against {origin}, the checkpoint "
        "it was converted from (derived: zoo/hub_origins.py)",
        diagnostics=FAMILY_DIAGNOSTICS.get(family, ()),
    )


def derive(facts: dict[str, Any]) -> Derived:
    derived = Derived()
    for twin in TWINS:
        row = ("twins", f"{twin.app} ~ {twin.torch}")
        try:
            derived.add(twin_pair(facts, twin), row)
        except Missing as missing:
            derived.dropped.append(Dropped(*row, str(missing)))
    try:
        presets = _library(facts, "keras-hub")["presets"]
    except Missing as missing:
        derived.dropped.extend(
            Dropped("keras-hub", f"{preset} ~ {origin}", str(missing))
            for preset, origin in ORIGINS.items()
        )
        return derived
    for preset, info in sorted(presets.items()):
        if info.get("family") not in FAMILY_TASKS:
            continue  # a family no task here runs (detectors, diffusion, ...)
        origin = ORIGINS.get(preset)
        row = ("keras-hub", f"{preset} ~ {origin or '?'}")
        if origin is None:
            derived.dropped.append(
                Dropped(*row, "no known source checkpoint (zoo/hub_origins.py ORIGINS)")
            )
            continue
        try:
            derived.add(hub_pair(facts, preset, info, origin), row)
        except Missing as missing:
            derived.dropped.append(Dropped(*row, str(missing)))
    hub_version = _library(facts, "keras-hub")["version"]
    derived.dropped.extend(
        Dropped("keras-hub", f"{preset} ~ {origin}", f"keras-hub {hub_version} has no preset")
        for preset, origin in ORIGINS.items()
        if preset not in presets
    )
    return derived
