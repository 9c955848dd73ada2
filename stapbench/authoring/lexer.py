"""A Pygments lexer for SystemTap scripts (``.stp``), registered as the ``stap`` Pygments plugin.

Its tokens follow stap's own lexer (``parse.cxx``, ``lexer::scan``): identifiers may hold
``$`` after the first character (``$c$``, ``$$vars$$``), numbers are as permissive as stap's
(``[0-9][A-Za-z0-9]*``, strtol decides later), strings end at their quote or, unclosed, at the
line's end (stap's "unclosed quote" junk, an error token here too), every ASCII punctuation
character is an operator, ``%{ ... %}`` is embedded C (lexed as C), and ``%( %? %: %)`` are the
preprocessor's conditionals.  Only what stap itself calls junk (control and non-ASCII
characters outside strings and comments, unclosed strings) comes out as an error token.

Beyond stap's token kinds the lexer tells apart what a reader wants to see: probe points
after ``probe`` (their components, ``.return`` included, are names, not the ``return``
keyword), the function name after ``function``, ``:long``/``:string`` types, ``$context``
variables, ``$$vars``-style pseudo variables, ``$1``/``@1``/``$#`` script arguments, the
``@cast``/``@var``/``@count``... operators, macro uses, tapset functions, the preprocessor's
own names inside a condition (``kernel_v``, ``arch``, ``CONFIG_*``), and printf directives
inside strings.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, include, using, words
from pygments.lexers.c_cpp import CLexer
from pygments.token import (Comment, Error, Keyword, Name, Number, Operator, Punctuation, String,
                            Whitespace)

__all__ = ["SystemTapLexer", "KEYWORDS", "AT_OPERATORS", "PROBE_POINT"]

KEYWORDS = ("probe", "global", "private", "function", "if", "else", "for", "foreach", "in", "limit",
            "return", "delete", "while", "break", "continue", "next", "try", "catch")
TYPES = ("string", "long")
# stap's "atwords" (parse.cxx): operators spelled @word
AT_OPERATORS = ("cast", "defined", "probewrite", "entry", "perf", "var", "const", "kregister",
                "uregister", "kderef", "uderef", "enum", "enumname")
AT_STATISTICS = ("avg", "count", "sum", "min", "max", "hist_linear", "hist_log", "variance")
PREPROCESSOR_NAMES = ("kernel_v", "kernel_vr", "arch", "runtime", "systemtap_v", "systemtap_privilege",
                      "guru_mode", "compatible")
# A few of the most used tapset functions, so calls to them stand out; the completer
# reads the installed tapsets for the full list.
TAPSET_FUNCTIONS = (
    "printf", "printd", "printdln", "println", "print", "sprintf", "sprint", "sprintd", "sprintln",
    "exit", "error", "warn", "pid", "tid", "ppid", "uid", "gid", "euid", "cpu", "execname", "pexecname",
    "pp", "ppfunc", "probefunc", "probemod", "cmdline_str", "user_string", "user_string_n",
    "user_string_quoted", "kernel_string", "kernel_string_n", "user_int", "user_long", "kernel_int",
    "kernel_long", "print_backtrace", "print_ubacktrace", "print_ubacktrace_brief", "print_usyms",
    "print_syms", "backtrace", "ubacktrace", "sprint_backtrace", "sprint_ubacktrace", "usymname",
    "usymdata", "symname", "symdata", "umodname", "modname", "gettimeofday_s", "gettimeofday_ms",
    "gettimeofday_us", "gettimeofday_ns", "local_clock_ns", "cpu_clock_ns", "jiffies", "ctime",
    "target", "is_return", "strlen", "substr", "isinstr", "strtol", "str_replace", "tokenize",
    "matched", "ngroups", "text_str", "text_strn", "stringat", "isprefix", "issuffix",
)

# The characters stap's lexer treats as operators when nothing longer matches (ispunct in C).
_PUNCT = r"[!-/:-@\[-`{-~]"
_MULTI_OPS = (r"<<<|>>>|<<=|>>=|==|!=|<=|>=|=~|!~|\+=|-=|\*=|/=|%=|&=|\^=|\|=|\.=|&&|\|\||\+\+|--|->|<<|>>")
_IDENT = r"[A-Za-z_][\w$]*"


class SystemTapLexer(RegexLexer):
    """SystemTap scripts: probe points, embedded C, preprocessor conditionals, ``$``/``@`` forms."""

    name = "SystemTap"
    aliases = ["stap", "systemtap"]
    filenames = ["*.stp"]
    mimetypes = ["text/x-systemtap"]
    url = "https://sourceware.org/systemtap/"

    tokens = {
        "whitespace": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),  # includes #! lines
            (r"//.*?$", Comment.Single),
            (r"/\*(?:.|\n)*?(?:\*/|\Z)", Comment.Multiline),
        ],
        "embedded": [
            (r"(%\{)((?:.|\n)*?)(%\})", bygroups(Comment.Preproc, using(CLexer), Comment.Preproc)),
            (r"%\{(?:.|\n)*", Error),  # unclosed embedded code: stap's junk too
        ],
        "preprocessor": [
            (r"%\(", Comment.Preproc, "condition"),
            (r"%[?:)]", Comment.Preproc),
        ],
        "arguments": [
            # $1..$999, @1..@999, $#, @#: the script's command-line arguments
            (r"[$@](?:[0-9]+|#)", Name.Variable.Magic),
        ],
        "tokens": [
            include("whitespace"),
            include("embedded"),
            include("preprocessor"),
            include("arguments"),
            (r'"', String.Double, "string"),
            (r"0[xX][0-9a-fA-F]+\b", Number.Hex),
            (r"0[0-7]+\b", Number.Oct),
            (r"[0-9]+\b", Number.Integer),
            (r"[0-9][A-Za-z0-9]*", Number),  # stap takes it; strtol judges later
            (r"\$\$[\w$]*", Name.Builtin.Pseudo),  # $$vars, $$parms$, $$locals$$, $$return
            (r"\$[\w$]*", Name.Variable),  # $c, $c$, $c$$
            (r"@define\b", Keyword.Declaration),
            (words(AT_OPERATORS, prefix="@", suffix=r"\b"), Name.Builtin),
            (words(AT_STATISTICS, prefix="@", suffix=r"\b"), Name.Builtin),
            (r"@[\w$]*", Name.Function.Magic),  # a macro's use, or a macro parameter
            (r"(:)(\s*)(string|long)\b", bygroups(Punctuation, Whitespace, Keyword.Type)),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(TAPSET_FUNCTIONS, suffix=r"\b(?=\s*\()"), Name.Builtin),
            (_IDENT, Name),
            (_MULTI_OPS, Operator),
            (r"[{}()\[\],;]", Punctuation),
            (_PUNCT, Operator),
        ],
        "root": [
            (r"(probe)\b", Keyword, "probe-point"),
            (r"(function)(\s+)(" + _IDENT + ")", bygroups(Keyword, Whitespace, Name.Function)),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            include("tokens"),
        ],
        # `probe A.b("x").return ?, C if (cond) {` or an alias `probe name = A, B {`
        "probe-point": [
            include("whitespace"),
            include("embedded"),
            include("preprocessor"),
            include("arguments"),
            (r"if\b", Keyword, "#pop"),  # the condition is ordinary code
            (r"\{", Punctuation, "#pop"),
            (r"[A-Za-z_*][\w$*]*", Name.Label),  # components and wildcards: kernel, function, return, syscall.*
            (r"\.", Punctuation),
            (r"\(", Punctuation, "probe-argument"),
            (r"\+?=", Operator),
            (r"[?!]", Operator),
            (r",", Punctuation),
            include("tokens"),
        ],
        "probe-argument": [
            (r"\(", Punctuation, "#push"),
            (r"\)", Punctuation, "#pop"),
            include("tokens"),
        ],
        "condition": [  # %( cond %? ... %: ... %)  and a macro body @define m %( ... %)
            (r"%\?", Comment.Preproc, "#pop"),
            (r"%\)", Comment.Preproc, "#pop"),
            (words(PREPROCESSOR_NAMES, suffix=r"\b"), Name.Constant),
            (r"CONFIG_\w+", Name.Constant),
            include("root"),
        ],
        "string": [
            (r'"', String.Double, "#pop"),
            (r"\\(?:x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.|\n)", String.Escape),  # stap keeps a backslash-newline in the string
            (r"%%", String.Escape),
            (r"%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|j|z|t)?[diouxXcspbmM]", String.Interpol),
            (r'[^"\\%\n]+', String.Double),
            (r"%", String.Double),
            (r"\n", Error, "#pop"),  # stap: unclosed quote
        ],
    }
