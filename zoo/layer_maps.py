"""Layer maps: which PyTorch module's output equals which Keras layer's output in a
same-weights pair, in forward order, so intermediate activations can be compared.

Where keras-hub converts the PyTorch side's checkpoint (timm or Hugging Face; catalog and
ad-hoc pairs alike) the map is derived from the conversion itself (automatic_groups,
below): no map is written by hand. The hand-written maps left are for pairs no converter
fills, so there is no conversion to learn from: EfficientNet-Lite0/1/2 (timm against
this project's Keras build, zoo/converters/efficientnet_lite.py), whose layer names are
timm's with dots made underscores.

Imports no framework: the parent process reads these maps to ask each worker for its
side's names. A plugin (tests, a user's own source) adds maps with `register_layer_map`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from zoo.converters import efficientnet_lite as lite
from zoo.sources import get_source
from zoo.sources.files import split_checkpoint


@dataclass(frozen=True)
class LayerMatch:
    label: str  # short name for reports
    torch: str  # a module name in model.named_modules()
    tensorflow: str  # a Keras layer name (in the task model or its backbone)

    def name_for(self, side: str) -> str:
        return self.torch if side == "torch" else self.tensorflow


LayerMap = tuple[LayerMatch, ...]
# A finder gets (torch handle, tensorflow handle) and returns a map, or None if it has none.
Finder = Callable[[str, str], "LayerMap | None"]
_FINDERS: list[Finder] = []


def register_layer_map(finder: Finder) -> Finder:
    _FINDERS.append(finder)
    return finder


def layer_map_for(torch_handle: str, tf_handle: str) -> LayerMap | None:
    for finder in _FINDERS:
        found = finder(torch_handle, tf_handle)
        if found:
            return found
    return None


def efficientnet_lite_map(variant: lite.LiteVariant) -> LayerMap:
    """timm tf_efficientnet_lite<n> against the Keras build: the stem (BatchNormAct2d holds
    its ReLU6, so it meets Keras's *_relu6), every block's output (its residual Add, or
    its last BatchNormalization where the block has no shortcut), the head, pooled, logits."""
    matches = [
        LayerMatch("stem conv", "conv_stem", "conv_stem"),
        LayerMatch("stem bn+relu6", "bn1", "bn1_relu6"),
    ]
    channels = lite.STEM_CHANNELS
    for stage, (repeats, _, stride, _, out_channels) in enumerate(variant.stages):
        for index in range(repeats):
            keras = f"blocks_{stage}_{index}"
            residual = (stride == 1 or index > 0) and channels == out_channels
            last_bn = "bn2" if stage == 0 else "bn3"
            matches.append(
                LayerMatch(
                    f"block {stage}.{index}",
                    f"blocks.{stage}.{index}",
                    f"{keras}_add" if residual else f"{keras}_{last_bn}",
                )
            )
            channels = out_channels
    matches += [
        LayerMatch("head conv", "conv_head", "conv_head"),
        LayerMatch("head bn+relu6", "bn2", "bn2_relu6"),
        LayerMatch("pooled", "global_pool", "global_pool"),
        LayerMatch("logits", "classifier", "classifier"),
    ]
    return tuple(matches)


@register_layer_map
def timm_to_keras_build(torch_handle: str, tf_handle: str) -> LayerMap | None:
    """timm -> this project's Keras build of the same checkpoint."""
    try:
        (torch_source, torch_name), (tf_source, tf_name) = (
            get_source(torch_handle),
            get_source(tf_handle),
        )
    except LookupError:
        return None
    if (torch_source.prefix, tf_source.prefix) != ("timm", "keras-build"):
        return None
    archs = (split_checkpoint(torch_name)[0], split_checkpoint(tf_name)[0])
    variant = lite.BY_ARCH.get(archs[0])
    if variant is not None and archs[1] == variant.builder:
        return efficientnet_lite_map(variant)
    return None


# --- automatic layer maps ------------------------------------------------------------------
# keras-hub converts a timm or transformers checkpoint by reading each PyTorch tensor into a
# Keras variable. An automatic capture records that conversion (parity/child/capture.py,
# recording_conversion): which checkpoint key filled which variable of which Keras layer.
# Here the keys are put on the PyTorch model's state dict, and owners are matched: a PyTorch
# module and a Keras layer that hold exactly the same converted tensors compute the same
# part of the network. Several of each can hold the same set (a Linear inside a module
# that adds its activation; a Dense with its activation fused; a BatchNormalization whose
# ReLU, holding nothing, follows it), so a group keeps every candidate and
# parity/evaluate/divergence.py (automatic_map) takes the pair that agrees best.


# The .npz entry in which an automatic capture saves its side's record (JSON).
MAP_RECORD = "__layer_map_record__"
# The .npz entry holding a causal LM's logits, the model's own output, which both sides
# capture beside their layers: the curve's last point. Where the head is tied to the
# embeddings (gpt2, SmolLM) no PyTorch module and Keras layer hold its tensor apart from
# the embeddings', so no group of the conversion reaches it (parity/evaluate/divergence.py).
# Named as the report shows it in place of a module's and a layer's name; no module or
# layer name holds a space.
MODEL_LOGITS = "(model output)"


@dataclass(frozen=True)
class CandidateGroup:
    keys: frozenset[str]  # the PyTorch state-dict keys both sides' candidates hold
    torch: tuple[str, ...]  # modules holding exactly these converted keys
    tensorflow: tuple[str, ...]  # Keras layers holding them, and their parameter-free followers
    followers: frozenset[str] = frozenset()  # which candidates (either side) are followers


def _shared_suffix(a: str, b: str) -> int:
    """How many trailing dotted parts two keys share ("bert.pooler.dense.bias" and
    "pooler.dense.bias": 3)."""
    count = 0
    for x, y in zip(reversed(a.split(".")), reversed(b.split(".")), strict=False):
        if x != y:
            break
        count += 1
    return count


def _best_by_name(checkpoint_key: str, keys: list[str], least: int) -> str | None:
    """The key sharing the longest name suffix with checkpoint_key (at least `least`
    parts), or None on a tie."""
    scored = sorted(((_shared_suffix(k, checkpoint_key), k) for k in keys), reverse=True)
    if not scored or scored[0][0] < least or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def state_key_for(
    checkpoint_key: str, fingerprint: str, by_fingerprint: dict, by_shape: dict | None = None
) -> str | None:
    """The PyTorch state-dict key holding the same tensor as a checkpoint key, or None.

    By value first: the PyTorch library may rename keys on load (transformers 5 keeps
    ViT's blocks in vit.layers, its checkpoints say vit.encoder.layer) or lose a prefix
    (AutoModel drops "bert."). Equal tensors (tied embeddings) are told apart by the
    longest shared name suffix. A tensor with no equal one (the two sides loaded
    different files, one changed) is taken by name among the tensors of its shape, the
    whole key but a prefix alike; one PyTorch changed on load (fused, split) has no
    counterpart and is left out."""
    same = by_fingerprint.get(fingerprint, ())
    if len(same) == 1:
        return same[0]
    if same:
        return _best_by_name(checkpoint_key, same, least=0)
    shape = fingerprint.partition(":")[0]
    candidates = (by_shape or {}).get(shape, [])
    found = _best_by_name(checkpoint_key, candidates, least=2)
    if found is not None and not (checkpoint_key == found or checkpoint_key.endswith("." + found)):
        return None  # only a suffix alike: too weak without equal values
    return found


def state_keys_for(checkpoint: dict[str, str], state: dict[str, str]) -> dict[str, str | None]:
    """Each checkpoint key (-> fingerprint) on a PyTorch state-dict key (-> fingerprint), or
    None (state_key_for). A tensor whose value others share (a zero bias, a unit norm
    scale in an untrained checkpoint) then follows its module: where the module's other
    tensors went (query.weight -> q_proj.weight), query.bias goes (-> q_proj.bias)."""
    by_fingerprint: dict[str, list[str]] = {}
    by_shape: dict[str, list[str]] = {}
    for key, print_ in state.items():
        by_fingerprint.setdefault(print_, []).append(key)
        by_shape.setdefault(print_.partition(":")[0], []).append(key)
    found = {
        key: state_key_for(key, print_, by_fingerprint, by_shape)
        for key, print_ in checkpoint.items()
    }
    modules: dict[str, set[str]] = {}  # checkpoint module -> the state-dict modules its keys met
    for key, target in found.items():
        if target is not None:
            modules.setdefault(key.rpartition(".")[0], set()).add(target.rpartition(".")[0])
    for key, target in found.items():
        module, _, name = key.rpartition(".")
        places = modules.get(module, set())
        if target is None and len(places) == 1:
            guess = f"{next(iter(places))}.{name}" if next(iter(places)) else name
            if state.get(guess) == checkpoint[key]:  # the same value there: it is this one
                found[key] = guess
    return found


def _ancestors(path: str, separator: str) -> list[str]:
    parts = path.split(separator)
    return [separator.join(parts[: i + 1]) for i in range(len(parts))]


def automatic_groups(
    torch_record: dict,
    keras_record: dict,
    torch_captured: set[str] | None = None,
    keras_captured: set[str] | None = None,
) -> list[CandidateGroup]:
    """The candidate capture points of a keras-hub conversion, one group per set of
    converted tensors that some PyTorch module and some Keras layer both hold exactly.

    torch_record: {"keys": {state-dict key: fingerprint}, ...}; keras_record:
    {"variables": [{"layer": PATH, "keys": [...], "fingerprints": [...]}], "successors":
    {PATH: [PATH, ...]}} (parity/child/capture.py writes both; each side's "successors"
    are the parameter-free layers called right after one, candidates too). *_captured: the names
    whose outputs were captured; only those are candidates (None: all)."""
    state_keys = state_keys_for(
        {
            key: print_
            for variable in keras_record["variables"]
            for key, print_ in zip(variable["keys"], variable["fingerprints"], strict=True)
        },
        torch_record["keys"],
    )
    keras_sets: dict[str, set[str]] = {}
    incomplete: set[str] = set()
    # each layer's own variables, by the PyTorch module holding their tensors
    own: dict[str, dict[str, set[str]]] = {}
    for variable in keras_record["variables"]:
        found = [state_keys[key] for key in variable["keys"]]
        owners = _ancestors(variable["layer"], "/")
        if None in found:  # a layer filled from a tensor PyTorch has in another form
            incomplete.update(owners)
        for owner in owners:
            keras_sets.setdefault(owner, set()).update(k for k in found if k)
        modules = {key.rpartition(".")[0] for key in found if key}
        if found and None not in found and len(modules) == 1:
            own.setdefault(variable["layer"], {}).setdefault(modules.pop(), set()).update(found)
    used = set().union(*keras_sets.values()) if keras_sets else set()
    torch_sets: dict[str, set[str]] = {}
    for key in used:
        module = key.rpartition(".")[0]
        for owner in _ancestors(module, ".") if module else []:
            torch_sets.setdefault(owner, set()).add(key)
    groups: dict[frozenset[str], tuple[list[str], list[str]]] = {}
    followers: set[str] = set()
    torch_successors = torch_record.get("successors", {})
    for module, keys in torch_sets.items():
        followers.update(torch_successors.get(module, ()))
        for name in (module, *torch_successors.get(module, ())):
            if torch_captured is None or name in torch_captured:
                groups.setdefault(frozenset(keys), ([], []))[0].append(name)
    successors = keras_record.get("successors", {})
    for layer, keys in keras_sets.items():
        group = groups.get(frozenset(keys))
        if group is None or layer in incomplete:
            continue
        followers.update(successors.get(layer, ()))
        for name in (layer, *successors.get(layer, ())):
            if keras_captured is None or name in keras_captured:
                group[1].append(name)
    # A Keras layer holding tensors PyTorch keeps in separate modules, used at different
    # points (keras-hub's ReversibleEmbedding: an untied head's matrix beside the
    # embedding's), is a candidate for each of those modules: its output, its first
    # call's, is one of theirs (the embedding), and shapes rule out the others.
    for layer, by_module in own.items():
        if len(by_module) < 2 or not (keras_captured is None or layer in keras_captured):
            continue
        for keys in by_module.values():
            group = groups.get(frozenset(keys))
            if group is not None and layer not in group[1]:
                group[1].append(layer)
    return [
        CandidateGroup(
            keys,
            tuple(sorted(torch)),
            tuple(keras),
            frozenset(followers & {*torch, *keras}),
        )
        for keys, (torch, keras) in groups.items()
        if torch and keras
    ]


def automatic_pair(torch_handle: str, tf_handle: str) -> bool:
    """Whether a pair's map can be derived from its conversion: keras-hub converting the
    checkpoint the PyTorch side loads (a Hugging Face model or a timm one)."""
    try:
        prefixes = (get_source(torch_handle)[0].prefix, get_source(tf_handle)[0].prefix)
    except LookupError:
        return False
    return prefixes in (("hf", "keras-hub"), ("timm", "keras-hub"))
