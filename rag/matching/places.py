"""Where a company is: places of the administrative-division gazetteer, their containment, and the
informal names it lacks (``rag/data/place_aliases.json``: functional areas, economic zones).

``home`` below is the regions of the indexed documents (``DocumentMeta.region``, read from each
document): districts of a home city and prefectures of a home province are recognised by their short
names anywhere in a company's sentence (as the documents' own readers write them); any other place by its
full name, or by its short name at the start of a clause or after 在/位于/来自/是 … ("我们是某市一家…").

    find_location("某区这边做电驱总成", home=("某市",))   → ("某市", "某区")
    canonical_city("某某")                                → "某某市"
"""

from __future__ import annotations

import functools
import json
import re
from rag.ingest.metadata import Place, gazetteer
from rag.settings import DATA_DIR

ALIASES_PATH = DATA_DIR / "place_aliases.json"
_LEAD = re.compile(r"(?:在|于|是|到|自|处|户)$")  # 在/位于/来自/地处/落户/是 … right before a place
_CLAUSE_START = re.compile(r"(?:^|[^\u4e00-\u9fff])$")
_PLACE_AFTER = re.compile(r"[的一这那做里]")  # "某市的…", "某市一家…", "某市这边…", "某市做…"


@functools.lru_cache(maxsize=1)
def place_data() -> dict:
    """``{"aliases": {written: [district, city]}, "generic_areas": [...], "zones": {zone: [cities]}}`` from
    ``ALIASES_PATH``. Raises OSError/ValueError when the data file is missing or damaged."""
    return json.loads(ALIASES_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _tables():
    """(code → Place, full name → [Place], written form → [Place] of every level incl. county short names)."""
    by_code = {p.code: p for p in gazetteer()}
    by_full: dict[str, list[Place]] = {}
    by_form: dict[str, list[Place]] = {}
    for p in gazetteer():
        by_full.setdefault(p.name, []).append(p)
        for form in (p.name, *p.aliases):
            by_form.setdefault(form, []).append(p)
    return by_code, by_full, by_form


@functools.lru_cache(maxsize=1)
def _form_regex() -> re.Pattern:
    forms = set(_tables()[2]) | set(place_data()["aliases"]) | set(place_data()["generic_areas"])
    return re.compile("|".join(map(re.escape, sorted((f for f in forms if len(f) >= 2), key=len, reverse=True))))


def city_of(place: Place) -> str | None:
    """The city (prefecture) a place lies in, by its GB/T 2260 code: a county's prefecture, a city itself,
    a municipality (重庆市 …) itself; None for a province."""
    by_code = _tables()[0]
    if place.level == "city":
        return place.name
    if place.level == "province":
        return place.name if place.name.endswith("市") else None
    parent = by_code.get(place.code[:4] + "00") or by_code.get(place.code[:2] + "0000")
    return city_of(parent) if parent and parent.level != "county" else None


def province_of(region: str | None) -> str | None:
    """The province (full name) of a city, county or province name; None when the gazetteer has no such
    place."""
    places = _tables()[1].get(region or "", [])
    return places[0].province if places else None


def _home(home) -> tuple[set[str], set[str]]:
    """(home cities, home provinces) of the indexed regions ``home``."""
    cities = {r for r in home if any(p.level == "city" or (p.level == "province" and r.endswith("市"))
                                     for p in _tables()[1].get(r, []))}
    provinces = {province_of(r) for r in home} - {None}
    return cities, provinces


def home_city(home) -> str | None:
    """The one city among the indexed regions (the city a 高新区 without a named city is in), else None."""
    cities = _home(home)[0]
    return next(iter(cities)) if len(cities) == 1 else None


def _pick(places: list[Place], city: str | None, cities: set[str], provinces: set[str]) -> Place | None:
    """The place a written form means: inside the named city, else inside a home city or province, else
    the only one; None when it stays ambiguous."""
    for keep in ((lambda p: city and city_of(p) == city), (lambda p: city_of(p) in cities),
                 (lambda p: p.province in provinces), (lambda p: True)):
        found = [p for p in places if keep(p)]
        if found:
            levels = {"province": 0, "city": 1, "county": 2}
            best = min(levels[p.level] for p in found)
            found = [p for p in found if levels[p.level] == best]
            return found[0] if len(found) == 1 else None
    return None


def canonical_city(value: str | None) -> str | None:
    """A city as written ("某某", "某某州", "某某市"; also a short name + 州/市) → its full gazetteer name
    (a municipality's too);
    a name the gazetteer lacks is kept, with 市 added when it has no division suffix."""
    if not value or not value.strip():
        return None
    v = value.strip()
    places = [p for p in _tables()[2].get(v, []) or _tables()[2].get(v[:-1], []) if p.level != "county" and city_of(p)]
    if places:
        return city_of(places[0])
    return v if v.endswith(("市", "州", "区", "县", "盟")) else v + "市"


def canonical_district(value: str | None, city: str | None = None, home=()) -> tuple[str | None, str | None]:
    """``(district, city it implies)`` for a district as written: an informal name or functional area
    (``place_data``), or a county of the gazetteer (full or short name, inside ``city`` or the ``home``
    regions when several share the name); unknown names are kept, city None."""
    if not value or not value.strip():
        return None, None
    v = value.strip()
    data = place_data()
    if v in data["aliases"]:
        district, owner = data["aliases"][v]
        return district or v, owner
    if v in data["generic_areas"]:
        return v, city or home_city(home)
    cities, provinces = _home(home)
    place = _pick([p for p in _tables()[2].get(v, []) if p.level == "county"], city, cities, provinces)
    return (place.name, city_of(place)) if place else (v, None)


def find_location(text: str, home=()) -> tuple[str | None, str | None]:
    """``(city, district)`` of a company's sentence (full gazetteer names; the first city named, and the
    first district consistent with it, which implies its city). See the module docstring for where short
    names count; ``home``: regions of the indexed documents."""
    cities, provinces = _home(home)
    data = place_data()
    hits: list[tuple[int, str, str, str | None]] = []  # (position, kind, district or city, city)
    matches = list(_form_regex().finditer(text))
    starts = {m.start() for m in matches}
    for m in matches:
        form, start = m.group(), m.start()
        # a short name counts after 在/是 …, or opening a clause before 的/一家/这边/做 or another place ("某市高新区")
        lead = bool(_LEAD.search(text[:start]) or (_CLAUSE_START.search(text[:start])
                                                    and (_PLACE_AFTER.match(text, m.end()) or m.end() in starts)))
        if form in data["aliases"]:
            district, owner = data["aliases"][form]
            if lead or owner in cities:
                hits.append((start, "district", district or form, owner))
            continue
        if form in data["generic_areas"]:
            hits.append((start, "generic", form, None))
            continue
        places = _tables()[2].get(form, [])
        full = any(p.name == form for p in places)
        upper = [p for p in places if p.level != "county" and city_of(p)]
        if upper:
            place = _pick(upper, None, cities, provinces)
            if place and (full or lead or place.province in provinces):
                hits.append((start, "city", city_of(place), city_of(place)))
            continue
        place = _pick([p for p in places if p.level == "county"], None, cities, provinces)
        if place and (full or lead or city_of(place) in cities):
            hits.append((start, "district", place.name, city_of(place)))
    hits.sort(key=lambda h: h[0])
    city = next((c for _, kind, _n, c in hits if kind == "city"), None)
    for _, kind, name, owner in hits:
        if kind == "generic":
            return city or home_city(home), name  # 高新区 of the named city, else of the home city
        if kind == "district" and city in (None, owner):
            return owner, name
    return city, None


def zones_of(city: str | None) -> tuple[str, ...]:
    """The economic zones documents name instead of the city (``place_data()["zones"]``)."""
    return tuple(z for z, members in place_data()["zones"].items() if city in members)


def district_forms(district: str | None) -> tuple[str, ...]:
    """How texts write a district: its full name, its gazetteer short names and informal names."""
    if not district:
        return ()
    forms = [district, *(a for p in _tables()[1].get(district, []) for a in p.aliases)]
    forms += [w for w, (d, _c) in place_data()["aliases"].items() if d == district]
    return tuple(dict.fromkeys(forms))


def city_forms(city: str | None) -> tuple[str, ...]:
    """How texts write a city: its full name and its gazetteer short names."""
    if not city:
        return ()
    return tuple(dict.fromkeys([city, *(a for p in _tables()[1].get(city, []) if p.level != "county"
                                        for a in p.aliases)]))


def cities_of(home) -> tuple[str, ...]:
    """Choices of a company's city: the prefectures of the home provinces and the home cities."""
    cities, provinces = _home(home)
    out = [p.name for p in gazetteer() if p.level == "city" and p.province in provinces]
    return tuple(dict.fromkeys([*sorted(cities), *out]))


def place_forms(home=(), city: str | None = None, district: str | None = None) -> tuple[str, ...]:
    """Written forms of the places a company sentence may name that are never part of a product: the
    prefectures of the home provinces and the districts of the home cities (full and short names), the
    informal names and functional areas, and the forms of ``city`` and ``district``."""
    cities, provinces = _home(home)
    forms: list[str] = [*city_forms(city), *district_forms(district), *place_data()["aliases"],
                        *place_data()["generic_areas"]]
    for p in gazetteer():
        if (p.level == "city" and p.province in provinces) or (p.level == "county" and city_of(p) in cities):
            forms += [p.name, *p.aliases]
    return tuple(dict.fromkeys(f for f in forms if len(f) >= 2))
