"""Causal language models in the report (task text-generation): each side's speed per
mode, the replicated comparison of their fastest decoding modes, and perplexity side by
side. Agreement (logits, top-k, greedy decoding) is in the pair's agreement section
(parity.publish.sentences.greedy_sentences); the headline rows in the answer table come
from parity.publish.headline.generation_headlines."""

from __future__ import annotations

from parity.publish import numbers
from parity.publish.document import Block, Bullets, Paragraph, Section, Table, TableBlock, plain
from parity.publish.numbers import fixed, mib, ms, size
from parity.results.record import GenerationComparison, GenerationSpeed, PairRecord, Replicated
from parity.vocabulary import SIDE_NAMES, SIDES

SPEED_TITLE = "Generation speed: time to first token, tokens/s and the key-value cache"
ANSWER_NOTE = (
    "Causal language models are compared on whole generations at each batch size (B copies "
    "of one prompt), each side in its fastest decoding mode there: their rows give "
    "PyTorch's decode time over TensorFlow's (the inverse of the tokens/s ratio) and "
    "PyTorch's time to first token over TensorFlow's."
)


def kv_cache_text(found: GenerationSpeed) -> str:
    """ "384 KiB of 612 MiB peak": the key-value cache beside the cell's peak resident
    memory up to that batch's end; or why the cache's size could not be read."""
    if found.kv_cache_bytes is None:
        return f"not read: {found.kv_cache_why}" if found.kv_cache_why else numbers.MISSING
    cache = size(found.kv_cache_bytes)
    if found.peak_rss_mib is None:
        return cache
    return f"{cache} of {mib(found.peak_rss_mib)} MiB peak"


def speed_table(pair: PairRecord) -> Table | None:
    """Each timed cell's time to first token, decode rate and key-value cache, per batch
    size."""
    speeds = pair.evaluation.generation
    if not speeds:
        return None
    rows = [
        [
            SIDE_NAMES[found.side],
            found.mode,
            str(found.batch_size),
            numbers.MISSING if found.prompt is None else str(found.prompt + 1),
            str(found.prompt_tokens),
            str(found.new_tokens),
            ms(found.ttft_ms),
            ms(found.ttft_iqr_ms),
            fixed(found.tokens_per_s, 1),
            str(found.samples),
            fixed(found.first_generation_s, 2),
            "yes" if found.contended else "no",
            kv_cache_text(found),
        ]
        for found in speeds
    ]
    head = [
        "side",
        "mode",
        "batch",
        "prompt timed",
        "prompt tokens",
        "new tokens",
        "time to first token (ms, median)",
        "IQR (ms)",
        "decode tokens/s (median)",
        "generations timed",
        "first generation (s)",
        "contended",
        "KV cache (of peak resident)",
    ]
    return Table(head, rows)


def _comparison_line(what: str, found: Replicated) -> str:
    if found.ratio is None:
        return f"{what}: no ratio ({found.why or 'no replicate finished'})"
    interval = (
        f"{found.ratio:.3f} [{found.ci_low:.3f}, {found.ci_high:.3f}]"
        if found.ci_low is not None and found.ci_high is not None
        else f"{found.ratio:.3f}"
    )
    ratio = f"PyTorch/TensorFlow {interval} (R={found.replicates})"
    return f"{what}, {ratio}: {found.verdict}; {found.why}"


def cells_outside(pair: PairRecord, batch: str, found: GenerationComparison) -> list[str]:
    """Where the two dueling modes' own cells, one process each, timed one after the
    other, give a ratio outside the duel's interval: said, so a reader comparing the
    speed table's figures with the verdict knows which to use (the interval)."""
    cells = {
        found_speed.side: found_speed
        for found_speed in pair.evaluation.generation or []
        if str(found_speed.batch_size) == batch
        and found_speed.mode == found.modes.get(found_speed.side)
    }
    if set(cells) != set(SIDES):
        return []
    lines = []
    for what, figure, duel in (
        ("decode time", "decode_ms", found.decode),
        ("time to first token", "ttft_ms", found.ttft),
    ):
        torch_ms, tf_ms = getattr(cells["torch"], figure), getattr(cells["tensorflow"], figure)
        if duel is None or duel.ci_low is None or duel.ci_high is None or not torch_ms or not tf_ms:
            continue
        ratio = torch_ms / tf_ms
        if not duel.ci_low <= ratio <= duel.ci_high:
            lines.append(
                f"The two cells alone give a {what} ratio of {ratio:.3f}, outside this "
                f"interval [{duel.ci_low:.3f}, {duel.ci_high:.3f}]: each cell is one process, "
                "timed after the other, so a process or a stretch of time that ran slow moves "
                "its figure; the replicated interval is the one to use."
            )
    return lines


def replicated_sentences(batch: str, found: GenerationComparison | None) -> list[str]:
    """The replicated comparison of the two sides' fastest decoding modes at one batch
    size, in words."""
    if found is None:
        return []
    modes = " vs ".join(f"{SIDE_NAMES[side]} {found.modes.get(side, '?')}" for side in SIDES)
    lines = [
        f"Replicated comparison at batch {batch} ({modes}, each side's fastest decoding mode "
        f"there): {found.plan.get('replicates', '?')} fresh process pairs taking turns in "
        "rounds of whole generations; each ratio is PyTorch's time over TensorFlow's (above "
        "1: TensorFlow faster) with its 95% rerun interval."
    ]
    if found.decode is not None:
        lines.append(_comparison_line("Decode time (tokens/s is its inverse)", found.decode))
    if found.ttft is not None:
        lines.append(_comparison_line("Time to first token", found.ttft))
    if found.error:
        lines.append(f"The duel stopped early: {found.error}")
    return lines


def perplexity_table(pair: PairRecord) -> Table | None:
    """Each main cell's perplexity on the prompts' own tokens, side by side by mode."""
    rows = []
    for cell in pair.main_cells():
        found = pair.evaluation.accuracy.get(cell.cell_id)
        if found is None or found.perplexity is None:
            continue
        rows.append(
            [SIDE_NAMES[cell.side], cell.mode, fixed(found.perplexity, 3), str(found.tokens)]
        )
    if not rows:
        return None
    return Table(["side", "mode", "perplexity", "tokens predicted"], rows)


def perplexity_sentence(pair: PairRecord, seeded: bool) -> str:
    data = pair.dataset
    name = data.name if data else "the prompts"
    text = (
        f"Perplexity on {name}: a smoke set of {data.prompts if data else '?'} prompts written "
        "for this project, each side scoring the prompts' own tokens; enough to set the two "
        "sides side by side, not a benchmark of language quality."
    )
    if seeded:
        text += (
            " The seeded checkpoint was trained briefly on this same text, so the figures "
            "compare the two sides' computation, not the model."
        )
    return text


def generation_section(pair: PairRecord, seeded: bool) -> Section | None:
    """Speed per side and mode, the replicated comparison, and perplexity side by side."""
    table = speed_table(pair)
    duels = pair.evaluation.generation_comparisons()
    if table is None and not duels:
        return None
    blocks: list[Block] = [
        Paragraph(
            plain(
                "Time to first token is the prefill: the prompt in, the first new token out. "
                "Decode tokens/s counts the new tokens after the first, each side with its "
                "own key-value cache. Each cell times whole generations of its longest prompt "
                "(compiled modes pad every prompt to it, so nothing recompiles); at batch B, "
                "B copies of it run together, so decoding makes B tokens per step. At each "
                "batch size the first generation, with any tracing and compiling, is timed "
                "apart. The KV cache is the size of the cache's own key and value tensors "
                "after a generation (a preallocated cache: every position it has room for), "
                "beside the cell's peak resident memory up to the end of that batch size."
            )
        )
    ]
    if table is not None:
        blocks.append(TableBlock(table))
    for batch, found in duels.items():
        lines = replicated_sentences(batch, found)
        if found is not None:
            lines += cells_outside(pair, batch, found)
        if lines:
            blocks.append(Bullets([plain(line) for line in lines]))
    if perplexity := perplexity_table(pair):
        blocks += [Paragraph(plain(perplexity_sentence(pair, seeded))), TableBlock(perplexity)]
    return Section(SPEED_TITLE, 3, blocks)
