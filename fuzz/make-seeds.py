#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from tcpdump's test captures.

Usage: fuzz/make-seeds.py [CORPUS_DIR]   (default: tests/corpus/tcpdump-tests)

Writes fuzz/corpus/file/ (each capture, cut to 64 KiB), fuzz/corpus/decode/ (one link
selector byte + one frame, up to 32 frames a file) and fuzz/corpus/pipeline/ (the
pipeline target's framing of up to 64 frames a file). fuzz/corpus is gitignored.
Reads classic pcap (µs and ns, either byte order) and pcapng (EPB, SPB, obsolete PB).
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The order of LINKS in fuzz_targets/common.rs: the selector byte is the index.
LINKS = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276]
MAX_FILE = 64 * 1024
DECODE_PER_FILE = 32
PIPELINE_FRAMES = 64


def read_pcap(data):
    """(linktype, [(ts_us, bytes)]) of a classic pcap, or None."""
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
             b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000)}
    if magic not in table or len(data) < 24:
        return None
    end, div = table[magic]
    link = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
        body = data[off + 16:off + 16 + incl]
        if len(body) < incl:
            break
        frames.append((sec * 1_000_000 + frac // div, body))
        off += 16 + incl
    return link, frames


def read_pcapng(data):
    """(linktype of the first interface, its frames) of a pcapng, or None."""
    if data[:4] != b"\x0a\x0d\x0d\x0a" or len(data) < 12:
        return None
    links, frames, off, end = [], [], 0, "<"
    while off + 12 <= len(data):
        btype = struct.unpack(end + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, hi, lo, cap, _ = struct.unpack(end + "IIIII", body[:20])
            frames.append((iface, (hi << 32) | lo, body[20:20 + cap]))
        elif btype == 3 and len(body) >= 4:
            frames.append((0, 0, body[4:]))
        elif btype == 2 and len(body) >= 20:
            iface, _drops, hi, lo, cap, _ = struct.unpack(end + "HHIIII", body[:20])
            frames.append((iface, (hi << 32) | lo, body[20:20 + cap]))
        off += blen
    if not links:
        return None
    return links[0], [(ts, b) for iface, ts, b in frames if iface == 0]


def save(directory, blob):
    name = hashlib.sha1(blob).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(blob)


def main(argv):
    src = argv[0] if argv else os.path.join(HERE, "..", "tests", "corpus", "tcpdump-tests")
    dirs = {t: os.path.join(HERE, "corpus", t) for t in ("file", "decode", "pipeline")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    counts = dict.fromkeys(dirs, 0)
    for entry in sorted(os.listdir(src)):
        if not entry.endswith((".pcap", ".pcapng")):
            continue
        with open(os.path.join(src, entry), "rb") as f:
            data = f.read()
        save(dirs["file"], data[:MAX_FILE])
        counts["file"] += 1
        parsed = read_pcap(data) or read_pcapng(data)
        if not parsed or parsed[0] not in LINKS:
            continue
        link, frames = parsed
        selector = bytes([LINKS.index(link)])
        for _ts, body in frames[:DECODE_PER_FILE]:
            save(dirs["decode"], selector + body)
            counts["decode"] += 1
        if frames:
            out, prev = bytearray(selector + b"\x00"), frames[0][0]
            for ts, body in frames[:PIPELINE_FRAMES]:
                body = body[:0xFFFF]
                step = max(-2**31, min(2**31 - 1, ts - prev))
                out += struct.pack("<Hi", len(body), step) + body
                prev = ts
            save(dirs["pipeline"], bytes(out))
            counts["pipeline"] += 1
    print("seeds written (before de-duplication):", counts)


if __name__ == "__main__":
    main(sys.argv[1:])
