"""Read a byte stream as blocks of whole lines, and find the lines of a block worth parsing.

Why blocks: a log of a gigabyte has millions of lines and only some of them are the runbook's. Looking
for the few anchor literals across a whole block with ``bytes.find`` costs a fraction of looping over
every line in Python, and only the lines around a hit are ever sliced out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from runbook.logs.patterns import ANCHOR_SQS, ANCHORS, MAX_SCAN

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


#: ``(data, start, end)``: ``data[start:end]`` holds whole lines (see :func:`iter_spans`).
Span = tuple[bytes, int, int]


def iter_spans(read: Callable[[int], bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[Span]:
    """Like :func:`iter_blocks`, but yield each read as ``(chunk, start, end)`` instead of a copy.

    ``chunk[start:end]`` holds whole lines, each ending with a newline except, possibly, the last
    line of the input. Why: joining the partial line of one read with the next read copied every
    byte twice more (a slice, then the concatenation), which cost as much as reading the file. Only
    a line that straddles two reads is copied here, cut to :data:`MAX_SCAN` bytes; a line longer
    than that is cut and the rest of it skipped, exactly as :func:`iter_blocks` does, so the lines
    seen, their count and memory (bounded by ``chunk_size``) are the same.
    """
    carry = b""  # the start of a line that continues in the next read; never longer than MAX_SCAN
    skipping = False  # inside the discarded tail of an over-long line
    cut_lines = 0
    while chunk := read(chunk_size):
        start = 0
        if skipping:
            newline = chunk.find(b"\n")
            if newline < 0:
                continue
            start, skipping = newline + 1, False
        elif carry:
            newline = chunk.find(b"\n")
            if newline < 0:
                carry += chunk
            else:
                room = MAX_SCAN - len(carry)
                line = carry + (chunk[: newline + 1] if newline <= room else chunk[:room] + b"\n")
                yield line, 0, len(line)
                carry, start = b"", newline + 1
        if not carry:
            last = chunk.rfind(b"\n", start)
            if last < 0:
                carry = chunk[start:]
            else:
                yield chunk, start, last + 1
                carry = chunk[last + 1 :]
        if len(carry) > MAX_SCAN:
            cut_lines += 1
            line = carry[:MAX_SCAN] + b"\n"
            yield line, 0, len(line)
            carry, skipping = b"", True
    if carry:
        yield carry, 0, len(carry)
    if cut_lines:
        logger.debug("cut %d line(s) longer than a %d-byte read to %d bytes", cut_lines, chunk_size, MAX_SCAN)


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


def _common_prefix(group: list[bytes]) -> bytes:
    first, last = min(group), max(group)  # the lexicographic extremes share what all share
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
    return first[:size]


#: Bytes that must follow an anchor for its line to be worth classifying. Every phrase with "SQS"
#: that the classifier knows goes on with one of them ("SQS_JOB_...", "(SQS) started", "SQS
#: unavailable", "SQSQueueClient", "from SQS: "); a line whose only "SQS" is, say, botocore's
#: "AmazonSQS.ReceiveMessage" or the real worker's "[VIDEO-WORKER-SQS]" tag can give no event, so it is
#: dropped here for one byte comparison instead of being sliced out and classified.
_FOLLOWED_BY: Final = {ANCHOR_SQS: b"_) Q:"}

#: ``(probe byte, its offset in the anchors, their common prefix, the anchors when more than one,
#: the bytes one of which must follow a lone anchor)``
Probe = tuple[bytes, int, bytes, tuple[bytes, ...], bytes]


def _plan(anchors: tuple[bytes, ...]) -> tuple[list[Probe], list[bytes]]:
    """Split the anchors into rare-byte probes and plain needles."""
    probes: dict[tuple[bytes, int], list[bytes]] = {}
    needles: list[bytes] = []
    for anchor in anchors:
        offset = next((i for i, byte in enumerate(anchor) if byte in _RARE_BYTES), -1)
        if offset < 0:
            needles.append(anchor)
        else:
            probes.setdefault((anchor[offset : offset + 1], offset), []).append(anchor)
    # The anchors of one probe share their start up to the probe byte at least ("Video "): testing
    # that prefix first rejects most hits ("Visibility") with one comparison instead of one per anchor.
    return [
        (byte, offset, _common_prefix(group), tuple(group), b"")
        if len(group) > 1
        else (byte, offset, group[0], (), _FOLLOWED_BY.get(group[0], b""))
        for (byte, offset), group in probes.items()
    ], needles


_PROBES, _NEEDLES = _plan(ANCHORS)


def _probe(data: bytes, lo: int, hi: int, probe: Probe, hits: list[int]) -> bool:
    """Collect the anchors' positions in ``data[lo:hi]`` through a rare byte; ``False`` if it proved too common.

    Past one occurrence per :data:`_PROBE_SPACING` bytes, verifying each costs more than a substring
    search would, so the caller falls back to that; a sample of the span's start usually tells
    before any work is done.
    """
    byte, offset, prefix, anchors, follow = probe
    after = len(prefix)
    if data.count(byte, lo, lo + _SAMPLE) > _SAMPLE // _PROBE_SPACING:
        return False
    find, startswith, append = data.find, data.startswith, hits.append
    budget = max((hi - lo) // _PROBE_SPACING, 64)
    pos = find(byte, lo + offset, hi)
    while pos >= 0:
        budget -= 1
        if budget < 0:
            return False
        start = pos - offset
        if startswith(prefix, start):
            if not anchors:  # the prefix is the only anchor
                if not follow or data[start + after : start + after + 1] in follow:  # b"" (the end) passes
                    append(start)
            else:
                for anchor in anchors:
                    if startswith(anchor, start):
                        append(start)
                        break
        pos = find(byte, pos + 1, hi)
    return True


def _load_memmem() -> Callable[[int, int, bytes, int], int | None] | None:
    """The C library's ``memmem``, or ``None`` where it cannot be loaded (then ``bytes.find`` serves)."""
    try:
        import ctypes  # here, not above: a Python built without ctypes still parses logs

        function = ctypes.CDLL(None).memmem
    except (ImportError, OSError, AttributeError, TypeError):  # no ctypes, no libc handle, no memmem
        return None
    function.restype = ctypes.c_void_p
    function.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    return function


def _address(data: bytes) -> int:
    import ctypes  # loaded already by _load_memmem

    # c_char_p points into the bytes object itself (no copy); the caller keeps ``data`` alive.
    return ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0


#: An anchor without a rare byte (all lowercase: "config error") is a substring search over every
#: byte. ``bytes.find`` (CPython's fastsearch) covers about 1.7 GB/s on a worker log here, because
#: common letters defeat its skip table; glibc's ``memmem`` (a skip table over byte pairs) covers
#: about 3.5 GB/s, which takes a second off each gigabyte for the three such anchors.
_MEMMEM: Final = _load_memmem()


def _needle(data: bytes, lo: int, hi: int, anchor: bytes, hits: list[int]) -> None:
    step = len(anchor)
    if _MEMMEM is not None and type(data) is bytes and hi - lo >= step:
        memmem, base = _MEMMEM, _address(data)
        at, stop = base + lo, base + hi
        while stop - at >= step:  # never a negative length: size_t would wrap
            found = memmem(at, stop - at, anchor, step)
            if not found:
                return
            hits.append(found - base)
            at = found + step
        return
    find = data.find
    pos = find(anchor, lo, hi)
    while pos >= 0:
        hits.append(pos)
        pos = find(anchor, pos + step, hi)


def candidate_lines(block: bytes) -> list[tuple[int, bytes]]:
    """``(index of the line in the block, line)`` for each line holding an anchor, in order.

    A line whose only anchors are "SQS" not followed by one of :data:`_FOLLOWED_BY`'s bytes may be
    left out: no phrase the classifier knows can be in it.

    Lines come without their terminator (``\\n`` or ``\\r\\n``).
    Only the first :data:`MAX_SCAN` bytes of a line are returned; a line whose only anchor lies
    beyond them gives a slice without it, which the classifier then rejects, exactly as when the
    line is parsed on its own.
    """
    return scan_span(block, 0, len(block))[1]


def scan_span(data: bytes, lo: int, hi: int) -> tuple[int, list[tuple[int, bytes]]]:
    """The newlines in ``data[lo:hi]`` and its :func:`candidate_lines` (indexes counted from ``lo``).

    ``lo`` must be a line start and ``hi`` a line end (as :func:`iter_spans` gives them). The
    newlines are counted while locating the candidates' lines: one pass over the span, not two.
    """
    hits: list[int] = []
    # No anchor holds a newline, so none found inside [lo, hi) can run past a line end at hi.
    for probe in _PROBES:
        if not _probe(data, lo, hi, probe, hits):
            for anchor in probe[3] or (probe[2],):  # duplicates of the hits already found are dropped below
                _needle(data, lo, hi, anchor, hits)
    for anchor in _NEEDLES:
        _needle(data, lo, hi, anchor, hits)
    if len(hits) > (hi - lo) // _PROBE_SPACING:
        # Dense (a log made mostly of the runbook's lines): splitting the span and testing every
        # line is cheaper than locating each hit's line one by one.
        lines = data[lo:hi].split(b"\n")
        if 3 * len(hits) > len(lines):
            return len(lines) - 1, _dense(lines)
    if not hits:
        return data.count(b"\n", lo, hi), []
    hits.sort()
    find, count, rfind = data.find, data.count, data.rfind
    found: list[tuple[int, bytes]] = []
    index = 0
    previous = lo
    end = -1
    for pos in hits:
        if pos < end:  # another anchor of a line already taken
            continue
        start = rfind(b"\n", lo, pos) + 1 or lo
        end = find(b"\n", pos, hi)
        if end < 0:
            end = hi
        index += count(b"\n", previous, start)
        previous = start
        stop = end if end - start <= MAX_SCAN else start + MAX_SCAN
        if data[stop - 1] == 13:  # CRLF: the CR is not part of the line
            stop -= 1
        found.append((index, data[start:stop]))
    return index + count(b"\n", previous, hi), found


def has_anchor(line: bytes) -> bool:
    """Whether ``line`` holds one of :data:`~runbook.logs.patterns.ANCHORS` (the per-line prefilter)."""
    # Spelled out: a chain of ``in`` is the cheapest test per line (a test checks it against ANCHORS).
    return (
        b"SQS" in line
        or b"[HANDLER]" in line
        or b"config error" in line
        or b"Video processing" in line
        or b"Video job enqueue" in line
        or b"row exists=" in line
        or b"/upload/complete" in line
        or b"/retry" in line
        or b"[TRANSCODER]" in line
        or b"[PROCESSOR]" in line
        or b"Video Worker" in line
        or b"VIDEO_" in line
        or b"(expected PROCESSING)" in line
        or b"Failed to" in line
        or b"Error enqueuing" in line
        or b"Cannot" in line
        or b"Invalid" in line
        or b"IDEMPOTENT_SKIP" in line
        or b"Redis" in line
        or b"Found credentials" in line
        or b"download retry" in line
        or b"thumbnail failed" in line
        or b"R2 raw delete" in line
        or b"Unexpected error" in line
        or b"Too many consecutive" in line
        or b"raceful shutdown" in line
        or b"Unhandled exception" in line
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
