"""SDT markers (``DTRACE_PROBE``/``STAP_PROBE``) of an ELF file, from its ``.note.stapsdt`` notes.

Each note's descriptor holds the marker's address, the link-time address of the
``.stapsdt.base`` section, the semaphore's address, then ``provider\\0name\\0args\\0``
(sys/sdt.h).  A prelinked file moved ``.stapsdt.base``: the address moves with it.  stap -L
lists a marker's name and ``$argN``, not where it is; the address says which function holds it
and, with DWARF, its source line.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache

_NT_STAPSDT = 3


@dataclass(frozen=True)
class SdtMarker:
    provider: str
    name: str
    address: int  # link-time, like a symbol's value
    args: str  # stap's argument spec, e.g. "8@%rbx -4@112(%rsp)"


@lru_cache(maxsize=64)
def _markers(path: str, size: int, mtime_ns: int) -> tuple[SdtMarker, ...]:
    from elftools.elf.elffile import ELFFile

    out = []
    with open(path, "rb") as f:
        elf = ELFFile(f)
        notes = elf.get_section_by_name(".note.stapsdt")
        if notes is None:
            return ()
        base_section = elf.get_section_by_name(".stapsdt.base")
        fmt = "<QQQ" if elf.elfclass == 64 else "<III"
        word = struct.calcsize(fmt)
        for note in notes.iter_notes():
            desc = note["n_desc"]
            if note["n_name"] != "stapsdt" or note["n_type"] not in (_NT_STAPSDT, "NT_GNU_BUILD_ID") \
                    or not isinstance(desc, bytes) or len(desc) < word:
                continue  # (pyelftools names type 3 by the GNU constants)
            pc, base, _semaphore = struct.unpack_from(fmt if elf.little_endian else fmt.replace("<", ">"), desc)
            if base_section is not None and base:
                pc += base_section["sh_addr"] - base
            provider, name, args = (desc[word:].split(b"\0") + [b"", b"", b""])[:3]
            out.append(SdtMarker(provider.decode("utf-8", "replace"), name.decode("utf-8", "replace"), pc,
                                 args.decode("utf-8", "replace")))
    return tuple(out)


def sdt_markers(path: str) -> tuple[SdtMarker, ...]:
    """The SDT markers of the ELF file at ``path`` (cached per file version); () without any."""
    import os

    try:
        st = os.stat(path)
        return _markers(os.path.realpath(path), st.st_size, st.st_mtime_ns)
    except Exception:  # not ELF, unreadable, a corrupt note: no markers to show (the listing still has them)
        return ()
