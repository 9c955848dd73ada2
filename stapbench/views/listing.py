"""``stap -l`` / ``-L`` listings as one table: probe point, source file:line, parameters."""

from __future__ import annotations

from ..model import Listing
from ._html import attrs, esc


def _where(listing: Listing) -> str:
    if listing.file:
        return f"{listing.file}:{listing.line}" if listing.line else listing.file
    return ""


def render_listings_html(listings: list[Listing]) -> str:
    rows = []
    for item in listings:
        params = ", ".join(f'<span class="stapbench-param"><b>{esc(p.name)}</b>:'
                           f'<span class="stapbench-param-type">{esc(p.type)}</span></span>' for p in item.params)
        rows.append(f'<tr class="stapbench-listing-row"{attrs(data_function=item.function)}>'
                    f"<td>{esc(item.probe)}</td><td>{esc(_where(item))}</td><td>{params}</td></tr>")
    return (f'<table class="stapbench-listing stapbench-block" data-rows="{len(listings)}">'
            "<thead><tr><th>probe point</th><th>source</th><th>parameters</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def render_listings_text(listings: list[Listing]) -> str:
    out = []
    for item in listings:
        line = item.probe
        if item.params:
            line += "  " + " ".join(f"{p.name}:{p.type}" for p in item.params)
        out.append(line)
    return "\n".join(out)
