"""The company profile: a small frozen record, its validation, and loading it from JSON.

A profile holds what a company says about itself — location (``city``, ``district``), ``industry`` and
``products`` in its own words, ``qualifications`` (中小企业, 规上企业, 高新技术企业, 专精特新 … or the
documents' own terms), ``stage`` (初创/成长/成熟/龙头) and ``needs`` (研发, 融资, 补贴/奖励, 人才, 应用场景,
用地/空间, 市场, 数字化转型, 绿色低碳); a need is never a product.
The dictionaries and canonical forms live in ``rag.matching.lexicon``, the free-text parser
(``parse_profile_text``) in ``rag.matching.parser``; both are re-exported here.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.errors import RagError
from rag.matching.lexicon import (NEEDS, PROFILE_KEYS, QUALIFICATIONS, STAGES, canonical_need,
                                  canonical_qualification, canonical_stage, needs_of_word, unique)
from rag.matching.places import (canonical_city, canonical_district, city_forms, city_of, district_forms,
                                 province_of, zones_of)


__all__ = ["Profile", "ProfileError", "load_profile_file", "profile_from_json", "NEEDS",
           "QUALIFICATIONS", "STAGES", "canonical_city", "canonical_district",
           "canonical_need", "canonical_qualification", "canonical_stage"]


class ProfileError(RagError, ValueError):
    """A profile (file, JSON object or text) is unusable; the message says which field and how to fix it."""

    exit_code = 2


@dataclass(frozen=True)
class Profile:
    """A company profile. Lists are tuples of canonical labels; unknown fields are None / empty.

    ``city``: a gazetteer full name ("某某市", "某某自治州"); ``district``: "某某区" …;
    ``industry``/``products``: the company's words; ``qualifications``: canonical names (QUALIFICATIONS); ``stage``: 初创/成长/成熟/龙头;
    ``needs``: canonical needs (NEEDS) or the company's own words; ``text``: the free text it came from;
    ``date``: the day to match for (which plans are in force then; JSON "YYYY-MM-DD"), None = today.
    """

    city: str | None = None
    district: str | None = None
    industry: str | None = None
    products: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    stage: str | None = None
    needs: tuple[str, ...] = ()
    text: str | None = field(default=None, compare=False)
    date: _dt.date | None = None  # the day the match is for (which plans are in force); None = today

    def on(self, default: _dt.date) -> _dt.date:
        """The day the match is for: the profile's ``date`` when given, else ``default`` (settings' today)."""
        return self.date or default

    def inside(self, region: str | None) -> bool | None:
        """Whether the company lies in ``region`` (a document's jurisdiction: province, city or county,
        gazetteer full names): None when that is unknown (no city, or a place the gazetteer lacks)."""
        if not region or not self.city:
            return None
        if region in (self.city, self.district):
            return True
        from rag.metadata import _place_index

        places = _place_index()[0].get(region, [])
        if any(p.level == "county" for p in places):
            return False if self.district else (None if any(city_of(p) == self.city for p in places) else False)
        if any(p.level == "city" for p in places):
            return False
        province = province_of(self.city)
        return None if province is None else province == region

    def is_empty(self) -> bool:
        return not (self.industry or self.products or self.needs or self.qualifications)

    def place_words(self, home=()) -> tuple[str, ...]:
        """How documents write the company's location: the district and its forms, the city and its short
        names — the city left out when it is one of ``home`` (the indexed documents' regions): nearly every
        passage of a city's own documents names it."""
        words: list[str] = list(district_forms(self.district))
        if self.city and self.city not in home:
            words += city_forms(self.city)
        return unique(w for w in words if len(w) >= 2)

    def region_words(self) -> tuple[str, ...]:
        """Economic zones the documents may name instead of the company's city (``rag.matching.places.zones_of``)."""
        return zones_of(self.city)

    def location_label(self) -> str:
        return "".join(p for p in (self.city, f"（{self.district}）" if self.district else "") if p) or "未注明"

    def to_json(self) -> dict:
        """{"city", "district", "industry", "products", "qualifications", "stage", "needs"} (+ "text")."""
        out = {"city": self.city, "district": self.district, "industry": self.industry,
               "products": list(self.products), "qualifications": list(self.qualifications),
               "stage": self.stage, "needs": list(self.needs)}
        if self.text:
            out["text"] = self.text
        if self.date:
            out["date"] = self.date.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        """Validate and canonicalise a JSON object with the keys of ``to_json`` (all optional; lists may
        also be given as "、"/","-separated strings). Raises ProfileError naming the bad field."""
        if not isinstance(data, dict):
            raise ProfileError(f"a profile must be a JSON object with keys {', '.join(PROFILE_KEYS)}")
        unknown = sorted(set(data) - set(PROFILE_KEYS) - {"text", "id", "note", "date"})
        if unknown:
            raise ProfileError(f"unknown profile field(s) {', '.join(unknown)}; allowed: {', '.join(PROFILE_KEYS)}")

        def text_field(name):
            v = data.get(name)
            if v is None:
                return None
            if not isinstance(v, str):
                raise ProfileError(f"profile.{name} must be a string, got {type(v).__name__}")
            return v.strip() or None

        def list_field(name):
            v = data.get(name)
            if v is None:
                return ()
            if isinstance(v, str):
                v = [x for x in re.split(r"[、,，;；\s]+", v) if x]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise ProfileError(f"profile.{name} must be a list of strings")
            return tuple(x.strip() for x in v if x.strip())

        day = None
        if text_field("date"):
            try:
                day = _dt.date.fromisoformat(text_field("date"))
            except ValueError:
                raise ProfileError(f"profile.date {data['date']!r} is not a date; write it as YYYY-MM-DD") from None
        named_city = canonical_city(text_field("city"))
        district, implied_city = canonical_district(text_field("district"), named_city)
        city = named_city or implied_city
        products = list_field("products")  # a need written as a product (补贴, 研发补贴) is a need
        need_products = [n for p in products for n in needs_of_word(p)]
        profile = cls(city=city, district=district, industry=text_field("industry"),
                      products=unique(p for p in products if not needs_of_word(p)),
                      qualifications=unique(canonical_qualification(q) for q in list_field("qualifications")),
                      stage=canonical_stage(text_field("stage")),
                      needs=unique([*(canonical_need(n) for n in list_field("needs")), *need_products]),
                      text=text_field("text"), date=day)
        if profile.is_empty():
            if profile.text:
                from rag.matching.parser import parse_profile_text

                parsed = parse_profile_text(profile.text)
                return replace(parsed, city=profile.city or parsed.city, district=profile.district or parsed.district,
                               date=day)
            raise ProfileError("the profile names no industry, product, qualification or need; fill in at least one")
        return profile



def load_profile_file(path: str | Path) -> Profile:
    """A profile from a JSON file holding a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``.

    Raises ProfileError when the file is missing, unreadable, not JSON, or not a valid profile.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"profile file {p} not found; give a JSON file with the company profile") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile file {p} ({exc.__class__.__name__})") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile file {p} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return profile_from_json(data, where=str(p))


def profile_from_json(data, where: str = "profile", parse=None) -> Profile:
    """A profile from a parsed JSON value: a profile object, ``{"profile": {...}}`` or ``{"text": "…"}``;
    ``parse``: the free-text parser for ``{"text"}`` (default ``parse_profile_text``; ``ProfileMatcher.parse``
    reads the text in the indexed documents' terms)."""
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        inner = dict(data["profile"])
        if isinstance(data.get("text"), str) and "text" not in inner:
            inner["text"] = data["text"]
        data = inner
    elif isinstance(data, dict) and set(data) <= {"id", "text", "note"} and isinstance(data.get("text"), str):
        from rag.matching.parser import parse_profile_text

        return (parse or parse_profile_text)(data["text"])
    try:
        return Profile.from_dict(data)
    except ProfileError as exc:
        raise ProfileError(f"{where}: {exc}") from None


def __getattr__(name: str):  # the parser imports Profile from here, so it is re-exported lazily
    if name == "parse_profile_text":
        from rag.matching.parser import parse_profile_text

        return parse_profile_text
    raise AttributeError(name)
