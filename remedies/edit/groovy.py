"""A small Groovy lexer and block tree: enough of the language to find Jenkinsfile directives and steps safely.

It knows comments, every string form (single, double with `${…}`, triple, slashy, dollar-slashy), braces and
parentheses. Anything it cannot follow raises `EditRefused` with the line, so an editor never guesses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from earthly_doctor.remedies.edit.text import EditRefused, Lines

# After these tokens a `/` starts a slashy string rather than a division.
_SLASHY_AFTER = set("([{,=;:!&|?~+-*<>%^") | {None, "return"}
_WORD = re.compile(r"[A-Za-z_$][\w$]*|\d[\w.]*")


@dataclass
class Tok:
    kind: str  # ident | str | num | punct
    text: str
    start: int
    end: int
    quote: str = ""  # for str: ' " ''' """ / $/
    body_start: int = 0
    body_end: int = 0
    interpolated: bool = False  # a GString with ${…} or $name inside

    @property
    def body(self) -> str:
        return self.text[self.body_start - self.start : self.body_end - self.start]


@dataclass
class Block:
    """A `{ … }` with what precedes it: `name {`, `name(args) {`, or `.name(args) {` (then `dotted` is True)."""

    name: str | None
    open: int  # token index of `{`
    close: int = -1  # token index of `}`
    parent: int | None = None  # index into Tree.blocks
    name_tok: int | None = None
    paren_open: int | None = None  # token index of `(` of the call the closure belongs to
    paren_close: int | None = None
    dotted: bool = False
    children: list[int] = field(default_factory=list)


class Tree:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = Lines(text)
        self.toks: list[Tok] = _lex(text, self.lines)
        self.blocks: list[Block] = []
        self.block_of: list[int | None] = []  # innermost block containing each token (the braces excluded)
        self.paren_match: dict[int, int] = {}
        self._paren_back: dict[int, int] = {}
        self._build()

    # --- construction -------------------------------------------------------------------------------------
    def _build(self) -> None:
        stack: list[int] = []
        parens: list[int] = []
        for i, tok in enumerate(self.toks):
            current = stack[-1] if stack else None
            if tok.kind == "punct" and tok.text in "([":
                parens.append(i)
            elif tok.kind == "punct" and tok.text in ")]":
                if not parens:
                    raise EditRefused(self.line(i), f"unbalanced {tok.text!r}")
                opener = parens.pop()
                self.paren_match[opener] = i
                self._paren_back[i] = opener
            if tok.kind == "punct" and tok.text == "{":
                self.block_of.append(current)
                block = self._head(i)
                block.parent = current
                self.blocks.append(block)
                if current is not None:
                    self.blocks[current].children.append(len(self.blocks) - 1)
                stack.append(len(self.blocks) - 1)
            elif tok.kind == "punct" and tok.text == "}":
                if not stack:
                    raise EditRefused(self.line(i), "a '}' closes nothing")
                self.blocks[stack.pop()].close = i
                self.block_of.append(stack[-1] if stack else None)
            else:
                self.block_of.append(current)
        if stack:
            raise EditRefused(self.line(self.blocks[stack[-1]].open), "a '{' is never closed")
        if parens:
            raise EditRefused(self.line(parens[-1]), "a '(' is never closed")

    def _head(self, i: int) -> Block:
        prev = i - 1
        if prev >= 0 and self.toks[prev].kind == "punct" and self.toks[prev].text == ")":
            opener = self._paren_back.get(prev)
            if opener is not None and opener > 0 and self.toks[opener - 1].kind == "ident":
                name_i = opener - 1
                dotted = name_i > 0 and self.toks[name_i - 1].text == "."
                return Block(self.toks[name_i].text, i, name_tok=name_i, paren_open=opener, paren_close=prev, dotted=dotted)
            return Block(None, i)
        if prev >= 0 and self.toks[prev].kind == "ident":
            dotted = prev > 0 and self.toks[prev - 1].text == "."
            return Block(self.toks[prev].text, i, name_tok=prev, dotted=dotted)
        return Block(None, i)

    # --- queries ------------------------------------------------------------------------------------------
    def line(self, tok_index: int) -> int:
        return self.lines.line_of(self.toks[tok_index].start)

    def depth_blocks(self, block: int) -> list[int]:
        """Ancestors of a block, innermost first."""
        out, cur = [], self.blocks[block].parent
        while cur is not None:
            out.append(cur)
            cur = self.blocks[cur].parent
        return out

    def named(self, name: str, parent: int | str | None = "any") -> list[int]:
        return [
            b for b, blk in enumerate(self.blocks)
            if blk.name == name and not blk.dotted and (parent in ("any", blk.parent))
        ]

    def child(self, block: int, name: str) -> int | None:
        for c in self.blocks[block].children:
            if self.blocks[c].name == name and not self.blocks[c].dotted:
                return c
        return None

    def direct_tokens(self, block: int) -> list[int]:
        """Token indices directly inside a block: not in a child block, and not inside parentheses."""
        blk = self.blocks[block]
        out, depth = [], 0
        for i in range(blk.open + 1, blk.close):
            if self.block_of[i] != block:
                continue
            tok = self.toks[i]
            if tok.kind == "punct" and tok.text in "([":
                depth += 1
            elif tok.kind == "punct" and tok.text in ")]":
                depth -= 1
            elif depth == 0:
                out.append(i)
        return out

    def tokens_in(self, block: int) -> range:
        blk = self.blocks[block]
        return range(blk.open + 1, blk.close)

    def call_strings(self, names: set[str], within: range | None = None) -> list[int]:
        """String tokens passed to a step such as `sh 'x'`, `sh("x")`, `sh(script: "x", …)`."""
        found = []
        span = within if within is not None else range(len(self.toks))
        for i in span:
            tok = self.toks[i]
            if tok.kind != "ident" or tok.text not in names or (i > 0 and self.toks[i - 1].text == "."):
                continue
            j = i + 1
            if j < len(self.toks) and self.toks[j].text == "(":
                close = self.paren_match.get(j, j)
                k = j + 1
                while k < close:
                    t = self.toks[k]
                    if t.kind == "str" and (k == j + 1 or (self.toks[k - 1].text == ":" and self.toks[k - 2].text == "script")):
                        found.append(k)
                    k += 1
            elif j < len(self.toks) and self.toks[j].kind == "str":
                found.append(j)
            elif j + 1 < len(self.toks) and self.toks[j].kind == "ident" and self.toks[j + 1].text == ":":
                script = self._named_script(j)
                if script is not None:
                    found.append(script)
        return found

    def _named_script(self, j: int) -> int | None:
        """The `script:` string of a parenthesis-free named-argument call (`sh label: 'x', script: '…'`)."""
        n = len(self.toks)
        while j + 2 < n and self.toks[j].kind == "ident" and self.toks[j + 1].text == ":":
            value = j + 2
            if self.toks[j].text == "script":
                return value if self.toks[value].kind == "str" else None
            k = value
            while k < n and self.toks[k].text != ",":  # skip the value, parentheses and brackets whole
                last = self.paren_match.get(k, k) if self.toks[k].kind == "punct" and self.toks[k].text in "([" else k
                if self.statement_end_ok(last):
                    return None
                k = last + 1
            j = k + 1
        return None

    def statement_end_ok(self, tok_index: int) -> bool:
        """True when the token is the last of its statement (a newline, `;`, `}` or a comment follows)."""
        tok = self.toks[tok_index]
        nxt = self.toks[tok_index + 1] if tok_index + 1 < len(self.toks) else None
        if nxt is None or nxt.text in (";", "}"):
            return True
        return "\n" in self.text[tok.end : nxt.start]


def _lex(text: str, lines: Lines) -> list[Tok]:  # noqa: C901 -- grandfathered; split when next changed
    toks: list[Tok] = []
    i, n = 0, len(text)

    def prev_sig() -> str | None:
        return toks[-1].text if toks else None

    while i < n:
        ch = text[i]
        if ch in " \t\r\n\f":
            i += 1
            continue
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise EditRefused(lines.line_of(i), "a /* comment is never closed")
            i = j + 2
            continue
        if i == 0 and text.startswith("#!"):
            j = text.find("\n")
            i = n if j < 0 else j
            continue
        if ch in "'\"":
            toks.append(_string(text, i, lines))
            i = toks[-1].end
            continue
        if text.startswith("$/", i):
            j = i + 2
            while j < n and not text.startswith("/$", j):
                j += 2 if text[j] == "$" and j + 1 < n and text[j + 1] in "/$" else 1
            if j >= n:
                raise EditRefused(lines.line_of(i), "a $/ string is never closed")
            toks.append(Tok("str", text[i : j + 2], i, j + 2, "$/", i + 2, j))
            i = j + 2
            continue
        if ch == "/" and (prev_sig() in _SLASHY_AFTER):
            j = i + 1
            while j < n and text[j] != "/":
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise EditRefused(lines.line_of(i), "a slashy string /…/ is never closed")
            toks.append(Tok("str", text[i : j + 1], i, j + 1, "/", i + 1, j))
            i = j + 1
            continue
        word = _WORD.match(text, i)
        if word:
            toks.append(Tok("num" if ch.isdigit() else "ident", word.group(0), i, word.end()))
            i = word.end()
            continue
        if text.startswith("->", i):
            toks.append(Tok("punct", "->", i, i + 2))
            i += 2
            continue
        toks.append(Tok("punct", ch, i, i + 1))
        i += 1
    return toks


def _string(text: str, i: int, lines: Lines) -> Tok:
    quote = text[i] * 3 if text.startswith(text[i] * 3, i) else text[i]
    gstring = quote[0] == '"'
    j = i + len(quote)
    n = len(text)
    interpolated = False
    while j < n:
        if text[j] == "\\":
            j += 2
            continue
        if text.startswith(quote, j):
            return Tok("str", text[i : j + len(quote)], i, j + len(quote), quote, i + len(quote), j, interpolated)
        if len(quote) == 1 and text[j] == "\n":
            break
        if gstring and text.startswith("${", j):
            interpolated = True
            j = _skip_expression(text, j + 2, lines)
            continue
        if gstring and text[j] == "$" and j + 1 < n and (text[j + 1].isalpha() or text[j + 1] == "_"):
            interpolated = True
        j += 1
    raise EditRefused(lines.line_of(i), f"a {quote} string is never closed")


def _skip_expression(text: str, j: int, lines: Lines) -> int:
    """Skip the Groovy code of a `${…}` up to and including its closing brace."""
    depth = 1
    n = len(text)
    while j < n:
        ch = text[j]
        if ch in "'\"":
            j = _string(text, j, lines).end
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise EditRefused(lines.line_of(j - 1), "a ${ expression is never closed")
