"""The company profile: a small frozen record, its validation, and loading it from JSON.

A profile holds what a company says about itself — location (``city``, ``district``), ``industry`` and
``products`` in its own words, ``qualifications`` (中小企业, 规上企业, 高新技术企业, 专精特新 … or the
documents' own terms), ``stage`` (初创/成长/成熟/龙头) and ``needs`` (研发, 融资, 补贴/奖励, 人才, 应用场景,
用地/空间, 市场, 数字化转型, 绿色低碳); a need is never a product.
The dictionaries and canonical forms live in ``rag.matching.lexicon`` (re-exported here); the free-text
parser (``parse_profile_text``) and loading a profile from JSON or a file (``profile_from_json``,
``load_profile_file``), which may hold a text to parse, in ``rag.matching.parser``.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field, replace
from typing import Callable

from rag.errors import RagError
from rag.matching.lexicon import (NEEDS, PROFILE_KEYS, QUALIFICATIONS, STAGES, canonical_need,
                                  canonical_qualification, canonical_stage, needs_of_word, unique)
from rag.matching.places import (canonical_city, canonical_district, city_forms, city_of, district_forms,
                                 province_of, zones_of)


__all__ = ["Profile", "ProfileError", "NEEDS", "QUALIFICATIONS", "STAGES", "canonical_city", "canonical_district",
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
        from rag.ingest.metadata import _place_index

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
    def from_dict(cls, data: dict, parse: Callable[[str], "Profile"] | None = None) -> "Profile":
        """Validate and canonicalise a JSON object with the keys of ``to_json`` (all optional; lists may
        also be given as "、"/","-separated strings). A profile that names no industry, product,
        qualification or need is read from its ``text`` with ``parse`` (the free-text parser,
        ``rag.matching.parser.parse_profile_text``), keeping its city and district when given. Raises
        ProfileError naming the bad field, or when the profile names none of those and there is no
        ``text`` or no ``parse``."""
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
            if profile.text and parse is not None:
                parsed = parse(profile.text)
                return replace(parsed, city=profile.city or parsed.city, district=profile.district or parsed.district,
                               date=day)
            raise ProfileError("the profile names no industry, product, qualification or need; fill in at least one")
        return profile
