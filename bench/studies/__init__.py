"""Studies: measurements that decided something, each with its story beside its numbers in bench/results/.

- ``semi_vs_sup``: does unpaired audio help? (the paper's claim, on the demo corpus);
- ``generality``: where it helps: one shifted family's unpaired audio at a time, scored on every family;
- ``remedies``: whether the changes its issue names make the gain general (on the stage family's audio);
- ``precision_quality``: one model's scores on each engine and precision;
- ``band_extension``, ``full_band_masks``: the full-band output's choices, made on validation songs
  (``demo_choice`` holds what they share).
"""
