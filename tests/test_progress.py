import io

from parity.run.progress import Progress


def test_plain_output_is_one_line_per_cell_when_not_a_terminal():
    stream = io.StringIO()
    with Progress(2, stream=stream) as progress:
        progress.start("p/torch/eager")
        progress.finish("p/torch/eager", "ok", 1.25)
        progress.start("p/tensorflow/eager")
        progress.finish("p/tensorflow/eager", "failed", 3.0, "crashed: killed by SIGSEGV")
    assert stream.getvalue().splitlines() == [
        "[1/2] p/torch/eager ok (1.2 s)",
        "[2/2] p/tensorflow/eager failed (3.0 s): crashed: killed by SIGSEGV",
    ]


def test_live_bar_reports_each_cell():
    stream = io.StringIO()
    with Progress(1, stream=stream, live=True) as progress:
        progress.start("p/torch/eager")
        progress.finish("p/torch/eager", "ok", 0.5)
    assert "p/torch/eager ok (0.5 s)" in stream.getvalue()
    assert progress.done == 1
