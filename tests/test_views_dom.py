"""A tiny DOM for the views tests (html.parser), and the XSS inertness check.

The helpers are imported by the other test_views_* modules; the tests here
check the helpers themselves, so a broken helper cannot make a view test
pass vacuously.
"""

from __future__ import annotations

from html.parser import HTMLParser

VOID = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "embed", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Node | None" = None):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Node | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **data) -> list["Node"]:
        out = []
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.classes:
                continue
            if any(n.attrs.get(k.replace("_", "-")) != (v if v is None else str(v)) for k, v in data.items()):
                continue
            out.append(n)
        return out

    def find(self, tag: str | None = None, cls: str | None = None, **data) -> "Node":
        found = self.find_all(tag, cls, **data)
        assert found, f"no <{tag or '*'} class={cls!r} {data}> in the HTML"
        return found[0]

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(html: str) -> Node:
    b = _Builder()
    b.feed(html)
    b.close()
    return b.root


def assert_inert(html: str) -> Node:
    """No script, no img/iframe/object, no on* handler, no javascript: URL, nothing external."""
    dom = parse(html)
    for node in dom.iter():
        assert node.tag not in ("script", "img", "iframe", "object", "embed", "svg", "link"), node.tag
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert "javascript:" not in (value or "").lower(), (node.tag, name)
            assert not (name in ("src", "href") and value), (node.tag, name, value)
    return dom


def test_dom_finds_nested_classes_and_data_attributes():
    dom = parse('<div class="a b"><table><tr class="r" data-i="1"><td>x</td></tr><tr class="r" data-i="2"><td>y<br>z</td></tr></table></div>')
    rows = dom.find_all("tr", "r")
    assert [r.attrs["data-i"] for r in rows] == ["1", "2"]
    assert rows[1].text() == "yz"
    assert dom.find(cls="b").tag == "div"
    assert dom.find_all("tr", data_i=2) == [rows[1]]


def test_assert_inert_catches_live_payloads():
    import pytest

    for bad in ('<img src=x onerror="alert(1)">', "<script>alert(1)</script>", '<a href="javascript:x">y</a>',
                '<b onclick="x">y</b>'):
        with pytest.raises(AssertionError):
            assert_inert(bad)
    assert_inert("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;")
