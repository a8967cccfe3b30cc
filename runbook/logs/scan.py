"""Read a byte stream as blocks of whole lines, and find the lines of a block worth parsing.

Why blocks: a log of a gigabyte has millions of lines and only some of them are the runbook's. Looking
for the few anchor literals across a whole block with ``bytes.find`` costs a fraction of looping over
every line in Python, and only the lines around a hit are ever sliced out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from runbook.logs.patterns import ANCHORS, MAX_SCAN

logger = logging.getLogger(__name__)

#: Bytes read at a time: large enough that per-read overhead vanishes, small enough to stay in cache.
CHUNK_SIZE: Final = 4 << 20


def iter_blocks(read: Callable[[int], bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield blocks of whole lines read with ``read(n)`` until it returns ``b""``.

    Every block ends with a newline except, possibly, the last one (a file whose last line has no
    newline). A line longer than a block is cut to :data:`MAX_SCAN` bytes and the rest of it is
    skipped, so memory stays bounded by ``chunk_size`` whatever the input.
    """
    carry = b""
    skipping = False  # inside the discarded tail of an over-long line
    cut_lines = 0
    while chunk := read(chunk_size):
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            skipping = False
        last = chunk.rfind(b"\n")
        if last < 0:
            carry += chunk
        else:
            block = carry + chunk[: last + 1] if carry else chunk[: last + 1]
            carry = chunk[last + 1 :]
            yield block
        if len(carry) > MAX_SCAN:
            cut_lines += 1
            yield carry[:MAX_SCAN] + b"\n"
            carry, skipping = b"", True
    if carry:
        yield carry
    if cut_lines:
        logger.debug("cut %d line(s) longer than a %d-byte block to %d bytes", cut_lines, chunk_size, MAX_SCAN)


def split_block(block: bytes) -> list[bytes]:
    """The lines of a block, without line terminators (``\\r\\n`` or ``\\n``), each cut to MAX_SCAN."""
    lines = block.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    return [(line[:MAX_SCAN] if len(line) > MAX_SCAN else line).removesuffix(b"\r") for line in lines]


# Anchors holding one of these bytes are found through it: a single-byte ``find`` is a ``memchr``,
# several times faster than a substring search, and these bytes are rare in worker logs (no log
# level, no lowercase word). Each hit is verified in place with ``startswith``. Where a byte is
# common after all ('[' in a "[INFO]" format), the probe steps aside for the substring search.
_RARE_BYTES: Final = b"Q[V"
#: A probe byte more frequent than once per this many bytes makes the substring search cheaper.
_PROBE_SPACING: Final = 512
_SAMPLE: Final = 1 << 16


def _plan(anchors: tuple[bytes, ...]) -> tuple[list[tuple[bytes, int, tuple[bytes, ...]]], list[bytes]]:
    """Split the anchors into rare-byte probes ``(byte, its offset, anchors)`` and plain needles."""
    probes: dict[tuple[bytes, int], list[bytes]] = {}
    needles: list[bytes] = []
    for anchor in anchors:
        offset = next((i for i, byte in enumerate(anchor) if byte in _RARE_BYTES), -1)
        if offset < 0:
            needles.append(anchor)
        else:
            probes.setdefault((anchor[offset : offset + 1], offset), []).append(anchor)
    return [(byte, offset, tuple(group)) for (byte, offset), group in probes.items()], needles


_PROBES, _NEEDLES = _plan(ANCHORS)


def _probe(block: bytes, byte: bytes, offset: int, anchors: tuple[bytes, ...], hits: list[int]) -> bool:
    """Collect the anchors' positions through ``byte``; ``False`` if the byte proved too common.

    Past one occurrence per :data:`_PROBE_SPACING` bytes, verifying each costs more than a substring
    search would, so the caller falls back to that; a sample of the block's start usually tells
    before any work is done.
    """
    if block.count(byte, 0, _SAMPLE) > _SAMPLE // _PROBE_SPACING:
        return False
    find, startswith = block.find, block.startswith
    budget = max(len(block) // _PROBE_SPACING, 64)
    pos = find(byte, offset)
    while pos >= 0:
        budget -= 1
        if budget < 0:
            return False
        start = pos - offset
        for anchor in anchors:
            if startswith(anchor, start):
                hits.append(start)
                break
        pos = find(byte, pos + 1)
    return True


def _needle(block: bytes, anchor: bytes, hits: list[int]) -> None:
    find = block.find
    step = len(anchor)
    pos = find(anchor)
    while pos >= 0:
        hits.append(pos)
        pos = find(anchor, pos + step)


def candidate_lines(block: bytes) -> list[tuple[int, bytes]]:
    """``(index of the line in the block, line)`` for each line holding an anchor, in order.

    Lines come without their terminator (``\\n`` or ``\\r\\n``).
    Only the first :data:`MAX_SCAN` bytes of a line are returned; a line whose only anchor lies
    beyond them gives a slice without it, which the classifier then rejects, exactly as when the
    line is parsed on its own.
    """
    hits: list[int] = []
    for byte, offset, anchors in _PROBES:
        if not _probe(block, byte, offset, anchors, hits):
            for anchor in anchors:  # duplicates of the hits already found are dropped below
                _needle(block, anchor, hits)
    for anchor in _NEEDLES:
        _needle(block, anchor, hits)
    if len(hits) > len(block) // _PROBE_SPACING:
        # Dense (a log made mostly of the runbook's lines): splitting the block and testing every
        # line is cheaper than locating each hit's line one by one.
        lines = block.split(b"\n")
        if 3 * len(hits) > len(lines):
            return _dense(lines)
    if not hits:
        return []
    hits.sort()
    find, count, rfind = block.find, block.count, block.rfind
    found: list[tuple[int, bytes]] = []
    index = previous = 0
    end = -1
    for pos in hits:
        if pos < end:  # another anchor of a line already taken
            continue
        start = rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end < 0:
            end = len(block)
        index += count(b"\n", previous, start)
        previous = start
        stop = min(end, start + MAX_SCAN)
        if block[stop - 1] == 13:  # CRLF: the CR is not part of the line
            stop -= 1
        found.append((index, block[start:stop]))
    return found


def has_anchor(line: bytes) -> bool:
    """Whether ``line`` holds one of :data:`~runbook.logs.patterns.ANCHORS` (the per-line prefilter)."""
    # Spelled out: a chain of ``in`` is the cheapest test per line (a test checks it against ANCHORS).
    return (
        b"SQS" in line
        or b"[HANDLER]" in line
        or b"config error" in line
        or b"Video processing failed" in line
        or b"Video job enqueue" in line
        or b"row exists=" in line
        or b"/upload/complete" in line
    )


def _dense(lines: list[bytes]) -> list[tuple[int, bytes]]:
    found: list[tuple[int, bytes]] = []
    for index, line in enumerate(lines):
        if len(line) > MAX_SCAN:
            line = line[:MAX_SCAN]
        if has_anchor(line):
            found.append((index, line.removesuffix(b"\r")))
    return found


def chunk_reader(chunks: Iterable[bytes]) -> Callable[[int], bytes]:
    """Adapt an iterator of arbitrary byte chunks (a docker stream, API pages) to ``read(n)``."""
    source = iter(chunks)
    buffer = bytearray()

    def read(size: int) -> bytes:
        while len(buffer) < size:
            chunk = next(source, None)
            if chunk is None:
                break
            buffer.extend(chunk)
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    return read
