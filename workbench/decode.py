"""Reading bytes safely and decoding them into normalised text.

Offsets everywhere refer to the text this module returns: NFC-normalised, ``\\n`` line endings,
no BOM. Encodings are detected in this order: BOM (UTF-8, UTF-16 LE/BE), BOM-less UTF-16 (by its
NUL pattern), strict UTF-8, then Windows-1252 (which covers Latin-1 text from Word on Windows).
Anything else is rejected with the byte offset of the first bad byte, rather than guessed.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import BINARY_SIGNATURES, InputError

DEFAULT_MAX_FILE_MB = 200.0
MAX_FILE_ENV = "WORKBENCH_MAX_FILE_MB"

# C0 controls other than tab/newline/carriage return/form feed are not text.
_CONTROL = {c for c in range(32) if c not in (9, 10, 12, 13)}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def max_file_bytes(max_mb: float | None = None) -> tuple[int, float]:
    """The size limit in bytes: argument, else $WORKBENCH_MAX_FILE_MB, else 200 MB."""
    if max_mb is None:
        env = os.environ.get(MAX_FILE_ENV)
        if env:
            try:
                max_mb = float(env)
            except ValueError:
                raise InputError(f"{MAX_FILE_ENV}={env!r} is not a number of megabytes; set it like {MAX_FILE_ENV}=500.") from None
        else:
            max_mb = DEFAULT_MAX_FILE_MB
    return int(max_mb * 1024 * 1024), max_mb


def read_bytes(path: Path, max_mb: float | None = None) -> bytes:
    """Read a whole file, refusing missing, empty, oversized files with an actionable message."""
    if not path.exists():
        raise InputError(f"Cannot read {path}: no such file or folder. Check the path.")
    if path.is_dir():
        raise InputError(f"Cannot read {path}: it is a folder; pass the files in it, or the folder to `workbench ingest`.")
    limit, limit_mb = max_file_bytes(max_mb)
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            f"Cannot read {path}: it is {size / 1024 / 1024:.1f} MB, over the {limit_mb:g} MB limit. "
            f"Split it, or raise the limit with --max-file-mb N or {MAX_FILE_ENV}=N."
        )
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"Cannot read {path}: the file is empty. Export the source again or remove it from the import.")
    return data


def sniff_binary(data: bytes, path: Path | str) -> None:
    """Raise if the bytes are a known binary format or contain NULs that UTF-16 does not explain."""
    for magic, what in BINARY_SIGNATURES:
        if data.startswith(magic):
            raise InputError(f"Cannot read {path} as text: the file is {what} (it starts with {magic[:8]!r}).")
    head = data[:8192]
    if b"\x00" in head and _utf16_guess(head) is None:
        raise InputError(
            f"Cannot read {path} as text: it contains NUL bytes, so it is a binary file, not a transcript. "
            "Export the source as UTF-8 text, .docx, .vtt/.srt or .csv."
        )


def _utf16_guess(head: bytes) -> str | None:
    """Detect BOM-less UTF-16 by where the NUL bytes fall (ASCII-heavy text)."""
    if len(head) < 4:
        return None
    even = head[0::2]
    odd = head[1::2]
    nul_even = even.count(0) / len(even)
    nul_odd = odd.count(0) / len(odd)
    if nul_odd > 0.4 and nul_even < 0.05:
        return "utf-16-le"
    if nul_even > 0.4 and nul_odd < 0.05:
        return "utf-16-be"
    return None


def normalise(text: str) -> str:
    """NFC, ``\\n`` line endings, no BOM, no trailing whitespace at the very end."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return unicodedata.normalize("NFC", text).rstrip()


def decode(data: bytes, path: Path | str, encoding: str | None = None) -> Decoded:
    """Decode bytes to normalised text, detecting the encoding unless one is given."""
    if encoding:
        try:
            raw = data.decode(encoding)
        except LookupError:
            raise InputError(f"Unknown encoding {encoding!r}; use a Python codec name such as utf-8, utf-16, cp1252 or latin-1.") from None
        except UnicodeDecodeError as e:
            raise InputError(
                f"Cannot decode {path} as {encoding}: invalid byte {data[e.start:e.start + 1]!r} at byte {e.start}. "
                "Try another --encoding, or re-save the file as UTF-8."
            ) from None
        return Decoded(_check_text(normalise(raw), path), encoding)

    sniff_binary(data, path)
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif (guess := _utf16_guess(data[:8192])) is not None:
        candidates = [guess]
    else:
        candidates = ["utf-8", "cp1252"]
    first_error: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            raw = data.decode(enc)
        except UnicodeDecodeError as e:
            first_error = first_error or e
            continue
        text = normalise(raw)
        if enc == "cp1252" and _looks_garbled(text):
            break
        return Decoded(_check_text(text, path), enc)
    offset = first_error.start if first_error else 0
    raise InputError(
        f"Cannot decode {path}: byte {data[offset:offset + 1]!r} at offset {offset} is not valid UTF-8, UTF-16 or "
        "Windows-1252 text. Re-save the file as UTF-8, or pass --encoding NAME if you know its encoding."
    )


def _looks_garbled(text: str) -> bool:
    """cp1252 decodes nearly anything: reject results full of symbols no transcript has."""
    if not text:
        return False
    odd = sum(1 for ch in text if unicodedata.category(ch) in ("Cc", "Co", "Cn", "So") and ch not in "\n\t\f")
    return odd / len(text) > 0.02


def _check_text(text: str, path: Path | str) -> str:
    if not text.strip():
        raise InputError(f"Cannot read {path}: it has no text (only whitespace). Export the source again.")
    controls = sum(1 for ch in text[:20000] if ord(ch) in _CONTROL)
    if controls > max(5, len(text[:20000]) // 100):
        raise InputError(
            f"Cannot read {path} as text: it is full of control characters, so it is probably a binary file. "
            "Export the source as UTF-8 text, .docx, .vtt/.srt or .csv."
        )
    return text
