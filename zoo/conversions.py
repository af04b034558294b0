"""The conversion-fidelity sweep's rows: every timm family and Hugging Face model type the
installed keras-hub converts, each as one seeded checkpoint small enough to run in seconds.

A row is data only (no framework): the PyTorch side's library writes the checkpoint
(parity/child/conversions.py), keras-hub loads it through its real conversion
(`from_preset(folder)`), and parity/run/sweep.py compares the two on the same inputs.

Reduced configs: Hugging Face models start from their config class's defaults, with every
size field in REDUCED_SIZES that the class has replaced (2 layers, width 64, 4 heads,
a 1,024-token vocabulary...), then the row's own settings. Every layer type stays present;
only repeats and widths shrink. timm models keep their full architecture (keras-hub's timm
converters dispatch on the architecture name, so it cannot be shrunk): they are small
enough as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parity.errors import HandleError

TIMM, HF = "timm", "hf"
# What each side is asked for, and so which outputs are compared.
CLASSIFIER = "classifier"  # logits of an image classifier (keras-hub ImageClassifier)
BACKBONE = "backbone"  # the backbone's sequence output (keras-hub Backbone)
# a text encoder saved as its pre-training model (masked LM where it has no other), the
# layout hub checkpoints ship (keys prefixed "bert.", "roberta." ..., BERT's pooler
# included), compared on the encoder's sequence output
PRETRAINING = "pretraining"
# a vision transformer saved as its image classifier (as DeiT and Swin checkpoints are),
# compared on the encoder's sequence output
IMAGE_ENCODER = "image-encoder"
CAUSAL_LM = "causal-lm"  # final hidden states and logits (keras-hub CausalLM)
SEQ2SEQ = "seq2seq"  # encoder and decoder sequence outputs (keras-hub Seq2Seq backbone)
HEADS = (CLASSIFIER, BACKBONE, PRETRAINING, IMAGE_ENCODER, CAUSAL_LM, SEQ2SEQ)

# Size fields of transformers configs, set wherever a model type's config has them.
REDUCED_SIZES: dict[str, Any] = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "head_dim": 16,
    "vocab_size": 1024,
    "max_position_embeddings": 128,
    "embedding_size": 32,  # ALBERT's factorised embedding
    # GPT-2's names
    "n_embd": 64,
    "n_layer": 2,
    "n_head": 4,
    "n_positions": 128,
    # DistilBERT's names
    "dim": 64,
    "n_layers": 2,
    "n_heads": 4,
    "hidden_dim": 128,
    # encoder-decoders (BART)
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
    # mixtures of experts
    "num_experts": 4,
    "num_local_experts": 4,
    "num_experts_per_tok": 2,
    "moe_intermediate_size": 64,
    "shared_expert_intermediate_size": 64,
    # vision transformers
    "image_size": 32,
    "patch_size": 8,
}
SEQUENCE_LENGTH = 16  # tokens per text input
# Diagnostic changes (Conversion.confirm) beyond config fields, for Hugging Face rows: these
# state-dict weights zeroed, every weight rounded through this dtype (a torch dtype's name).
ZERO_WEIGHTS, ROUND_WEIGHTS = "zero_weights", "round_weights_to"
TIMM_IMAGE_SIZE = 224


@dataclass(frozen=True)
class Conversion:
    """One row of the sweep.

    name: the timm architecture, or the transformers model_type. settings: create_model
    keyword arguments (timm) or config fields over the reduced defaults (hf). cause: the
    diagnosed reason this conversion disagrees, where one is known; confirm: the PyTorch-side
    change that should close the gap if that diagnosis is right (the sweep tries it);
    keras_config: for a load error whose cause is a config.json field keras-hub reads, the
    fields that should let keras-hub load the same weights and agree (the sweep tries it on
    a copy of the checkpoint).
    """

    id: str
    kind: str
    name: str
    head: str
    settings: dict[str, Any] = field(default_factory=dict)
    cause: str = ""
    confirm: dict[str, Any] = field(default_factory=dict)
    keras_config: dict[str, Any] = field(default_factory=dict)

    @property
    def converter(self) -> str:
        return converter_of(self.kind, self.name)

    @property
    def torch_side(self) -> str:
        if self.kind == TIMM:
            return f"timm {self.name}"
        return f"transformers {self.name} ({self.head}, reduced)"


# keras-hub's dispatch (keras_hub/src/utils/timm/preset_loader.py): by architecture prefix,
# in this order.
TIMM_CONVERTERS = (
    ("resnet", "convert_resnet"),
    ("csp", "convert_cspnet"),
    ("dark", "convert_cspnet"),
    ("densenet", "convert_densenet"),
    ("mobilenetv5", "convert_mobilenetv5"),
    ("mobilenet", "convert_mobilenet"),
    ("vgg", "convert_vgg"),
    ("efficientnet", "convert_efficientnet"),
    ("hgnetv2", "convert_hgnetv2"),
)
# keras_hub/src/utils/transformers/preset_loader.py: model_type -> converter module.
HF_CONVERTERS = {
    "albert": "convert_albert",
    "bart": "convert_bart",
    "bert": "convert_bert",
    "deit": "convert_deit",
    "distilbert": "convert_distilbert",
    "dinov2": "convert_dinov2",
    "esm": "convert_esm",
    "gemma": "convert_gemma",
    "gemma2": "convert_gemma",
    "gemma3_text": "convert_gemma3",
    "gpt2": "convert_gpt2",
    "gpt_oss": "convert_gpt_oss",
    "llama": "convert_llama3",
    "mistral": "convert_mistral",
    "mixtral": "convert_mixtral",
    "qwen2": "convert_qwen",
    "qwen2_moe": "convert_qwen_moe",
    "qwen3": "convert_qwen3",
    "qwen3_moe": "convert_qwen3_moe",
    "roberta": "convert_roberta",
    "smollm3": "convert_smollm3",
    "swin": "convert_swin_transformer",
    "vit": "convert_vit",
    "xlm-roberta": "convert_xlm_roberta",
}


def converter_of(kind: str, name: str) -> str:
    """The keras-hub module that converts this checkpoint, or what keras-hub answers."""
    if kind == TIMM:
        module = next((m for prefix, m in TIMM_CONVERTERS if name.startswith(prefix)), None)
        return f"timm/{module}" if module else "none (timm architecture not dispatched)"
    module = HF_CONVERTERS.get(name)
    return f"transformers/{module}" if module else "none known (model_type not listed here)"


BERT_TANH_GELU = (
    "keras-hub's BertBackbone uses the tanh approximation of GELU; the checkpoint asks for "
    "exact GELU (hidden_act 'gelu')"
)
VIT_LN_EPS = (
    "keras-hub's ViT converter does not carry layer_norm_eps over (transformers' ViT "
    "default is 1e-12) and keeps its own 1e-6"
)
DENSENET_STEM_PADDING = (
    "keras-hub's DenseNetBackbone pads its stride-2 stem conv and max-pool as TensorFlow's "
    "'same' (extra row and column at the bottom/right); timm pads both sides alike"
)
ROBERTA_TOKEN_TYPES = (
    "keras-hub's RobertaBackbone has no token-type embedding: the converter drops "
    "roberta.embeddings.token_type_embeddings, which transformers adds (row 0) to every "
    "token (real RoBERTa checkpoints hold it zeroed, this seeded one random); and it keeps "
    "LayerNorm eps 1e-5 where the checkpoint says layer_norm_eps (transformers' default 1e-12)"
)
XLM_ROBERTA_LN_EPS = (
    "keras-hub's XLMRobertaBackbone keeps LayerNorm eps 1e-5 and does not read "
    "layer_norm_eps (transformers' default 1e-12; xlm-roberta-base's config says 1e-5)"
)
MISTRAL_FLOAT16 = (
    "keras-hub's Mistral converter rounds every weight through float16 "
    "(hook_fn astype(np.float16)) before assigning it to a float32 variable"
)
GEMMA_QUERY_SCALE = (
    "keras-hub maps query_pre_attn_scalar to a yes/no (is it head_dim?) and otherwise "
    "scales queries by hidden_size/num_heads; this reduced config keeps the default 256 with "
    "head_dim 16, so transformers scales by 256**-0.5 and keras-hub by 16**-0.5 (real "
    "checkpoints have it equal to head_dim or hidden_size/num_heads)"
)
MOBILENETV3_NUM_FEATURES = (
    "keras-hub's timm loader builds MobileNet's head conv num_features wide, read from "
    "config.json; timm 1.x's save_for_hf writes num_features as the last stage's channels "
    "(model.num_features), the head conv's width being head_hidden_size, so the head's "
    "weight does not fit (configs that older timm wrote gave the head's width)"
)
HGNETV2_HEAD_WIDTH = (
    "keras-hub's timm loader gives HGNetV2ImageClassifier no head width, so its last conv "
    "is the last stage's width; timm's hgnetv2 head is head_hidden_size (2048) wide, so the "
    "head's weight does not fit"
)
MBCONV_DEPTHWISE_PADDING = (
    "keras-hub's MBConvBlock (the unfused blocks of its EfficientNet-EdgeTPU and V2 "
    "variants) pads its stride-2 depthwise conv as TensorFlow's 'same' (extra row and "
    "column at the bottom/right); timm pads both sides alike"
)
TF_EFFICIENTNET = (
    "keras-hub's timm loader dispatches on the architecture prefix 'efficientnet'; the "
    "tf_ variants (TF 'SAME' padding, BN eps 1e-3) have no converter"
)


def _timm(arch: str, **extra: Any) -> Conversion:
    return Conversion(arch, TIMM, arch, CLASSIFIER, **extra)


def _hf(model_type: str, head: str, row_id: str | None = None, **extra: Any) -> Conversion:
    return Conversion(row_id or model_type, HF, model_type, head, **extra)


IMAGE_LABELS = {"num_labels": 10}
CONVERSIONS: tuple[Conversion, ...] = (
    # timm families (keras_hub/src/utils/timm)
    _timm("resnet18"),
    _timm("resnet50"),
    _timm("resnetv2_50"),
    _timm(
        "densenet121",
        cause=DENSENET_STEM_PADDING,
        confirm={"tf_same_padding": ["features.conv0", "features.pool0"]},
    ),
    _timm("efficientnet_b0"),
    _timm("efficientnet_lite0"),
    _timm(
        "efficientnet_es",
        cause=MBCONV_DEPTHWISE_PADDING,
        # the stride-2 blocks of its inverted-residual stages (3 and 5)
        confirm={"tf_same_padding": ["blocks.3.0.conv_dw", "blocks.5.0.conv_dw"]},
    ),
    _timm(
        "efficientnetv2_rw_t",
        cause=MBCONV_DEPTHWISE_PADDING,
        confirm={"tf_same_padding": ["blocks.3.0.conv_dw", "blocks.5.0.conv_dw"]},
    ),
    _timm("tf_efficientnet_lite0", cause=TF_EFFICIENTNET),
    # keras_config: the head widths timm's mobilenetv3_*_100 build (head_hidden_size)
    _timm(
        "mobilenetv3_small_100",
        cause=MOBILENETV3_NUM_FEATURES,
        keras_config={"num_features": 1024},
    ),
    _timm(
        "mobilenetv3_large_100",
        cause=MOBILENETV3_NUM_FEATURES,
        keras_config={"num_features": 1280},
    ),
    _timm("vgg11"),
    _timm("cspresnet50"),
    _timm("cspdarknet53"),
    _timm("darknet53"),
    _timm("hgnetv2_b0", cause=HGNETV2_HEAD_WIDTH),
    # Hugging Face text encoders
    _hf(
        "bert",
        PRETRAINING,
        cause=BERT_TANH_GELU,
        confirm={"hidden_act": "gelu_pytorch_tanh"},
    ),
    _hf(
        "roberta",
        PRETRAINING,
        cause=ROBERTA_TOKEN_TYPES,
        confirm={
            "layer_norm_eps": 1e-5,
            ZERO_WEIGHTS: ["roberta.embeddings.token_type_embeddings.weight"],
        },
    ),
    _hf("xlm-roberta", PRETRAINING, cause=XLM_ROBERTA_LN_EPS, confirm={"layer_norm_eps": 1e-5}),
    _hf("albert", PRETRAINING),
    _hf("distilbert", PRETRAINING),
    _hf("esm", PRETRAINING, settings={"vocab_size": 33, "pad_token_id": 1, "mask_token_id": 32}),
    _hf("bart", SEQ2SEQ),
    # Hugging Face vision transformers
    _hf(
        "vit",
        CLASSIFIER,
        settings=IMAGE_LABELS,
        cause=VIT_LN_EPS,
        confirm={"layer_norm_eps": 1e-6},
    ),
    # DeiT maps to two image-classifier classes; the hub's distilled checkpoints (and
    # keras-hub's converter, reading cls_classifier) are the one with a teacher head.
    _hf(
        "deit",
        IMAGE_ENCODER,
        settings={"architectures": ["DeiTForImageClassificationWithTeacher"]},
    ),
    _hf("dinov2", BACKBONE),
    _hf(
        "swin",
        IMAGE_ENCODER,
        settings={
            "embed_dim": 32,
            "depths": [2, 2],
            "num_heads": [2, 4],
            "patch_size": 4,
            "window_size": 4,
        },
    ),
    # Hugging Face causal language models: hidden states and logits
    _hf("gpt2", CAUSAL_LM),
    _hf("llama", CAUSAL_LM),
    _hf("mistral", CAUSAL_LM, cause=MISTRAL_FLOAT16, confirm={ROUND_WEIGHTS: "float16"}),
    _hf("mixtral", CAUSAL_LM),
    _hf("qwen2", CAUSAL_LM),
    _hf("qwen2_moe", CAUSAL_LM),
    _hf("qwen3", CAUSAL_LM),
    _hf("qwen3_moe", CAUSAL_LM),
    _hf("gemma", CAUSAL_LM),
    _hf("gemma2", CAUSAL_LM, cause=GEMMA_QUERY_SCALE, confirm={"query_pre_attn_scalar": 16}),
    _hf("gemma3_text", CAUSAL_LM, cause=GEMMA_QUERY_SCALE, confirm={"query_pre_attn_scalar": 16}),
    _hf("smollm3", CAUSAL_LM),
    _hf("gpt_oss", CAUSAL_LM),
)
BY_ID = {row.id: row for row in CONVERSIONS}


def adhoc(handle: str) -> Conversion:
    """A row of the user's own: timm:ARCH, or hf:MODEL_TYPE[:HEAD] (head default backbone).
    Whether the name exists is the child's to find out, in its own row."""
    kind, sep, rest = handle.partition(":")
    if not sep or kind not in (TIMM, HF) or not rest:
        raise HandleError(
            f"--add {handle!r}: write timm:ARCHITECTURE or hf:MODEL_TYPE[:HEAD] "
            f"(HEAD one of {', '.join(HEADS)})"
        )
    if kind == TIMM:
        return _timm(rest)
    name, _, head = rest.partition(":")
    head = head or BACKBONE
    if head not in HEADS:
        raise HandleError(f"--add {handle!r}: head {head!r} is not one of {', '.join(HEADS)}")
    return _hf(name, head, row_id=f"{name} ({head})" if head != BACKBONE else name)
