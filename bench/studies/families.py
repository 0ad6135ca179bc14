"""The demo corpus's families of songs as the generality study and its critic probe use them."""
import os

FAMILIES = {"musdb": "studio", "ccmixter": "stage", "timbre": "timbre", "register": "register"}  # dataset: family
UNPAIRED = ("ccmixter", "timbre", "register")  # the datasets whose family feeds the unpaired audio, one at a time
COLLECTIONS = (("mixture", "mixtures"), ("vocals", "solo_vocals"), ("accompaniment", "solo_accompaniment"))


def unpaired_folder(dataset: str) -> str:
    """The folder (relative to a checkout) of the unpaired collections of ``dataset``'s family."""
    return os.path.join("data", "demo", "" if dataset == "ccmixter" else dataset)
