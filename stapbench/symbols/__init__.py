"""Symbols and source: stap backtrace frames -> file:line and source snippets.

``Symbolizer().locate(frame)`` reads the module's ELF symbol table and DWARF
line table (pyelftools for the headers, our own decoder for the line
programs), cached per build-id; ``source_snippet(location)`` reads the lines
around it.  See :mod:`stapbench.symbols.symbolizer` for the conventions.
"""

from .location import PROBLEMS, SourceLocation, SourceSnippet
from .symbolizer import Symbolizer, SymbolizerStats

__all__ = ["PROBLEMS", "SourceLocation", "SourceSnippet", "Symbolizer", "SymbolizerStats"]
