"""The child half of zoo/seeding.py: one seeded checkpoint, written by the PyTorch side's
library (timm.models.save_for_hf, or transformers' save_pretrained). A causal LM also gets
a small tokenizer (tokenizer.json, and GPT-2's vocab.json and merges.txt), a short
training on the bundled text so its predictions are not near-uniform, and a check of that
(check_informative) before it is saved.

    python -m parity.child.seeding {timm ARCH | hf HUB_ID} FOLDER SEED
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from zoo.seeding import HF_SEEDED_CONFIGS

USAGE = "usage: python -m parity.child.seeding {timm ARCH | hf HUB_ID} FOLDER SEED"
# Batches of random images the seeded BatchNorms take their running statistics from.
NORM_BATCHES, NORM_BATCH_SIZE = 4, 8
# A seeded causal LM's tokenizer: byte-level BPE of this many entries, with one special
# token, trained on the project's bundled sentences and prompts.
LM_VOCAB, LM_SPECIAL = 512, "<|endoftext|>"
# Then the LM trains briefly on the same text (next-token loss): random weights predict a
# near-uniform distribution and repeat one token, and a comparison of such outputs says
# little. 60 steps were too few: seeded gemma (and gpt2 at 120) still decoded one token
# over and over for some prompts; at 200 steps every seeded LM here decoded 15 or more
# distinct tokens per prompt, its entropy at most 0.71 of log V (check_informative).
# A higher rate was worse (1e-2: gpt2 and smollm stuck on one token at 60 and 100 steps).
LM_TRAIN_STEPS, LM_TRAIN_BATCH, LM_TRAIN_LENGTH, LM_LEARNING_RATE = 200, 16, 32, 3e-3
# Beside a seeded LM: what check_informative found of its distribution.
SEEDED_CHECK = "seeded_check.json"


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


def bundled_text() -> list[str]:
    """The project's own text: sts-smoke's sentences, then the lm-prompts."""
    from parity.datasets.prompts import load_prompts
    from parity.datasets.sentences import load_sts_smoke

    sentences, _, _ = load_sts_smoke().unique_sentences()
    return [*sentences, *load_prompts("lm-prompts").texts]


def write_lm_tokenizer(folder: Path, texts: list[str]):
    """A byte-level BPE tokenizer (GPT-2's scheme) trained on `texts`, saved as
    tokenizer.json, vocab.json and merges.txt, with a tokenizer_config.json naming its
    special token as both ends."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=LM_VOCAB,
        special_tokens=[LM_SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    tokenizer.model.save(str(folder))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"bos_token": LM_SPECIAL, "eos_token": LM_SPECIAL, "unk_token": LM_SPECIAL})
    )
    return tokenizer


def train_briefly(model, tokenizer, texts: list[str]) -> None:
    """LM_TRAIN_STEPS steps of next-token training on the bundled text, in a fixed order."""
    import torch

    stream = [token for text in texts for token in tokenizer.encode(text).ids]
    span = LM_TRAIN_LENGTH
    chunks = torch.tensor(
        [stream[i : i + span] for i in range(0, len(stream) - span, span)], dtype=torch.long
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LM_LEARNING_RATE)
    model.train()
    for step in range(LM_TRAIN_STEPS):
        start = (step * LM_TRAIN_BATCH) % max(1, len(chunks) - LM_TRAIN_BATCH)
        batch = chunks[start : start + LM_TRAIN_BATCH]
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def check_informative(model, tokenizer, name: str) -> dict:
    """What parity.evaluate.generation.distribution_check says of the seeded LM on the
    lm-prompts (last-position logits, NEW_TOKENS greedy tokens each, by full forward passes
    on PyTorch); raises when it is degenerate, before anything is saved, so a seeded pair
    never compares two near-uniform or stuck distributions (they agree trivially)."""
    import numpy as np
    import torch

    from parity.datasets.prompts import load_prompts
    from parity.evaluate.generation import distribution_check
    from parity.tasks.text_generation import NEW_TOKENS

    last, generated = [], []
    with torch.inference_mode():
        for text in load_prompts("lm-prompts").texts:
            ids = torch.tensor([tokenizer.encode(text).ids])
            last.append(model(input_ids=ids).logits[0, -1].float().numpy())
            for _ in range(NEW_TOKENS):
                token = model(input_ids=ids).logits[0, -1].argmax()
                ids = torch.cat([ids, token.reshape(1, 1)], dim=1)
            generated.append(ids[0, -NEW_TOKENS:].numpy())
    found = distribution_check({"last_logits": np.stack(last), "generated": np.stack(generated)})
    if found["degenerate"]:
        raise ValueError(
            f"the seeded {name} checkpoint is degenerate ({found['degenerate']}): its "
            "comparison would say nothing; its seeding (zoo.seeding, LM_TRAIN_*) needs changing"
        )
    return found


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

    seeded = HF_SEEDED_CONFIGS[name]
    settings = dict(seeded.settings)
    if seeded.lm:
        texts = bundled_text()
        tokenizer = write_lm_tokenizer(Path(folder), texts)
        settings["vocab_size"] = tokenizer.get_vocab_size()
        special = tokenizer.token_to_id(LM_SPECIAL)
        settings.update(bos_token_id=special, eos_token_id=special)
    config = getattr(transformers, seeded.config_class)(**settings)
    model = getattr(transformers, seeded.model_class).from_config(config)
    if seeded.lm:
        train_briefly(model, tokenizer, texts)
        found = check_informative(model, tokenizer, name)
    model.save_pretrained(folder, safe_serialization=True)
    if seeded.lm:
        # Every setting spelled out, as hub repositories' config.json files are: converters
        # (keras-hub's) read keys that save_pretrained leaves out when they equal a default.
        config.to_json_file(str(Path(folder) / "config.json"), use_diff=False)
        (Path(folder) / SEEDED_CHECK).write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
