"""Chat text features, version 1: text normalization and hashed n-grams.

This is the reference for ml/safety/textfeatures.go, which computes exactly the
same features in Go (the golden test in ml/safety checks it). Change both
together and bump FEATURES_VERSION.

1. Keep the first MAX_RUNES code points.
2. Lower-case ASCII letters only (A-Z -> a-z); every other code point stays.
3. Tokens, scanning left to right:
   - "http://", "https://" or "www." (after lower-casing) starts a URL: it
     becomes the token "http" and everything up to the next ASCII whitespace
     is skipped;
   - "@" followed by a word character starts a mention: it becomes the token
     "@user" and the following [a-z0-9_] characters are skipped;
   - ASCII [a-z0-9] extend the current word; an apostrophe (U+0027, U+2019)
     is dropped without ending the word; any other ASCII character ends it;
   - every non-ASCII code point ends the current word and is a token alone
     (emoji, CJK, accented letters);
   - inside a word, a code point is dropped when it would be the third
     identical one in a row ("loooool" -> "lool").
4. Features, each hashed with 32-bit FNV-1a over a one-byte tag followed by
   the UTF-8 bytes, into NUM_BUCKETS buckets (hash & (NUM_BUCKETS-1)):
   tag "w" + token, tag "b" + token + " " + next token, and tag "c" + every
   character n-gram (N_MIN..N_MAX code points) of " " + token + " ".
5. Counts per bucket become 1 + ln(count); the vector is L2-normalized.
   The output is (indices, values) sorted by bucket index.
"""
import math

FEATURES_VERSION = 1
NUM_BUCKETS = 1 << 18
MAX_RUNES = 500
N_MIN, N_MAX = 2, 4

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_WS = " \t\n\r\v\f"
_URL_PREFIXES = ("http://", "https://", "www.")


def normalize(text: str) -> str:
    text = text[:MAX_RUNES]
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _is_word(c: str) -> bool:
    return ("a" <= c <= "z") or ("0" <= c <= "9")


def tokens(text: str) -> list[str]:
    s = normalize(text)
    out: list[str] = []
    cur: list[str] = []

    def flush():
        if cur:
            out.append("".join(cur))
            cur.clear()

    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in "hw" and not cur and s.startswith(_URL_PREFIXES, i):
            out.append("http")
            while i < n and s[i] not in _WS:
                i += 1
            continue
        if c == "@" and i + 1 < n and (_is_word(s[i + 1]) or s[i + 1] == "_"):
            flush()
            out.append("@user")
            i += 1
            while i < n and (_is_word(s[i]) or s[i] == "_"):
                i += 1
            continue
        if _is_word(c):
            if not (len(cur) >= 2 and cur[-1] == c and cur[-2] == c):
                cur.append(c)
        elif c in "'\u2019":
            pass
        elif ord(c) < 0x80:
            flush()
        else:
            flush()
            out.append(c)
        i += 1
    flush()
    return out


def fnv1a(tag: bytes, data: bytes) -> int:
    h = _FNV_OFFSET
    for b in tag + data:
        h ^= b
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


def feature_strings(toks: list[str]) -> list[tuple[bytes, str]]:
    feats: list[tuple[bytes, str]] = []
    for t in toks:
        feats.append((b"w", t))
    for a, b in zip(toks, toks[1:]):
        feats.append((b"b", a + " " + b))
    for t in toks:
        p = " " + t + " "
        for n in range(N_MIN, N_MAX + 1):
            for i in range(len(p) - n + 1):
                feats.append((b"c", p[i : i + n]))
    return feats


def features(text: str) -> tuple[list[int], list[float]]:
    counts: dict[int, int] = {}
    for tag, f in feature_strings(tokens(text)):
        k = fnv1a(tag, f.encode("utf-8")) & (NUM_BUCKETS - 1)
        counts[k] = counts.get(k, 0) + 1
    idx = sorted(counts)
    vals = [1.0 + math.log(counts[k]) for k in idx]
    norm = math.sqrt(sum(v * v for v in vals))
    if norm > 0:
        vals = [v / norm for v in vals]
    return idx, vals
