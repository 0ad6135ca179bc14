"""Arrangements of the Bach chorales that ship with music21, as multitrack MIDI.

Each chorale's soprano becomes the vocal line (a voice patch with vibrato), the alto and tenor
go to accompanying instruments, the bass to a bass instrument, and a drum pattern is added.
Tempo, key, instruments and levels vary from song to song, within one of the :data:`FAMILIES`
of timbres, so that a corpus can pose a domain shift (paired songs of one family, unpaired data
and a second test set of another).
The chorale scores are public domain (J. S. Bach, d. 1750; music21's corpus, BSD licence).
"""
import dataclasses
import math
from typing import Dict, List, Tuple

import numpy as np
import pretty_midi

# General MIDI names of the programs the families use (for the manifest).
PROGRAM_NAMES = {0: "Acoustic Grand Piano", 4: "Electric Piano 1", 11: "Vibraphone", 16: "Drawbar Organ",
                 19: "Church Organ", 24: "Acoustic Guitar (nylon)", 25: "Acoustic Guitar (steel)",
                 5: "Electric Piano 2", 17: "Percussive Organ", 26: "Electric Guitar (jazz)",
                 27: "Electric Guitar (clean)", 32: "Acoustic Bass", 33: "Electric Bass (finger)",
                 34: "Electric Bass (pick)", 35: "Fretless Bass", 36: "Slap Bass 1", 37: "Slap Bass 2",
                 38: "Synth Bass 1", 39: "Synth Bass 2", 40: "Violin", 41: "Viola", 42: "Cello", 43: "Contrabass",
                 46: "Orchestral Harp", 48: "String Ensemble 1", 52: "Choir Aahs", 53: "Voice Oohs",
                 54: "Synth Voice", 56: "Trumpet", 58: "Tuba", 60: "French Horn", 61: "Brass Section",
                 65: "Alto Sax", 66: "Tenor Sax", 68: "Oboe", 70: "Bassoon", 71: "Clarinet", 73: "Flute",
                 81: "Lead 2 (sawtooth)", 85: "Lead 6 (voice)", 91: "Pad 4 (choir)"}
STEMS = ("vocals", "drums", "bass", "other")


@dataclasses.dataclass(frozen=True)
class Family:
    """A family of timbres and tempi that songs are drawn from (General MIDI programs by stem)."""
    voices: Tuple[int, ...]
    voice_octave: int          # octaves the sung line is moved from the soprano's register
    bass: Tuple[int, ...]
    other: Tuple[int, ...]
    drum_patterns: Tuple[str, ...]
    tempo: Tuple[float, float]


FAMILIES = {
    # Paired songs: a choir voice at the soprano's pitch over keys and guitars, straight drums.
    "studio": Family(voices=(52,), voice_octave=0, bass=(32, 33, 34), other=(0, 4, 16, 19, 24, 25),
                     drum_patterns=("rock", "four-on-floor"), tempo=(72.0, 108.0)),
    # Unpaired data and the shifted test songs: other voices an octave lower (a tenor's register,
    # inside the accompaniment's), strings, brass, winds and mallets, other grooves, faster.
    "stage": Family(voices=(53, 54), voice_octave=-1, bass=(35, 38, 43, 58, 70),
                    other=(11, 40, 41, 42, 46, 48, 56, 60, 68, 71, 73),
                    drum_patterns=("half-time", "waltz-ride"), tempo=(100.0, 140.0)),
    # Two more shifted families, each moving one thing away from the studio's (the generality study,
    # bench.studies.generality; rendered on request: Input.demo.corpus --families):
    # other timbres (voices, instruments) at the studio's register, tempi and grooves;
    "timbre": Family(voices=(85, 91), voice_octave=0, bass=(36, 37, 39), other=(5, 17, 26, 27, 61, 65, 66, 81),
                     drum_patterns=("rock", "four-on-floor"), tempo=(72.0, 108.0)),
    # the studio's instruments and grooves, the sung line an octave lower (the stage's register).
    "register": Family(voices=(52,), voice_octave=-1, bass=(32, 33, 34), other=(0, 4, 16, 19, 24, 25),
                       drum_patterns=("rock", "four-on-floor"), tempo=(72.0, 108.0)),
}

Note = Tuple[float, float, int]  # start (s), end (s), MIDI pitch


@dataclasses.dataclass
class Arrangement:
    """One song: notes per stem in seconds, and how it was made (for the manifest)."""
    corpus_id: str
    family: str
    tempo: float
    transpose: int
    duration: float
    programs: Dict[str, List[int]]
    gains_db: Dict[str, float]
    drum_pattern: str
    parts: Dict[str, List[List[Note]]]  # stem -> list of instrument note lists

    def describe(self) -> dict:
        melody = self.parts["vocals"][0]
        return {"corpus_id": self.corpus_id, "family": self.family, "tempo_bpm": round(self.tempo, 2), "transpose": self.transpose,
                "duration": self.duration, "programs": self.programs,
                "instruments": {stem: [PROGRAM_NAMES.get(p, "drum kit" if stem == "drums" else str(p)) for p in programs]
                                for stem, programs in self.programs.items()},
                "gains_db": self.gains_db,
                "drum_pattern": self.drum_pattern, "melody_first_notes": [list(n) for n in melody[:12]],
                "licence": "score: public domain (J. S. Bach), from music21's corpus (BSD); "
                           "rendered with a GPL-2 General MIDI soundfont"}


def chorale_ids() -> List[str]:
    """Corpus ids of the Bach chorales shipped with music21 (sorted, so choice by seed is stable)."""
    from music21 import corpus
    paths = corpus.getComposer("bach")
    return sorted("bach/" + str(p).split("/bach/")[-1] for p in paths if str(p).endswith((".mxl", ".xml")))


def read_satb(corpus_id: str) -> Dict[str, List[Tuple[float, float, int]]]:
    """Notes (start and length in quarter notes, pitch) of the soprano, alto, tenor and bass parts.

    Raises:
        ValueError: the score does not have the four SATB parts.
    """
    from music21 import corpus
    score = corpus.parse(corpus_id)
    wanted = {"soprano": None, "alto": None, "tenor": None, "bass": None}
    for part in score.parts:
        name = (part.partName or "").strip().lower()
        if name in wanted and wanted[name] is None:
            wanted[name] = part
    if any(part is None for part in wanted.values()):
        raise ValueError(f"{corpus_id} has no SATB parts")
    voices = {}
    for name, part in wanted.items():
        notes = []
        for element in part.stripTies().flatten().notes:
            pitch = max(p.midi for p in element.pitches)
            notes.append((float(element.offset), float(element.quarterLength), int(pitch)))
        voices[name] = notes
    return voices


def arrange(corpus_id: str, voices: Dict[str, List[Tuple[float, float, int]]], duration: float,
            rng: np.random.Generator, family: str = "studio") -> Arrangement:
    """Turns SATB notes into a song of ``duration`` seconds with random tempo, key, instruments and levels
    drawn from one of :data:`FAMILIES`."""
    style = FAMILIES[family]
    tempo = float(rng.uniform(*style.tempo))
    transpose = int(rng.integers(-4, 5))
    seconds_per_quarter = 60.0 / tempo
    length_quarters = max(o + d for part in voices.values() for o, d, _ in part)

    def timed(part):
        notes, loop = [], 0
        while loop * length_quarters * seconds_per_quarter < duration:
            shift = loop * length_quarters
            for offset, length, pitch in part:
                start = (offset + shift) * seconds_per_quarter
                end = min((offset + shift + length) * seconds_per_quarter * 0.98 + 0.02, duration)
                # A note shorter than a MIDI tick or two can lose its note-off and ring forever.
                if start < duration - 0.1 and end - start >= 0.05:
                    notes.append((round(start, 4), round(end, 4), pitch + transpose))
            loop += 1
        return notes

    other = [int(p) for p in rng.choice(list(style.other), size=2, replace=False)]
    programs = {"vocals": [int(rng.choice(list(style.voices)))], "bass": [int(rng.choice(list(style.bass)))],
                "other": other, "drums": [0]}
    bass = [(s, e, p - 12 if p >= 52 else p) for s, e, p in timed(voices["bass"])]
    sung = [(s, e, p + 12 * style.voice_octave) for s, e, p in timed(voices["soprano"])]
    parts = {"vocals": [sung], "bass": [bass], "other": [timed(voices["alto"]), timed(voices["tenor"])]}
    pattern = str(rng.choice(list(style.drum_patterns)))
    parts["drums"] = [drum_notes(pattern, tempo, duration)]
    gains = {"vocals": float(rng.uniform(-3, 3)), "drums": float(rng.uniform(-9, -3)),
             "bass": float(rng.uniform(-6, 0)), "other": float(rng.uniform(-6, 0))}
    return Arrangement(corpus_id, family, tempo, transpose, duration, programs, gains, pattern, parts)


def drum_notes(pattern: str, tempo: float, duration: float) -> List[Note]:
    """A simple General MIDI drum pattern (kick 36, snare 38, closed hat 42, ride 51)."""
    beat = 60.0 / tempo
    layouts = {"rock": [(0, 36), (1, 38), (2, 36), (3, 38)] + [(i / 2, 42) for i in range(8)],
               "half-time": [(0, 36), (2, 38)] + [(i / 2, 42) for i in range(8)],
               "waltz-ride": [(0, 36), (1, 51), (2, 51), (1.5, 38)],
               "four-on-floor": [(i, 36) for i in range(4)] + [(1, 38), (3, 38)] + [(i + 0.5, 42) for i in range(4)]}
    bar_beats = 3 if pattern == "waltz-ride" else 4
    hits, bar = [], 0
    while bar * bar_beats * beat < duration:
        for position, pitch in layouts[pattern]:
            start = (bar * bar_beats + position) * beat
            if start < duration - 0.1:
                hits.append((round(start, 4), round(start + 0.1, 4), pitch))
        bar += 1
    return hits


def stem_midi(arrangement: Arrangement, stem: str) -> pretty_midi.PrettyMIDI:
    """One stem of the arrangement as MIDI; the vocal line gets a 5.5 Hz vibrato of +-30 cents."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=arrangement.tempo)
    for program, notes in zip(arrangement.programs[stem] * 2, arrangement.parts[stem]):
        instrument = pretty_midi.Instrument(program=program, is_drum=(stem == "drums"), name=stem)
        velocity = 100 if stem == "drums" else 90
        instrument.notes = [pretty_midi.Note(velocity, int(p), s, e) for s, e, p in notes
                            if 0 <= p < 128 and e - s >= 0.05]
        if stem == "vocals":
            steps = np.arange(0.0, arrangement.duration, 0.02)
            bends = 4096 * 0.3 / 2.0 * np.sin(2 * math.pi * 5.5 * steps)  # 8192 per 2 semitones
            instrument.pitch_bends = [pretty_midi.PitchBend(int(b), float(t)) for t, b in zip(steps, bends)]
        midi.instruments.append(instrument)
    return midi
