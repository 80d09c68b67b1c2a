"""Questions not written in Chinese: English (or mixed) questions against Chinese documents.

    prep = prepare_question("What subsidies do SMEs get in Hangzhou?", index, llm=False)
    prep.query   → "补贴 补助 中小企业 杭州"      # searched and answered instead of the English words
    prep.reply   → None                          # or ASK_IN_CHINESE when it cannot be mapped

* ``kind`` — "zh" (no English words, or only acronyms beside Chinese text), "mixed" (Chinese with
  English words) or "en" (English words and hardly any Chinese).
* English words are mapped to the documents' terms through the glossary ``rag/data/glossary_en_zh.json``
  (common policy words, longest phrase first, plural/-ing/-ed forms reduced) and place names written in
  pinyin (Sichuan, Hangzhou, Zhejiang Province) through the administrative-division gazetteer
  (``rag.ingest.metadata.gazetteer``; the pinyin of its province and prefecture names from jionlp's
  dictionaries), places of the indexed documents first. Years and numbers are kept.
* An English question whose content words are mostly not in the glossary is not guessed at: offline its
  answer is ``ASK_IN_CHINESE`` (one line in both languages; text that is no English sentence — code,
  markup, stray words — goes on to the no-content refusal of ``rag.answer.refusal``); with an LLM configured the question goes on
  as written and the LLM's query rewriting translates it (``prompts/rewrite.md``).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from rag.settings import DATA_DIR

GLOSSARY_PATH = DATA_DIR / "glossary_en_zh.json"
ASK_IN_CHINESE = ("请用中文提问：文件均为中文，这个英文问题无法可靠地对应到文件用语。"
                  " Please ask in Chinese: the documents are in Chinese and this question could not be mapped to their terms.")
MIN_COVERAGE = 0.5
"""Share of an English question's content words the glossary and gazetteer must map before it is searched."""

_WORD = re.compile(r"[A-Za-z][A-Za-z&']*[A-Za-z]|[A-Za-z]|\d+(?:\.\d+)?%?")  # hyphens split words
_CJK = re.compile(r"[\u4e00-\u9fff]")
# words that carry no content of their own (function words, auxiliaries, pronouns)
STOPWORDS = frozenset("""
a an the of in on at to for from by with without about into onto over under between among within and or nor but
is are was were be been being am do does did done will would shall should can could may might must have has had
having it its it's this that these those there here their they them he she his her we our us you your i me my
what's which's who's how's any all some each every such same other another than then so as if not no yes also
only just very more most much many please tell give show list explain describe according mentioned say says said
get gets got need needs want wants like s etc e.g i.e vs per
""".split())
QUESTION_TERMS = frozenset({"什么", "哪些", "多少", "如何", "何时", "谁", "哪里"})
"""Glossary renderings of English question words: no content of their own."""
_QUESTION_START = frozenset("what which how when who whom whose where why is are does do did can could will "
                            "should may has have".split())
_SUFFIXES = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"), ("s", ""), ("ing", ""),
             ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", ""))
_PLACE_SUFFIX = {"province": "省", "city": "市", "municipality": "市", "prefecture": "州", "county": "县",
                 "district": "区"}


@dataclass(frozen=True)
class PreparedQuestion:
    """A question ready for search: ``query`` (the text to plan, retrieve and answer with extractively;
    the question itself when nothing was mapped), ``kind`` ("zh" | "mixed" | "en"), ``mapped``
    (English word or phrase → Chinese terms used), ``unmapped`` (English content words left), and
    ``reply`` (the whole answer instead of a search: ``ASK_IN_CHINESE``; None otherwise)."""

    question: str
    query: str
    kind: str = "zh"
    mapped: tuple[tuple[str, tuple[str, ...]], ...] = ()
    unmapped: tuple[str, ...] = ()
    reply: str | None = None
    notices: tuple[str, ...] = field(default=())


@functools.lru_cache(maxsize=1)
def glossary() -> dict[str, tuple[str, ...]]:
    """English word or phrase (lower case) → Chinese terms, from ``GLOSSARY_PATH``. Raises OSError /
    ValueError when the data file is missing or damaged."""
    data = json.loads(GLOSSARY_PATH.read_text(encoding="utf-8"))
    return {k.lower().replace("-", " "): tuple(v) for k, v in data["terms"].items()}


def _plain(pinyin: str) -> str:
    """Tone marks and separators removed: "chéng/dū" → "chengdu"."""
    text = unicodedata.normalize("NFKD", pinyin.replace("ü", "v"))
    return re.sub(r"[^a-z]", "", "".join(c for c in text if not unicodedata.combining(c)).lower())


@functools.lru_cache(maxsize=1)
def _pinyin_tables() -> tuple[dict[str, str], dict[str, str]]:
    """(phrase → plain pinyin, character → plain pinyin of its first reading) from jionlp's dictionaries."""
    import importlib.util
    import zipfile

    spec = importlib.util.find_spec("jionlp")
    if spec is None or not spec.submodule_search_locations:
        return {}, {}
    base = Path(list(spec.submodule_search_locations)[0]) / "dictionary"
    phrases: dict[str, str] = {}
    chars: dict[str, str] = {}
    try:
        with zipfile.ZipFile(base / "pinyin_phrase.zip") as z:
            for line in z.read("pinyin_phrase.txt").decode("utf-8").splitlines():
                word, _, py = line.partition("\t")
                if 2 <= len(word) <= 4 and py:
                    phrases[word] = _plain(py)
        with zipfile.ZipFile(base / "chinese_char_dictionary.zip") as z:
            for line in z.read("chinese_char_dictionary.txt").decode("utf-8").splitlines():
                parts = line.split("\t")
                m = re.match(r"\[([^\]]+)\]", parts[-1]) if len(parts) > 1 else None
                if m and len(parts[0]) == 1:
                    chars.setdefault(parts[0], _plain(m.group(1).split(",")[0]))
    except (OSError, KeyError, zipfile.BadZipFile):
        return {}, {}
    return phrases, chars


def pinyin(name: str) -> str:
    """Plain pinyin of a Chinese name ("杭州" → "hangzhou"): the phrase dictionary, else character by
    character; "" when a character is unknown."""
    phrases, chars = _pinyin_tables()
    if name in phrases:
        return phrases[name]
    out = [chars.get(c, "") for c in name]
    return "".join(out) if all(out) else ""


@functools.lru_cache(maxsize=8)
def _place_names(regions: tuple[str, ...]) -> dict[str, str]:
    """Plain pinyin → Chinese short name of the provinces and prefectures of the gazetteer; ``regions``
    (the indexed documents' regions) win when two places sound alike."""
    from rag.ingest.metadata import gazetteer
    from rag.ingest.metadata import bare_region

    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for p in gazetteer():
        if p.level == "county":
            continue
        short = min((a for a in p.aliases if len(a) >= 2), key=len, default=bare_region(p.name) or p.name)
        key = pinyin(short)
        if key:
            seen[key] = seen.get(key, 0) + 1
            out.setdefault(key, short)
    for key, n in seen.items():  # homophones (山西/陕西 both "shanxi"): only an indexed one is meant
        if n > 1:
            out.pop(key, None)
    for region in regions:
        short = bare_region(region) or region
        key = pinyin(short)
        if key:
            out[key] = short
    out.pop("", None)
    return out


def _stem_candidates(word: str) -> list[str]:
    out = [word]
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            out.append(word[: -len(suffix)] + repl)
    return out


def question_kind(question: str) -> str:
    """"en" when the question has English words and at most 2 Chinese characters, "mixed" when it has
    both (an English word of 3+ letters that is no all-capital acronym), else "zh"."""
    words = [w for w in re.findall(r"[A-Za-z]+", question)]
    cjk = len(_CJK.findall(question))
    if not words:
        return "zh"
    if cjk <= 2:
        return "en"
    return "mixed" if any(len(w) >= 3 and not w.isupper() for w in words) else "zh"


def map_english(text: str, regions: tuple[str, ...] = ()) -> tuple[list[str], list[tuple[str, tuple[str, ...]]], list[str]]:
    """The Chinese rendering of the English words of ``text``: (terms in order — Chinese terms, places,
    numbers and years kept —, [(English phrase, terms)], unmapped content words). Phrases are matched
    longest first (up to four words)."""
    gl = glossary()
    places = _place_names(tuple(regions))
    tokens = [re.sub(r"'s$", "", m.group()) for m in _WORD.finditer(text.replace("’", "'"))]
    low = [t.lower() for t in tokens]
    terms: list[str] = []
    mapped: list[tuple[str, tuple[str, ...]]] = []
    unmapped: list[str] = []
    i = 0
    while i < len(low):
        tok = low[i]
        if tok[0].isdigit():
            terms.append(tokens[i] + ("年" if re.fullmatch(r"(?:19|20)\d{2}", tok) else ""))
            i += 1
            continue
        hit = None
        for n in (4, 3, 2, 1):
            if i + n > len(low):
                continue
            words = low[i:i + n]
            for cand in dict.fromkeys(" ".join([*words[:-1], c]) for c in _stem_candidates(words[-1])):
                if cand in gl:
                    hit = (n, " ".join(tokens[i:i + n]), gl[cand])
                    break
            if hit:
                break
            joined = "".join(words)  # a place in pinyin ("Sichuan", "Xi'an", "Inner Mongolia" is not covered)
            key = re.sub(r"[^a-z]", "", joined)
            if key in places:
                suffix = _PLACE_SUFFIX.get(low[i + n]) if i + n < len(low) else None
                name = places[key] + (suffix or "")
                hit = (n + (1 if suffix else 0), " ".join(tokens[i:i + n + (1 if suffix else 0)]), (name,))
                break
        if hit:
            n, phrase, zh = hit
            terms.extend(zh)
            mapped.append((phrase, zh))
            i += n
            continue
        if tok not in STOPWORDS and len(tok) > 1:
            unmapped.append(tokens[i])
        i += 1
    return terms, mapped, unmapped


def prepare_question(question: str, index=None, llm: bool = False) -> PreparedQuestion:
    """``question`` made searchable in the Chinese documents (see the module docstring). ``index``: the
    loaded index (its documents' regions name places first; None: gazetteer only); ``llm``: an LLM
    rewrites the query later, so an English question that the glossary does not cover goes on as written
    instead of getting ``ASK_IN_CHINESE``."""
    kind = question_kind(question)
    if kind == "zh":
        return PreparedQuestion(question, question)
    regions = tuple(sorted({m.region for m in getattr(index, "docs", {}).values() if m.region})) if index else ()
    try:
        terms, mapped, unmapped = map_english(question, regions)
    except (OSError, ValueError, KeyError):
        terms, mapped, unmapped = [], [], [w for w in re.findall(r"[A-Za-z]{2,}", question)]
    content = sum(1 for _p, zh in mapped if any(_CJK.search(t) and t not in QUESTION_TERMS for t in zh)) + len(unmapped)
    coverage = (content - len(unmapped)) / content if content else 0.0
    if kind == "mixed":
        # Chinese text stays; English words the glossary knows are added in the documents' terms
        extra = [t for _p, zh in mapped for t in zh if t not in question and _CJK.search(t) and t not in QUESTION_TERMS]
        query = question + (" " + " ".join(dict.fromkeys(extra)) if extra else "")
        return PreparedQuestion(question, query, kind, tuple(mapped), tuple(unmapped))
    if coverage >= MIN_COVERAGE and any(_CJK.search(t) and t not in QUESTION_TERMS for t in terms):
        query = " ".join(dict.fromkeys(terms))
        notice = f"英文问题已按术语表理解为：{query}（English question read as these Chinese terms）"
        return PreparedQuestion(question, query, kind, tuple(mapped), tuple(unmapped), notices=(notice,))
    if llm or not is_english_sentence(question):  # code, markup or stray words: the no-content rule answers
        return PreparedQuestion(question, question, kind, tuple(mapped), tuple(unmapped))
    return PreparedQuestion(question, question, kind, tuple(mapped), tuple(unmapped), reply=ASK_IN_CHINESE)


def is_english_sentence(text: str) -> bool:
    """Text that reads as an English question or request — at least three words, and a question mark, a
    question word or auxiliary first, or two function words (``STOPWORDS``) — not code, markup or a few
    stray words ("SELECT * FROM users", "<script>…", "xyzzy foo bar")."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", text)]
    if len(words) < 3 or re.search(r"[<>{};=*]", text):
        return False
    return (text.rstrip().endswith(("?", "？")) or words[0] in _QUESTION_START
            or sum(w in STOPWORDS for w in words) >= 2)
