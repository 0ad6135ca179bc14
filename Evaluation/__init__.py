"""Evaluation of a separator: BSS Eval scores per song and their summaries (``scores``), and the listening
report made from every evaluation (``listening_report``)."""
