#!/usr/bin/env python3
"""Checker for the curated policy data (stdlib only).

Verifies
  * eval/datasets/profiles.jsonl — structure, and every `expected` anchor:
    6-30 characters, no line break, copied verbatim from ONE physical line of the
    named source file, no page-number artefacts; `expected_flags` consistent with
    the document metadata below (only_chengdu / expired / draft);
  * corpus/concepts.json — structure, unique ids, and that every `term` and every
    `broader` entry occurs in at least one source document after NFKC
    normalisation and whitespace removal (the files have hard line wraps);
  * corpus/userdict.txt — jieba user-dictionary line format.

Usage:  python3 eval/check_profiles.py [--seeds DIR] [--profiles F] [--concepts F] [--userdict F] [-v]
Seeds dir default: /work/shared/seeds, else ../shared/seeds relative to the repo root.
Exit status 1 if any problem is found.
"""
import argparse
import json
import os
import re
import sys
import unicodedata
from datetime import date

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TODAY = date(2026, 11, 20)

# Document metadata (from /work/shared/seeds/README.md and the texts themselves).
DOCS = {
    "000_c99ce687a1f28435.txt": {"level": "四川省", "end_year": 2027, "draft": False},
    "001_89dd4949d2fb5def.txt": {"level": "四川省", "end_year": 2025, "draft": True},
    "002_e5e9ad12b4096c77.txt": {"level": "四川省", "end_year": 2020, "draft": False},
    "003_0818b3ea2d9c3ede.txt": {"level": "成都市", "end_year": None, "draft": False},
    "004_67070088836cb55d.txt": {"level": "成都市", "end_year": 2025, "draft": False},
}
VALID_FLAGS = {"only_chengdu", "expired", "draft"}
MIN_ANCHOR, MAX_ANCHOR = 6, 30
# page-number artefacts left by PDF extraction: 一2一, - 2 -, -10-, ——12—
PAGE_ARTEFACT = re.compile(r"[一—\-]{1,2}\s*[0-9０-９]{1,3}\s*[一—\-]{1,2}")
PROFILE_KEYS = {"city", "district", "industry", "products", "qualifications", "stage", "needs"}


def default_seeds():
    for cand in ("/work/shared/seeds", os.path.join(REPO_ROOT, "..", "shared", "seeds")):
        if os.path.isdir(cand):
            return os.path.abspath(cand)
    return "/work/shared/seeds"


def norm(s):
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def is_chengdu(city):
    return isinstance(city, str) and city.replace("市", "") == "成都"


def expected_flags_for(doc, city):
    meta = DOCS[doc]
    flags = set()
    if meta["level"] == "成都市" and not is_chengdu(city):
        flags.add("only_chengdu")
    if meta["end_year"] is not None and date(meta["end_year"], 12, 31) < TODAY:
        flags.add("expired")
    if meta["draft"]:
        flags.add("draft")
    return flags


def load_seeds(seeds):
    texts, lines = {}, {}
    for doc in DOCS:
        path = os.path.join(seeds, doc)
        with open(path, encoding="utf-8") as fh:
            t = fh.read()
        texts[doc] = t
        lines[doc] = t.splitlines()
    return texts, lines


def check_profiles(path, lines, problems, verbose):
    n = 0
    ids = set()
    with open(path, encoding="utf-8") as fh:
        raw = fh.read().splitlines()
    for ln, row in enumerate(raw, 1):
        if not row.strip():
            continue
        where = f"{os.path.basename(path)}:{ln}"
        try:
            p = json.loads(row)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: invalid JSON ({e})")
            continue
        n += 1
        pid = p.get("id")
        where = f"{where} [{pid}]"
        if not pid or pid in ids:
            problems.append(f"{where}: missing or duplicate id")
        ids.add(pid)
        if not isinstance(p.get("text"), str) or len(p["text"]) < 8:
            problems.append(f"{where}: text missing/too short")
        prof = p.get("profile")
        if not isinstance(prof, dict) or set(prof) != PROFILE_KEYS:
            problems.append(f"{where}: profile must have keys {sorted(PROFILE_KEYS)}")
            prof = prof if isinstance(prof, dict) else {}
        for k in ("products", "qualifications", "needs"):
            if k in prof and not isinstance(prof[k], list):
                problems.append(f"{where}: profile.{k} must be a list")
        city = prof.get("city")
        if not isinstance(city, str) or not city:
            problems.append(f"{where}: profile.city missing")
        exp = p.get("expected")
        if not isinstance(exp, list) or not 2 <= len(exp) <= 5:
            problems.append(f"{where}: expected must list 2-5 provisions")
            exp = exp if isinstance(exp, list) else []
        docs_in_expected = set()
        seen = set()
        for i, e in enumerate(exp):
            doc, anchor = e.get("doc"), e.get("anchor")
            tag = f"{where} expected[{i}]"
            if doc not in DOCS:
                problems.append(f"{tag}: unknown doc {doc!r}")
                continue
            docs_in_expected.add(doc)
            if not isinstance(anchor, str):
                problems.append(f"{tag}: anchor missing")
                continue
            if (doc, anchor) in seen:
                problems.append(f"{tag}: duplicate anchor")
            seen.add((doc, anchor))
            if not MIN_ANCHOR <= len(anchor) <= MAX_ANCHOR:
                problems.append(f"{tag}: anchor length {len(anchor)} not in {MIN_ANCHOR}-{MAX_ANCHOR}: {anchor!r}")
            if "\n" in anchor or "\r" in anchor:
                problems.append(f"{tag}: anchor contains a line break")
                continue
            if anchor != anchor.strip():
                problems.append(f"{tag}: anchor has leading/trailing whitespace: {anchor!r}")
            if PAGE_ARTEFACT.search(anchor):
                problems.append(f"{tag}: anchor contains a page-number artefact: {anchor!r}")
            hits = [k + 1 for k, l in enumerate(lines[doc]) if anchor in l]
            if not hits:
                hint = ""
                na = norm(anchor)
                near = [k + 1 for k, l in enumerate(lines[doc]) if na and na in norm(l)]
                if near:
                    hint = f" (matches line {near[0]} only after NFKC/whitespace normalisation)"
                problems.append(f"{tag}: anchor not found verbatim on a single line of {doc}: {anchor!r}{hint}")
            elif verbose:
                print(f"ok  {pid} {doc}:{hits[0]} {anchor}")
        flags = p.get("expected_flags", {})
        if not isinstance(flags, dict):
            problems.append(f"{where}: expected_flags must be an object")
            flags = {}
        for doc, fl in flags.items():
            if doc not in docs_in_expected:
                problems.append(f"{where}: expected_flags names {doc} which is not in expected")
            if not isinstance(fl, list) or not set(fl) <= VALID_FLAGS:
                problems.append(f"{where}: invalid flags for {doc}: {fl!r}")
        for doc in docs_in_expected:
            want = expected_flags_for(doc, city)
            got = set(flags.get(doc, []))
            if want != got:
                problems.append(f"{where}: flags for {doc} are {sorted(got)}, expected {sorted(want)}")
    return n


def check_concepts(path, texts, problems, verbose):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if data.get("version") != 1 or not isinstance(data.get("concepts"), list):
        problems.append(f"{path}: needs version 1 and a concepts list")
        return 0
    normed = [norm(t) for t in texts.values()]
    ids = set()
    cache = {}

    def occurs(term):
        if term not in cache:
            nt = norm(term)
            cache[term] = bool(nt) and any(nt in d for d in normed)
        return cache[term]

    for c in data["concepts"]:
        cid = c.get("id")
        where = f"concepts.json [{cid}]"
        if not cid or cid in ids:
            problems.append(f"{where}: missing or duplicate id")
        ids.add(cid)
        for k in ("term", "aliases", "company_words", "broader"):
            if k not in c:
                problems.append(f"{where}: missing {k}")
        for k in ("aliases", "company_words", "broader"):
            if k in c and not (isinstance(c[k], list) and all(isinstance(x, str) and x for x in c[k])):
                problems.append(f"{where}: {k} must be a list of non-empty strings")
        term = c.get("term")
        if not isinstance(term, str) or not occurs(term):
            problems.append(f"{where}: term {term!r} does not occur in any document")
        for b in c.get("broader", []) or []:
            if not occurs(b):
                problems.append(f"{where}: broader {b!r} does not occur in any document")
        if verbose:
            missing = [a for a in c.get("aliases", []) if not occurs(a)]
            if missing:
                print(f"info {cid}: aliases not literally in documents (vocabulary only): {missing}")
    return len(data["concepts"])


def check_userdict(path, problems):
    n = 0
    words = set()
    pat = re.compile(r"^(\S+) (\d+)( [a-z]+)?$")
    with open(path, encoding="utf-8") as fh:
        for ln, row in enumerate(fh, 1):
            row = row.rstrip("\n")
            if not row:
                continue
            m = pat.match(row)
            if not m:
                problems.append(f"userdict.txt:{ln}: bad line {row!r}")
                continue
            if m.group(1) in words:
                problems.append(f"userdict.txt:{ln}: duplicate word {m.group(1)!r}")
            words.add(m.group(1))
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default=None)
    ap.add_argument("--profiles", default=os.path.join(REPO_ROOT, "eval", "datasets", "profiles.jsonl"))
    ap.add_argument("--concepts", default=os.path.join(REPO_ROOT, "corpus", "concepts.json"))
    ap.add_argument("--userdict", default=os.path.join(REPO_ROOT, "corpus", "userdict.txt"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    seeds = args.seeds or default_seeds()
    problems = []
    try:
        texts, lines = load_seeds(seeds)
    except OSError as e:
        print(f"cannot read seeds from {seeds}: {e}")
        return 1
    n_prof = check_profiles(args.profiles, lines, problems, args.verbose) if os.path.exists(args.profiles) else 0
    if not os.path.exists(args.profiles):
        problems.append(f"missing {args.profiles}")
    n_conc = check_concepts(args.concepts, texts, problems, args.verbose) if os.path.exists(args.concepts) else 0
    if not os.path.exists(args.concepts):
        problems.append(f"missing {args.concepts}")
    n_dict = check_userdict(args.userdict, problems) if os.path.exists(args.userdict) else 0
    if not os.path.exists(args.userdict):
        problems.append(f"missing {args.userdict}")
    for p in problems:
        print("PROBLEM", p)
    print(f"seeds: {seeds}")
    print(f"profiles: {n_prof}, concepts: {n_conc}, userdict entries: {n_dict}, problems: {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
