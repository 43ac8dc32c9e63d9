"""`curate show RUN`: the report's example documents in the terminal (or as JSON).

    curate show runs/demo                                  # every rule: dropped and kept-near-threshold examples
    curate show runs/demo --rule too_short --dropped -n 5  # one rule, one side
    curate show runs/demo --rule near_duplicate            # a dedup reason (or `dedup`, or `quarantine`)
    curate show runs/demo --source web                     # draw only from one source
    curate show runs/demo --id web-0039                    # one document: its fate and every rule's values
    curate show runs/demo --rule low_quality --json        # the same examples as JSON

The draw is the report's (seeded by the run's seed, same sample size), so without `--source` the
documents printed are the ones report.html shows.
"""

from __future__ import annotations

import textwrap

import click
import orjson

from curate.errors import CurateError
from curate.layout import RunLayout
from curate.report.samples import DEDUP, Example, RuleSample, all_samples, find_id, load_view


def _excerpt(text: str, chars: int) -> list[str]:
    body = text[:chars] + ("…" if len(text) > chars else "")
    lines = []
    for para in body.splitlines() or [""]:
        lines += textwrap.wrap(para, 96) or [""]
    return ["    | " + x for x in lines]


def format_example(e: Example, chars: int, indent: str = "") -> list[str]:
    where = f"{e.file}:{e.line}" if e.line else e.file
    fate = "selected" if e.fate == "kept" else f"dropped by {e.fate}"
    out = [f"{indent}[{e.id}] {e.source}{'/' + e.role if e.role else ''}  {where}  {fate}"]
    if e.values:
        out.append(indent + "    " + "  ".join(f"{k} = {v}" for k, v in e.values.items()))
    if e.note:
        out.append(indent + "    " + e.note)
    out += [indent + x for x in _excerpt(e.text, chars)]
    if e.chars > chars:
        out.append(f"{indent}    ({e.chars:,} characters in all)")
    if e.twin is not None:
        out.append(indent + "    the copy that was kept:")
        out += format_example(e.twin, chars, indent + "    ")
    return out


def format_sample(s: RuleSample, sides: tuple[str, ...], chars: int) -> list[str]:
    out = [f"== {s.kind} {s.name}: {s.description}"]
    if "dropped" in sides:
        out.append(f"-- dropped: showing {len(s.dropped)} of {s.dropped_total:,}")
        for e in s.dropped:
            out += format_example(e, chars) + [""]
    if "kept" in sides and s.kind == "rule":
        out.append(f"-- {s.kept_label}: showing {len(s.kept)} of {s.kept_total:,} that passed")
        for e in s.kept:
            out += format_example(e, chars) + [""]
    return out


def pick(samples: list[RuleSample], rule: str | None) -> list[RuleSample]:
    if rule is None:
        return samples
    if rule == DEDUP:
        return [s for s in samples if s.kind == DEDUP]
    hit = [s for s in samples if s.name == rule]
    if not hit:
        names = [s.name for s in samples] + ([DEDUP] if any(s.kind == DEDUP for s in samples) else [])
        raise CurateError(f"no rule, dedup reason or quarantine named `{rule}` in this run",
                          fix=f"choose one of: {', '.join(names) or '(none: the run has no select decisions)'}")
    return hit


@click.command("show")
@click.argument("run", type=click.Path(file_okay=False, exists=True))
@click.option("--rule", default=None, help="A select rule, a dedup reason (exact_duplicate, near_duplicate), `dedup` or `quarantine`.")
@click.option("--dropped", "side", flag_value="dropped", default=None, help="Only documents the rule dropped.")
@click.option("--kept", "side", flag_value="kept", help="Only documents the rule kept closest to its threshold.")
@click.option("-n", "n", type=int, default=None, help="Documents per rule and side (default: the pipeline's report.examples).")
@click.option("--source", default=None, help="Draw only from this source.")
@click.option("--id", "doc_id", default=None, help="Show one document (every row with this id): its fate, rule values and text.")
@click.option("--chars", type=int, default=400, show_default=True, help="Characters of text printed per document.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(run, rule, side, n, source, doc_id, chars, as_json):
    """Example documents of RUN: what each rule dropped and kept, with the signal values that decided."""
    view = load_view(run)
    layout = RunLayout(run)
    if not layout.decisions_dir.exists() and not layout.quarantine_dir.exists():
        raise CurateError("this run directory has no per-document decisions (select has not run, or an older curate made it)",
                          where=str(run), fix="run the pipeline (select stage) into this directory again")
    if source is not None and view.sources and source not in [s["name"] for s in view.sources]:
        raise CurateError(f"no source `{source}` in this run", where=str(run),
                          fix=f"choose one of: {', '.join(s['name'] for s in view.sources)}")
    if doc_id is not None:
        found = find_id(view, doc_id, source)
        if not found:
            raise CurateError(f"no document with id `{doc_id}`{' in source ' + source if source else ''}", where=str(run))
        if as_json:
            click.echo(orjson.dumps([e.to_json() for e in found], option=orjson.OPT_INDENT_2).decode())
        else:
            for e in found:
                click.echo("\n".join(format_example(e, chars)))
        return
    cutoffs = {}
    stats_path = layout.stats
    if stats_path.exists():
        cutoffs = orjson.loads(stats_path.read_bytes()).get("stages", {}).get("select", {}).get("cutoffs", {})
    samples = pick(all_samples(view, view.examples if n is None else n, cutoffs, source=source), rule)
    sides = (side,) if side else ("dropped", "kept")
    if as_json:
        out = []
        for s in samples:
            d = s.to_json()
            for k in ("dropped", "kept"):
                if k not in sides:
                    d.pop(k)
            out.append(d)
        click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
        return
    for s in samples:
        click.echo("\n".join(format_sample(s, sides, chars)))
