"""The report's sentences, each built from the typed record: what was run, how, on which
machine, and what each evaluation found. Formatting only; nothing is recomputed."""

from __future__ import annotations

from parity.evaluate import tracks
from parity.publish import numbers
from parity.publish.headline import headline
from parity.publish.numbers import percent, sig
from parity.results.record import (
    Accuracy,
    Agreement,
    Consistency,
    Divergence,
    Evaluation,
    FirstOver,
    PairRecord,
    RunRecord,
    SideLatency,
)
from parity.vocabulary import MODE_DESCRIPTIONS, SIDE_NAMES, SIDES


def verdict_word(passed: bool | None) -> str:
    return "pass" if passed else "FAIL"


def agreement_summary(evaluation: Evaluation) -> str:
    found = evaluation.agreement
    if not found:
        return "not measured"
    if found.error is not None:
        return f"error: {found.error}"
    if not found.has_differences:  # independently trained: predictions only
        return (
            f"predictions: top-1 agree on {percent(found.top1_agreement)}, "
            f"top-5 overlap {percent(found.top5_overlap)} ({found.compared_rows} inputs)"
        )
    text = (
        f"{verdict_word(found.passed)}: max abs {sig(found.max_abs_diff)} (atol {sig(found.atol)})"
    )
    for diag in evaluation.diagnostics:
        checked = diag.agreement
        if checked and checked.has_differences:
            text += (
                f"; diagnostic {diag.name}: {sig(checked.max_abs_diff)}"
                f" ({verdict_word(checked.passed)})"
            )
    return text


def agreement_unavailable(found: Agreement | None) -> str | None:
    if not found:
        return "Not measured: a side has no successful eager cell."
    if found.error is not None:
        return f"Could not be computed: {found.error}"
    return None


def accuracy_text(found: Accuracy, short: bool = False) -> str:
    """One accuracy record, whatever the task: Spearman for sentence pairs, top-k for images."""
    if found.error is not None:
        if short and "seeded" in found.error:
            return "– (seeded weights)"
        return f"error: {found.error}"
    if found.perplexity is not None:
        value = numbers.fixed(found.perplexity, 2)
        return f"perplexity {value}" if short else f"perplexity {value} over {found.tokens} tokens"
    if found.spearman is not None:
        value = numbers.fixed(found.spearman, 4)
        return f"Spearman {value}" if short else f"Spearman {value} over {found.pairs} pairs"
    correct = round(found.top1 * found.images)
    head = f"top-1 {percent(found.top1)} ({correct}/{found.images})"
    if short:
        return head
    track_b = found.track_b or {}
    if "top1" in track_b:
        head += (
            f" (track A); track B top-1 {percent(track_b['top1'])}, "
            f"top-5 {percent(track_b['top5'])}"
        )
    elif "error" in track_b:
        head += f" (track A); track B error: {track_b['error']}"
    return (
        f"{head}; track A top-5 {percent(found.top5)}, top-1 counting acceptable classes "
        f"{percent(found.top1_acceptable)}; predicted classes {found.predicted}"
    )


def accuracy_of(pair: PairRecord, side: str) -> str:
    """The side's eager accuracy, short, for the summary table."""
    cell = pair.eager_cell(side)
    if not cell:
        return numbers.MISSING
    return accuracy_text(pair.evaluation.accuracy.get(cell.cell_id, Accuracy()), short=True)


def ratio_text(batch: str, entry: SideLatency) -> str:
    """The headline ratio with its interval and verdict; R, or that it was not replicated."""
    found = headline(batch, entry)
    if found is None:
        return numbers.MISSING
    basis = f"R={found.replicates}" if found.replicated else "one process"
    return f"{found.interval_text()} → {found.verdict} ({basis})"


def latency_sentences(pair: PairRecord) -> list[str]:
    found = []
    for batch, entry in pair.evaluation.latency.items():
        if entry.torch_over_tf is None:
            continue
        text = (
            f"batch {batch}: fastest PyTorch mode {entry.torch.best_mode}, fastest TensorFlow "
            f"mode {entry.tensorflow.best_mode}; in their own processes the ratio of medians "
            f"PyTorch/TensorFlow is {entry.torch_over_tf.ratio:.3f} (above 1 means TensorFlow "
            "is faster)"
        )
        one = headline(batch, entry)
        if one is not None and one.replicated:
            text += (
                f"; replicated over {one.replicates} process pairs ({one.modes_text}, "
                f"alternating rounds): {one.interval_text()} → {one.verdict}: {one.why}"
            )
        elif one is not None:
            text += f"; {one.why}"
        found.append(text)
    for cell in pair.main_cells():
        skipped = cell.metrics.latency_skipped if cell.metrics else {}
        for batch, why in skipped.items():
            found.append(f"{cell.label}, batch {batch}: {why}")
    return found


def mode_sentence(pair: PairRecord) -> str:
    modes = sorted({(c.framework, c.mode) for c in pair.main_cells()})
    return "Modes: " + "; ".join(
        f"{SIDE_NAMES.get(fw, fw)} {m} = {MODE_DESCRIPTIONS.get((fw, m), m)}" for fw, m in modes
    )


def model_sentences(pair: PairRecord) -> list[str]:
    found = []
    for side in SIDES:
        cell = pair.eager_cell(side)
        if cell:
            model = cell.metrics.model
            size = (
                f", weights file {model.weights_bytes / 2**20:.1f} MiB"
                if model.weights_bytes
                else ""
            )
            versions = ", ".join(f"{k} {v}" for k, v in cell.metrics.versions.items())
            found.append(
                f"{SIDE_NAMES[side]}: {model.parameters:,} parameters, {model.dtype}"
                f"{size}; {versions}"
            )
    return found


def dataset_sentence(pair: PairRecord) -> str | None:
    data = pair.dataset
    if not data:
        return None
    if data.images is not None:
        recipes = "; ".join(
            f"{SIDE_NAMES[side]} preprocessing: {recipe['origin']} (resize {recipe['resize']}, "
            f"crop {recipe['size']}, {recipe['interpolation']}, {recipe['channel_order']})"
            for side, recipe in data.preprocessing.items()
        )
        same = "identical inputs" if data.identical_inputs else "each side its own inputs"
        subset = data.subset
        if subset:
            same += (
                f"; a seeded random subset of {subset['limit']} of {subset['of']} images "
                f"(seed {subset['seed']})"
            )
        return f"data: {data.name}, {data.images} images; {recipes}; {same}"
    if data.prompts is not None:
        return (
            f"data: {data.name}, {data.prompts} prompts ({min(data.prompt_tokens)}-"
            f"{max(data.prompt_tokens)} tokens), tokenized once by {data.tokenizer}; both "
            f"sides get the same ids, one prompt at a time, and decode {data.new_tokens} "
            "tokens greedily"
        )
    return (
        f"data: {data.name}, {data.pairs} sentence pairs ({data.sentences} distinct "
        f"sentences), tokenized once by {data.tokenizer} to length {data.seq_len} "
        f"({data.truncated_sentences} truncated); both sides get the same ids"
    )


def consistency_text(found: Consistency) -> str:
    """A compiled or exported mode against its own side's eager output."""
    if found.error or found.passed is None:
        return found.error or sig(found.max_abs_diff)
    if found.by_predictions:  # a quantised mode: its predictions are judged, not the values
        where = "pass" if found.passed else "FAIL"
        return (
            f"{sig(found.max_abs_diff)} ({sig(found.max_abs_diff_over_scale)} of the eager "
            f"output's scale, not judged); top-1 agreement {percent(found.top1_agreement)}, "
            f"{where} at {percent(found.min_top1)}"
        )
    where = "within" if found.passed else "OVER"
    return (
        f"{sig(found.max_abs_diff)} ({sig(found.max_abs_diff_over_scale)} of the eager "
        f"output's scale, {where} {found.rtol:g})"
    )


def _first_text(first: FirstOver | None, criterion: str) -> str:
    if first is None:
        return f"no layer exceeds {criterion}"
    step = (
        "at the first compared layer (its input, the shared tensor, is identical)"
        if first.previous_label is None
        else f"up from {sig(first.previous_max_abs_diff)} at {first.previous_label}"
    )
    return (
        f"first over {criterion}: {first.label} (PyTorch `{first.torch}`, Keras "
        f"`{first.tensorflow}`), max abs difference {sig(first.max_abs_diff)}, "
        f"relative {sig(first.max_rel_diff)}, {step}"
    )


def divergence_sentences(found: Divergence) -> list[str]:
    """Where the sides part: the first layer over each criterion, and the largest gap."""
    if found.error is not None:
        return [f"Not localised: {found.error}"]
    measured = [layer for layer in found.layers if layer.max_abs_diff is not None]
    over = sum(layer.max_abs_diff > found.atol for layer in measured)
    lines = [
        _first_text(found.first_over_atol, f"atol {found.atol:g}"),
        _first_text(found.first_over_rtol, f"relative {found.rtol:g}"),
        f"{over} of {len(measured)} compared layers exceed atol {found.atol:g}; the largest "
        f"difference is {sig(found.largest.max_abs_diff)} at {found.largest.label}",
    ]
    if found.errors:
        lines.append(f"{found.errors} matched layers could not be compared (see the table)")
    return lines


def published_sentences(pair: PairRecord) -> list[str]:
    return [
        f"{SIDE_NAMES[p.side]} {p.metric} {p.value:g}, as published by "
        f"{p.where} (not measured here)"
        for p in pair.published
    ]


def settings_sentence(record: RunRecord, pair: PairRecord) -> str:
    settings = record.settings_for(pair)
    weights = (
        "seeded random weights (seed "
        f"{record.settings.seed or 0}): latency, memory and agreement only, no accuracy"
        if settings.seeded
        else "pretrained weights"
    )
    batches = ", ".join(str(b) for b in settings.latency_batches)
    return f"run with {weights}; profile {settings.profile_name}; batch sizes {batches}"


def tracks_sentences(evaluation: Evaluation) -> list[str]:
    """What the accuracy tracks table shows, and track B's agreement where measured."""
    if not evaluation.tracks:
        return []
    agreement_b = tracks.agreement_b_text(evaluation.tracks.get("agreement_b"))
    return [tracks.sentence(evaluation.tracks)] + ([agreement_b] if agreement_b else [])


def peak_sentence(record: RunRecord) -> str | None:
    """The machine's measured limit that every % of peak refers to."""
    peak = record.machine.gemm_peak
    if peak is None:  # a record from before calibration existed
        return None
    if peak.gflops_per_s is None:
        return f"Machine peak: not measured ({peak.error}), so no % of peak is shown."
    origin = "read from the cache" if peak.cached else "measured for this run"
    return (
        f"Machine peak: {peak.gflops_per_s:.1f} GFLOP/s fp32 GEMM with "
        f"{peak.key.get('threads', '?')} threads ({origin}; measured "
        f"{peak.measured_utc}; {peak.method}). Achieved GFLOP/s = FLOPs per "
        "sample x batch / median latency; % of peak is its share of this figure, and a cell "
        "above 100% is flagged as a measurement error, not a result (of the cell, or of the "
        "peak: `parity calibrate --force` measures it again)."
        + (f" Warning: {peak.warning}." if peak.warning else "")
    )


def concurrency_note(record: RunRecord) -> str | None:
    """With --jobs > 1 workers shared the cores: say so wherever latency is shown."""
    jobs = record.settings.jobs or 1
    if jobs <= 1:
        return None
    seen = record.workers.max_alive if record.workers else None
    most = f", at most {seen} seen" if seen is not None else ""
    return (
        f"⚠ Latency measured concurrently: up to {jobs} workers ran at once (--jobs {jobs}"
        f"{most}), sharing the machine's cores. These are not solo timings; rerun with "
        "--jobs 1 before comparing sides."
    )


def device_text(record: RunRecord) -> str:
    """Where the models ran: the CPU (GPUs hidden from both sides), or the GPU each side
    reported, with TF32 off."""
    if (record.settings.device or "cpu") == "cpu":
        return "models on the CPU (any GPU hidden from both sides)"
    names = sorted({str(c.metrics.device.get("name")) for c in record.cells() if c.metrics})
    return (
        f"models on the GPU ({', '.join(names) or 'no cell reported one'}; TF32 off on both "
        "sides, timings synchronised with the device)"
    )


def run_preamble(record: RunRecord) -> list[str]:
    """The paragraphs that say how the run was made."""
    settings, machine, commit = record.settings, record.machine, record.commit
    profile = settings.profile
    dirty = " (with uncommitted changes)" if commit.dirty else ""
    found = [
        f"Run {record.run_id}, {record.started_utc}, {record.wall_s or 0:.0f} s. "
        f"Machine: {machine.cpu}, {machine.cores_usable} usable cores, "
        f"{machine.memory_gib} GiB, Python {machine.python}, {device_text(record)}. "
        f"Commit {str(commit.sha)[:10]}{dirty}.",
        f"Each cell is one fresh process with {settings.threads} intra-op threads and 1 "
        f"inter-op thread on both sides. Profile {profile.name}: {profile.warmup} warm-up "
        f"calls, then timed calls until at least {profile.min_count} calls and "
        f'{profile.min_time_s:g} s. Latency is wall time per call in ms; "⚠ unstable" '
        "marks IQR/median > 0.10. A side is called faster only by a replicated comparison "
        "(R fresh process pairs taking turns in timed rounds) whose 95% interval lies wholly "
        "outside the tie band (a ratio within 2% of 1); a ratio from one process per side "
        'gives no verdict. "first call s" is the very first call (it includes tracing or '
        "compiling for the first shape).",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in record.libraries.items() if v) + ".",
    ]
    return found + [text for text in (peak_sentence(record), concurrency_note(record)) if text]


def settings_line(record: RunRecord) -> str:
    """Every run setting as recorded (the HTML page lists them all)."""
    return "; ".join(f"{k} {v}" for k, v in record.settings.to_dict().items())


def machine_identity(record: RunRecord) -> str:
    """The machine a verdict holds for: CPU, vector extensions, threads, calibrated peak."""
    machine = record.machine
    extensions = machine.vector_extensions
    shown = ", ".join(extensions) if extensions else "vector extensions not recorded"
    threads = record.settings.threads
    peak = machine.gemm_peak.gflops_per_s if machine.gemm_peak else None
    peak_text = (
        f"calibrated peak {peak:.0f} GFLOP/s fp32 GEMM"
        if peak is not None
        else "peak not calibrated"
    )
    return f"{machine.cpu or 'unknown CPU'} ({shown}), {threads or '?'} threads, {peak_text}"


def load_warning(record: RunRecord) -> str | None:
    """The pre-run load check's warning, where the machine was busy."""
    found = record.load_check
    return found.warning if found is not None and found.warning else None


def machine_line(record: RunRecord) -> str:
    found = record.machine.to_dict()
    return "; ".join(f"{k} {v}" for k, v in found.items() if not isinstance(v, dict))


def diagnosed_cause(evaluation: Evaluation) -> list[str]:
    """Beside an agreement over its tolerance: each diagnostic that closed the gap, with
    the hypothesis it tested (the pair's catalog entry states it) and the difference it
    left, so the reader sees the cause where the failure is."""
    found = evaluation.agreement
    if not found or found.passed is not False:
        return []
    lines = []
    for diag in evaluation.diagnostics:
        checked = diag.agreement
        if checked and checked.passed:
            lines.append(
                f"Diagnosed cause: {diag.question} Yes: with {SIDE_NAMES[diag.side]} loaded "
                f"with {diag.load_options}, the max abs difference falls from "
                f"{sig(found.max_abs_diff)} to {sig(checked.max_abs_diff)}, within atol "
                f"{sig(checked.atol)} (diagnostic {diag.name})."
            )
    return lines


def greedy_sentences(found: Agreement) -> list[str]:
    """Greedy decoding on both sides: how many prompts decoded alike, and where the first
    differing token fell, with each side's margin there (a near-tie may flip on rounding;
    a confident flip is a real disagreement)."""
    greedy = found.greedy
    if not greedy:
        return []
    lines = [
        f"Greedy decoding, {greedy['new_tokens']} new tokens per prompt: "
        f"{greedy['identical_prompts']} of {greedy['prompts']} prompts identical; "
        f"{percent(greedy['matching_tokens'])} of generated tokens match."
    ]
    flip = greedy.get("first_difference")
    if flip is None:
        lines.append("No generated token differs.")
    else:
        kind = "a near-tie" if flip["near_tie"] else "a confident flip"
        lines.append(
            f"First differing token: prompt {flip['prompt'] + 1}, new token "
            f"{flip['position'] + 1}: PyTorch {flip['torch_token']} (margin "
            f"{sig(flip['torch_margin'])} over its runner-up), TensorFlow "
            f"{flip['tensorflow_token']} (margin {sig(flip['tensorflow_margin'])}): {kind}."
        )
    for side, check in (found.distribution or {}).items():
        if check.get("degenerate"):
            lines.append(f"{SIDE_NAMES[side]}'s distribution is degenerate: {check['degenerate']}.")
    return lines
