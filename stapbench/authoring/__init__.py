"""Authoring: help writing a stap script before any output exists.

``lexer``: the SystemTap Pygments lexer (registered as the ``stap`` Pygments plugin); the
JupyterLab side (CodeMirror language for ``%%stap`` cells) is the prebuilt extension in
``stapbench/labextension``, built from ``labextension/`` at the project's root.
"""
