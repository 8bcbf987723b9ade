"""benchopt's solver names, parsed once: "solver[a=1,b=[2, 3]]".

A name is a base name and, in brackets, `key=value` parameters separated by
commas; a value may itself hold commas inside brackets or parentheses
("b=[2, 3]"), which do not separate parameters. Values stay strings, as
written in the name.
"""

import html


def split_name(name: str) -> tuple[str, list[tuple[str, str]]]:
    """"solver[a=1,b=[2, 3]]" -> ("solver", [("a", "1"), ("b", "[2, 3]")]).

    A name without parameters (or that does not end in "]") is its own base.
    """
    name = str(name)
    if not name.endswith("]") or "[" not in name:
        return name, []
    base, inner = name[:-1].split("[", 1)
    parts, depth, current = [], 0, ""
    for char in inner:
        depth += 1 if char in "[(" else -1 if char in "])" else 0
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    pairs = [tuple(p.split("=", 1)) for p in parts if "=" in p]
    return base, [(k.strip(), v.strip()) for k, v in pairs]


def join_name(base: str, params) -> str:
    """The inverse of split_name: ("a", [("b", "1")]) -> "a[b=1]"; "a" alone
    without parameters."""
    params = list(params)
    if not params:
        return base
    return f"{base}[{','.join(f'{k}={v}' for k, v in params)}]"


def without(name: str, parameters) -> str:
    """The name with the given parameter keys removed:
    without("a[b=[2, 3],t=3,c=x]", {"t"}) -> "a[b=[2, 3],c=x]"."""
    base, params = split_name(name)
    if not params:
        return str(name)
    return join_name(base, [(k, v) for k, v in params if k not in set(parameters)])


def short_names(solvers) -> dict[str, str]:
    """Display labels: each solver's base name with only the parameters whose
    values differ between the run's solvers of that base name
    ("xpdnet[density_compensation=False]"); the full names stay in tooltips
    and in the data. Names it cannot tell apart are kept whole."""
    parsed = {str(s): split_name(s) for s in solvers}
    by_base = {}
    for base, params in parsed.values():
        by_base.setdefault(base, []).append(dict(params))
    labels = {}
    for solver, (base, params) in parsed.items():
        others = by_base[base]
        varying = [(k, v) for k, v in params
                   if len({str(o.get(k)) for o in others}) > 1]
        labels[solver] = join_name(base, varying)
    if len(set(labels.values())) < len(labels):  # unparsed names: keep them whole
        return {s: s for s in parsed}
    return labels


def breakable(name: str) -> str:
    """`name` as HTML that may wrap after its '[' and commas (a long solver
    name in a table's first column), and nowhere else."""
    return html.escape(name).replace("[", "[<wbr>").replace(",", ",<wbr>")
