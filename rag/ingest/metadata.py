"""Document metadata read from the document's own text: title, issuer, document number, type, dates,
validity, status, level and region — each value with the line it was read from.

    meta = extract_metadata(text, "通知.docx")
    meta.title, meta.sources["title"]        # "某市人民政府关于…的实施意见", "某市人民政府 / 关于… / 新动能的实施意见"

What is read (and from where):

- **title** — the first title-like line of the header (the lines before the body), joined with its
  continuation lines when wrapped, with a preceding issuer line when the next line starts with 关于
  (某市人民政府 / 关于…的实施意见), with parenthesised lines right after it ((2021-2025年), (征求意见稿));
  a line that is only 《…》 gives the text inside. Spaces next to Chinese characters are removed.
  Unknown title: the file name's stem (source ``"file name"``).
- **issuer** — a header line that is an organ name (…人民政府, …厅, …委员会; several separated by
  spaces or 、 are joined with 、), else the organ before 关于 in the title, else the body that adopted
  the text (深圳市第七届人民代表大会常务委员会第八次会议通过 → 深圳市人民代表大会常务委员会), else the
  signature (an organ line just before the closing date).
- **doc_number** — 国发〔2019〕5号 (or a promulgation notice's 某某常务委员会公告第28号 / 某某人民政府令第290号)
  in the header or the first lines; [] () ［］（）【】 brackets are written
  〔〕 and full-width digits ASCII (the standard form of GB/T 9704).
- **doc_type** — the kind word the title ends with (实施方案, 实施意见, 条例, 办法, 通知 …; ``DOC_TYPES``).
- **dates** — every dated event of the header and the closing lines with its kind (成文, 印发, 发布,
  公布, 通过, 修订, 修正, 批准); ``issued_date`` is, for a text adopted by a congress, the latest
  通过/修订/修正/批准/公布 date (the date of the version the text is), else the first 成文/印发/发布/公布 date; ``effective_date`` from 自…起施行 (自印发之日起
  施行 takes the issued date).
- **period** — years of the title ((2021-2025年), 2021—2025年), 规划期(限)为2016年至2020年, 有效期X年
  (from the effective or issued date), 有效期至…/至…止; ``outlook_year`` from 展望至2035年.
- **status** — 征求意见稿, 草案, 试行, 暂行 in the title; 已废止/已失效/已修订 on a header line of its own.
- **level/region** — places found through the complete gazetteer of China's administrative divisions
  shipped by the ``jionlp`` package (province / prefecture / county, with short names), looked up in the
  issuer, then the title, then the header, then the opening paragraph (the region named most often,
  titles in 《》 not counted); ``level`` is 省级, 市级 or 县级; a national organ (国务院…, 国发/国办发
  numbers, …部 without a place) gives ``level`` "国家级" and ``region`` "全国".

Unknown stays unknown (None), never guessed. Dates are ISO 8601 strings as precise as the text states
them: ``"YYYY-MM-DD"``, or ``"YYYY-MM"`` when the text states only the month (no day is invented);
years are ints. ``sources[field]`` is the verbatim line (stripped) a value was read from (lines joined
by " / " for a wrapped title), ``"file name"``, ``"manifest"`` or ``"user"``.

The gazetteer, ``find_places`` and ``bare_region`` live in ``rag.ingest.places`` and are re-exported here.

Accuracy against the manifest or hand labels: ``python -m rag.eval.metadata_accuracy`` (rag/eval/metadata_accuracy.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path

from rag.ingest.places import (  # noqa: F401  (re-exported: the gazetteer and places moved to rag.ingest.places)
    GAZETTEER_CACHE_VERSION, NameMatch, NameMatcher, Place, _gazetteer_cache_path, _parse_gazetteer, _place_index,
    _write_cache, bare_region, find_places, gazetteer)


# The DOC fields (``rag info --json``) that metadata gives, in display order.
DOC_FIELDS = ("title", "issuer", "doc_number", "doc_type", "level", "region", "issued_date", "effective_date",
              "period_start", "period_end", "status")
# Kinds of documents, longest first where one ends another (实施意见 before 意见).
DOC_TYPES = ("实施方案", "实施意见", "实施细则", "实施办法", "行动计划", "行动方案", "若干措施", "若干规定",
             "若干意见", "工作方案", "指导意见", "管理办法", "暂行办法", "条例", "办法", "规定", "细则", "意见",
             "规划", "纲要", "通知", "决定", "决议", "措施", "方案", "计划", "规则", "指南", "公告", "通告",
             "批复", "报告", "章程", "标准", "函")
_TYPE_OF = {"管理办法": "办法", "暂行办法": "办法", "工作方案": "方案", "指导意见": "意见"}
_TYPES_RX = "|".join(sorted(set(DOC_TYPES), key=len, reverse=True))
LEVELS = {"province": "省级", "city": "市级", "county": "县级"}
NATIONAL_LEVEL, NATIONAL_REGION = "国家级", "全国"


@dataclass(frozen=True)
class DatedEvent:
    """One dated statement: ``kind`` (成文, 印发, 发布, 公布, 通过, 修订, 修正, 批准, 施行), ``date``
    (ISO "YYYY-MM-DD" or "YYYY-MM"), the verbatim ``line`` it was read from and ``amends``: "修订" or "修正" when
    its clause amends the text, whatever its kind ("…批准的《…关于修改…的决定》修正": kind 批准, amends 修正)."""

    kind: str
    date: str
    line: str
    amends: str = ""


@dataclass(frozen=True)
class ExtractedMetadata:
    """What a document's text states about it; None = not stated. ``sources``: field name → where the
    value came from (verbatim line, "file name", "manifest" or "user"). ``dates``: every dated event."""

    title: str | None = None
    issuer: str | None = None
    doc_number: str | None = None
    doc_type: str | None = None
    level: str | None = None
    region: str | None = None
    issued_date: str | None = None
    effective_date: str | None = None
    period_start: int | None = None
    period_end: int | None = None
    outlook_year: int | None = None
    status: str | None = None
    history: tuple[tuple[str, str], ...] | None = None
    dates: tuple[DatedEvent, ...] = ()
    sources: dict = field(default_factory=dict, compare=False, hash=False)

    def values(self) -> dict:
        """field → value of the stated (non-None) value fields (not ``dates``/``sources``)."""
        return {f.name: getattr(self, f.name) for f in dc_fields(self)
                if f.name not in {"dates", "sources"} and getattr(self, f.name) is not None}

    def statements(self) -> tuple[str, ...]:
        """The distinct verbatim lines the values were read from (for the document card), in field order."""
        out: list[str] = []
        for name in (*DOC_FIELDS, "outlook_year"):
            src = self.sources.get(name)
            if src and src not in {"file name", "manifest", "user"}:
                for part in src.split(" / "):
                    if part not in out:
                        out.append(part)
        return tuple(out)


# --- lines -------------------------------------------------------------------------------------
_PAGE_NO = re.compile(r"^[-—–一－\s]*\d+[-—–一－\s]*$|^第\s*\d+\s*页")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_CJK = r"\u3400-\u9fff\uf900-\ufaff"


def _norm(line: str) -> str:
    """A header line for matching: full-width letters/digits ASCII, Markdown marks gone, no spaces
    next to Chinese characters."""
    from rag.ingest.cleaning import fullwidth_alnum_to_ascii  # (not at import: the question path needs no cleaning)

    s = fullwidth_alnum_to_ascii(line).strip().lstrip("#>").strip().strip("*_").strip()
    return re.sub(rf"\s+(?=[{_CJK}（）()《》“”〔〕\[\]])|(?<=[{_CJK}（）()《》“”〔〕\[\]])\s+", "", s)


def _lines(text: str) -> list[tuple[str, str]]:
    """(normalised, verbatim) non-empty lines of ``text`` without comments, page numbers, 附件 labels
    and table-of-contents headings."""
    out = []
    for raw in _COMMENT.sub("\n", text).splitlines():
        verbatim = raw.strip().lstrip("#").strip()
        n = _norm(raw)
        if not n or _PAGE_NO.match(n) or re.fullmatch(r"附件\d*[:：]?", n):
            continue
        out.append((n, verbatim))
    return out


_BODY_START = re.compile(r"^(?:第[一二三四五六七八九十百零〇\d]+[章节条编]|[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十]+[)）]"
                         r"|\d+[.．、]\D|前言$|序言$|目录$|目次$|总则$)")
_ORG_SUFFIX = (r"(?:人民代表大会常务委员会|人大常委会|人民代表大会|人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室"
               r"|委员会|政府|厅|局|委|部|院|署|办|中心|协会|联合会|法院|检察院|银行|党委|省委|市委|县委|区委)")
_ORG = re.compile(rf"^[{_CJK}“”（）()]{{2,40}}?{_ORG_SUFFIX}$")
_DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0, "Ｏ": 0}
_CN_DATE = re.compile(r"([〇零○一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月(?:([一二三四五六七八九十]{1,3})日)?")
_EVENT_KIND = re.compile(r"成文|印发|发布|公布|通过|修订|修正|批准|施行")
_DOC_NO = re.compile(r"([\u4e00-\u9fff]{1,12}?[发函字令复电告通办])\s*[〔\[［(（【]\s*((?:19|20)\d{2})\s*[〕\]］)）】]"
                     r"\s*(?:第\s*)?(\d{1,4})\s*号")
# a promulgation notice's number: 宁波市第十三届人民代表大会常务委员会公告第28号, 广东省人民政府令第290号
_NOTICE_NO = re.compile(r"([\u4e00-\u9fff]{2,40}?(?:公告|令))\s*(?:[（(]?\s*第\s*)(\d{1,4})\s*号")
_TITLE_END = re.compile(rf"(?:{_TYPES_RX})(?:[（(][^（）()]{{1,24}}[)）])*$")
_PAREN_LINE = re.compile(r"^[（(][^（）()]{1,24}[)）]$")


def _cn_number(s: str) -> int:
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    return _CN_DIGITS.get(s, 0)


def _arabic_dates(line: str) -> str:
    """``line`` with 二〇二四年一月三日 written 2024年1月3日."""
    def conv(m):
        y = "".join(str(_CN_DIGITS[c]) for c in m.group(1))
        d = f"{_cn_number(m.group(3))}日" if m.group(3) else ""
        return f"{y}年{_cn_number(m.group(2))}月{d}"
    return _CN_DATE.sub(conv, line)


def _iso(m: re.Match) -> str | None:
    y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
    if not 1 <= mo <= 12 or (d and not 1 <= int(d) <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{int(d):02d}" if d else f"{y:04d}-{mo:02d}"


def _events(norm: str, verbatim: str) -> list[DatedEvent]:
    """Dated events of one line: each date with the kind word after it in its clause (none → 成文 when
    the line is only a date)."""
    line = _arabic_dates(norm)
    out = []
    for m in _DATE.finditer(line):
        iso = _iso(m)
        if not iso:
            continue
        rest = re.split(r"[。；;]|(?:19|20)\d{2}\s*年", line[m.end():])[0]
        kind = _EVENT_KIND.findall(rest)
        if kind:
            amends = next((k for k in ("修订", "修正") if k in kind), "")
            out.append(DatedEvent(kind[-1] if kind[-1] != "通过" or len(kind) == 1 else "通过", iso, verbatim, amends))
            if "修订" in kind and "通过" in kind:  # 修订通过
                out[-1] = DatedEvent("修订", iso, verbatim, amends)
            if "批准" in kind:  # 省人大常委会…批准的《市人大常委会关于修改…的决定》修正: an approval, not the province's revision
                out[-1] = DatedEvent("批准", iso, verbatim, amends)
        elif re.fullmatch(r"[（(]?\s*" + _DATE.pattern + r"\s*[)）]?", line):
            out.append(DatedEvent("成文", iso, verbatim))
    return out


def version_history(events: list[DatedEvent]) -> list[DatedEvent]:
    """The versions a regulation's header states, oldest first: its adoption events (通过, 修订, 修正, 批准 of
    ``events``) with each approval folded into what it approves — a province's 批准 of a city's regulation is the
    same version as the city's 通过 or 修订 before it, and a city's 通过 followed by the province's "批准的《…关于修改…的
    决定》修正" is one amendment (kept as the approval, ``amends`` 修正). An event repeated on two lines counts once.
    When the first of them amends the text, an earlier 公布/发布 is its origin (an administrative regulation:
    "1997年12月19日 中华人民共和国国务院令第238号公布" before "2008年5月25日 …第一次修订"). [] when there is none."""
    out: list[DatedEvent] = []
    adopted = sorted(dict.fromkeys(e for e in events if e.kind in {"通过", "修订", "修正", "批准"}), key=lambda e: e.date)
    if adopted and adopted[0].amends:
        origin = min((e for e in events if e.kind in {"公布", "发布"} and e.date < adopted[0].date),
                     key=lambda e: e.date, default=None)
        adopted = ([origin] if origin else []) + adopted
    for e in adopted:
        if out and out[-1].date == e.date and (out[-1].amends or out[-1].kind) == (e.amends or e.kind):
            continue  # the same event stated twice
        if e.kind == "批准" and out and not e.amends:
            continue  # the approval of the version adopted before it
        if e.kind == "批准" and len(out) > 1 and out[-1].kind == "通过" and not out[-1].amends:
            out[-1] = e  # the city's adoption of an amending decision, approved: one amendment
            continue
        out.append(e)
    return out


def _paragraphs(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(normalised, verbatim) paragraphs: hard-wrapped lines joined until one ends a sentence or is
    a heading."""
    out: list[tuple[str, str]] = []
    buf_n, buf_v = "", ""
    for n, v in lines:
        if _BODY_START.match(n) and buf_n:
            out.append((buf_n, buf_v))
            buf_n, buf_v = "", ""
        buf_n, buf_v = buf_n + n, buf_v + v
        if re.search(r"[。！？；：:!?;]$", n) or _BODY_START.match(n) or len(n) < 12:
            out.append((buf_n, buf_v))
            buf_n, buf_v = "", ""
    if buf_n:
        out.append((buf_n, buf_v))
    return out


def _sentence(verbatim: str, needle: str) -> str:
    """The sentence of ``verbatim`` (split after 。；) whose normalised form contains ``needle``."""
    for s in re.findall(r"[^。；;]+[。；;]?", verbatim):
        if needle in _norm(s):
            return s.strip()
    return verbatim


def _with_repeal(paragraph: str, sentence: str) -> str:
    """``sentence`` (the in-force statement of ``paragraph``) with the sentences after it up to the one that
    repeals a former text ("本条例自2022年1月1日起施行。2001年…通过的《…规定》同时废止。"): the final
    article says what the text replaces; ``sentence`` alone when no such sentence follows."""
    at = paragraph.find(sentence)
    if at < 0:
        return sentence
    rest = paragraph[at + len(sentence):]
    m = re.match(r"[^。；;]*?(?:同时|一并)?(?:废止|失效)[^。；;]*[。；;]?", rest)
    return (sentence + m.group()).strip() if m else sentence


def _is_org(line: str) -> bool:
    parts = [p for p in re.split(r"[\s、，,]+", line) if p]
    return bool(parts) and all(_ORG.match(p) and not _TITLE_END.search(p) for p in parts) and len(line) <= 80


def _clean_title(title: str) -> str:
    title = re.sub(r"\s+(?=[^A-Za-z0-9])|(?<=[^A-Za-z0-9])\s+", "", title)
    return title.strip("《》 ") if title.startswith("《") and title.endswith("》") else title


# --- extraction --------------------------------------------------------------------------------
HEADER_LINES = 14
METADATA_VERSION = 3  # bump when extraction changes: documents are re-read at the next ingest
_SALUTATION = re.compile(r"[：:]$")


def _header(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The lines before the body: up to the first heading, salutation (各…：) or prose paragraph."""
    out = []
    for n, v in lines[:HEADER_LINES]:
        dated = bool(_DATE.search(_arabic_dates(n)))
        if _BODY_START.match(n) or (_SALUTATION.search(n) and not dated):
            break
        if not dated and (re.search(r"[，。；,;]", n) or (len(n) > 40 and not _TITLE_END.search(n)
                                                          and not n.startswith("《"))):
            break
        out.append((n, v))
    return out


def _find_title(header: list[tuple[str, str]]) -> tuple[str | None, str | None, int]:
    """(title, source, index of its last header line) from the header; (None, None, -1) when none."""
    for i, (n, _v) in enumerate(header):
        if _DATE.search(_arabic_dates(n)) or _DOC_NO.search(n) or _PAREN_LINE.match(n):
            continue
        if _is_org(n) and not (i + 1 < len(header) and header[i + 1][0].startswith("关于")):
            continue
        parts, j = [i], i
        if _is_org(n):  # 某市人民政府 / 关于…
            j = i + 1
            parts.append(j)
        while not _TITLE_END.search(header[j][0]) and j + 1 < len(header) and len(parts) < 4:
            nxt = header[j + 1][0]
            if _DATE.search(_arabic_dates(nxt)) or _DOC_NO.search(nxt) or _is_org(nxt) or len(nxt) > 40:
                break
            j += 1
            parts.append(j)
        title_like = _TITLE_END.search(header[j][0]) or re.fullmatch(r"《[^》]+》", header[j][0])
        if not title_like and len(parts) == 1 and i + 1 < len(header):
            continue  # a stray line (附件说明, 密级) before the title
        while (j + 1 < len(header) and _PAREN_LINE.match(header[j + 1][0])
               and not _DATE.search(_arabic_dates(header[j + 1][0]))):
            j += 1
            parts.append(j)
        title = _clean_title("".join(header[k][0] for k in parts))
        return title, " / ".join(header[k][1] for k in parts), j
    return None, None, -1


_ADOPTING = re.compile(r"([\u4e00-\u9fff]{2,30}?)(?:第[一二三四五六七八九十\d]+届)?(人民代表大会(?:常务委员会)?)"
                       r"(?:第[一二三四五六七八九十百\d]+次(?:全体)?会议)?")


def _adopting_body(line: str) -> str | None:
    m = _ADOPTING.search(_DATE.sub("|", re.sub(r"《[^》]*》", "", _arabic_dates(line))))
    return m.group(1) + m.group(2) if m else None


_EFFECTIVE = re.compile(r"自\s*(?:(?P<date>(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)|(?P<rel>印发|发布|公布|颁布|签发)之日)"
                        r"\s*起(?:施行|实施|执行|生效)")
_VALID_YEARS = re.compile(r"有效期(?:为|限为)?\s*(\d{1,2}|[一二三四五六七八九十])\s*年")
_VALID_UNTIL = re.compile(r"(?:有效期(?:至|到)|至)\s*((?:19|20)\d{2})\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?\s*(?:止|截止|失效)?")
_PERIOD_RANGE = re.compile(r"((?:19|20)\d{2})\s*年?\s*(?:[—–\-~～－]+|至|到)\s*((?:19|20)\d{2})\s*年?")
_PERIOD_TEXT = re.compile(r"(?:规划|实施|执行|行动)?期(?:限)?(?:为|是|：|:)?\s*((?:19|20)\d{2})\s*年?\s*(?:[—–\-~～－]+|至|到)\s*"
                          r"((?:19|20)\d{2})\s*年")
_OUTLOOK = re.compile(r"展望(?:到|至)\s*((?:19|20)\d{2})\s*年")
_STATUS_TITLE = (("征求意见稿", "征求意见稿"), ("送审稿", "送审稿"), ("草案", "草案"), ("试行", "试行"), ("暂行", "暂行"))
_STATUS_LINE = re.compile(r"^[（(【\[]?\s*(已废止|已失效|已修订|已被修订|废止|失效)\s*[)）】\]]?$")
_NATIONAL_ORG = re.compile(r"^(?:国务院|全国人民代表大会|中共中央|中华人民共和国|国家|最高人民法院|最高人民检察院|中央)")
_NATIONAL_NO = re.compile(r"^国(?:办)?[发函令]")


def extract_metadata(text: str, file_name: str = "") -> ExtractedMetadata:
    """Read the metadata a document states about itself (see the module docstring for what is read
    from where). ``text``: the document text (raw or cleaned; full-width digits, Markdown heading marks,
    HTML comments and page numbers are tolerated); ``file_name``: used only for the title when the text
    states none (source "file name"). Never raises on odd input: what cannot be read stays None."""
    values: dict = {}
    sources: dict[str, str] = {}

    def put(name, value, source):
        if value is not None and values.get(name) is None:
            values[name], sources[name] = value, source

    lines = _lines(text or "")
    header = _header(lines)
    title, title_src, title_end = _find_title(header)
    put("title", title, title_src)
    if title is None and file_name:
        stem = re.sub(r"[（(]\d{4}-\d{2}-\d{2}[)）]$", "", Path(file_name).stem).strip()
        put("title", stem or None, "file name")
    tail = lines[-8:] if len(lines) > len(header) + 8 else lines[len(header):]

    # document number, issuer lines, status lines, dated events
    events: list[DatedEvent] = []
    for n, v in header + lines[len(header):len(header) + 6]:
        m = _DOC_NO.search(n)
        if m and "doc_number" not in values:
            put("doc_number", f"{m.group(1)}〔{m.group(2)}〕{int(m.group(3))}号", v)
        m = _NOTICE_NO.search(_DATE.sub("|", _arabic_dates(n)))
        if m and "doc_number" not in values:
            put("doc_number", f"{m.group(1)}第{int(m.group(2))}号", v)
    for k, (n, v) in enumerate(header):
        if k > title_end and _is_org(n):
            put("issuer", "、".join(p for p in re.split(r"[\s、，,]+", n) if p), v)
        sm = _STATUS_LINE.match(n)
        if sm:
            put("status", sm.group(1).replace("已被", "已"), v)
        events.extend(_events(n, v))
    if title and title_src != "file name":
        m = re.match(r"^(.{2,40}?)关于", title)
        if m and _is_org(m.group(1)):
            put("issuer", m.group(1), title_src)
    versions = [e for e in events if e.kind in {"通过", "修订", "修正", "批准"}]
    history = version_history(events)
    if history:  # the regulation's history (题注), oldest first, with the lines stating it
        put("history", tuple((e.amends or e.kind, e.date) for e in history),
            " / ".join(dict.fromkeys(e.line for e in history)))
    for e in sorted(versions, key=lambda e: e.date, reverse=True):  # the body that adopted this version
        if e.kind != "批准":  # a province approving a city's regulation is not its issuer
            put("issuer", _adopting_body(_norm(e.line)), e.line)
    # the closing lines: signature organ and date
    tail_events = []
    for k, (n, v) in enumerate(tail):
        evs = _events(n, v)
        if evs and evs[0].kind == "成文" and k > 0 and _is_org(tail[k - 1][0]):
            put("issuer", "、".join(p for p in re.split(r"[\s、，,]+", tail[k - 1][0]) if p), tail[k - 1][1])
        tail_events.extend(e for e in evs if e.kind == "成文" or len(n) <= 30)
    events.extend(e for e in tail_events if e not in events)

    # type and status from the title
    if title and title_src != "file name":
        bare = re.sub(r"(?:[（(][^（）()]{1,24}[)）])+$", "", title)
        kind = next((t for t in sorted(DOC_TYPES, key=len, reverse=True) if bare.endswith(t)), None)
        put("doc_type", _TYPE_OF.get(kind, kind), title_src)
        for word, status in _STATUS_TITLE:
            if word in title:
                put("status", status, title_src)
                break

    # dates
    if versions:  # a regulation: the date of the version the text is
        issued = max((e for e in events if e.kind in {"通过", "修订", "修正", "批准", "公布"}), key=lambda e: e.date)
    else:
        issued = next((e for e in events if e.kind in {"成文", "印发", "发布", "公布"}), None)
    if issued:
        put("issued_date", issued.date, issued.line)
    body = _paragraphs(lines[len(header):])
    for n, v in body:
        m = _EFFECTIVE.search(_arabic_dates(n))
        if m:
            v = _with_repeal(v, _sentence(v, m.group()))
            if m.group("date"):
                iso = _iso(_DATE.search(m.group("date")))
                put("effective_date", iso, v)
                events.append(DatedEvent("施行", iso, v)) if iso else None
            elif values.get("issued_date"):
                put("effective_date", values["issued_date"], v)
            break
    if "effective_date" not in values:
        e = next((e for e in events if e.kind == "施行"), None)
        if e:
            put("effective_date", e.date, e.line)

    # period
    if title and title_src != "file name":
        m = _PERIOD_RANGE.search(title)
        if m and int(m.group(1)) <= int(m.group(2)):
            put("period_start", int(m.group(1)), title_src)
            put("period_end", int(m.group(2)), title_src)
    for n, v in body[:12]:
        m = _PERIOD_TEXT.search(n)
        if m and int(m.group(1)) <= int(m.group(2)):
            put("period_start", int(m.group(1)), _sentence(v, m.group()))
            put("period_end", int(m.group(2)), _sentence(v, m.group()))
        o = _OUTLOOK.search(n)
        if o:
            put("outlook_year", int(o.group(1)), _sentence(v, o.group()))
    for n, v in body:
        m = _VALID_YEARS.search(n)
        start = values.get("effective_date") or values.get("issued_date")
        if m and start:
            years = int(m.group(1)) if m.group(1).isdigit() else _cn_number(m.group(1))
            first = int(start[:4])
            starts_jan1 = start[5:] in ("01-01", "01")
            put("period_start", first, _sentence(v, m.group()))
            put("period_end", first + years - (1 if starts_jan1 else 0), _sentence(v, m.group()))
            break
        u = _VALID_UNTIL.search(n) if ("有效期" in n or "止" in n) else None
        if u:
            put("period_end", int(u.group(1)), _sentence(v, u.group()))
            break

    # level and region: issuer, title, doc number, header, opening paragraph
    issuer = values.get("issuer")
    national_src = None
    if issuer and _NATIONAL_ORG.match(issuer):
        national_src = sources["issuer"]
    elif values.get("doc_number") and _NATIONAL_NO.match(values["doc_number"]):
        national_src = sources["doc_number"]
    candidates = []
    if issuer:
        candidates.append((issuer, sources["issuer"], False))
    if title and title_src != "file name":
        candidates.append((re.sub(r"《[^》]*》", "", title), title_src, True))
    candidates += [(n, v, False) for n, v in header]
    for s, src, short in candidates:
        if national_src and not find_places(s, short_names=False):
            break
        found = find_places(s, short_names=short or bool(re.match(r"^[\u4e00-\u9fff]{2,4}(?:经济特区|新区)", s)))
        if found and (short or s is not issuer or found[0][1] == 0):
            place = _most_specific(found)
            put("region", place.name, src)
            put("level", LEVELS[place.level], src)
            break
    if national_src and "region" not in values:
        put("level", NATIONAL_LEVEL, national_src)
        put("region", NATIONAL_REGION, national_src)
    if "region" not in values and not issuer:
        opening = [(n, v) for n, v in body[:4] if len(n) >= 20 and not _BODY_START.match(n)]
        _region_from_opening(opening, put)

    return ExtractedMetadata(**values, dates=tuple(events), sources=sources)


def _most_specific(found: list[tuple[Place, int]]) -> Place:
    """The first place, or a place inside it named right after it (浙江省杭州市 → 杭州市)."""
    place = found[0][0]
    for p, _ in found[1:]:
        if p.province == place.province and list(LEVELS).index(p.level) > list(LEVELS).index(place.level):
            place = p
        else:
            break
    return place


def _region_from_opening(lines: list[tuple[str, str]], put) -> None:
    """The region named most often (≥ 2 mentions, or the only one named) in the opening paragraph,
    titles in 《》 not counted; nothing when two regions are named equally often."""
    from collections import Counter

    for n, v in lines[:1]:
        found = find_places(re.sub(r"《[^》]*》", "", n))
        if not found:
            continue
        counts = Counter(p for p, _ in found)
        ranked = counts.most_common()
        top, k = ranked[0]
        if len(ranked) > 1 and ranked[1][1] == k:
            return
        if k >= 2 or len(ranked) == 1:
            src = _sentence(v, next(p.name if p.name in n else p.aliases[0] for p, _ in found if p is top))
            put("region", top.name, src)
            put("level", LEVELS[top.level], src)
            return
