"""The built-in demo corpus: Bach chorales rendered into the real datasets' layouts (``corpus``), from the
chorales' parts (``chorales``) through fluidsynth (``fluidsynth``); the paper's datasets' layouts in small
(``paper_layouts``)."""
