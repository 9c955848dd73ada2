"""From events to answers: flame graphs, tables and timelines built from a run's events.

Pure data (no widgets imported here): the views draw what these modules compute.

* :mod:`.stacks`: a run's backtraces as FlameGraph folded stacks (the same
  result ``stapbench fold`` gives on the run's transcript);
* :mod:`.flame`: folded stacks merged into a tree, and its layout with the
  frames too narrow to see merged (so 200,000 distinct stacks stay light);
* :mod:`.frames`: ``run.to_dataframe()``: one row per event, with the
  ``key=value`` / ``key:value`` fields of printf lines;
* :mod:`.timeline`: hits per second per probe.
"""
