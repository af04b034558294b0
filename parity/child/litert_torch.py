"""PyTorch -> LiteRT with litert-torch, run by the python of litert-torch's own environment
(PARITY_LITERT_TORCH_PYTHON; litert-torch pins typing-extensions<4.13, so it stays out of
the main one):

    $PARITY_LITERT_TORCH_PYTHON -m parity.child.litert_torch PROGRAM.pt2 OUT.tflite

PROGRAM.pt2 is the model as torch.export saved it in the worker (parity.child.engines
.torch_engine.export_litert), with its example inputs beside it (PROGRAM.npz, positional).
Imports only torch, numpy and litert_torch: nothing else of this project is installed
there. A failure ends with its message as the last line of stderr, which the worker's
cell reports.
"""

from __future__ import annotations

import sys
from pathlib import Path


def convert(program_path: Path, out_path: Path) -> None:
    import numpy as np
    import torch

    try:
        import litert_torch
    except ImportError:  # its former name
        import ai_edge_torch as litert_torch

    program = torch.export.load(str(program_path))
    with np.load(program_path.with_suffix(".npz")) as found:
        args = tuple(torch.from_numpy(found[f"arr_{i}"]) for i in range(len(found.files)))
    batch = torch.export.Dim("batch")
    edge = litert_torch.convert(
        program.module(), args, dynamic_shapes=tuple({0: batch} for _ in args)
    )
    edge.export(str(out_path))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m parity.child.litert_torch PROGRAM.pt2 OUT.tflite", file=sys.stderr)
        return 2
    try:
        convert(Path(argv[0]), Path(argv[1]))
    except Exception as error:
        import traceback

        traceback.print_exc()
        text = str(error).strip()
        print(f"{type(error).__name__}: {text.splitlines()[0] if text else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
