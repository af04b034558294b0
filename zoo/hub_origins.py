"""Which timm or Hugging Face checkpoint each keras-hub preset was converted from.

Data only; zoo.derived joins it with the presets the installed keras-hub registers (read in
a child: parity.child.catalog), whose metadata gives each preset's family (its `path`) but
not its source. The sources come from keras-hub's own conversion scripts
(github.com/keras-team/keras-hub, tools/checkpoint_conversion/convert_*_checkpoints.py,
their PRESET_MAP, read at commit 71453d08), which convert, or validate against, exactly
these checkpoints. Where a script names a checkpoint by a legacy Hub id ("gpt2",
"roberta-base") that id is kept: the Hub still serves it.

A pair is made for a preset whose family has a task here and whose source is known; every
other preset of those families is dropped with the reason, and so is a source the
installed timm does not list.
"""

from __future__ import annotations

IMAGE, TEXT, LM = "image-classifier", "text-encoder", "text-generation"

# keras-hub family (a preset's metadata["path"]) -> the task its pairs are run as. Families
# left out have no task here (detectors, segmenters, multimodal and seq2seq models), or a
# backbone the text-encoder task cannot drive (F-Net takes no padding mask).
FAMILY_TASKS = {
    "resnet": IMAGE,
    "densenet": IMAGE,
    "efficientnet": IMAGE,
    "mobilenet": IMAGE,
    "vgg": IMAGE,
    "cspnet": IMAGE,
    "hgnetv2": IMAGE,
    "vit": IMAGE,
    "bert": TEXT,
    "distil_bert": TEXT,
    "albert": TEXT,
    "roberta": TEXT,
    "xlm_roberta": TEXT,
    "electra": TEXT,
    "deberta_v3": TEXT,
    "gpt2": LM,
    "opt": LM,
    "bloom": LM,
    "qwen": LM,
    "qwen3": LM,
    "qwen_moe": LM,
    "qwen3_moe": LM,
    "mistral": LM,
    "mixtral": LM,
    "llama": LM,
    "llama3": LM,
    "phi3": LM,
    "falcon": LM,
    "smollm3": LM,
    "gemma": LM,
    "gemma3": LM,
    "gpt_oss": LM,
}


def _timm(presets: dict[str, str]) -> dict[str, str]:
    return {preset: f"timm:{name}" for preset, name in presets.items()}


def _hf(presets: dict[str, str]) -> dict[str, str]:
    return {preset: f"hf:{hub_id}" for preset, hub_id in presets.items()}


# preset -> the PyTorch handle of the checkpoint it was converted from
ORIGINS: dict[str, str] = {
    # convert_resnet_checkpoints.py (the resnet_vd presets come from PaddleClas: no source)
    **_timm(
        {
            "resnet_18_imagenet": "resnet18.a1_in1k",
            "resnet_50_imagenet": "resnet50.a1_in1k",
            "resnet_101_imagenet": "resnet101.a1_in1k",
            "resnet_152_imagenet": "resnet152.a1_in1k",
            "resnet_v2_50_imagenet": "resnetv2_50.a1h_in1k",
            "resnet_v2_101_imagenet": "resnetv2_101.a1h_in1k",
        }
    ),
    # convert_densenet_checkpoints.py
    **_timm(
        {
            "densenet_121_imagenet": "densenet121.tv_in1k",
            "densenet_169_imagenet": "densenet169.tv_in1k",
            "densenet_201_imagenet": "densenet201.tv_in1k",
        }
    ),
    # convert_efficientnet_checkpoints.py
    **_timm(
        {
            "efficientnet_b0_ra_imagenet": "efficientnet_b0.ra_in1k",
            "efficientnet_b0_ra4_e3600_r224_imagenet": "efficientnet_b0.ra4_e3600_r224_in1k",
            "efficientnet_b1_ft_imagenet": "efficientnet_b1.ft_in1k",
            "efficientnet_b1_ra4_e3600_r240_imagenet": "efficientnet_b1.ra4_e3600_r240_in1k",
            "efficientnet_b2_ra_imagenet": "efficientnet_b2.ra_in1k",
            "efficientnet_b3_ra2_imagenet": "efficientnet_b3.ra2_in1k",
            "efficientnet_b4_ra2_imagenet": "efficientnet_b4.ra2_in1k",
            "efficientnet_b5_sw_imagenet": "efficientnet_b5.sw_in12k",
            "efficientnet_b5_sw_ft_imagenet": "efficientnet_b5.sw_in12k_ft_in1k",
            "efficientnet_lite0_ra_imagenet": "efficientnet_lite0.ra_in1k",
            "efficientnet_el_ra_imagenet": "efficientnet_el.ra_in1k",
            "efficientnet_em_ra2_imagenet": "efficientnet_em.ra2_in1k",
            "efficientnet_es_ra_imagenet": "efficientnet_es.ra_in1k",
            "efficientnet2_rw_m_agc_imagenet": "efficientnetv2_rw_m.agc_in1k",
            "efficientnet2_rw_s_ra2_imagenet": "efficientnetv2_rw_s.ra2_in1k",
            "efficientnet2_rw_t_ra2_imagenet": "efficientnetv2_rw_t.ra2_in1k",
        }
    ),
    # convert_mobilenet_checkpoints.py
    **_timm(
        {
            "mobilenet_v3_small_050_imagenet": "mobilenetv3_small_050.lamb_in1k",
            "mobilenet_v3_small_100_imagenet": "mobilenetv3_small_100.lamb_in1k",
            "mobilenet_v3_large_100_imagenet": "mobilenetv3_large_100.ra_in1k",
            "mobilenet_v3_large_100_imagenet_21k": "mobilenetv3_large_100.miil_in21k_ft_in1k",
        }
    ),
    # convert_vgg_checkpoints.py
    **_timm(
        {
            "vgg_11_imagenet": "vgg11.tv_in1k",
            "vgg_13_imagenet": "vgg13.tv_in1k",
            "vgg_16_imagenet": "vgg16.tv_in1k",
            "vgg_19_imagenet": "vgg19.tv_in1k",
        }
    ),
    # convert_cspnet_checkpoints.py
    **_timm(
        {
            "csp_darknet_53_ra_imagenet": "cspdarknet53.ra_in1k",
            "csp_resnext_50_ra_imagenet": "cspresnext50.ra_in1k",
            "csp_resnet_50_ra_imagenet": "cspresnet50.ra_in1k",
            "darknet_53_imagenet": "darknet53.c2ns_in1k",
        }
    ),
    # convert_hgnetv2_checkpoints.py
    **_timm(
        {
            "hgnetv2_b6_ssld_stage2_ft_in1k": "hgnetv2_b6.ssld_stage2_ft_in1k",
            "hgnetv2_b6_ssld_stage1_in22k_in1k": "hgnetv2_b6.ssld_stage1_in22k_in1k",
            "hgnetv2_b5_ssld_stage2_ft_in1k": "hgnetv2_b5.ssld_stage2_ft_in1k",
            "hgnetv2_b5_ssld_stage1_in22k_in1k": "hgnetv2_b5.ssld_stage1_in22k_in1k",
            "hgnetv2_b4_ssld_stage2_ft_in1k": "hgnetv2_b4.ssld_stage2_ft_in1k",
        }
    ),
    # convert_vit_checkpoints.py; its ImageNet-21k presets are backbones without the
    # 1000-class head the image-classifier task compares, so they have no pair
    **_hf(
        {
            "vit_base_patch16_224_imagenet": "google/vit-base-patch16-224",
            "vit_base_patch16_384_imagenet": "google/vit-base-patch16-384",
            "vit_base_patch32_384_imagenet": "google/vit-base-patch32-384",
            "vit_large_patch16_224_imagenet": "google/vit-large-patch16-224",
            "vit_large_patch16_384_imagenet": "google/vit-large-patch16-384",
            "vit_large_patch32_384_imagenet": "google/vit-large-patch32-384",
        }
    ),
    # convert_bert_sentence_transformer_checkpoints.py and
    # convert_bge_multilingual_e5_checkpoints.py, convert_mxbai_embed_checkpoints.py
    **_hf(
        {
            "bert_tiny_en_uncased": "google/bert_uncased_L-2_H-128_A-2",
            "bert_small_en_uncased": "google/bert_uncased_L-4_H-512_A-8",
            "bert_medium_en_uncased": "google/bert_uncased_L-8_H-512_A-8",
            "bert_base_en_uncased": "google-bert/bert-base-uncased",
            "bert_base_en": "google-bert/bert-base-cased",
            "bert_base_zh": "google-bert/bert-base-chinese",
            "bert_base_multi": "google-bert/bert-base-multilingual-cased",
            "bert_large_en_uncased": "google-bert/bert-large-uncased",
            "bert_large_en": "google-bert/bert-large-cased",
            "all_minilm_l6_v2_en": "sentence-transformers/all-MiniLM-L6-v2",
            "all_minilm_l6_v1_en": "sentence-transformers/all-MiniLM-L6-v1",
            "all_minilm_l12_v2_en": "sentence-transformers/all-MiniLM-L12-v2",
            "paraphrase_minilm_l3_v2_en": "sentence-transformers/paraphrase-MiniLM-L3-v2",
            "paraphrase_minilm_l6_v2_en": "sentence-transformers/paraphrase-MiniLM-L6-v2",
            "paraphrase_minilm_l12_v2_en": "sentence-transformers/paraphrase-MiniLM-L12-v2",
            "multi_qa_minilm_l6_cos_v1_en": "sentence-transformers/multi-qa-MiniLM-L6-cos-v1",
            "multi_qa_minilm_l6_dot_v1_en": "sentence-transformers/multi-qa-MiniLM-L6-dot-v1",
            "msmarco_minilm_l6_cos_v5_en": "sentence-transformers/msmarco-MiniLM-L6-cos-v5",
            "msmarco_minilm_l12_cos_v5_en": "sentence-transformers/msmarco-MiniLM-L12-cos-v5",
            "bge_small_en": "BAAI/bge-small-en",
            "bge_base_en": "BAAI/bge-base-en",
            "bge_large_en": "BAAI/bge-large-en",
            "bge_small_v1.5_en": "BAAI/bge-small-en-v1.5",
            "bge_base_v1.5_en": "BAAI/bge-base-en-v1.5",
            "bge_large_v1.5_en": "BAAI/bge-large-en-v1.5",
            "bge_base_zh": "BAAI/bge-base-zh",
            "bge_large_zh": "BAAI/bge-large-zh",
            "bge_small_v1.5_zh": "BAAI/bge-small-zh-v1.5",
            "bge_base_v1.5_zh": "BAAI/bge-base-zh-v1.5",
            "bge_large_v1.5_zh": "BAAI/bge-large-zh-v1.5",
            "bge_llm_embedder": "BAAI/llm-embedder",
            "bge_m3": "BAAI/bge-m3",
            "multilingual_e5_small": "intfloat/multilingual-e5-small",
            "multilingual_e5_base": "intfloat/multilingual-e5-base",
            "multilingual_e5_large": "intfloat/multilingual-e5-large",
            "mxbai_embed_large_v1_en": "mixedbread-ai/mxbai-embed-large-v1",
            "mxbai_embed_2d_large_v1_en": "mixedbread-ai/mxbai-embed-2d-large-v1",
            "mxbai_embed_xsmall_v1_en": "mixedbread-ai/mxbai-embed-xsmall-v1",
        }
    ),
    # convert_distilbert_checkpoints.py (the installed presets' names: distil_bert_base_en
    # is the script's distil_bert_base_en_cased, distil_bert_base_multi its _multi_cased)
    **_hf(
        {
            "distil_bert_base_en_uncased": "distilbert-base-uncased",
            "distil_bert_base_en": "distilbert-base-cased",
            "distil_bert_base_multi": "distilbert-base-multilingual-cased",
        }
    ),
    # convert_albert_checkpoints.py
    **_hf(
        {
            "albert_base_en_uncased": "albert-base-v2",
            "albert_large_en_uncased": "albert-large-v2",
            "albert_extra_large_en_uncased": "albert-xlarge-v2",
            "albert_extra_extra_large_en_uncased": "albert-xxlarge-v2",
        }
    ),
    # convert_roberta_checkpoints.py, convert_xlm_roberta_checkpoints.py: converted from
    # fairseq, validated against these Hub checkpoints of the same weights
    **_hf(
        {
            "roberta_base_en": "roberta-base",
            "roberta_large_en": "roberta-large",
            "xlm_roberta_base_multi": "xlm-roberta-base",
            "xlm_roberta_large_multi": "xlm-roberta-large",
        }
    ),
    # convert_electra_checkpoints.py (the installed presets add "_uncased")
    **_hf(
        {
            f"electra_{size}_{role}_uncased_en": f"google/electra-{size}-{role}"
            for size in ("small", "base", "large")
            for role in ("discriminator", "generator")
        }
    ),
    # convert_deberta_v3_checkpoints.py
    **_hf(
        {
            "deberta_v3_extra_small_en": "microsoft/deberta-v3-xsmall",
            "deberta_v3_small_en": "microsoft/deberta-v3-small",
            "deberta_v3_base_en": "microsoft/deberta-v3-base",
            "deberta_v3_large_en": "microsoft/deberta-v3-large",
            "deberta_v3_base_multi": "microsoft/mdeberta-v3-base",
        }
    ),
    # convert_gpt2_checkpoints.py: converted from OpenAI's release, validated against these
    **_hf(
        {
            "gpt2_base_en": "gpt2",
            "gpt2_medium_en": "gpt2-medium",
            "gpt2_large_en": "gpt2-large",
            "gpt2_extra_large_en": "gpt2-xl",
        }
    ),
    # convert_opt_checkpoints.py
    **_hf({f"opt_{size}_en": f"facebook/opt-{size}" for size in ("125m", "1.3b", "2.7b", "6.7b")}),
    # convert_bloom_checkpoints.py
    **_hf(
        {
            f"{name}_{size}_multi": f"bigscience/{name}-{hub}"
            for name in ("bloom", "bloomz")
            for size, hub in (("560m", "560m"), ("1.1b", "1b1"), ("1.7b", "1b7"), ("3b", "3b"))
        }
    ),
    # convert_qwen_checkpoints.py
    **_hf(
        {
            "qwen2.5_0.5b_en": "Qwen/Qwen2.5-0.5B",
            "qwen2.5_3b_en": "Qwen/Qwen2.5-3B",
            "qwen2.5_7b_en": "Qwen/Qwen2.5-7B",
            "qwen2.5_instruct_0.5b_en": "Qwen/Qwen2.5-0.5B-Instruct",
            "qwen2.5_instruct_32b_en": "Qwen/Qwen2.5-32B-Instruct",
            "qwen2.5_instruct_72b_en": "Qwen/Qwen2.5-72B-Instruct",
            **{
                f"qwen2.5_coder{kind}_{size}": f"Qwen/Qwen2.5-Coder-{size.upper()}{hub}"
                for kind, hub in (("", ""), ("_instruct", "-Instruct"))
                for size in ("0.5b", "1.5b", "3b", "7b", "14b", "32b")
            },
            "qwen2.5_math_1.5b_en": "Qwen/Qwen2.5-Math-1.5B",
            "qwen2.5_math_instruct_1.5b_en": "Qwen/Qwen2.5-Math-1.5B-Instruct",
            "qwen2.5_math_7b_en": "Qwen/Qwen2.5-Math-7B",
            "qwen2.5_math_instruct_7b_en": "Qwen/Qwen2.5-Math-7B-Instruct",
        }
    ),
    # convert_qwen3_checkpoints.py, convert_qwen_moe_checkpoints.py,
    # convert_qwen3_moe_checkpoints.py
    **_hf(
        {
            **{
                f"qwen3_{size}_en": f"Qwen/Qwen3-{size.upper()}"
                for size in ("0.6b", "1.7b", "4b", "8b", "14b", "32b")
            },
            "qwen1.5_moe_2.7b_en": "Qwen/Qwen1.5-MoE-A2.7B",
            "qwen3_moe_30b_a3b_en": "Qwen/Qwen3-30B-A3B",
            "qwen3_moe_235b_a22b_en": "Qwen/Qwen3-235B-A22B",
            "qwen3_coder_instruct_30b_a3b_en": "Qwen/Qwen3-Coder-30B-A3B-Instruct",
        }
    ),
    # convert_mistral_checkpoints.py, convert_mixtral_checkpoints.py
    **_hf(
        {
            "mistral_7b_en": "mistralai/Mistral-7B-v0.1",
            "mistral_0.3_7b_en": "mistralai/Mistral-7B-v0.3",
            "mistral_instruct_7b_en": "mistralai/Mistral-7B-Instruct-v0.1",
            "mistral_0.2_instruct_7b_en": "mistralai/Mistral-7B-Instruct-v0.2",
            "mistral_0.3_instruct_7b_en": "mistralai/Mistral-7B-Instruct-v0.3",
            "magistral_small_2506_en": "mistralai/Magistral-Small-2506",
            "magistral_small_2507_en": "mistralai/Magistral-Small-2507",
            "mixtral_8_7b_en": "mistralai/Mixtral-8x7B-v0.1",
            "mixtral_8_instruct_7b_en": "mistralai/Mixtral-8x7B-Instruct-v0.1",
        }
    ),
    # convert_llama_checkpoints.py, convert_llama3_checkpoints.py
    **_hf(
        {
            "llama2_7b_en": "meta-llama/Llama-2-7b-hf",
            "llama2_instruct_7b_en": "meta-llama/Llama-2-7b-chat-hf",
            "vicuna_1.5_7b_en": "lmsys/vicuna-7b-v1.5",
            "llama3_8b_en": "meta-llama/Meta-Llama-3-8B",
            "llama3_instruct_8b_en": "meta-llama/Meta-Llama-3-8B-Instruct",
        }
    ),
    # convert_phi3_checkpoints.py, convert_falcon_checkpoints.py,
    # convert_smollm3_checkpoints.py, convert_gpt_oss_checkpoints.py
    **_hf(
        {
            "phi3_mini_4k_instruct_en": "microsoft/Phi-3-mini-4k-instruct",
            "phi3_mini_128k_instruct_en": "microsoft/Phi-3-mini-128k-instruct",
            "falcon_refinedweb_1b_en": "tiiuae/falcon-rw-1b",
            "smollm3_3b_en": "HuggingFaceTB/SmolLM3-3B",
            "gpt_oss_20b_en": "openai/gpt-oss-20b",
            "gpt_oss_120b_en": "openai/gpt-oss-120b",
            "gpt_oss_safeguard_20b_en": "openai/gpt-oss-safeguard-20b",
            "gpt_oss_safeguard_120b_en": "openai/gpt-oss-safeguard-120b",
        }
    ),
    # convert_gemma3_hf_checkpoints.py: its text-only checkpoints (the 4B and larger are
    # image-text models on the Hub, which the text-generation task does not load)
    **_hf(
        {
            "gemma3_270m": "google/gemma-3-270m",
            "gemma3_instruct_270m": "google/gemma-3-270m-it",
            "gemma3_1b": "google/gemma-3-1b-pt",
            "gemma3_instruct_1b": "google/gemma-3-1b-it",
            "function_gemma_instruct_270m": "google/functiongemma-270m-it",
        }
    ),
}
