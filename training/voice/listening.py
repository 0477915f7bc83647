"""What a listener hears in one held note: pitch, how harmonic it is, its spectral envelope.

Every measure looks at the held part of a note the same way whoever played it (the voice
or the reference instrument), so the two can be printed side by side:

- pitch: ``librosa.pyin`` searches the instrument's whole plausible range (``PITCH_SEARCH``),
  never an interval around the requested note, and a note counts as played only when most
  of its held frames are voiced *and* in tune;
- harmonicity: the energy within a few hertz of each harmonic against the energy between
  them (50 Hz to 4 kHz); noise with a faint pitch in it reads near -3 dB, a clean
  instrument note 30 to 40 dB;
- spectral envelope: third-octave band levels, level-matched, against the reference note.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import librosa
import numpy as np

PITCH_SEARCH = (40.0, 1000.0)  # Hz: every instrument this project plays, bass to soprano
IN_TUNE_CENTS = 50.0
PLAYED_FRACTION = 0.8
HARMONIC_BAND = (50.0, 4000.0)
SPECTRUM_SIZE = 4096
HARMONIC_HALF_WIDTH_BINS = 3  # a Hann window's main lobe is 2 bins either side
BAND_FLOOR_DB = 80.0  # bands more than this below the loudest count as this far down


@dataclass(frozen=True)
class HeldNote:
    """The figures of one held note."""

    requested_pitch: float
    voiced_fraction: float  # of the held frames, whatever their pitch
    in_tune_fraction: float  # of the held frames: voiced and within IN_TUNE_CENTS
    cents: float  # median over the voiced frames (nan when none are)
    harmonicity_db: float
    level_db: float
    centroid_hz: float

    @property
    def played(self) -> bool:
        """Voiced and in tune on at least 80% of its held frames (pyin calls white noise
        voiced too, at a wrong pitch: voicing alone says little)."""
        return self.in_tune_fraction >= PLAYED_FRACTION

    def as_dict(self) -> dict[str, float | bool]:
        return {**asdict(self), "played": self.played}


def measure_held_note(held: np.ndarray, rate: int, requested_pitch: float) -> HeldNote:
    f0, voiced, _ = librosa.pyin(held, fmin=PITCH_SEARCH[0], fmax=PITCH_SEARCH[1], sr=rate,
                                 frame_length=2048, resolution=0.05)
    target = float(librosa.midi_to_hz(requested_pitch))
    cents_per_frame = 1200.0 * np.log2(np.where(voiced, f0, target) / target)
    in_tune = voiced & (np.abs(cents_per_frame) <= IN_TUNE_CENTS)
    cents = float(np.median(cents_per_frame[voiced])) if voiced.any() else float("nan")
    measured_f0 = target * 2 ** (cents / 1200.0) if np.isfinite(cents) else target
    return HeldNote(
        requested_pitch=float(requested_pitch),
        voiced_fraction=float(np.mean(voiced)) if len(voiced) else 0.0,
        in_tune_fraction=float(np.mean(in_tune)) if len(in_tune) else 0.0,
        cents=cents,
        harmonicity_db=harmonicity_db(held, rate, measured_f0),
        level_db=float(decibels(float(np.mean(held.astype(np.float64) ** 2)))),
        centroid_hz=spectral_centroid(held, rate))


def average_spectrum(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, mean power) over Hann frames of ``SPECTRUM_SIZE`` samples, half overlapped."""
    size = SPECTRUM_SIZE
    if len(audio) < size:
        audio = np.pad(audio, (0, size - len(audio)))
    frames = librosa.util.frame(audio.astype(np.float64), frame_length=size,
                                hop_length=size // 2, axis=0)
    power = np.mean(np.abs(np.fft.rfft(frames * np.hanning(size), axis=1)) ** 2, axis=0)
    return np.fft.rfftfreq(size, 1.0 / rate), power


def harmonicity_db(audio: np.ndarray, rate: int, f0: float) -> float:
    """Energy on the harmonics of ``f0`` against the energy between them, in dB.

    Each harmonic is looked for within a quarter of ``f0`` of where it should be, so a
    slightly stretched or detuned series is still found; the bins within
    ``HARMONIC_HALF_WIDTH_BINS`` of each peak count as harmonic, the rest of the band as
    between.
    """
    freqs, power = average_spectrum(audio, rate)
    low, high = HARMONIC_BAND[0], min(HARMONIC_BAND[1], rate / 2)
    band = (freqs >= low) & (freqs <= high)
    on_harmonic = np.zeros(len(freqs), bool)
    harmonic = 1
    while harmonic * f0 <= high:
        near = np.flatnonzero(np.abs(freqs - harmonic * f0) <= f0 / 4)
        if len(near):
            peak = near[np.argmax(power[near])]
            lo = max(0, peak - HARMONIC_HALF_WIDTH_BINS)
            on_harmonic[lo:peak + HARMONIC_HALF_WIDTH_BINS + 1] = True
        harmonic += 1
    between = power[band & ~on_harmonic].sum()
    return float(decibels(power[band & on_harmonic].sum()) - decibels(between))


def third_octave_levels(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(centre frequencies, band levels in dB) from 50 Hz to just under Nyquist."""
    freqs, power = average_spectrum(audio, rate)
    centres = 1000.0 * 2.0 ** (np.arange(-14, 14) / 3.0)
    edge = 2.0 ** (1.0 / 6.0)
    centres = centres[(centres / edge >= 45.0) & (centres * edge <= rate / 2)]
    levels = np.array([decibels(power[(freqs >= c / edge) & (freqs < c * edge)].sum())
                       for c in centres])
    return centres, levels


def envelope_distance_db(audio: np.ndarray, reference: np.ndarray, rate: int) -> float:
    """Mean absolute difference of third-octave band levels, the two matched in overall level
    first; bands far below the reference's loudest are floored for both."""
    _, ours = third_octave_levels(audio, rate)
    _, theirs = third_octave_levels(reference, rate)
    ours = ours - (decibels(np.sum(10 ** (ours / 10))) - decibels(np.sum(10 ** (theirs / 10))))
    floor = theirs.max() - BAND_FLOOR_DB
    return float(np.mean(np.abs(np.maximum(ours, floor) - np.maximum(theirs, floor))))


def spectral_centroid(audio: np.ndarray, rate: int) -> float:
    freqs, power = average_spectrum(audio, rate)
    return float(np.sum(freqs * power) / max(np.sum(power), 1e-30))


def decibels(power: np.ndarray | float) -> np.ndarray:
    return 10.0 * np.log10(np.asarray(power) + 1e-24)
