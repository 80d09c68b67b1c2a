"""Cleaning of PDF-extracted Chinese policy text.

Handles every extraction artefact of the bundled corpus (see ``shared/seeds/README.md``):

* page numbers — ``一2一``, ``- 2 -``, ``-10-``, ``——12—`` — on their own line or glued to the end
  (or middle) of a sentence;
* hard line wraps in the middle of sentences, with or without blank lines between the wrapped lines;
* a table of contents with dot leaders or tab-separated page numbers;
* markdown ``#`` headings and ``- `` list markers;
* tables as tab-separated rows (kept, one row per line, never joined);
* tables as PDF text layers give them — one row per line, cells separated by spaces, cell text wrapped
  in a narrow column on short lines of its own (``mark_spaced_tables``): each row stays one line, the
  spaces between its cells become tabs (the only characters cleaning writes that the source has not:
  whitespace for whitespace, so the row reads the same), the header row too; the short lines between
  rows join only one another;
* full-width digits and Latin letters (``２０２４`` → ``2024``, ``６G`` → ``6G``);
* stray spaces between Chinese characters left by the wrapping (``牵头部门 负责`` → ``牵头部门负责``);
* HTML/Markdown comments (``<!-- INFO END -->``, ``[//]: # (…)``), zero-width characters (U+200B–U+200D,
  U+2060, U+FEFF) and control characters other than ``\n``/``\t`` (form feeds and U+2028/2029 become
  line breaks);
* Kangxi radicals and CJK compatibility ideographs (U+2F00–U+2FDF, U+F900–U+FAFF: Unicode NFKC of those
  characters only) and CJK radicals supplement (U+2E80–U+2EFF: the Unicode ``Equivalent_Unified_Ideograph``
  property, as shipped by the ``cjkfold`` package's table generated from the UCD's
  EquivalentUnifiedIdeograph.txt) mapped to the unified ideographs they stand for — PDFs printed from a
  browser carry ⼆ U+2F06 for 二 and ⻔ U+2ED4 for 门, which look right but match nothing.

Apart from those look-alike code points it never rewrites Chinese characters or punctuation: every character of the output except the
removed artefacts, joined line breaks and dropped spaces is the source's character, so quotes read
exactly as the document. Mixed half-/full-width punctuation is left as written; the sentence
splitter and heading detector accept both.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

# Page-number artefacts. Dashes seen: ASCII '-', '－', '—', and the CJK numeral '一' used as a dash.
_DASH = r"[-－—一–]"
PAGE_LINE_RE = re.compile(rf"^\s*{_DASH}{{1,2}}\s*\d{{1,3}}\s*{_DASH}{{1,2}}\s*$")
PAGE_TAIL_RE = re.compile(r"(?:一\d{1,3}一|——?\d{1,3}—{1,2}|-\s?\d{1,3}\s?-)\s*$")
# Mid-sentence page number between two Chinese characters: 技一2一术, 防-10-治.
PAGE_MID_RE = re.compile(r"(?<=[\u4e00-\u9fff，。、；：,])(?:一\d{1,3}一|——?\d{1,3}—{1,2}|-\d{1,3}-)(?=[\u4e00-\u9fff])")
TOC_TITLE_RE = re.compile(r"^\s*目\s*录\s*$")
TOC_LINE_RE = re.compile(r"^[^\t]{2,60}?(?:\.{3,}|…{2,}|·{3,})?\s*\t\s*\d{1,3}\s*$|^[^\t]{2,60}?(?:\.{3,}|…{2,}|·{3,})\s*\d{1,3}\s*$")
_DOT_LEADER = re.compile(r"\.{3,}|…{2,}|·{3,}")
MD_HEADING_RE = re.compile(r"^\s*#{1,6}\s*")
_MD_CLOSING_RE = re.compile(r"\s+#+\s*$")
MD_LIST_RE = re.compile(r"^\s*[-*]\s+(?=\S)")


def markdown_heading(line: str, title: bool = False) -> str:
    """A Markdown ATX heading line (``## 第一章 总则``, also one a DOCX/HTML reader wrote for a Word
    heading style or ``<h2>``) as it stays in the cleaned text: without its marks when its text is
    numbered (``第一章``, ``一、``, ``（一）`` …: the numbering gives the level, ``rag.ingest.chunking``) or when it
    is the document's ``title`` (its first non-blank line: a title is no section); otherwise as
    ``## 总则`` — the marks are then the only evidence that the line is a heading, and their count is
    its level. Closing marks (``## 总则 ##``) are dropped; marks not followed by a space (``#1号线``) are
    no heading in Markdown and stay as written."""
    from rag.ingest.chunking import numbered_heading_level

    m = MD_HEADING_RE.match(line)
    if not m:
        return line.strip()
    text = _MD_CLOSING_RE.sub("", line[m.end():]).strip()
    if not text or title or numbered_heading_level(text) is not None:
        return text
    if m.group().endswith("#"):
        return line.strip()  # "#1号线": no space after the marks
    return _MD_CLOSING_RE.sub("", line.strip())


# Heading starts of Chinese policy documents (used to stop line joining; chunking has the levels).
HEADING_START_RE = re.compile(
    r"^(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|\d{1,2}[.．、](?!\d)|专栏\s*\d)"
)
TERMINAL_PUNCT = set("。！？!?；;")
CJK_RE = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u2018-\u201d《》]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={CJK_RE})[ \t\u3000]+(?={CJK_RE})")


def fullwidth_alnum_to_ascii(text: str) -> str:
    """Map full-width digits and Latin letters (U+FF10–FF19, FF21–FF3A, FF41–FF5A) to ASCII."""
    return _FW_RE.sub(lambda m: chr(ord(m.group()) - 0xFEE0), text)  # a regex: linear and fast on long text


_FW_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")

# --- character normalisation --------------------------------------------------------------------
_COMMENT_RE = re.compile(r"<!--[\s\S]{0,20000}?-->")  # bounded: an unclosed "<!--" costs ≤ 20 k steps
_MD_COMMENT_LINE_RE = re.compile(r"^[ \t]*\[(?://|comment)\]:[ \t]*(?:#|<>)[^\n]*$", re.M | re.I)
_LINE_BREAKS = "\f\v\x1c\x1d\x1e\x85\u2028\u2029"


def _char_map() -> dict[str, str]:
    from cjkfold import EQUIVALENT_IDEOGRAPH

    table = {ch: "" for ch in map(chr, [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]) if ch not in "\n\t\r"}
    table.update({ch: "\n" for ch in _LINE_BREAKS})
    table.update({ch: "" for ch in "\u200b\u200c\u200d\u2060\ufeff"})
    for lo, hi in ((0x2F00, 0x2FDF), (0xF900, 0xFAFF)):
        for cp in range(lo, hi + 1):
            mapped = unicodedata.normalize("NFKC", chr(cp))
            if mapped != chr(cp):
                table[chr(cp)] = mapped
    table.update({ch: ideo for ch, ideo in EQUIVALENT_IDEOGRAPH.items() if 0x2E80 <= ord(ch) <= 0x2EFF})
    return table


_CHAR_MAP = _char_map()
_CHAR_RE = re.compile("[" + "".join(re.escape(ch) for ch in sorted(_CHAR_MAP)) + "]")


def normalize_characters(text: str) -> str:
    """Remove HTML/Markdown comments, zero-width and control characters (``\\n``, ``\\t``, ``\\r`` kept;
    form feed, U+2028/2029 → ``\\n``) and map Kangxi/CJK radicals and CJK compatibility ideographs to the
    unified ideographs they stand for (see the module docstring). Linear in ``len(text)``."""
    if "<!--" in text:
        text = _COMMENT_RE.sub("", text)
    if "]:" in text:
        text = _MD_COMMENT_LINE_RE.sub("", text)
    return _CHAR_RE.sub(lambda m: _CHAR_MAP[m.group()], text)


def display_width(text: str) -> int:
    """Columns the text takes on a page: 2 for wide/full-width characters, 1 otherwise."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_RESPONSIBILITY_TAIL = re.compile(r"[(（][^()（）]*(?:负责|牵头)[)）]\s*$")


def ends_sentence(line: str) -> bool:
    """True when ``line`` ends with sentence-final punctuation (also ``.`` after a Chinese character,
    as documents like 成府发〔2024〕2号 use it), optionally followed by closing quotes/brackets."""
    if line.rstrip().endswith(("]", "】")) or _RESPONSIBILITY_TAIL.search(line):
        return True  # a closing [责任单位:…] / (…牵头负责) tag ends its paragraph
    s = line.rstrip().rstrip("”’」』)）")
    if not s:
        return False
    if s[-1] in TERMINAL_PUNCT:
        return True
    return s[-1] == "." and len(s) > 1 and "\u4e00" <= s[-2] <= "\u9fff"


@dataclass
class _Line:
    text: str
    page_break_after: bool = False
    table: bool = False
    heading: bool = False
    md_heading: bool = False
    cell: bool = False  # a line inside a space-separated table that is no row (wrapped cell text, group label)
    spaced: str = ""  # the line before stray spaces between Chinese characters were dropped (when it had spaces)
    width: int = -1  # display_width(text), kept up to date on joins (computed once per source line)

    def __post_init__(self):
        if self.width < 0:
            self.width = display_width(self.text)


def _prepare_lines(raw: str) -> list[_Line]:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = normalize_characters(text)
    text = fullwidth_alnum_to_ascii(text)
    lines: list[_Line] = []
    in_toc = False
    for raw_line in text.split("\n"):
        line = raw_line.rstrip()
        if PAGE_LINE_RE.match(line):
            if lines:
                lines[-1].page_break_after = True
            continue
        if TOC_TITLE_RE.match(line):
            in_toc = True
            continue
        if TOC_LINE_RE.match(line.strip()) and line.count("\t") <= 1 and (in_toc or _DOT_LEADER.search(line)):
            in_toc = True
            continue
        if in_toc and line.strip():
            in_toc = False  # first non-TOC line ends the table of contents
        md_heading = bool(MD_HEADING_RE.match(line))
        if md_heading:
            line = markdown_heading(line, title=not any(l.text for l in lines))
        line = MD_LIST_RE.sub("", line)
        page_tail = bool(PAGE_TAIL_RE.search(line)) and len(line.strip()) > 4
        if page_tail:
            line = PAGE_TAIL_RE.sub("", line)
        line = PAGE_MID_RE.sub("", line)
        table = line.count("\t") >= 2
        spaced = line.strip()
        if not table:
            line = _SPACE_BETWEEN_CJK.sub("", spaced)
        else:
            line = spaced
        lines.append(_Line(line, page_break_after=page_tail, table=table,
                           heading=bool(HEADING_START_RE.match(line)), md_heading=md_heading,
                           spaced=spaced if not table and _CELL_GAP.search(spaced) else ""))
    mark_spaced_tables(lines)
    return lines


# --- tables whose cells are separated by spaces (PDF text layers) ---------------------------------
# A PDF table comes out of the text layer one row per line, its cells separated by single spaces
# ("8 规上工业企业 R&D经费投入强度（%） 1.2 1.5 预期性"), while cell text that wrapped inside its cell
# (column-group labels, long labels: "创新" / "驱动") comes out as short lines of its own between
# the rows. Without care, hard-wrap joining glues the whole table into one line.
_CELL_GAP = re.compile(r"[ \u3000]+")
_NUMBER_CELL = re.compile(r"[<>≤≥≈~～]?[+\-−]?\d+(?:[.,]\d+)*[%％‰]?(?:[-~～–—]\d+(?:[.,]\d+)*[%％‰]?)?[*＊]?")
_EMPTY_CELL = re.compile(r"[-－—–/／×]{1,2}")  # a dash standing for "no value"
_WORD_CELL = re.compile(r"[\u4e00-\u9fff]{1,4}")  # a short word after the values ("预期性", "约束性")
_ROW_NUMBER = re.compile(r"\d{1,3}")
_YEAR = re.compile(r"(?:19|20)\d\d")
_NOT_IN_TABLE = re.compile(r"[，。；！？!?;]")  # sentence punctuation: a line with it is prose
_CAPTION = re.compile(r"^(?:专栏|附?表)\s*\d")
_MAX_ROW_CHARS = 120
_MAX_CELL_LINE_CHARS = 40  # a line between two rows longer than this is prose: the table ends
_MAX_GAP_LINES = 16  # non-blank lines between two rows of one table (cell text wrapped every 4 characters)
_MAX_GAP_CHARS = 160  # and their characters
_MAX_HEADER_LOOKBACK = 12  # short lines between a table's caption and its first row
_HEADER_CELL_CHARS = 12


def _value(token: str) -> bool:
    return bool(_NUMBER_CELL.fullmatch(token) or _EMPTY_CELL.fullmatch(token))


def table_row_cells(line: str) -> list[str] | None:
    """The cells of ``line`` when it reads as one row of a space-separated table, else None.

    A row is ``[row number] label value … [word …]``: an optional serial number (1–3 digits), a
    label (the text in between, its inner spaces kept), then a run of value cells — numbers
    (``1.2``, ``7-9*``, ``60%``) or dashes standing for no value, optionally followed by short words
    (``预期性``). It needs two values, or one value and a row number, a label with a letter or
    ideograph, at most ``_MAX_ROW_CHARS`` characters and no sentence punctuation (，。；！？). Cells are verbatim
    substrings of ``line``; ``line`` is stripped."""
    line = line.strip()
    if len(line) > _MAX_ROW_CHARS or _NOT_IN_TABLE.search(line):
        return None
    tokens = _CELL_GAP.split(line)
    if len(tokens) < 3:
        return None
    lead = 1 if _ROW_NUMBER.fullmatch(tokens[0]) else 0
    end = len(tokens)
    while end > lead + 1 and _WORD_CELL.fullmatch(tokens[end - 1]):
        end -= 1  # trailing words
    words = len(tokens) - end
    while end > lead + 1 and _value(tokens[end - 1]):
        end -= 1
    values = len(tokens) - end - words
    if values == 0 or values + lead < 2:
        return None
    gaps = _CELL_GAP.findall(line)
    label = "".join(t + g for t, g in zip(tokens[lead:end - 1], gaps[lead:end - 1])) + tokens[end - 1]
    if _value(label) or not re.search(r"[^\W\d_]", label):
        return None
    return tokens[:lead] + [label] + tokens[end:]


def table_header_cells(line: str) -> list[str] | None:
    """The column labels of ``line`` when it reads as a header row of a space-separated table
    (≥ 2 cells of ≤ ``_HEADER_CELL_CHARS`` characters, one with a letter or ideograph, none a number
    other than a year or a dash, no sentence punctuation, not a data row); a year and the word after it are one cell (``2020 年值``). None
    otherwise."""
    line = line.strip()
    if _NOT_IN_TABLE.search(line) or "：" in line or ":" in line or table_row_cells(line):
        return None
    tokens = _CELL_GAP.split(line)
    gaps = _CELL_GAP.findall(line)
    cells: list[str] = []
    for i, tok in enumerate(tokens):
        if cells and _YEAR.fullmatch(cells[-1]) and tok[:1] == "年":
            cells[-1] += gaps[i - 1] + tok
        else:
            cells.append(tok)
    if len(cells) < 2 or any(len(c) > _HEADER_CELL_CHARS or (_value(c) and not _YEAR.fullmatch(c)) for c in cells):
        return None  # a label is no number (a bare year is) and no dash
    if not any(re.search(r"[^\W\d_]", c) for c in cells):
        return None
    return cells


def _cell_line(line: _Line) -> bool:
    """A short line that can sit inside a table (wrapped cell text, a group label, a row number)."""
    return (bool(line.text) and len(line.text) <= _MAX_CELL_LINE_CHARS and not _NOT_IN_TABLE.search(line.text)
            and not line.table and not line.md_heading and not _CAPTION.match(line.text))


def mark_spaced_tables(lines: list[_Line]) -> None:
    """Find tables of space-separated rows among ``lines`` (in place) and keep them apart from prose.

    A table is a run of ≥ 3 rows (``table_row_cells``), or 2 rows under a header line, in which
    consecutive rows are at most ``_MAX_GAP_LINES`` short lines (``_cell_line``, ≤ ``_MAX_GAP_CHARS``
    characters in all) apart. Its rows and
    its header (``table_header_cells``: the nearest header-shaped line among the short lines between
    the caption, a heading or prose and the first row) become tab-separated lines (``table``: never
    joined to a neighbour; the tab replaces the space between two cells, nothing else changes); the
    short lines in between (``cell``) join only one another — a line joins the one before it when it is
    no wider (the lines of a cell wrapped in a narrow column are full but the last: "创新" "驱动",
    "完成全省" "政府下达" "目标任务" "。") — never a row or the prose around the table. Linear in the number of lines."""
    rows = [i for i, l in enumerate(lines) if l.spaced and not l.table and table_row_cells(l.spaced)]
    in_rows = set(rows)
    groups: list[list[int]] = []
    for i in rows:
        if groups:
            prev = groups[-1][-1]
            between = [l for l in lines[prev + 1:i] if l.text]
            if (len(between) <= _MAX_GAP_LINES and sum(len(l.text) for l in between) <= _MAX_GAP_CHARS
                    and all(_cell_line(l) for l in between)):
                groups[-1].append(i)
                continue
        groups.append([i])
    for group in groups:
        first = group[0]
        header, start, seen = None, first, 0
        for j in range(first - 1, -1, -1):  # look back over the short lines above the first row
            line = lines[j]
            if not line.text:
                continue
            if line.heading or not _cell_line(line) or seen >= _MAX_HEADER_LOOKBACK:
                break
            seen += 1
            start = j
            if header is None and line.spaced and table_header_cells(line.spaced):
                header = j
        if len(group) < 3 and header is None:
            continue
        if header is None:
            start = first
        row_cells = {j: table_row_cells(lines[j].spaced) for j in group}
        counts = Counter(len(c) for c in row_cells.values())
        full = max(counts, key=lambda n: (counts[n], n))  # the cells of most rows
        for j in range(start, group[-1] + 1):
            line = lines[j]
            if not line.text:
                continue
            if j == header:
                cells = table_header_cells(line.spaced)
            elif j in row_cells:
                cells = row_cells[j] + (_wrapped_cells(lines, j + 1, full - len(row_cells[j]), in_rows)
                                        if len(row_cells[j]) < full else [])
            else:
                line.cell, line.heading = True, False
                continue
            line.text = "\t".join(cells)
            line.width = display_width(line.text)
            line.table, line.heading, line.page_break_after = True, False, False


def _wrapped_cells(lines: list[_Line], at: int, wanted: int, rows: set[int]) -> list[str]:
    """Up to ``wanted`` cells of a row whose last cells a PDF wrapped onto the short lines after it
    (``lines[at:]``, up to the next row): a cell is a run of lines each no wider than the one before
    ("完成全省" "政府下达" "目标任务" "。" — full lines but the last), the next cell starts with a wider
    line ("约束性"). Once the row has its cells, its last cell takes more lines only while they are
    as wide as the line before (and one shorter last line after ≥ 2 such lines): a single short line
    after it is rather the start of the next row's cells ("约束性" then "融合" "共享"). The lines taken
    are emptied (their text moves into the row)."""
    cells: list[str] = []
    last_width, full_lines, done = 0, 0, False
    for k in range(at, len(lines)):
        line = lines[k]
        if done or k in rows or line.table or (line.text and not _cell_line(line)):
            break
        if not line.text:
            continue
        if len(cells) == wanted:  # the last cell goes on only while it is clearly wrapping:
            if line.width == last_width:  # another line as wide as the one before
                full_lines += 1
            elif line.width < last_width and full_lines >= 2:  # the short last line after full ones
                done = True
            else:  # a single line or a new line of another kind: the next cell of the table, not this row's
                break
            cells[-1] += line.text
        elif cells and line.width <= last_width:
            cells[-1] += line.text
            full_lines = full_lines + 1 if line.width == last_width else 0
        else:
            cells.append(line.text)
            full_lines = 1
        last_width = line.width
        line.text, line.width, line.page_break_after = "", 0, False
    return cells


def _wrap_width(lines: list[_Line]) -> int:
    """The page's wrap width in columns: the most common width (within 4 columns) of non-table lines
    wider than 20 columns; 0 when no width holds ≥ 25 % of them (one paragraph per line)."""
    from collections import Counter

    widths = [l.width for l in lines if l.text and not l.table]
    counts = Counter(w for w in widths if w > 20)
    if not counts:
        return 0
    best = max(counts, key=lambda w: (sum(counts[w - d] for d in range(0, 5)), w))
    share = sum(counts[best - d] for d in range(0, 5)) / sum(counts.values())
    return best if share >= 0.25 else 0  # no dominant width: one paragraph per line


def clean_text(raw: str, hard_wrapped: bool = True) -> str:
    """Clean one extracted document; returns paragraphs separated by single ``\\n``. Linear in
    ``len(raw)``.

    ``hard_wrapped=False`` (DOCX, HTML: every line is a real paragraph) keeps each non-blank line as
    its own paragraph; otherwise (plain text, PDF) lines are joined. Line joining: a line is joined
    to the next non-blank line when it does not end a sentence, neither
    is a table row, the next line does not start a heading, and either a page break was removed after
    it or it fills the page width (≥ 85 % of the document's 90th-percentile line width) or it ends
    with a character that cannot end a paragraph (，、“ etc.).
    """
    lines = _prepare_lines(raw)
    if not hard_wrapped:
        return "\n".join(line.text for line in lines if line.text)
    width = _wrap_width(lines)
    paragraphs: list[str] = []
    current: _Para | None = None
    for line in lines:
        if not line.text:
            if current is not None and not _joins(current, None, width):
                paragraphs.append(current.joined())
                current = None
            continue
        if current is None:
            current = _Para(line)
            continue
        if _joins(current, line, width):
            current.append(line)
        else:
            paragraphs.append(current.joined())
            current = _Para(line)
    if current is not None:
        paragraphs.append(current.joined())
    return "\n".join(p for p in paragraphs if p)


_TAIL = 2000  # characters of a growing paragraph that the joining rules look at (its end)


class _Para:
    """A paragraph being assembled from lines: its parts, length and display width, so that joining
    n lines costs O(n) (the rules read only ``len`` and the last ``_TAIL`` characters)."""

    def __init__(self, line: _Line):
        self.parts = [line.text]
        self.length, self.width = len(line.text), line.width
        self.page_break_after, self.table = line.page_break_after, line.table
        self.heading, self.md_heading, self.cell = line.heading, line.md_heading, line.cell
        self.last_width = line.width  # display width of the last line joined

    @property
    def text(self) -> str:
        """The last ``_TAIL`` characters (all of a shorter paragraph)."""
        if len(self.parts) > 1 and len(self.parts[-1]) < _TAIL:
            tail, n = [], 0
            for part in reversed(self.parts):
                tail.append(part)
                n += len(part)
                if n >= _TAIL:
                    break
            return "".join(reversed(tail))[-_TAIL:]
        return self.parts[-1][-_TAIL:]

    def append(self, line: _Line) -> None:
        last = self.parts[-1][-1:]
        sep = " " if last.isascii() and last.isalnum() and line.text[:1].isascii() and line.text[:1].isalpha() else ""
        self.parts.append(sep + line.text)
        self.length += len(sep) + len(line.text)
        self.width += len(sep) + line.width
        self.page_break_after = line.page_break_after
        self.md_heading = False
        self.last_width = line.width

    def joined(self) -> str:
        return "".join(self.parts)


_NO_PARAGRAPH_END = set("，、,“‘（(《—-")


def _fills_line(a: _Para, width: int) -> bool:
    """Whether ``a`` reaches the wrap width (ideograph-final lines need only 70 % of it)."""
    if width <= 0:
        return False
    w = a.width
    if w >= width - 6:
        return True
    last = a.parts[-1][-1]
    return not (a.heading and a.length < 40) and ("\u4e00" <= last <= "\u9fff" or last.isalnum()) and w >= 0.7 * width


def _joins(a: _Para, b: _Line | None, width: int) -> bool:
    """Whether paragraph-so-far ``a`` continues with line ``b`` (``None``: look-ahead over a blank)."""
    if a.cell or (b is not None and b.cell):  # inside a table, wrapped cell text joins only its own kind:
        return b is None or (a.cell and b.cell and b.width <= a.last_width)  # (full lines but the last)
    tail = a.text
    if a.table or ends_sentence(tail):
        return False
    core = tail.rstrip("”’」』)）") or tail  # look past closing quotes/brackets
    continues = (a.page_break_after or _fills_line(a, width) or tail[-1] in _NO_PARAGRAPH_END
                 or (a.length >= 30 and "\u4e00" <= core[-1] <= "\u9fff" and not (a.heading and a.length < 40)))
    if b is None:  # a blank line: keep ``a`` open only if it clearly continues
        return continues
    if b.table or b.md_heading or a.md_heading or (b.heading and tail[-1] not in _NO_PARAGRAPH_END):
        return False
    return continues
