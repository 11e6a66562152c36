"""examples/explore_topic.ipynb runs top to bottom in a real Jupyter kernel (nbclient), and
its tables render."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]


def test_explore_topic_notebook(tmp_path: Path) -> None:
    nb = nbformat.read(REPO / "examples" / "explore_topic.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    for expected in ("strom broker", "topic page-views", "records", "consumer group explorer", "<table>"):
        assert expected in html, expected
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "1000" in text  # delivered
