"""The composer's default training set: the Bach chorales that ship inside music21's corpus,
written out as MIDI files. Nothing is downloaded: music21 carries the scores."""

from __future__ import annotations

import logging
from pathlib import Path

from synth.files import atomic_output
from training.grains.dataset import DatasetError

log = logging.getLogger(__name__)


def export_bach_chorales(out: Path, limit: int | None = None) -> list[Path]:
    """Write each chorale of the corpus as ``out/bwvNNN.mid``; returns the files written."""
    try:
        from music21 import corpus
    except ImportError as error:
        raise DatasetError("music21 is not installed (pip install music21): it carries the "
                           "Bach chorales") from error
    names = list(corpus.chorales.Iterator(returnType="filename"))
    if limit is not None:
        names = names[:limit]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        target = out / f"{Path(name).name}.mid"
        try:
            with atomic_output(target) as partial:
                corpus.parse(name).write("midi", fp=str(partial))
        except Exception as error:  # music21 raises many kinds; one bad score must not stop us
            log.warning("skipped chorale %s: %s", name, error)
            continue
        written.append(target)
    if not written:
        raise DatasetError("no chorale could be written")
    return written
