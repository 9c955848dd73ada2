"""The kinds of stream a parser reads (see :class:`.stream.StreamParser`)."""

STREAMS = ("merged", "stdout", "stderr")
