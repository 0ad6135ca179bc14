"""What every training stream needs to know: the settings taken from the config, and where a stream's crops
lie in the excerpts it reads (the U-Net's context, the output's centre), shared by file and memory streams."""
import dataclasses
from typing import Dict, Sequence, Tuple

from Models.geometry import Geometry, samples_of


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """The stream settings of the config (``cfg``'s keys of the same names; defaults live in ``Config.base``)."""
    sample_rate: int
    n_fft: int
    hop: int
    batch_size: int
    excerpt_duration: float
    cache_size: int
    min_replacement_rate: float
    amplify_range: Tuple[float, float]
    sample_by_duration: bool
    read_workers: int

    @property
    def crops_per_excerpt(self) -> int:
        return max(1, int(round(self.batch_size / self.min_replacement_rate)))

    @property
    def excerpt_samples(self) -> int:
        """Samples of an excerpt, without context."""
        return samples_of(self.excerpt_duration, self.sample_rate)

    @classmethod
    def from_config(cls, config: Dict) -> "StreamSettings":
        """The stream settings of a ``cfg`` dict."""
        values = {field.name: config[field.name] for field in dataclasses.fields(cls)}
        return cls(**{**values, "amplify_range": tuple(values["amplify_range"])})


@dataclasses.dataclass(frozen=True)
class ExcerptLayout:
    """Where one stream's crops lie in the excerpts it reads.

    Attributes:
        context_frames: STFT frames of context read on both sides of the excerpt (the U-Net's, for a stream
            with a mixture; 0 for a solo source stream).
        crops: role -> ``(frames, shift)``: each crop starts ``shift`` frames after the common start.
        window: samples read per excerpt, context included; never shorter than one crop needs.
        frames: STFT frames of a window.
    """
    context_frames: int
    crops: Dict[str, Tuple[int, int]]
    window: int
    frames: int

    @property
    def span(self) -> int:
        """Frames from the common start to the end of the longest crop."""
        return max(frames + shift for frames, shift in self.crops.values())


def excerpt_layout(roles: Sequence[str], geometry: Geometry, settings: StreamSettings) -> ExcerptLayout:
    """The layout of a stream reading ``roles``: with a ``mixture`` role the mixture is read with the U-Net's
    context and cropped to its input width, and sources are cropped to the output frames at the centre;
    without one (a solo source stream), sources are cropped to the output width directly."""
    context = geometry.context_frames if "mixture" in roles else 0
    crops = {role: ((geometry.input_shape[1], 0) if role == "mixture" else (geometry.output_shape[1], context))
             for role in roles}
    span = max(frames + shift for frames, shift in crops.values())
    window = max(settings.excerpt_samples + 2 * context * settings.hop, (span - 1) * settings.hop)
    return ExcerptLayout(context, crops, window, window // settings.hop + 1)


def frequency_padding(role: str, geometry: Geometry) -> Tuple[int, int]:
    """Bins of zeros before and after a role's spectrogram to reach the model's height: the input's for the
    mixture, the output's for a source."""
    if role == "mixture":
        return geometry.input_freq_padding
    front = geometry.output_freq_offset
    return front, geometry.output_shape[0] - geometry.bins - front
