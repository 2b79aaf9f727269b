"""How `fix` shows itself: the ranking, each plan as a unified diff plus commands and risks, and what was written.

One layout, two skins: `render_fix_plain` (CI logs, NO_COLOR, not a TTY) and `render_fix_rich` (diff lines coloured).
"""

from __future__ import annotations

from typing import Any

from earthly_doctor.sanitize import clean

# (style, text) pairs; the plain skin drops the style.
Line = tuple[str, str]


def _plan_lines(number: int, plan: Any) -> list[Line]:
    out: list[Line] = [("bold", f"{number}. {plan.title} [{plan.remedy}]")]
    for refusal in plan.refusals:  # the reason is printed once, as one line on stderr
        where = f"{refusal.path}:{refusal.line}" if refusal.line else str(refusal.path)
        out.append(("bold red", f"   refused: {where} (why: on stderr)"))
    for edit in plan.edits:
        head = f"   {edit.name}" + (" (new file)" if edit.before is None else "")
        state = "" if edit.changed else ": already applied, nothing to change" if edit.already else ": nothing to change"
        out.append(("bold", head + state))
        for change in edit.changes:
            out.append(("", f"     {change}"))
        for already in edit.already:
            out.append(("dim", f"     already: {already}"))
        for note in edit.notes:
            out += _note(note, "     ")
        for line in edit.diff().splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
            out.append((style, f"     {line}"))
    if not plan.edits and not plan.refusals and not plan.snippets:
        out.append(("dim", "   no file to edit; use the commands below"))
    for note in plan.notes:
        out += _note(note, "   ")
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


def _note(note: str, indent: str) -> list[Line]:
    """A note over several lines keeps them (a pod spec snippet), each under the `note:` label."""
    first, *rest = note.split("\n")
    return [("yellow", f"{indent}note: {first}")] + [("yellow", f"{indent}      {line}") for line in rest]


def _file_state(result: Any, written: Any) -> Line:
    """What happened to one file: written, or told apart as already applied / nothing to change."""
    if written.written:
        return ("green", written.message)
    edits = [e for p in result.plans for e in p.edits if e.path == written.path]
    if edits and not edits[0].changed:
        said = "already applied; nothing changed" if edits[0].already else "nothing to change"
        return ("dim", f"{edits[0].name}: {said}")
    return ("dim", written.message)


def fix_lines(result: Any) -> list[Line]:  # noqa: C901, PLR0912 -- grandfathered; split when next changed
    out: list[Line] = []
    if result.mode == "undo":
        for w in result.undone:
            out.append(("green" if w.written else "dim", w.message))
        for refusal in result.undo_refusals:
            out.append(("bold red", f"refused: {refusal}"))
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
        out.append(("bold", "Dry run: nothing was written."))
        for plan in result.plans:
            if plan.refusals:
                out.append(("bold red", f"{plan.remedy}: refused; there is nothing to apply"))
            elif plan.changes_anything and plan.remedy in result.hints:
                out.append(("bold", f"To apply {plan.remedy}: {result.hints[plan.remedy]}"))
            elif any(e.already for e in plan.edits):
                out.append(("bold", f"{plan.remedy}: already applied; nothing to write"))
            else:
                said = "nothing to change in these files; see the steps and commands above"
                out.append(("bold", f"{plan.remedy}: {said}"))
    elif result.mode == "apply" and result.applied is not None:
        applied = result.applied
        if applied.refusals:
            out.append(("bold red", f"{applied.remedy}: refused; nothing was written"))
        else:
            for w in applied.written:
                out.append(_file_state(result, w))
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
    # Diff lines quote the user's files, which a committer controls: no escape sequence reaches the terminal.
    return "\n".join(clean(text) for _, text in fix_lines(result)).rstrip("\n") + "\n"


def render_fix_rich(result: Any, console: Any) -> None:
    from rich.text import Text

    for style, text in fix_lines(result):
        console.print(Text(clean(text), style=style or ""), soft_wrap=True)


def render_fix_json(result: Any) -> str:
    import json

    return json.dumps(result.to_dict(), indent=2) + "\n"
