"""Publishing a results record: report sections, Markdown, HTML, plots and verdicts."""
