"""Causal language models: transformers against keras-hub on one checkpoint, token by token.

Fast tests check the numpy judgement (parity.evaluate.generation), the prompts, the plan,
the budget's LM costs, a missing tokenizer, and a fake numpy LM (tests/plugins/fake_zoo.py)
run end to end: cells per mode, the replicated duel of generations, the published report.
`frameworks` tests run seeded gpt2-style and llama-style pairs end to end offline in every
mode, check seeded LMs are informative, and bad checkpoints and prompts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from parity import spawn
from parity.child.seeding import SEEDED_CHECK
from parity.cli.main import main
from parity.datasets.prompts import load_prompts, tokenize_prompts
from parity.errors import DatasetError
from parity.evaluate.generation import (
    best_modes,
    distribution_check,
    generation_agreement,
    perplexity,
)
from parity.publish.report import publish
from parity.results import store as results_store
from parity.results.record import RunRecord
from parity.run.runner import plan_cells, run
from parity.tasks.text_generation import NEW_TOKENS, TIMED_BATCHES
from parity.vocabulary import FAILED, OK, SEEDED
from zoo.catalog import SAME_WEIGHTS, Diagnostic, Pair, Side, get_pair


def fake_output(seed: int = 0, prompts: int = 3, width: int = 6, new: int = 8, vocab: int = 50):
    """A worker's output as parity/child/generation.py writes it, from random logits."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(prompts, width, vocab)).astype(np.float32)
    order = np.argsort(-logits, axis=-1, kind="stable")[..., :5]
    steps = rng.normal(0, 3, size=(prompts, new, vocab)).astype(np.float32)
    step_ids = np.argsort(-steps, axis=-1, kind="stable")[..., :5]
    return {
        "last_logits": logits[:, -1],
        "top_ids": order,
        "top_values": np.take_along_axis(logits, order, axis=-1),
        "token_logprobs": np.full((prompts, width - 1), -2.0, np.float32),
        "generated": step_ids[..., 0],
        "step_ids": step_ids,
        "step_values": np.take_along_axis(steps, step_ids, axis=-1),
    }


def test_identical_outputs_agree_and_pass():
    a = fake_output()
    found = generation_agreement(a, {k: v.copy() for k, v in a.items()}, atol=1e-4)
    assert found["passed"] and found["max_abs_diff"] == 0.0
    assert found["top1_agreement"] == 1.0 and found["top5_agreement"] == 1.0
    assert found["greedy"]["first_difference"] is None
    assert found["greedy"]["identical_prompts"] == 3


def test_tolerance_scales_with_the_logits():
    a = fake_output()
    b = {k: v.copy() for k, v in a.items()}
    scale = float(np.abs(a["last_logits"]).max())
    b["last_logits"] = a["last_logits"] + 0.5e-4 * scale  # above 1e-4, within 1e-4 x scale
    found = generation_agreement(a, b, atol=1e-4)
    assert scale > 2 and found["atol"] == pytest.approx(1e-4 * scale)
    assert found["passed"]
    b["last_logits"] = a["last_logits"] + 2e-4 * scale
    assert not generation_agreement(a, b, atol=1e-4)["passed"]


def test_a_greedy_flip_is_located_and_judged_by_its_margin():
    a = fake_output()
    b = {k: v.copy() for k, v in a.items()}
    b["generated"] = a["generated"].copy()
    b["generated"][1, 4:] = a["step_ids"][1, 4:, 1]  # tensorflow took the runner-up
    flip = generation_agreement(a, b, atol=1e-4)["greedy"]["first_difference"]
    assert (flip["prompt"], flip["position"]) == (1, 4)
    assert flip["torch_runner_up"] == flip["tensorflow_token"]
    assert not flip["near_tie"]  # random logits: a margin far above the tolerance
    assert not generation_agreement(a, b, atol=1e-4)["passed"]
    # The same flip where the two best logits were a near-tie does not fail the pair.
    for side in (a, b):
        side["step_values"][1, 4, 1] = side["step_values"][1, 4, 0] - 1e-6
    found = generation_agreement(a, b, atol=1e-4)
    assert found["greedy"]["first_difference"]["near_tie"] and found["passed"]


def test_distribution_check_finds_uniform_logits_and_one_repeated_token():
    good = fake_output()
    assert distribution_check(good)["degenerate"] is None
    flat = dict(good, last_logits=np.zeros_like(good["last_logits"]))
    assert "near-uniform" in distribution_check(flat)["degenerate"]
    stuck = dict(good, generated=np.full_like(good["generated"], 7))
    assert "repeats one token" in distribution_check(stuck)["degenerate"]


def test_perplexity_of_the_prompt_tokens():
    found = perplexity(fake_output())
    assert found["perplexity"] == pytest.approx(np.exp(2.0), rel=1e-6)
    assert found["tokens"] == 15


def test_prompts_are_read_and_tokenized_unpadded(word_tokenizer, tmp_path):
    prompts = load_prompts("lm-prompts")
    assert len(prompts) == 8 and not any(t.startswith("#") for t in prompts.texts)
    arrays = tokenize_prompts(prompts.texts[:2], word_tokenizer / "tokenizer.json")
    assert arrays["input_ids"].shape == (2, int(arrays["lengths"].max()))
    with pytest.raises(DatasetError, match="no such file"):
        load_prompts(f"prompts:{tmp_path / 'none.txt'}")
    with pytest.raises(DatasetError, match="lm-prompts or prompts:"):
        load_prompts("sts-smoke")


def test_causal_lm_pairs_plan_eager_and_compiled_cells(quick_config):
    cells = plan_cells(get_pair("gpt2"), quick_config())
    assert [(c.side, c.mode) for c in cells] == [
        ("torch", "eager"),
        ("torch", "compile"),
        ("tensorflow", "eager"),
        ("tensorflow", "function"),
        ("tensorflow", "xla"),
    ]
    # A mode asked for by name is planned: its worker then fails the cell with the reason.
    asked = quick_config(modes={"torch": ("eager", "torchscript")}, diagnostics=False)
    cells = plan_cells(get_pair("gpt2"), asked)
    assert [(c.side, c.mode) for c in cells if c.side == "torch"] == [
        ("torch", "eager"),
        ("torch", "torchscript"),
    ]


def test_a_causal_lm_is_timed_at_one_and_a_small_batch_unless_told(quick_config):
    """Without --batch-sizes or a suite entry's, an LM times batch 1 and 4 (an image or
    text encoder pair keeps the run's batch sizes); what the user gives wins."""
    from parity.cli.run import _task_defaults
    from zoo.catalog import SuiteEntry

    assert TIMED_BATCHES == (1, 4)
    config = quick_config(latency_batches=(1, 8, 32))
    lm, encoder = get_pair("gpt2"), get_pair("all-MiniLM-L6-v2")
    assert config.with_overrides(_task_defaults(lm, None)).latency_batches == (1, 4)
    assert config.with_overrides(_task_defaults(encoder, None)).latency_batches == (1, 8, 32)
    entry = SuiteEntry("gpt2", batch_sizes=(1,))
    assert config.with_overrides(_task_defaults(lm, entry)).latency_batches == (1,)
    given = frozenset({"latency_batches"})
    assert config.with_overrides(_task_defaults(lm, entry), given).latency_batches == (1, 8, 32)


def test_best_modes_are_each_sides_highest_tokens_per_second():
    speeds = [
        {"side": "torch", "mode": "eager", "tokens_per_s": 200.0},
        {"side": "torch", "mode": "compile", "tokens_per_s": 450.0},
        {"side": "tensorflow", "mode": "eager", "tokens_per_s": 40.0},
        {"side": "tensorflow", "mode": "xla", "tokens_per_s": 300.0},
        {"side": "tensorflow", "mode": "function", "tokens_per_s": None},
    ]
    assert best_modes(speeds) == {"torch": "compile", "tensorflow": "xla"}
    assert best_modes(speeds[:2]) is None  # one side untimed: nothing to compare
    # Per batch size: an entry without one is batch 1 (records from before batch sizes).
    at_four = [
        {"side": "torch", "mode": "eager", "tokens_per_s": 900.0, "batch": 4},
        {"side": "torch", "mode": "compile", "tokens_per_s": 800.0, "batch": 4},
        {"side": "tensorflow", "mode": "xla", "tokens_per_s": 700.0, "batch": 4},
    ]
    assert best_modes(speeds + at_four) == {"torch": "compile", "tensorflow": "xla"}
    assert best_modes(speeds + at_four, 4) == {"torch": "eager", "tensorflow": "xla"}
    assert best_modes(speeds, 4) is None


def test_the_budget_knows_what_a_causal_lm_cell_costs():
    """LM cells time generations (NEW_TOKENS calls each), not calls: a seeded LM's cost is
    its per-step overhead, and compiled modes pay for their three compiled functions."""
    from parity.child.generation import WARMUP_GENERATIONS
    from parity.run import budget
    from zoo.catalog import get_suite

    assert budget.LM_WARMUP_GENERATIONS == WARMUP_GENERATIONS
    entries = [(p, e) for p, e in get_suite("default") if p.task == "text-generation"]
    work = budget.suite_work(entries)
    assert {w.pair_id for w in work} == {"gpt2", "smollm-135m"}
    for w in work:
        assert w.flops_source == budget.SEEDED_LM_FLOPS[1]
    # gpt2 (the speed headline) is timed at batch 1 and a small batch; smollm at batch 1.
    assert [w.batches for w in work] == [(1, 4), (1,)]
    # The suite's own choice of modes (zoo/catalog.py): gpt2 each side's eager and fastest
    # compiled mode, the Llama-style row eager alone.
    assert [w.modes for w in work] == [
        {"torch": ("eager", "compile"), "tensorflow": ("eager", "xla")},
        {"torch": ("eager",), "tensorflow": ("eager",)},
    ]
    costs = budget._Costs(budget.REFERENCE_PEAK_GFLOPS)
    gpt2 = work[0]
    eager = costs.cell_s(gpt2, "tensorflow", "eager", gpt2.batches, gpt2.profile)
    xla = costs.cell_s(gpt2, "tensorflow", "xla", gpt2.batches, gpt2.profile)
    compiled = costs.cell_s(gpt2, "torch", "compile", gpt2.batches, gpt2.profile)
    # three functions compiled at batch 1, the prefill and the step again at batch 4
    assert compiled >= 5 * budget.COMPILE_S["compile"]
    at_one = costs.cell_s(gpt2, "torch", "compile", (1,), gpt2.profile)
    assert compiled - at_one >= 2 * budget.COMPILE_S["compile"]
    # Keras eager: 8 prompts and the warm-up, each a generation of 32 steps at 30 ms.
    assert eager > 9 * 32 * 0.03
    assert 5 < xla < 120 and 5 < eager < 120 and compiled < 120
    plan = budget.plan_budget(work, budget.REFERENCE_PEAK_GFLOPS, budget_s=1e9)
    duels = [c for c in plan.comparisons]
    assert [(c.pair_id, c.batch) for c in duels] == [
        ("gpt2", 1),
        ("gpt2", 4),
        ("smollm-135m", 1),
    ]
    assert all(0 < c.estimated_s < 300 for c in duels)
    # A short budget drops gpt2's batch 4 (cells and duel) before any whole pair.
    short = budget.plan_budget(work, budget.REFERENCE_PEAK_GFLOPS, budget_s=240)
    whats = [c.what for c in short.changes if c.kind == "dropped"]
    assert "gpt2 at batch 4 (cells and comparison)" in whats
    assert all(c.batches == (1,) for c in short.cells if c.pair_id == "gpt2")
    # A pretrained LM is costed from its real size: a generation's FLOPs dominate.
    real = budget.suite_work([(get_pair("gpt2"), replace(entries[0][1], weights=None))])[0]
    assert real.flops_source == budget.KNOWN_FLOPS["gpt2"][1]
    assert costs.generation_s(real, "torch", "eager") > costs.generation_s(gpt2, "torch", "eager")
    # B rows cost B generations' FLOPs, and the per-step overhead once.
    one, four = (costs.generation_s(real, "torch", "eager", batch) for batch in (1, 4))
    overhead = costs.scale * budget.NEW_TOKENS * budget.LM_STEP_FLOOR_S["torch"]["eager"]
    assert four - overhead == pytest.approx(4 * (one - overhead))


def fake_lm_pair(tokenizer, torch_options=None, diagnostics=()) -> Pair:
    """fake:lm on both sides (tests/plugins/fake_zoo.py): a numpy bigram LM, decoded by
    the real worker, duel and evaluation."""
    return Pair(
        id="fake-lm",
        task="text-generation",
        relation=SAME_WEIGHTS,
        torch=Side("fake:lm", load_options=torch_options or {}),
        tensorflow=Side("fake:lm"),
        tokenizer=f"hf:{tokenizer}",
        dataset="lm-prompts",
        description="a fake causal LM on both sides",
        diagnostics=diagnostics,
    )


SHIFTED = Diagnostic(
    name="torch-unshifted",
    side="torch",
    load_options={},
    question="The PyTorch side adds 0.05 to every logit. Does the gap close without it?",
)


def test_a_causal_lm_is_timed_per_mode_dueled_and_published(word_tokenizer, quick_config):
    """Every mode a cell with time to first token and tokens/s at each batch size (B
    copies of the timed prompt: B tokens per decode step) and the KV cache's bytes; the
    fastest modes duel per batch size over fresh process pairs (decode time and time to
    first token, each with its interval); the report shows them, the KV cache beside the
    peak, perplexity side by side, and the diagnosed cause beside the failing agreement;
    results.json round-trips through the typed record."""
    from fake_zoo import LM_CACHE_WIDTH  # the plugin as loaded (tests/conftest.py)

    modes = ("eager", "graph")
    profile = replace(
        quick_config().profile, replicates=2, rounds=2, round_min_time_s=0.02, min_count=3
    )
    config = quick_config(
        modes={"torch": modes, "tensorflow": modes},
        latency_batches=(1, 3),
        eval_batch=1,
        profile=profile,
        replicates=2,
    )
    pair = fake_lm_pair(word_tokenizer, {"shift": 0.05}, (SHIFTED,))
    record = run([pair], config)
    found = record["pairs"][0]
    assert [c["status"] for c in found["cells"]] == [OK] * 5, found["cells"]
    evaluation = found["evaluation"]
    longest = int(np.argmax(found["dataset"]["prompt_tokens"]))
    speeds = evaluation["generation"]
    assert [(s["side"], s["mode"], s["batch"]) for s in speeds] == [
        (side, mode, batch)
        for side in ("torch", "tensorflow")
        for mode in modes
        for batch in (1, 3)
    ]
    positions = max(found["dataset"]["prompt_tokens"]) + NEW_TOKENS
    for entry in speeds:
        batch = entry["batch"]
        assert entry["prompt"] == longest and entry["samples"] >= 3
        assert entry["ttft_ms"] > 0
        # B rows decode B tokens per step after the first
        assert entry["tokens_per_s"] == pytest.approx(
            batch * (NEW_TOKENS - 1) / entry["decode_ms"] * 1000.0
        )
        assert entry["kv_cache_bytes"] == batch * positions * LM_CACHE_WIDTH * 4
        assert entry["kv_cache_why"] is None and entry["peak_rss_mib"] > 0
    metrics = found["cells"][0]["metrics"]["generation"]
    assert sorted(metrics) == ["1", "3"] and metrics["3"]["batch"] == 3
    assert metrics["3"]["first_generation_s"] > 0  # its own cold generation
    # The shift fails the tolerance; the diagnostic without it closes the gap.
    agreement = evaluation["agreement"]
    assert not agreement["passed"] and agreement["greedy"]["identical_prompts"] == 8
    assert evaluation["diagnostics"][0]["agreement"]["passed"]
    assert "generation_replicated" not in evaluation  # the shape before batch sizes
    duels = evaluation["generation_replicated_by_batch"]
    assert sorted(duels) == ["1", "3"]
    for batch, duel in duels.items():
        assert duel["plan"]["batch"] == int(batch)
        assert duel["modes"] == best_modes(speeds, int(batch))
        for name in ("decode", "ttft"):
            assert duel[name]["replicates"] == 2 and duel[name]["rounds"] == [2, 2]
            assert duel[name]["ci_low"] <= duel[name]["ratio"] <= duel[name]["ci_high"]
            assert duel[name]["verdict"]
            assert len(duel["replicate_medians_ms"][name]["torch"]) == 2
    perplexities = {cell_id: a["perplexity"] for cell_id, a in evaluation["accuracy"].items()}
    assert len(set(np.round(list(perplexities.values()), 6))) == 1  # a shift changes none
    report = (config.out_dir / "report.md").read_text()
    html = (config.out_dir / "index.html").read_text()
    for text in (report, html):
        assert "Generation speed: time to first token, tokens/s and the key-value cache" in text
        kv_bytes = 3 * positions * LM_CACHE_WIDTH * 4
        assert f"{kv_bytes / 1024:.3g} KiB of " in text and " MiB peak" in text
        assert "Replicated comparison at batch 3 (" in text
        assert "Decode time (tokens/s is its inverse), PyTorch/TensorFlow " in text
        assert "Time to first token, PyTorch/TensorFlow " in text
        assert "a smoke set of 8 prompts written for this project" in text
        assert "Diagnosed cause: The PyTorch side adds 0.05 to every logit." in text
    assert "fake-lm b1, decode time (" in html  # a point of the forest plot
    assert "fake-lm b3, decode time (" in html
    # The answer table: the pair's two headline rows per batch size, as other pairs'.
    for batch in (1, 3):
        assert f"| fake-lm | {batch}, decode time |" in report
        assert f"| fake-lm | {batch}, time to first token |" in report
    saved = json.loads((config.out_dir / "results.json").read_text())
    assert RunRecord.from_dict(saved).to_dict() == saved
    typed = RunRecord.from_dict(saved).pairs[0].evaluation
    assert typed.generation[1].tokens_per_s == speeds[1]["tokens_per_s"]
    assert typed.generation[1].batch_size == 3
    assert typed.generation_comparisons()["3"].decode.ratio == duels["3"]["decode"]["ratio"]
    # A results file from before batch sizes (batch 1 alone: flat cell figures, one duel
    # block, no KV cache) still reads, publishes and compares.
    older = as_before_batch_sizes(saved)
    older_path = config.out_dir / "older" / "results.json"
    older_path.parent.mkdir()
    older_path.write_text(json.dumps(older))
    loaded = results_store.load(older_path)
    assert loaded.to_dict() == older
    comparisons = loaded.pairs[0].evaluation.generation_comparisons()
    assert (
        list(comparisons) == ["1"]
        and comparisons["1"].decode.ratio == duels["1"]["decode"]["ratio"]
    )
    publish(loaded, older_path.parent)
    older_report = (older_path.parent / "report.md").read_text()
    assert "| fake-lm | 1, decode time |" in older_report
    assert "| fake-lm | 3, decode time |" not in older_report
    assert main(["compare", str(older_path), str(config.out_dir / "results.json")]) == 0


def as_before_batch_sizes(record: dict) -> dict:
    """A results record as parity wrote it before LM batch sizes: each LM cell's
    generation figures one flat block (batch 1), evaluation.generation without batch or
    KV cache, and the batch-1 duel as evaluation.generation_replicated."""
    older = json.loads(json.dumps(record))
    for pair in older["pairs"]:
        for cell in pair["cells"]:
            found = (cell.get("metrics") or {}).get("generation")
            if found:
                flat = dict(found["1"])
                for name in ("kv_cache", "peak_rss_mib"):
                    flat.pop(name)
                cell["metrics"]["generation"] = flat
        evaluation = pair["evaluation"]
        evaluation["generation"] = [
            {k: v for k, v in entry.items() if k not in NEW_SPEED_KEYS}
            for entry in evaluation["generation"]
            if entry["batch"] == 1
        ]
        evaluation["generation_replicated"] = evaluation.pop("generation_replicated_by_batch")["1"]
    return older


NEW_SPEED_KEYS = ("batch", "kv_cache_bytes", "kv_cache_why", "peak_rss_mib")


EAGER_ONLY = {"torch": ("eager",), "tensorflow": ("eager",)}


def lm_pair(pair_id: str, folder, tokenizer=None) -> Pair:
    return Pair(
        id=pair_id,
        task="text-generation",
        relation=SAME_WEIGHTS,
        torch=Side(f"hf:{folder}"),
        tensorflow=Side(f"keras-hub:{folder}"),
        tokenizer=f"hf:{tokenizer or folder}",
        dataset="lm-prompts",
    )


def test_a_tokenizer_missing_from_the_folder_fails_the_pair_and_the_run_goes_on(
    tmp_path, fake_pair, quick_config
):
    folder = tmp_path / "no-tokenizer"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    record = run([lm_pair("lm-no-tokenizer", folder), fake_pair()], quick_config())
    bad, good = record["pairs"]
    assert bad["status"] == FAILED
    assert bad["reason"] == f"inputs could not be prepared: no tokenizer.json at {folder}"
    assert good["status"] == OK


# ---- end to end, offline: seeded checkpoints through both libraries ----------------------


def seeded_lm_run(pair_id: str, quick_config, **overrides):
    config = quick_config(
        weights=SEEDED, threads=2, timeout_s=600.0, latency_batches=(1,), eval_batch=1, **overrides
    )
    record = run([get_pair(pair_id)], config)
    return record, (config.out_dir / "report.md").read_text()


def check_seeded_pair(found: dict, report: str) -> dict:
    """Every cell ran; both sides' distributions are informative; each side was timed."""
    assert {c["status"] for c in found["cells"]} == {OK}, [c.get("reason") for c in found["cells"]]
    agreement = found["evaluation"]["agreement"]
    greedy = agreement["greedy"]
    assert greedy["prompts"] == 8 and greedy["new_tokens"] == 32
    for side, check in agreement["distribution"].items():  # the seeded LM says something
        assert check["degenerate"] is None, (side, check)
        assert check["max_entropy_share"] < 0.9
        assert check["min_distinct_per_prompt"] > 1
    speed = found["evaluation"]["generation"]
    main = [c for c in found["cells"] if not c["diagnostic"]]
    assert [(s["side"], s["mode"]) for s in speed] == [(c["side"], c["mode"]) for c in main]
    for entry in speed:
        # At least one timed generation: a loop on a busy machine may stop at max_time_s.
        assert entry["ttft_ms"] > 0 and entry["tokens_per_s"] > 0 and entry["samples"] >= 1
        assert entry["first_generation_s"] > 0
    # A compiled mode decodes as its side's eager mode does (fixed shapes, padded prompts).
    for cell_id, consistency in found["evaluation"]["mode_consistency"].items():
        assert consistency["passed"], (cell_id, consistency)
    assert "Greedy decoding, 32 new tokens per prompt" in report
    assert "time to first token (ms, median)" in report
    return agreement


@pytest.mark.frameworks
@pytest.mark.heavy
def test_seeded_gpt2_style_pair_runs_offline_end_to_end(quick_config):
    """Every mode (torch eager and compile; Keras eager, tf.function and XLA) a cell, and
    the fastest of each side duel over two fresh process pairs."""
    profile = replace(quick_config().profile, rounds=2, round_min_time_s=0.05)
    record, report = seeded_lm_run("gpt2", quick_config, replicates=2, profile=profile)
    found = record["pairs"][0]
    assert found["seeded_checkpoint"].endswith("openai-community--gpt2-seed0")
    assert [c["mode"] for c in found["cells"]] == ["eager", "compile", "eager", "function", "xla"]
    agreement = check_seeded_pair(found, report)
    assert agreement["passed"], agreement  # one checkpoint, converted faithfully
    assert agreement["top1_agreement"] == 1.0
    assert agreement["greedy"]["identical_prompts"] == 8
    tf_cell = next(c for c in found["cells"] if c["side"] == "tensorflow")
    assert tf_cell["metrics"]["model"]["details"]["class"] == "GPT2CausalLM"
    duel = found["evaluation"]["generation_replicated_by_batch"]["1"]
    assert "error" not in duel, duel
    for name in ("decode", "ttft"):
        assert duel[name]["replicates"] == 2 and duel[name]["ratio"] > 0
    assert "Decode time (tokens/s is its inverse), PyTorch/TensorFlow" in report
    perplexity = [a["perplexity"] for a in found["evaluation"]["accuracy"].values()]
    assert max(perplexity) / min(perplexity) < 1.0001  # the same weights, the same figure


@pytest.mark.frameworks
def test_seeded_llama_style_pair_finds_the_norm_epsilon_keras_hub_drops(quick_config):
    """SmolLM's config says rms_norm_eps 1e-5; keras-hub's Llama converter does not carry it
    over and its Llama3Backbone keeps 1e-6. The pair fails its tolerance, and the diagnostic
    that gives PyTorch 1e-6 too closes the gap: the converter's only difference here."""
    record, report = seeded_lm_run("smollm-135m", quick_config)
    found = record["pairs"][0]
    agreement = check_seeded_pair(found, report)
    assert found["cells"][0]["metrics"]["model"]["details"]["class"] == "LlamaForCausalLM"
    assert not agreement["passed"] and agreement["max_abs_diff"] > 10 * agreement["atol"]
    (diagnostic,) = found["evaluation"]["diagnostics"]
    assert diagnostic["name"] == "torch-rms-norm-eps-1e-6"
    closed = diagnostic["agreement"]
    assert closed["passed"] and closed["max_abs_diff"] < agreement["atol"] / 10, closed
    assert closed["greedy"]["identical_prompts"] == 8


@pytest.mark.frameworks
def test_a_prompt_longer_than_the_context_fails_each_cell_in_one_line(quick_config, tmp_path):
    prompts = tmp_path / "long.txt"
    prompts.write_text("a short prompt\n" + "word " * 200 + "\n")
    record, _ = seeded_lm_run(
        "gpt2", quick_config, dataset=f"prompts:{prompts}", modes={"torch": ("eager", "compile")}
    )
    cells = record["pairs"][0]["cells"]
    # Every mode fails before anything is compiled: the prompts are checked first.
    assert [(c["mode"], c["status"]) for c in cells] == [
        ("eager", FAILED),
        ("compile", FAILED),
        ("eager", FAILED),
        ("function", FAILED),
        ("xla", FAILED),
    ]
    for cell in cells:
        assert "over the model's context of 128; shorten the prompt" in cell["reason"]
        assert cell["reason"].startswith("ValueError: prompt 2 has ")


@pytest.mark.frameworks
def test_an_unknown_model_type_fails_each_side_in_its_own_words(
    tmp_path, word_tokenizer, fake_pair, quick_config
):
    folder = tmp_path / "unknown-lm"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps({"model_type": "nonsense_lm", "architectures": ["NonsenseForCausalLM"]})
    )
    shutil.copy(word_tokenizer / "tokenizer.json", folder)
    config = quick_config(timeout_s=300.0, modes=EAGER_ONLY)
    record = run([lm_pair("lm-unknown", folder), fake_pair()], config)
    bad, good = record["pairs"]
    torch_cell, tf_cell = bad["cells"]
    assert torch_cell["status"] == FAILED
    assert "model_type 'nonsense_lm' is not built into transformers" in torch_cell["reason"]
    assert tf_cell["status"] == FAILED
    assert tf_cell["reason"] == (  # keras-hub's own message, verbatim
        "ValueError: KerasHub has no converter for huggingface/transformers models with "
        "model type `'nonsense_lm'`."
    )
    assert good["status"] == OK


@pytest.mark.frameworks
@pytest.mark.parametrize("hub_id", ["google/gemma-2b", "openai-community/gpt2"])
def test_a_seeded_lm_is_informative(hub_id, tmp_path):
    """A seeded LM must say something: its last-position distributions not near-uniform,
    its greedy tokens not one repeated token. Seeded gemma's greedy decoding repeated one
    token for a prompt after 60 training steps, gpt2's after 120. The seeding child checks
    every seeded LM itself and refuses to save one that fails (seeded runs fail loudly);
    these two were the ones a shorter training got wrong."""
    folder = tmp_path / "seeded"
    outcome = spawn.run_child(
        "parity.child.seeding",
        ["hf", hub_id, str(folder), "0"],
        env=spawn.child_environment(2, "torch"),
        timeout_s=600.0,
    )
    assert outcome.ok, outcome.stderr_tail
    check = json.loads((folder / SEEDED_CHECK).read_text())
    assert check["degenerate"] is None, check
    assert check["max_entropy_share"] < 0.9 and check["min_distinct_per_prompt"] > 1, check


@pytest.mark.frameworks
def test_a_checkpoint_keras_hub_cannot_convert_fails_its_side_verbatim(
    tmp_path, word_tokenizer, fake_pair, quick_config
):
    """An OPT checkpoint: transformers loads and decodes it, keras-hub has no converter for
    it. The TensorFlow cell fails with keras-hub's own message; the PyTorch cell and the
    next pair run."""
    folder = tmp_path / "opt"
    write = (
        "import sys, transformers\n"
        "config = transformers.OPTConfig(vocab_size=2048, hidden_size=32, num_hidden_layers=1,"
        " ffn_dim=64, num_attention_heads=2, max_position_embeddings=128,"
        " word_embed_proj_dim=32)\n"
        "transformers.OPTForCausalLM(config).save_pretrained(sys.argv[1])\n"
    )
    subprocess.run([sys.executable, "-c", write, str(folder)], check=True, timeout=300)
    shutil.copy(word_tokenizer / "tokenizer.json", folder)
    config = quick_config(timeout_s=300.0, modes=EAGER_ONLY)
    record = run([lm_pair("lm-opt", folder), fake_pair()], config)
    bad, good = record["pairs"]
    torch_cell, tf_cell = bad["cells"]
    assert torch_cell["status"] == OK, torch_cell.get("reason")
    assert tf_cell["status"] == FAILED
    assert tf_cell["reason"] == (
        "ValueError: KerasHub has no converter for huggingface/transformers models with "
        "model type `'opt'`."
    )
    assert bad["evaluation"]["agreement"] is None  # nothing to compare with
    assert good["status"] == OK


# What a child process runs for the batched-decoding test below: one side's decoder from a
# seeded gpt2 folder, in each of its modes, greedy at batch 1 and at BATCH; prints JSON.
BATCHED_DECODING = """
import json, sys
import numpy as np
from parity.child import generation
from parity.child.loaders import get_loader
from zoo.sources import LOCAL, Location, load_plugins

framework, folder, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
load_plugins()
prefix, modes = {
    "torch": ("hf", ("eager", "compile")),
    "tensorflow": ("keras-hub", ("eager", "function", "xla")),
}[framework]
location = Location(handle=f"{prefix}:{folder}", availability=LOCAL, path=folder)
loaded = get_loader(prefix)(location, "text-generation", {}).decoder
ids = np.array([[5, 17, 42, 8, 99, 23, 61, 7, 11, 300, 2, 45]], dtype=np.int64)
prompts = generation.Prompts(
    {"input_ids": ids, "lengths": np.array([ids.shape[1]]), "new_tokens": np.array([12])}
)
found = {}
for mode in modes:
    rows = {}
    for size in (1, batch):
        decoder = generation.in_mode(loaded, mode, prompts, size)
        tokens, _, _, state = generation.greedy(
            decoder, prompts.timed_rows(size), prompts.new_tokens, prompts.total
        )
        rows[size] = tokens.tolist()
        kv = generation.kv_cache(decoder, state)
    found[mode] = {"single": rows[1], "batched": rows[batch], "kv_cache": kv}
print(json.dumps({"prompt_tokens": ids.shape[1], "new_tokens": 12, "modes": found}))
"""


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """A 2-layer gpt2 with fixed-seed random weights, written by transformers (as the OPT
    checkpoint above): keras-hub converts it, and its wide initialisation gives greedy
    decoding clear margins and several distinct tokens. The project's seeding trains
    for 200 steps, longer than these tests should take."""
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    write = (
        "import sys, torch, transformers\n"
        "torch.manual_seed(0)\n"
        "config = transformers.GPT2Config(vocab_size=512, n_positions=64, n_embd=32,"
        " n_layer=2, n_head=4, initializer_range=0.3)\n"
        "transformers.GPT2LMHeadModel(config).save_pretrained(sys.argv[1])\n"
    )
    subprocess.run(
        [sys.executable, "-c", write, str(folder)],
        check=True,
        timeout=300,
        env=spawn.child_environment(2, "torch"),
    )
    return folder


@pytest.mark.frameworks
@pytest.mark.parametrize(
    "framework, modes",
    [("torch", ("eager", "compile")), ("tensorflow", ("eager", "function", "xla"))],
)
def test_batched_greedy_decoding_matches_batch_one_and_the_cache_has_its_size(
    tiny_gpt2, framework, modes
):
    """A gpt2 in each mode of each side, at batch 3 (copies of one prompt): every row's
    greedy tokens are the batch-1 tokens, and the KV cache's bytes are the analytic size,
    layers x 2 (keys, values) x batch x heads x positions x head size x 4 bytes: every
    position a StaticCache or keras-hub's cache has room for, the prompt and the tokens fed
    back (all new ones but the last) for transformers' DynamicCache."""
    config = json.loads((tiny_gpt2 / "config.json").read_text())
    layers, heads, width = config["n_layer"], config["n_head"], config["n_embd"]
    per_position = layers * 2 * heads * (width // heads) * 4  # bytes, one row
    batch = 3
    done = subprocess.run(
        [sys.executable, "-c", BATCHED_DECODING, framework, str(tiny_gpt2), str(batch)],
        env=spawn.child_environment(2, framework),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(found["modes"]) == sorted(modes)
    total = found["prompt_tokens"] + found["new_tokens"]
    for mode, result in found["modes"].items():
        (single,) = result["single"]
        assert len(set(single)) > 1, (mode, single)  # not one repeated token
        assert result["batched"] == [single] * batch, mode
        positions = total - 1 if (framework, mode) == ("torch", "eager") else total
        assert result["kv_cache"] == {"bytes": per_position * batch * positions}, (
            mode,
            result["kv_cache"],
        )


def test_cells_outside_the_duels_interval_are_flagged_in_the_report():
    """A speed table's two cells are one process each, timed one after the other: where
    their ratio falls outside the replicated interval (the published gpt2 compile cell
    once read 18.9 ms where its duel read about 10), the report says which to use."""
    from parity.publish.generation import cells_outside
    from parity.results.record import PairRecord

    def cell(side, mode, decode_ms, ttft_ms):
        return {"side": side, "mode": mode, "batch": 1, "decode_ms": decode_ms, "ttft_ms": ttft_ms}

    def pair(torch_decode_ms):
        return PairRecord.from_dict(
            {
                "id": "lm",
                "evaluation": {
                    "generation": [
                        cell("torch", "eager", 23.0, 1.2),
                        cell("torch", "compile", torch_decode_ms, 1.0),
                        cell("tensorflow", "xla", 21.4, 1.5),
                    ],
                    "generation_replicated_by_batch": {
                        "1": {
                            "modes": {"torch": "compile", "tensorflow": "xla"},
                            "decode": {"ratio": 0.45, "ci_low": 0.25, "ci_high": 0.82},
                            "ttft": {"ratio": 0.64, "ci_low": 0.43, "ci_high": 0.94},
                        }
                    },
                },
            }
        )

    def flagged(record):
        return cells_outside(record, "1", record.evaluation.generation_comparisons()["1"])

    assert flagged(pair(10.0)) == []  # 0.467 and 0.667: inside both intervals
    (line,) = flagged(pair(18.9))  # 0.883: outside the decode interval only
    assert "decode time ratio of 0.883, outside this interval [0.250, 0.820]" in line
