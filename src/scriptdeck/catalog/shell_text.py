"""Reading a shell script's text: its ``@param`` lines, and the arguments its code expands.

Only text is read: comments, single-quoted text and quoted here-documents never expand, and
a function's ``$1`` is its own unless the script calls it with ``"$@"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Declared", "Positional", "code_lines", "declared", "getopts", "positionals"]

SHELLS = ("bash", "sh", "dash", "ksh", "zsh")
SHEBANG = re.compile(r"#!\s*(?:/\S*/)?(?:env\s+(?:-\S+\s+)*)?(\w+)")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
TYPE = re.compile(r"(string|integer|number|boolean|file|enum\(([^()]*)\))$")
PARAM_LINE = re.compile(r"^\s*#+\s*@param\s+(.*)$")
DEFAULT = re.compile(r"""=(?:"([^"]*)"|'([^']*)'|(\S*))\s*""")
GETOPTS = re.compile(r"""\bgetopts\s+(?:"([^"]*)"|'([^']*)'|([^\s;'"]+))\s+[A-Za-z_]\w*""")
FUNCTION = re.compile(
    r"^\s*(?:function\s+([A-Za-z_][\w:.-]*)\s*(?:\(\s*\))?|([A-Za-z_][\w:.-]*)\s*\(\s*\))"
)
BRACED = re.compile(r"\$\{(\d+)([^}]*)\}")
OPERATOR = re.compile(r":?[-?=+]")
PLAIN = re.compile(r"(?<!\\)\$([1-9])")
HEREDOC = re.compile(r"(?<!<)<<-?(?!<)\s*(['\"]?)([A-Za-z_]\w*)\1")


@dataclass
class Declared:
    """One ``@param`` line."""

    line: int
    name: str
    where: str  # "-n", "2", or "" (matched by name)
    kind: str = "string"
    choices: list[str] | None = None
    required: bool | None = None
    default: str | None = None
    secret: bool = False
    help: str = ""


@dataclass
class Positional:
    number: int
    line: int
    required: bool = True
    default: str | None = None
    message: str = ""
    variable: str = ""
    uses: set[str] = field(default_factory=set)


# The header comments


def declared(lines: list[str], where: str, problems: list[str]) -> list[Declared]:
    found: list[Declared] = []
    for number, line in enumerate(lines, start=1):
        match = PARAM_LINE.match(line)
        if not match:
            continue
        item = _param_line(match.group(1).strip(), number, where, problems)
        if item is not None:
            found.append(item)
    return found


def _param_line(text: str, line: int, where: str, problems: list[str]) -> Declared | None:
    said = f"{where}, line {line}"
    head, _, rest = text.partition(" ")
    selector = ""
    if re.fullmatch(r"-[A-Za-z0-9]", head) or re.fullmatch(r"[1-9]\d*", head):
        selector, (head, _, rest) = head, rest.strip().partition(" ")
    if not NAME.fullmatch(head):
        problems.append(
            f"{said}: @param needs a name (letters, digits and _), not {head!r}: it is left out"
        )
        return None
    item = Declared(line, head, selector)
    kind, _, rest = rest.strip().partition(" ")
    type_match = TYPE.match(kind)
    if type_match is None:
        problems.append(
            f"{said}: @param {head}: the type {kind!r} is not one of string, integer, number, "
            "boolean, file, enum(a,b,...): it is read as a string"
        )
    else:
        item.kind = "enum" if type_match.group(2) is not None else kind
        if type_match.group(2) is not None:
            item.choices = [
                choice.strip() for choice in type_match.group(2).split(",") if choice.strip()
            ]
    rest = rest.strip()
    while rest:
        word = rest.split(" ", 1)[0]
        if word in ("required", "optional"):
            item.required = word == "required"
            rest = rest[len(word) :].strip()
        elif word == "secret":
            item.secret = True
            rest = rest[len(word) :].strip()
        elif word.startswith("="):
            default = DEFAULT.match(rest)
            assert default is not None  # "=" always matches
            item.default = next(g for g in default.groups() if g is not None)
            rest = rest[default.end() :].strip()
        else:
            break
    item.help = rest
    return item


# The code


def code_lines(lines: list[str]) -> list[tuple[int, str]]:
    """The lines whose expansions are the script's own: comments, quoted here-documents,
    single-quoted text and functions not called with ``"$@"`` left out."""
    top: list[tuple[int, str]] = []
    functions: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    depth = 0
    heredoc: tuple[str, bool] | None = None
    for number, raw in enumerate(lines, start=1):
        if heredoc is not None:
            if raw.strip() == heredoc[0]:
                heredoc = None
            elif heredoc[1]:
                (functions[current] if current else top).append((number, raw))
            continue
        line = _strip(raw)
        doc = HEREDOC.search(raw) if "<<" in line else None  # the quotes, before _strip
        if doc:
            heredoc = (doc.group(2), not doc.group(1))
        start = FUNCTION.match(line) if current is None else None
        if start:
            current = start.group(1) or start.group(2)
            functions[current] = []
            depth = 0
        target = functions[current] if current else top
        target.append((number, line))
        if current is not None:
            depth += _braces(line)
            if depth <= 0 and ("}" in line or (start is None and depth < 0)):
                current, depth = None, 0
    called = {
        name
        for name in functions
        if any(
            re.search(rf"(?:^|[;&|]\s*|\bexec\s+){re.escape(name)}\s+\"\$@\"", line)
            for _, line in top
        )
    }
    for name in called:
        top.extend(functions[name][1:])
    return sorted(top)


def _strip(line: str) -> str:
    """The line without its comment and single-quoted text (neither expands)."""
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(line):
        char = line[index]
        if quote == "'":
            if char == "'":
                quote = ""
            index += 1
            continue
        if char == "\\":
            out.append(line[index : index + 2])
            index += 2
            continue
        if char == '"':
            quote = "" if quote else '"'
        elif char == "'" and not quote:
            quote = "'"
            out.append("''")
            index += 1
            continue
        elif char == "#" and not quote and (not out or out[-1][-1:] in (" ", "\t", ";")):
            break
        out.append(char)
        index += 1
    return "".join(out)


def _braces(line: str) -> int:
    text = re.sub(r"\$\{[^}]*\}", "", re.sub(r'"[^"]*"', "", line))
    return text.count("{") - text.count("}")


def getopts(code: list[tuple[int, str]]) -> tuple[int | None, list[tuple[str, bool]]]:
    for number, line in code:
        match = GETOPTS.search(line)
        if match:
            spec = next(g for g in match.groups() if g is not None).lstrip(":")
            letters: list[tuple[str, bool]] = []
            for index, char in enumerate(spec):
                if char.isalnum() and char not in {c for c, _ in letters}:
                    letters.append((char, spec[index + 1 : index + 2] == ":"))
            return number, letters
    return None, []


def positionals(code: list[tuple[int, str]]) -> dict[int, Positional]:
    found: dict[int, Positional] = {}
    for number, line in code:
        for match in BRACED.finditer(line):
            if int(match.group(1)) == 0:
                continue
            item = found.setdefault(int(match.group(1)), Positional(int(match.group(1)), number))
            operator = OPERATOR.match(match.group(2))
            # ${1%.*} and the like use the value as it is, like a plain $1.
            word = match.group(2)[operator.end() :] if operator else ""
            _use(item, operator.group(0) if operator else "", word, line, match.start())
        for match in PLAIN.finditer(line):
            item = found.setdefault(int(match.group(1)), Positional(int(match.group(1)), number))
            _use(item, "", "", line, match.start())
    return found


def _use(item: Positional, operator: str, word: str, line: str, start: int) -> None:
    item.uses.add(operator)
    word = word.strip().strip("\"'")
    if operator in ("?", ":?"):
        item.message = item.message or word
    elif operator in ("-", ":-", "=", ":="):
        item.required = False
        # ${1:-} only keeps `set -u` quiet: optional, with no default to show.
        if word and "$" not in word and "`" not in word:
            item.default = word
    elif operator in ("+", ":+"):
        item.required = False
    if "?" in item.uses or ":?" in item.uses:
        item.required = True
    assigned = re.search(r"([A-Za-z_]\w*)=[\"']?$", line[:start])
    if assigned and not item.variable:
        item.variable = assigned.group(1)
