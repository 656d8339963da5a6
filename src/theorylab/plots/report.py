"""report.html: one self-contained page per run directory.

Figures are embedded as base64 PNG, styles inline, no external resource of any kind, so the
page can be mailed or archived as one file. Red banners first when runs diverged
unexpectedly or a claims / figures function failed; then sections: claims (statement, predicted,
measured, tolerance, verdict), figures, runs by stop reason per cell, timing, sweep axes, versions and platform, and the
resolved config (base table, then the full JSON).

A few lines of inline script record on ``<body>`` how many figures decoded
(``data-figures-loaded`` of ``data-figures``) and any script error (``data-errors``), so a
headless browser can check that the page rendered whole.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

esc = html.escape


def _verdict(holds) -> str:
    return {True: "holds", False: "FAILS", None: "not tested"}[holds]


def _kv_table(table_id: str, items: dict[str, Any]) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return v if isinstance(v, str) else json.dumps(v)

    rows = "".join(f"<tr><th>{esc(str(k))}</th><td>{esc(str(fmt(v)))}</td></tr>" for k, v in items.items())
    return f"<table id='{table_id}'>{rows}</table>"


def _banners(summary: dict[str, Any]) -> str:
    """Red banners for what makes the verdicts untrustworthy: diverged runs, failed functions."""
    out = []
    diverged = summary.get("diverged") or {}
    if diverged:
        cells = ", ".join(f"{c} ({n})" for c, n in diverged.items())
        out.append(f"<div class='banner' id='diverged-banner'>{sum(diverged.values())} runs DIVERGED (left out of "
                   f"the claims and figures; theorylab check fails) in cells: {esc(cells)}</div>")
    for cell, why in (summary.get("expected_divergence") or {}).items():
        n = (summary.get("stops") or {}).get(cell, {}).get("diverged", 0)
        if n:
            out.append(f"<div class='banner expected'>{n} runs diverged in cell {esc(cell)}, as the experiment "
                       f"expects: {esc(why)}</div>")
    for name, err in (summary.get("figure_errors") or {}).items():
        out.append(f"<div class='banner figure-error'>figure {esc(name)} could not be drawn: {esc(err)}</div>")
    if any(c["id"] == "claims-error" for c in summary.get("claims", [])):
        out.append("<div class='banner claims-error'>the claims function raised: see the claims table</div>")
    return "".join(out)


def render(title: str, summary: dict[str, Any], config: dict[str, Any], figures: dict[str, Path]) -> str:
    """The page. ``config`` is config.json (resolved, sweep, versions); figures: name -> PNG."""
    claims = summary["claims"]
    rows = "".join(
        f"<tr class='{_verdict(c['holds']).replace(' ', '-')}'><td>{esc(c['id'])}</td><td>{esc(c['statement'])}</td>"
        f"<td>{esc(str(c['predicted']))}</td><td>{esc(str(c['measured']))}</td><td>{esc(str(c['tolerance']))}</td>"
        f"<td class='verdict'><b>{_verdict(c['holds'])}</b></td><td>{esc(c.get('note', ''))}</td></tr>"
        for c in claims
    )
    figs = "".join(
        f"<figure id='fig-{esc(name)}'><img alt='{esc(name)}' src='data:image/png;base64,"
        f"{base64.b64encode(Path(p).read_bytes()).decode()}'/><figcaption>{esc(name)}</figcaption></figure>"
        for name, p in figures.items()
    )
    banner = _banners(summary)
    stops = summary.get("stops") or {}
    reasons = sorted({r for v in stops.values() for r in v})
    stops_html = ("<table id='stops'><tr><th>cell</th>" + "".join(f"<th>{esc(r)}</th>" for r in reasons) + "</tr>"
                  + "".join(f"<tr class='{'diverged' if v.get('diverged') else ''}'><td>{esc(cell)}</td>"
                            + "".join(f"<td>{v.get(r, 0)}</td>" for r in reasons) + "</tr>" for cell, v in stops.items())
                  + "</table>") if stops else ""
    n_hold = sum(c["holds"] is True for c in claims)
    n_fail = sum(c["holds"] is False for c in claims)
    resolved = config.get("resolved", {})
    versions = dict(config.get("versions", {}))
    platform = {k: versions.pop(k) for k in ("platform", "jax_backend", "devices") if k in versions}
    sweep = config.get("sweep") or {}
    sweep_html = (_kv_table("sweep", {k: ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in vals)
                                      for k, vals in sweep.items()}) if sweep else "<p>no --sweep axes</p>")
    grid = (f"<p>{len(resolved.get('cells', []))} cells x {resolved.get('seeds', '?')} seeds; "
            f"preset {esc(str(resolved.get('preset', '?')))}</p>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1400px; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
tr.holds td.verdict {{ color: #106010; }} tr.FAILS td.verdict {{ color: #b00000; }}
tr.not-tested td.verdict {{ color: #777; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
.banner {{ background: #b00000; color: white; padding: 0.8em 1em; font-weight: bold; margin: 1em 0; }}
.banner.expected {{ background: #8a6d00; }} tr.diverged td {{ background: #fbe3e3; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }}
</style></head><body data-figures="{len(figures)}">
<h1>{esc(title)}</h1>
{banner}<p id="verdicts">{n_hold} claims hold, {n_fail} fail, {len(claims) - n_hold - n_fail} not tested at this preset.</p>
<h2>Claims</h2>
<table id="claims"><thead><tr><th>id</th><th>statement</th><th>predicted</th><th>measured</th>
<th>tolerance</th><th>verdict</th><th>note</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Figures</h2>{figs}
<h2>Runs by stop reason</h2>{stops_html}
<h2>Timing</h2>{_kv_table("timing", summary.get("timing", {}))}
<h2>Sweep</h2>{grid}{sweep_html}
<h2>Versions</h2>{_kv_table("versions", versions)}
<h2>Platform</h2>{_kv_table("platform", platform)}
<h2>Resolved config</h2><p>base config; each cell overrides its own (swept) fields</p>{_kv_table("config", resolved.get("base", {}))}
<details><summary>config.json</summary><pre id="config-json">{esc(json.dumps(config, indent=1))}</pre></details>
<script>
window.addEventListener("error", function (e) {{
  document.body.dataset.errors = (document.body.dataset.errors || "") + e.message + ";";
}});
window.addEventListener("load", function () {{
  var ok = Array.prototype.filter.call(document.images, function (im) {{ return im.complete && im.naturalWidth > 0; }});
  document.body.dataset.figuresLoaded = String(ok.length);
}});
</script>
</body></html>
"""
