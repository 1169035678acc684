"""Regenerate section 8 of docs/ODD.md (the parameter and intervention tables) from the registry
and the interventions' declarations.

    .venv/bin/python docs/param_tables.py          # rewrite the tables in place
    .venv/bin/python docs/param_tables.py --check  # exit 1 if ODD.md is out of date (used by the tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

from peacesim.interventions import CLI_SYNTAX, INTERVENTIONS
from peacesim.params import ACTOR_FIELDS, REGISTRY

ODD = Path(__file__).parent / "ODD.md"
START = "### 8.1 Model-wide parameters"
END = "## 9. Known simplifications"


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _default(p) -> str:
    if p.kind == "str":
        return '"" (required)' if p.required else f'"{p.default}"'
    if p.kind == "choice":
        return f'"{p.default}"'
    if p.kind == "bool":
        return "true" if p.default else "false"
    return _num(p.default)


def _bounds(p) -> str:
    if p.kind in ("float", "int"):
        return (f"{_num(p.marker[0])} ({p.marker[1]}) or " if p.marker else "") + f"{_num(p.low)} – {_num(p.high)}"
    if p.kind == "choice":
        return ", ".join(f"`{c}`" for c in p.choices)
    if p.kind == "bool":
        return "true / false"
    return "text"


def tables() -> str:
    out = [START, "", "| name | default | bounds | unit | meaning | group |", "|---|---|---|---|---|---|"]
    for p in REGISTRY.values():
        out.append(f"| `{p.name}` | {_default(p)} | {_bounds(p)} | {p.unit or '–'} | {p.meaning} | {p.group} |")
    out += ["", "### 8.2 Actor fields (one table per agent kind in the scenario file)", "",
            "Set per actor in the scenario file, for all actors of a kind with `--set kind.field=value`, or for "
            "the N-th actor of a kind with `--set kind[N].field=value`.", ""]
    for kind, fields in ACTOR_FIELDS.items():
        out += [f"**`[[{kind}]]`**", "", "| field | default | bounds | meaning |", "|---|---|---|---|"]
        for p in fields.values():
            out.append(f"| `{p.name}` | {_default(p)} | {_bounds(p)} | {p.meaning} |")
        out.append("")
    out += ["### 8.3 Interventions", "",
            "Planned as `[[intervention]]` tables (`month`, `kind`, the arguments), on the command line as "
            f"`--intervene {CLI_SYNTAX}`, or applied between steps with `model.intervene(kind, ...)` "
            "(section 7.10; `peacesim interventions` prints the live declarations).", "",
            "| kind | what it does | arguments (default; bounds) | source |", "|---|---|---|---|"]
    for spec in INTERVENTIONS.values():
        args = "; ".join(f"`{a}` ({'required' if p.required else _default(p)}; {_bounds(p)})"
                         for a, p in spec.args.items())
        out.append(f"| `{spec.kind}` | {spec.meaning} | {args} | {spec.source} |")
    out.append("")
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    i, j = text.index(START), text.index(END)
    return text[:i] + tables() + text[j:]


def main() -> int:
    text = ODD.read_text(encoding="utf-8")
    new = render(text)
    if "--check" in sys.argv:
        if new != text:
            print("docs/ODD.md section 8 is out of date: run .venv/bin/python docs/param_tables.py", file=sys.stderr)
            return 1
        return 0
    ODD.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
