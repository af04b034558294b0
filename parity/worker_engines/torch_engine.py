"""PyTorch engine: eager under inference_mode, and torch.compile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch


class TorchEngine:
    name = "torch"

    def configure_threads(self, threads: int) -> dict[str, Any]:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only settable before any parallel work started
            pass
        return {
            "intra_op": torch.get_num_threads(),
            "inter_op": torch.get_num_interop_threads(),
        }

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "mkldnn": str(torch.backends.mkldnn.is_available())}

    def to_tensor(self, array: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array))

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.detach().cpu().numpy()

    def compile(self, forward: Callable, mode: str, example: dict[str, Any]) -> Callable:
        if mode == "eager":
            target = forward
        elif mode == "compile":
            target = torch.compile(forward, dynamic=False)
        else:
            raise ValueError(f"torch has no mode {mode!r}")

        def run(inputs: dict[str, Any]):
            with torch.inference_mode():
                return target(inputs)

        return run

    def block(self, value: Any) -> None:
        if value.is_cuda:
            torch.cuda.synchronize()


ENGINE = TorchEngine()
