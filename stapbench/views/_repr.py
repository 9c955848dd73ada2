"""The mime bundle every stapbench widget returns: the live view plus its static renders."""

from __future__ import annotations


class StaticReprMixin:
    """Adds ``text/html`` and ``text/plain`` (the static renders) to a widget's mime bundle,
    so a saved notebook shows the view in nbconvert HTML, on GitHub and without a kernel."""

    def static_html(self) -> str:
        raise NotImplementedError

    def static_text(self) -> str:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        # ipywidgets returns the data dict; anywidget returns (data, metadata)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
        data = dict(data)
        data["text/html"] = self.static_html()
        data["text/plain"] = self.static_text()
        return (data, metadata) if metadata is not None else data
