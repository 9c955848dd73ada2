"""What a line's interpreted text is: the raw line after four clean-ups.

A trailing ``\\r`` is dropped, ANSI SGR colour codes are removed, a leading
``^C`` (the terminal's echo of Ctrl-C, glued to the next output line) is
removed, and so is stap 4.8's BPF debug text (:data:`BPF_NOISE`).  The events'
``raw`` keeps all of it.

One function does this for everyone: the frame cache is keyed by interpreted
text but looked up with raw lines, which is only right for a key that
:func:`interpret` leaves unchanged (:func:`is_clean`).  Each clean-up runs once,
so a text may still hold what it removed (``hello from the new bpf`` + the
noise + `` assembler`` leaves the noise behind); such a text is not clean.
"""

from __future__ import annotations

import re

__all__ = ["BPF_NOISE", "interpret", "is_clean"]

_SGR = re.compile(r"\x1b\[[0-9;]*[mK]")
#: stap 4.8's BPF tapset (uconversions.stp) leaves a debug printf in user_string*(): the
#: text lands before the output of every printf that reads a user string
BPF_NOISE = "hello from the new bpf assembler"


def interpret(body: str) -> tuple[str, bool]:
    """A line without its ``\\n`` -> (its interpreted text, whether BPF_NOISE was removed)."""
    text = body
    if text and text[-1] == "\r":
        text = text[:-1]
    if "\x1b" in text:
        text = _SGR.sub("", text)
    if text[:2] == "^C":
        text = text[2:]
    if BPF_NOISE in text:
        return text.replace(BPF_NOISE, ""), True
    return text, False


def is_clean(text: str) -> bool:
    """True when interpreting ``text`` as a raw line gives ``text`` back."""
    return interpret(text)[0] == text
