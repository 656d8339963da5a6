"""report.html: one self-contained page per run directory (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any


def _verdict(holds) -> str:
    return {True: "holds", False: "FAILS", None: "not tested"}[holds]


def render(title: str, summary: dict[str, Any], config: dict[str, Any], figures: dict[str, Path]) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr class='{_verdict(c['holds']).replace(' ', '-')}'><td>{esc(c['id'])}</td><td>{esc(c['statement'])}</td>"
        f"<td>{esc(str(c['predicted']))}</td><td>{esc(str(c['measured']))}</td><td>{esc(str(c['tolerance']))}</td>"
        f"<td><b>{_verdict(c['holds'])}</b></td><td>{esc(c.get('note', ''))}</td></tr>"
        for c in summary["claims"]
    )
    figs = "".join(
        f"<figure><img alt='{esc(name)}' src='data:image/png;base64,"
        f"{base64.b64encode(Path(p).read_bytes()).decode()}'/><figcaption>{esc(name)}</figcaption></figure>"
        for name, p in figures.items()
    )
    timing = "".join(f"<tr><td>{esc(k)}</td><td>{v:.4g}</td></tr>" if isinstance(v, float) else
                     f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in summary["timing"].items())
    n_hold = sum(c["holds"] is True for c in summary["claims"])
    n_fail = sum(c["holds"] is False for c in summary["claims"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1400px; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
tr.holds td:nth-child(6) {{ color: #106010; }} tr.FAILS td:nth-child(6) {{ color: #b00000; }}
tr.not-tested td:nth-child(6) {{ color: #777; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{n_hold} claims hold, {n_fail} fail, {len(summary['claims']) - n_hold - n_fail} not tested at this preset.</p>
<h2>Claims</h2>
<table id="claims"><thead><tr><th>id</th><th>statement</th><th>predicted</th><th>measured</th>
<th>tolerance</th><th>verdict</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Figures</h2>{figs}
<h2>Timing</h2><table id="timing">{timing}</table>
<h2>Resolved config, versions, platform</h2><pre>{esc(json.dumps(config, indent=1))}</pre>
</body></html>
"""
