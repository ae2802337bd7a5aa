"""The post filters of curation (paper 5.2) and their defaults per source.

Each rule answers "does this post stay?"; ``curate`` applies them in :data:`RULE_ORDER` and
reports every removed post under the first rule it failed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from emofuse.schema import strip_html

# Report keys, in the order the rules run (cheap ones first: language detection only sees
# posts that passed the others). Crawl statuses come first as "status:<status>".
RULE_ORDER = ("class", "agreement", "length", "language", "no_image", "duplicate")

# The paper filtered Flickr posts only (English, more than 5 words, majority agreement); it
# applied no language or length rule to Reddit titles. Any source not listed gets REDDIT-like
# defaults. Agreement is on everywhere because posts without votes pass it anyway.
SOURCE_DEFAULTS: dict[str, dict[str, bool]] = {
    "flickr": {"language": True, "length": True, "agreement": True},
    "reddit": {"language": False, "length": False, "agreement": True},
}
FALLBACK_DEFAULTS = {"language": False, "length": False, "agreement": True}
TOGGLED_RULES = ("language", "length", "agreement")

_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) -> text, ![alt](src) -> alt
_MD_MARKS = re.compile(r"[*_~`#>|]+")  # emphasis, code, headings, quotes, tables
_SUBREDDIT = re.compile(r"(?<!\w)/?[ru]/\w+")  # r/pics, /u/name: links, not words
_WORD = re.compile(r"\w+")


def clean_text(text: str | None) -> str:
    """Plain words only: HTML, URLs, Markdown links and marks, r/ and u/ links removed."""
    value = strip_html(text)
    value = _MD_LINK.sub(r" \1 ", value)
    value = _URL.sub(" ", value)
    value = _SUBREDDIT.sub(" ", value)
    value = _MD_MARKS.sub(" ", value)
    return " ".join(value.split())


def count_words(text: str | None) -> int:
    """Words after :func:`clean_text` (a word: letters or digits, e.g. "2015" counts)."""
    return len(_WORD.findall(clean_text(text)))


def passes_agreement(
    votes_agree: float | None, votes_total: float | None, min_agreement: float | None
) -> bool:
    """True when the post has no votes, or enough of them agree.

    ``min_agreement`` None means a strict majority (agree > total / 2, the paper's rule);
    a number means agree / total >= that share.
    """
    if _missing(votes_agree) or _missing(votes_total) or votes_total <= 0:
        return True
    if min_agreement is None:
        return votes_agree * 2 > votes_total
    return votes_agree / votes_total >= min_agreement


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class RuleSwitches:
    """Which optional rules run for one source."""

    language: bool
    length: bool
    agreement: bool


def rules_for(source: str, overrides: dict[str, bool | None]) -> RuleSwitches:
    """The source's defaults, with each rule forced on or off where ``overrides`` says so.

    ``overrides`` maps a rule to True/False, or None to keep the default; keys may also be
    ``"<source>.<rule>"`` to change one source only (the per-source key wins).
    """
    chosen = dict(SOURCE_DEFAULTS.get(source, FALLBACK_DEFAULTS))
    for rule in TOGGLED_RULES:
        for key in (rule, f"{source}.{rule}"):
            if overrides.get(key) is not None:
                chosen[rule] = bool(overrides[key])
    return RuleSwitches(**chosen)
