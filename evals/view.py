"""`uec-vlm eval view RUN`: one self-contained static HTML page to look at an eval run's samples.

The page (RUN/view.html by default) holds the summary table (Pass@k with 95% intervals, format and
truncation rates), the Pass@k curve, and a gallery of problems: image, question, gold answer, and each
sample's response with its extracted answer, extraction path and verdict. The gallery is filtered by
benchmark, subset, outcome (all correct / some / none / a sample without an extracted answer) and
disagreement between samples, searched by id or text, and paged, so runs of thousands of problems stay
fast. Everything (data, thumbnails as data URIs, script) is inside the file: it opens from disk, mail or
a CI artifact with no server. Filters are mirrored in the URL fragment (`view.html#outcome=none`), so a
filtered view can be shared.

Problems come from the run's datasets (the specs in RUN/config.yaml `eval.suite`, or `extra_info.spec`
for `eval score` runs); when a dataset cannot be loaded the page still shows the samples, without
images and questions, and says so.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from evals.samples import SAMPLES_FILE, read_samples

THUMB_PX = 320
VIEW_FILE = "view.html"


def _specs(run: Path, summary: dict) -> list[str]:
    specs: list[str] = []
    config = run / "config.yaml"
    if config.exists():
        import yaml

        specs += list((yaml.safe_load(config.read_text()) or {}).get("eval", {}).get("suite", []))
    spec = (summary.get("extra_info") or {}).get("spec")
    return specs + ([spec] if spec else [])


def _thumbnail(ref) -> str | None:
    """A JPEG data URI of the image, at most THUMB_PX on its longer side; None when it cannot be read."""
    from data_zoo.example import DataError

    try:
        image = ref.load()
    except (DataError, OSError):
        return None
    image.thumbnail((THUMB_PX, THUMB_PX))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _examples(specs: list[str], names: set[str], adapter_modules=()) -> tuple[dict, list[str]]:
    """{benchmark name: {id: Example}} for the specs whose benchmark is in the run, and notes on failures."""
    from data_zoo.example import DataError
    from data_zoo.registry import load_dataset
    from evals.harness import benchmark_name

    found, notes = {}, []
    for spec in specs:
        name = benchmark_name(spec)
        if name not in names or name in found:
            continue
        try:
            ds = load_dataset(spec, on_error="skip", adapter_modules=adapter_modules, require_image_files=False)
        except (DataError, OSError, ValueError) as e:
            notes.append(f"{name}: dataset {spec} could not be loaded ({e}); samples are shown without problems")
            continue
        found[name] = {str(ex.id): ex for ex in ds}
    for name in sorted(names - set(found)):
        if not any(n.startswith(f"{name}:") for n in notes):
            notes.append(f"{name}: no dataset spec found for it; samples are shown without problems")
    return found, notes


def _problem(name: str, pid: str, recs: list[dict], ex) -> dict:
    from evals import benchmarks as rules
    from evals.report import GENERIC_SUBSETS

    extracted = [r.get("extracted") for r in recs]
    item = {
        "b": name, "id": pid,
        "s": [{"r": r.get("response", ""), "x": r.get("extracted"), "p": r.get("path"), "c": bool(r["correct"]),
               "why": r.get("reason"), "f": r.get("finish_reason")} for r in recs],
        "nc": sum(bool(r["correct"]) for r in recs),
        "ux": sum(x in (None, "") for x in extracted),
        "dis": len({str(x) for x in extracted}) > 1,
    }
    if ex is not None:
        gold = str(ex.answer) + (f" ({ex.gold_letter})" if ex.gold_letter else "")
        subsets = rules.subset_keys(ex) or rules.metadata_subsets(ex, GENERIC_SUBSETS)
        item.update(q=ex.question, gold=gold, choices=list(ex.choices or []),
                    img=[u for u in (_thumbnail(ref) for ref in ex.images) if u],
                    sub=[f"{k}={v}" for k, vs in subsets.items() for v in (vs if isinstance(vs, list) else [vs])])
    return item


def _summary_table(summary: dict) -> str:
    ks = summary.get("ks", [1])
    head = ["benchmark", "scoring", "problems"] + [f"Pass@{k} % [95% CI]" for k in ks] + ["format %", "truncated %"]
    rows = []
    for name, b in summary.get("benchmarks", {}).items():
        cells = [name, b.get("scoring", ""), f"{b['n_problems']}/{b['n_problems_total']}"]
        for k in ks:
            m = b["metrics"].get(f"pass@{k}")
            cells.append("n/a" if m is None else
                         f"{100 * m['value']:.2f} [{100 * m['ci_low']:.2f}, {100 * m['ci_high']:.2f}]")
        for rate in (b.get("format_rate"), b.get("truncation_rate")):
            cells.append("n/a" if rate is None else f"{100 * rate:.2f}")
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return ("<table class='summary'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
            + "".join(rows) + "</table>")


def build_view(run: str | Path, out: str | Path | None = None, *, adapter_modules=()) -> tuple[Path, list[str]]:
    """Write the HTML page of eval run `run`; returns (its path, notes). Errors name the missing file."""
    run = Path(run)
    samples_path = run / SAMPLES_FILE
    if not samples_path.is_file():
        raise FileNotFoundError(f"{samples_path} not found: is {run} an eval run folder (uec-vlm eval / eval score)?")
    summary_path = run / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    samples = read_samples(samples_path)
    examples, notes = _examples(_specs(run, summary), set(samples), adapter_modules)
    problems = []
    for name, recs in samples.items():
        by_id: dict[str, list[dict]] = {}
        for r in recs:
            by_id.setdefault(str(r["id"]), []).append(r)
        for pid, group in by_id.items():
            group.sort(key=lambda r: int(r["sample"]))
            problems.append(_problem(name, pid, group, examples.get(name, {}).get(pid)))
    curve = run / "pass_at_k.png"
    curve_html = (f"<img class='curve' alt='Pass@k curve' src='data:image/png;base64,"
                  f"{base64.b64encode(curve.read_bytes()).decode()}'>" if curve.is_file() else "")
    data = json.dumps({"problems": problems, "notes": notes}, ensure_ascii=False).replace("</", "<\\/")
    page = (_PAGE.replace("%TITLE%", html.escape(f"eval view: {run}"))
            .replace("%SUMMARY%", _summary_table(summary) if summary else "<p>no summary.json in this run</p>")
            .replace("%CURVE%", curve_html).replace("%DATA%", data))
    path = Path(out) if out is not None else run / VIEW_FILE
    path.write_text(page, encoding="utf-8")
    return path, notes


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>%TITLE%</title>
<script>
// Errors and console.error calls are counted on <html data-errors> (the browser test reads it).
function countError() { const d = document.documentElement.dataset; d.errors = String(+(d.errors || 0) + 1); }
addEventListener("error", countError);
const consoleError = console.error.bind(console);
console.error = (...args) => { countError(); consoleError(...args); };
</script>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table.summary{border-collapse:collapse;margin:.5em 0}
table.summary td,table.summary th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.curve{max-width:560px;display:block;margin:.5em 0}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ddd;z-index:1}
#filters label{margin-right:1em}
.problem{border:1px solid #ddd;border-radius:6px;margin:.8em 0;padding:.6em;display:flex;gap:1em}
.problem img{max-width:320px;max-height:320px;border:1px solid #eee}
.meta{color:#666;font-size:.85em}
.sample{border-left:4px solid #bbb;padding:.2em .5em;margin:.3em 0;white-space:pre-wrap;font-family:monospace}
.sample.ok{border-color:#2a2}.sample.bad{border-color:#c22}.sample.none{border-color:#e90}
.verdict{font-family:system-ui,sans-serif;font-weight:bold}
#notes{color:#a50}
</style></head><body>
<h1>%TITLE%</h1>
%SUMMARY%
%CURVE%
<ul id="notes"></ul>
<div id="filters">
<label>benchmark <select id="f-bench"><option value="">all</option></select></label>
<label>subset <select id="f-subset"><option value="">all</option></select></label>
<label>outcome <select id="f-outcome">
<option value="">all</option><option value="all">all samples correct</option>
<option value="some">some correct</option><option value="none">none correct</option>
<option value="unextracted">a sample without an extracted answer</option></select></label>
<label><input type="checkbox" id="f-dis"> samples disagree</label>
<label>search <input id="f-text" size="16" placeholder="id or text"></label>
<span id="count"></span>
<button id="prev">&lt; prev</button> <span id="page"></span> <button id="next">next &gt;</button>
</div>
<div id="gallery"></div>
<script id="data" type="application/json">%DATA%</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const PAGE_SIZE = 50;
const $ = (id) => document.getElementById(id);
let page = 0, shown = [];
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function options(select, values) {
  for (const v of [...new Set(values)].sort()) { const o = el("option", null, v); o.value = v; select.appendChild(o); }
}
function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  $("f-bench").value = h.get("benchmark") || ""; $("f-subset").value = h.get("subset") || "";
  $("f-outcome").value = h.get("outcome") || ""; $("f-dis").checked = h.get("disagree") === "1";
  $("f-text").value = h.get("q") || ""; page = Math.max(0, parseInt(h.get("page") || "1", 10) - 1);
}
function writeHash() {
  const h = new URLSearchParams();
  if ($("f-bench").value) h.set("benchmark", $("f-bench").value);
  if ($("f-subset").value) h.set("subset", $("f-subset").value);
  if ($("f-outcome").value) h.set("outcome", $("f-outcome").value);
  if ($("f-dis").checked) h.set("disagree", "1");
  if ($("f-text").value) h.set("q", $("f-text").value);
  if (page) h.set("page", String(page + 1));
  history.replaceState(null, "", "#" + h.toString());
}
function keep(p) {
  const b = $("f-bench").value, s = $("f-subset").value, o = $("f-outcome").value, t = $("f-text").value.toLowerCase();
  if (b && p.b !== b) return false;
  if (s && !(p.sub || []).includes(s)) return false;
  if (o === "all" && p.nc !== p.s.length) return false;
  if (o === "some" && !(p.nc > 0 && p.nc < p.s.length)) return false;
  if (o === "none" && p.nc !== 0) return false;
  if (o === "unextracted" && p.ux === 0) return false;
  if ($("f-dis").checked && !p.dis) return false;
  if (t && !(p.id.toLowerCase().includes(t) || (p.q || "").toLowerCase().includes(t)
             || p.s.some((x) => (x.r || "").toLowerCase().includes(t)))) return false;
  return true;
}
function card(p) {
  const d = el("div", "problem");
  d.dataset.id = p.id;
  const left = el("div");
  for (const src of p.img || []) {
    const i = el("img");
    i.alt = p.id;
    i.addEventListener("load", () => { const d = document.body.dataset; d.imagesLoaded = String(+(d.imagesLoaded || 0) + 1); });
    i.addEventListener("error", () => { countError(); });
    i.src = src;
    left.appendChild(i);
  }
  d.appendChild(left);
  const right = el("div");
  right.appendChild(el("div", "meta", p.b + " / " + p.id + ((p.sub || []).length ? "  [" + p.sub.join(", ") + "]" : "")));
  if (p.q !== undefined) right.appendChild(el("p", null, p.q));
  if ((p.choices || []).length) right.appendChild(el("p", "meta", "choices: " + p.choices.join(" | ")));
  if (p.gold !== undefined) right.appendChild(el("p", null, "gold: " + p.gold));
  p.s.forEach((x, i) => {
    const none = x.x === null || x.x === undefined || x.x === "";
    const s = el("div", "sample " + (x.c ? "ok" : none ? "none" : "bad"));
    s.appendChild(el("span", "verdict", "#" + i + " " + (x.c ? "correct" : "wrong") + "  extracted: "
      + (none ? "(nothing)" : x.x) + "  via " + (x.p || "?") + (x.why ? "  (" + x.why + ")" : "")
      + (x.f === "length" ? "  [truncated]" : "")));
    s.appendChild(el("div", null, x.r));
    right.appendChild(s);
  });
  d.appendChild(right);
  return d;
}
function render() {
  shown = DATA.problems.filter(keep);
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  page = Math.min(page, pages - 1);
  const g = $("gallery");
  g.replaceChildren(...shown.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE).map(card));
  $("count").textContent = shown.length + " of " + DATA.problems.length + " problems";
  $("page").textContent = "page " + (page + 1) + " / " + pages;
  document.body.dataset.rows = String(g.children.length);
  document.body.dataset.matching = String(shown.length);
  writeHash();
}
options($("f-bench"), DATA.problems.map((p) => p.b));
options($("f-subset"), DATA.problems.flatMap((p) => p.sub || []));
for (const n of DATA.notes) $("notes").appendChild(el("li", null, n));
for (const id of ["f-bench", "f-subset", "f-outcome", "f-dis", "f-text"]) {
  $(id).addEventListener("input", () => { page = 0; render(); });
}
$("prev").addEventListener("click", () => { page = Math.max(0, page - 1); render(); });
$("next").addEventListener("click", () => { page += 1; render(); });
readHash();
render();
</script></body></html>
"""
