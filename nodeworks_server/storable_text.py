"""Text a database can store: PostgreSQL's text and jsonb refuse NUL (U+0000), and no UTF-8 database
takes a lone surrogate (JSON's "\\ud800" decodes to one). Both arrive in valid JSON, so the parser lets
them through; whatever stores a client's value asks here first and answers 400 (or escapes free text),
instead of the database raising at the write (a 500, or a whole batch refused for one value).
"""

import json
from typing import Any

NUL_SYMBOL = "\u2400"  # "␀": what a NUL in free text (a log, an error message) is stored as


def _bad_char(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a lone surrogate (not valid Unicode)"
    return None


def unstorable_text(value: Any, where: str) -> str | None:
    """Where in a JSON value (keys included) a string cannot be stored, and why; None when all can.
    `where` names the value in the message (its members are joined to it with dots)."""
    # One C-speed pass decides the common case; only a hit walks the value to name the place.
    dumped = json.dumps(value, ensure_ascii=False, default=str)
    try:
        dumped.encode("utf-8")
        if "\\u0000" not in dumped:
            return None
    except UnicodeEncodeError:
        pass
    stack = [(value, where)]
    while stack:
        current, path = stack.pop()
        if isinstance(current, str):
            problem = _bad_char(current)
            if problem:
                return f"{path} holds {problem}, which cannot be stored"
        elif isinstance(current, dict):
            for key, item in current.items():
                problem = _bad_char(str(key))
                if problem:
                    return f"a key in {path or 'it'} holds {problem}, which cannot be stored"
                stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(current, list | tuple):
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(current))
    return None


def storable_free_text(text: str) -> str:
    """Free text kept for people to read (logs, error messages): NUL shown as ␀, lone surrogates as U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", NUL_SYMBOL)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text
