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


def render_probe_listing_html(pattern: str, listings: list[Listing], suggestions: list[str],
                              problems: list[str]) -> str:
    """A ``stap -L`` answer: the table, or, when nothing matched, stap's silence made explicit
    with the closest probe points as suggestions."""
    head = (f'<div class="stapbench-listing-head"><code>stap -L {esc(pattern)}</code>: '
            f"{len(listings)} probe point{'s' if len(listings) != 1 else ''}</div>")
    if listings:
        return head + render_listings_html(listings)
    parts = [head, '<div class="stapbench-nomatch">no match']
    if suggestions:
        parts.append(": did you mean")
        parts.append("<ul>" + "".join(f'<li><code class="stapbench-suggestion">{esc(s)}</code></li>'
                                      for s in suggestions) + "</ul>")
    parts.append("</div>")
    if problems:
        parts.append("<pre class=\"stapbench-listing-problems\">" + esc("\n".join(problems)) + "</pre>")
    return "".join(parts)


def render_probe_listing_text(pattern: str, listings: list[Listing], suggestions: list[str],
                              problems: list[str]) -> str:
    count = len(listings)
    out = [f"stap -L {pattern}: {count} probe point{'s' if count != 1 else ''}"]
    if listings:
        out.append(render_listings_text(listings))
    else:
        out.append("no match" + (": did you mean" if suggestions else ""))
        out += [f"  {s}" for s in suggestions]
        out += problems
    return "\n".join(out)
