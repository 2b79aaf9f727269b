"""How `fix` shows itself: the ranking, each plan as a unified diff plus commands and risks, and what was written.

One layout, two skins: `render_fix_plain` (CI logs, NO_COLOR, not a TTY) and `render_fix_rich` (diff lines coloured).
"""

from __future__ import annotations

from typing import Any

# (style, text) pairs; the plain skin drops the style.
Line = tuple[str, str]


def _plan_lines(number: int, plan: Any) -> list[Line]:
    out: list[Line] = [("bold", f"{number}. {plan.title} [{plan.remedy}]")]
    for refusal in plan.refusals:
        out.append(("bold red", f"   refused: {refusal}"))
    for edit in plan.edits:
        head = f"   {edit.name}" + (" (new file)" if edit.before is None else "")
        state = "" if edit.changed else ": already applied, nothing to change" if edit.already else ": nothing to change"
        out.append(("bold", head + state))
        for change in edit.changes:
            out.append(("", f"     {change}"))
        for already in edit.already:
            out.append(("dim", f"     already: {already}"))
        for note in edit.notes:
            out.append(("yellow", f"     note: {note}"))
        for line in edit.diff().splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
            out.append((style, f"     {line}"))
    if not plan.edits and not plan.refusals and not plan.snippets:
        out.append(("dim", "   no file to edit; use the commands below"))
    for note in plan.notes:
        out.append(("yellow", f"   note: {note}"))
    if plan.commands:
        out.append(("", "   commands (by hand, or instead of the edits):"))
        out += [("", f"     $ {c}") for c in plan.commands]
    for where, text in plan.snippets:
        out.append(("", f"   {where}:"))
        out += [("", f"     {line}") for line in text.rstrip("\n").splitlines()]
    if plan.risks:
        out.append(("", "   risks:"))
        out += [("yellow", f"     - {r}") for r in plan.risks]
    return out


def fix_lines(result: Any) -> list[Line]:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    out: list[Line] = []
    if result.mode == "undo":
        for w in result.undone:
            out.append(("green" if w.written else "dim", w.message))
        out += [("", n) for n in result.notes]
        return out
    if result.report is not None:
        v = result.report.verdict
        out.append(("bold", f"Verdict: {v.cause} ({v.confidence.value})"))
        out.append(("", f"  {v.summary}"))
    if result.ranked:
        out.append(("", f"Remedies for this topology, best first: {', '.join(result.ranked)}"))
    for rid, why in result.not_offered:
        out.append(("dim", f"  not offered: {rid} ({why})"))
    for note in result.notes:
        out.append(("yellow", note))
    for number, plan in enumerate(result.plans, 1):
        out.append(("", ""))
        out += _plan_lines(number, plan)
    out.append(("", ""))
    if result.mode == "dry-run" and result.plans:
        first = result.plans[0].remedy
        out.append(("bold", f"Dry run: nothing was written. To apply: earthly-doctor fix --apply --remedy {first}"))
    elif result.mode == "apply" and result.applied is not None:
        applied = result.applied
        if applied.refusals:
            for refusal in applied.refusals:
                out.append(("bold red", f"refused: {refusal}"))
        else:
            for w in applied.written:
                out.append(("green" if w.written else "dim", w.message))
            if not applied.changed and any(e.already for e in result.plans[0].edits):
                out.append(("bold", f"{applied.remedy}: already applied; nothing changed"))
            elif not applied.changed:
                out.append(("bold", f"{applied.remedy}: nothing to write here; follow the print-only steps and commands above"))
            else:
                out.append(("bold", f"{applied.remedy}: applied. Undo with: earthly-doctor fix --undo"))
        if result.verify_note:
            out.append(("", f"verify: {result.verify_note}"))
        if result.verify_report is not None:
            for f in result.verify_report.findings:
                out.append(("", f"  {f.status.value.upper():<5} {f.code} {f.title}: {f.summary}"))
    return out


def render_fix_plain(result: Any) -> str:
    return "\n".join(text for _, text in fix_lines(result)).rstrip("\n") + "\n"


def render_fix_rich(result: Any, console: Any) -> None:
    from rich.text import Text

    for style, text in fix_lines(result):
        console.print(Text(text, style=style or ""), soft_wrap=True)


def render_fix_json(result: Any) -> str:
    import json

    return json.dumps(result.to_dict(), indent=2) + "\n"
