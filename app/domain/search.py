"""What a task search matches: every word of the query starts a word of the title, ignoring
case and accents. The title's words are stored folded, separated by spaces (`search_text`), and
both databases index exactly those words, splitting at the spaces only (FTS5's `ascii`
tokenizer, `string_to_array` into a tsvector), so they find the same tasks."""

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of `text`: runs of letters and digits, case-folded, accents removed."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return _WORD.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def search_text(title: str) -> str:
    """The title's words, each after a space, so `LIKE '% word%'` finds a word by its start."""
    return "".join(f" {word}" for word in words(title))
