#!/usr/bin/env python3
"""Writes the tracker's scenario captures (tests/data/tracker/*.pcap): short TCP
conversations, built field by field, that show one rule each of the tracker's state
machine and expert notes (tests/tracker_captures.rs says what each must show, and
tests/tshark_corpus.rs holds them to tshark). Run it from anywhere; it rewrites the files.
Addresses are from the documentation ranges (RFC 5737, and RFC 3849 for IPv6): no packet
is ever sent."""
import ipaddress
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
C, S = ("192.0.2.1", 40000), ("198.51.100.2", 80)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip(addr):
    return bytes(int(part) for part in addr.split("."))


def frame(src, dst, flags, seq, ack, length=0, win=64240):
    payload = bytes((i % 26) + 97 for i in range(length))
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, win, 0, 0)
    pseudo = ip(src[0]) + ip(dst[0]) + struct.pack("!BBH", 0, 6, len(tcp) + length)
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:]
    total = 20 + len(tcp) + length
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, ip(src[0]), ip(dst[0]))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    ether = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return ether + header + tcp + payload


def write(name, segments, client=C, server=S):
    """segments: (time in seconds, from client?, flags, seq, ack, length[, window])."""
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, from_client, flags, seq, ack, length, *win in segments:
            src, dst = (client, server) if from_client else (server, client)
            data = frame(src, dst, flags, seq, ack, length, *win)
            sec, usec = int(ts), round((ts - int(ts)) * 1e6)
            f.write(struct.pack("<IIII", 1_000_000_000 + sec, usec, len(data), len(data)) + data)


X, Y = 1_000_000, 5_000_000


def handshake(t=0.0, x=X, y=Y):
    return [(t, True, SYN, x, 0, 0), (t + 0.010, False, SYN | ACK, y, x + 1, 0), (t + 0.020, True, ACK, x + 1, y + 1, 0)]


def close(t, x, y):
    return [(t, True, FIN | ACK, x, y, 0), (t + 0.010, False, FIN | ACK, y, x + 1, 0), (t + 0.020, True, ACK, x + 1, y + 1, 0)]


# 1. An injected RST in SYN-SENT whose ack is the ISS itself (not ISS + 1): RFC 9293 drops it;
# the real SYN-ACK follows and the connection carries data.
write("rst-injected-in-syn-sent.pcap", [
    (0.000, True, SYN, X, 0, 0),
    (0.005, False, RST | ACK, 777, X, 0),
    (0.010, False, SYN | ACK, Y, X + 1, 0),
    (0.020, True, ACK, X + 1, Y + 1, 0),
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
] + close(0.050, X + 11, Y + 1))

# 1. A RST from the client whose seq is far outside the server's window: the server ignores it
# and goes on sending.
write("rst-outside-window.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11 + 1_000_000, Y + 1, 0),
    (0.060, False, PSH | ACK, Y + 1, X + 11, 20),
    (0.070, True, ACK, X + 11, Y + 21, 0),
] + close(0.080, X + 11, Y + 21))

# 2. A RST without ACK (its ack field 0, its seq outside the window) in the middle of a
# connection whose numbers lie above 2^31: the client's timeout resend that follows is a
# plain retransmission, and its new data no retransmission at all.
XH = 0xF000_0000
write("rst-without-ack.pcap", handshake(x=XH) + [
    (0.030, True, PSH | ACK, XH + 1, Y + 1, 100),
    (0.035, False, RST, Y + 1 + 1_000_000, 0, 0),
    (0.300, True, PSH | ACK, XH + 1, Y + 1, 100),
    (0.310, False, ACK, Y + 1, XH + 101, 0),
    (0.320, True, PSH | ACK, XH + 101, Y + 1, 100),
    (0.330, False, ACK, Y + 1, XH + 201, 0),
] + close(0.340, XH + 201, Y + 1))

# 3. A connection reset, then the same ports again: a new SYN with its own ISN, and after that
# connection closes, a SYN-ACK on the same ports whose SYN was not captured.
X2, Y2, Y3 = 7_000_000, 9_000_000, 11_000_000
write("ports-reused-after-reset.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, RST | ACK, Y + 1, X + 11, 0),
] + handshake(1.0, X2, Y2) + [
    (1.030, True, PSH | ACK, X2 + 1, Y2 + 1, 10),
    (1.040, False, ACK, Y2 + 1, X2 + 11, 0),
] + close(1.050, X2 + 11, Y2 + 1) + [
    (70.0, False, SYN | ACK, Y3, X2 + 500, 0),
    (70.010, True, ACK, X2 + 500, Y3 + 1, 0),
    (70.020, True, PSH | ACK, X2 + 500, Y3 + 1, 10),
    (70.030, False, ACK, Y3 + 1, X2 + 510, 0),
])

# 4. Bytes the capture missed at the end of what the client sent: the server's ACKs of them
# are "ACKed segment that wasn't captured" once, not on every later ACK.
write("acked-unseen-once.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 100),
    # (client bytes 101..200 sent, not captured)
    (0.040, False, ACK, Y + 1, X + 201, 0),
    (0.050, False, PSH | ACK, Y + 1, X + 201, 50),
    (0.060, False, PSH | ACK, Y + 51, X + 201, 50),
    (0.070, True, ACK, X + 201, Y + 101, 0),
    (0.080, False, ACK, Y + 101, X + 201, 0, 65000),
] + close(0.090, X + 201, Y + 101))

# 5. A resend of bytes the server has already acknowledged, soon after new data left: tshark
# checks "spurious" before "out of order".
write("spurious-before-out-of-order.pcap", handshake(0.0) + [
    (0.100, True, PSH | ACK, X + 1, Y + 1, 100),
    (0.101, False, ACK, Y + 1, X + 101, 0),
    (0.102, True, PSH | ACK, X + 101, Y + 1, 100),
    (0.1025, True, PSH | ACK, X + 1, Y + 1, 100),
    (0.110, False, ACK, Y + 1, X + 201, 0),
] + close(0.120, X + 201, Y + 1))

# 6. The server's FIN already acknowledges the client's FIN (no crossing): FIN-WAIT-2 then
# TIME-WAIT, never CLOSING. Then a FIN sent in SYN-SENT.
write("fin-acks-fin.pcap", handshake() + [
    (0.030, True, FIN | ACK, X + 1, Y + 1, 0),
    (0.040, False, FIN | ACK, Y + 1, X + 2, 0),
    (0.050, True, ACK, X + 2, Y + 2, 0),
])
write("fin-in-syn-sent.pcap", [
    (0.000, True, SYN, X, 0, 0),
    (0.010, True, FIN, X + 1, 0, 0),
    (0.020, False, RST | ACK, 0, X + 2, 0),
])

# 7. Zeek's conn_state: a RST after both FINs (SF), and SYN, FIN, RST answered by a bare ACK (OTH).
write("rst-after-both-fins.pcap", handshake() + [
    (0.030, True, FIN | ACK, X + 1, Y + 1, 0),
    (0.040, False, FIN | ACK, Y + 1, X + 2, 0),
    (0.050, True, RST | ACK, X + 2, Y + 2, 0),
])
write("syn-fin-rst-bare-ack.pcap", [
    (0.000, True, SYN, X, 0, 0),
    (0.010, True, FIN, X + 1, 0, 0),
    (0.020, True, RST, X + 2, 0, 0),
    (0.030, False, ACK, Y, X + 1, 0),
])

# 7. Connections whose SYN was not captured, judged by Zeek's endpoint states: data both ways
# and both FINs is SF; a SYN-ACK first (its SYN missed), then ACKs and data, is S1, and
# Zeek, which flips the roles when the responder speaks first, writes `^`.
write("midstream-closed.pcap", [
    (0.000, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.010, False, PSH | ACK, Y + 1, X + 11, 10),
] + close(0.020, X + 11, Y + 11))
write("syn-ack-first.pcap", [
    (0.000, False, SYN | ACK, Y, X + 1, 0),
    (0.010, True, ACK, X + 1, Y + 1, 0),
    (0.020, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.030, False, ACK, Y + 1, X + 11, 0),
])

# 8. A RST in the server's window but not at the next byte it expects (RFC 5961 §3.2). The server
# answers with a challenge ACK and keeps sending: the reset was not believed, nothing closes.
write("rst-challenge-ack.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11 + 100, Y + 1, 0),
    (0.051, False, ACK, Y + 1, X + 11, 0),
    (0.060, True, PSH | ACK, X + 11, Y + 1, 10),
    (0.070, False, PSH | ACK, Y + 1, X + 21, 10),
    (0.080, True, ACK, X + 21, Y + 11, 0),
] + close(0.090, X + 21, Y + 11))

# 8. The same RST from a peer that really reset: the challenge ACK is answered by a RST at exactly
# the seq it acknowledges, which closes the connection.
write("rst-challenge-then-exact.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11 + 100, Y + 1, 0),
    (0.051, False, ACK, Y + 1, X + 11, 0),
    (0.052, True, RST, X + 11, 0, 0),
])

# 8. An in-window RST that nothing answers: a receiver without RFC 5961 took it; and a RST at
# exactly the next byte, which closes at once.
write("rst-in-window-unanswered.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11 + 100, Y + 1, 0),
])
write("rst-exact.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11, Y + 1, 0),
])

# 8. A RST at exactly the next byte, captured at its sender: the server's data that left before it
# arrived comes in after it (they crossed). The client, which has no connection any more, answers
# each with a RST at the byte it acknowledges.
write("rst-exact-crossing-data.pcap", handshake() + [
    (0.030, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.040, False, ACK, Y + 1, X + 11, 0),
    (0.050, True, RST | ACK, X + 11, Y + 1, 0),
    (0.0505, False, PSH | ACK, Y + 1, X + 11, 10),
    (0.0506, True, RST, X + 11, 0, 0),
    (0.0510, False, PSH | ACK, Y + 11, X + 11, 10),
    (0.0511, True, RST, X + 11, 0, 0),
])

# 9. No SYN captured: Zeek's originator is the first packet's sender unless its port is one of
# Zeek's likely server ports and the other is not. From port 80 first: Zeek flips (`^`). Between
# two ports off that list the first sender stays the originator, whatever the numbers look like.
write("midstream-server-port-first.pcap", [
    (0.000, False, PSH | ACK, Y + 1, X + 1, 10),
    (0.010, True, ACK, X + 1, Y + 11, 0),
    (0.020, True, PSH | ACK, X + 1, Y + 11, 10),
    (0.030, False, ACK, Y + 11, X + 11, 0),
])
write("midstream-unlisted-ports.pcap", [
    (0.000, True, PSH | ACK, X + 1, Y + 1, 10),
    (0.010, False, ACK, Y + 1, X + 11, 0),
], client=("192.0.2.1", 9000), server=("198.51.100.2", 51000))


def fragments(data, size, ident=0x1234):
    """The Ethernet frame `data` (from frame()) cut into IPv4 fragments of `size` payload
    bytes at most (a multiple of 8), as a router would cut it."""
    ether, header, payload = data[:14], data[14:34], data[34:]
    pieces = []
    for at in range(0, len(payload), size):
        chunk = payload[at:at + size]
        more = 0x2000 if at + size < len(payload) else 0
        h = header[:2] + struct.pack("!HHH", 20 + len(chunk), ident, more | (at // 8)) + header[8:10] + b"\0\0" + header[12:]
        h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
        pieces.append(ether + h + chunk)
    return pieces


def write_frames(name, frames):
    """frames: (time in seconds, the frame's bytes)."""
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in frames:
            sec, usec = int(ts), round((ts - int(ts)) * 1e6)
            f.write(struct.pack("<IIII", 1_000_000_000 + sec, usec, len(data), len(data)) + data)


# 10. A segment of 3000 bytes sent in three IPv4 fragments (the last first, as some stacks
# send them), then one of 1000 bytes whose later fragment the capture missed: tshark shows
# the first segment whole on the fragment that completes it, and nothing of the second.
def segment_frames(segments):
    return [(ts, frame(C if c else S, S if c else C, fl, seq, ack, n)) for ts, c, fl, seq, ack, n in segments]


big = frame(C, S, PSH | ACK, X + 1, Y + 1, 3000)
lost = frame(C, S, PSH | ACK, X + 3001, Y + 1, 1000)
first, second, third = fragments(big, 1480)
write_frames("ip-fragments.pcap", segment_frames(handshake()) + [
    (0.030, third), (0.0301, first), (0.0302, second),
    (0.040, segment_frames([(0, False, ACK, Y + 1, X + 3001, 0)])[0][1]),
    (0.050, fragments(lost, 512, ident=0x1235)[0]),
    (0.060, segment_frames([(0, False, ACK, Y + 1, X + 4001, 0)])[0][1]),
] + segment_frames(close(0.070, X + 4001, Y + 1)))


# 11. The same over IPv6 (RFC 8200 §4.5): a handshake, a segment of 3000 bytes in three fragments
# (the middle one first, the first one last), one of 1000 bytes whose later fragment the capture
# missed, and one of 1000 bytes behind a Hop-by-Hop Options header (before the Fragment header,
# in the unfragmentable part) with a Destination Options header after it (in the fragmentable
# part, before TCP), its last fragment first. tshark shows each whole segment on the fragment
# that completes it, and nothing of the incomplete one.
C6, S6 = ("2001:db8::1", 40000), ("2001:db8::2", 80)
HOP_BY_HOP, TCP, FRAGMENT, DEST_OPTIONS = 0, 6, 44, 60


def ip6(addr):
    return ipaddress.IPv6Address(addr).packed


def tcp6(src, dst, flags, seq, ack, length=0, win=64240):
    """A TCP segment between IPv6 endpoints, its checksum over RFC 8200's pseudo-header."""
    payload = bytes((i % 26) + 97 for i in range(length))
    tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, win, 0, 0)
    pseudo = ip6(src[0]) + ip6(dst[0]) + struct.pack("!I3xB", len(tcp) + length, TCP)
    return tcp[:16] + struct.pack("!H", checksum(pseudo + tcp + payload)) + tcp[18:] + payload


def packet6(src, dst, next_header, body):
    """An Ethernet frame of an IPv6 packet whose first header after the fixed one is next_header."""
    ether = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x86\xdd"
    return ether + struct.pack("!IHBB16s16s", 0x6000_0000, len(body), next_header, 64, ip6(src), ip6(dst)) + body


def segment_frames6(segments):
    return [(ts, packet6((C6 if c else S6)[0], (S6 if c else C6)[0], TCP, tcp6(C6 if c else S6, S6 if c else C6, fl, seq, ack, n)))
            for ts, c, fl, seq, ack, n in segments]


def pad_options(next_header):
    """An options header (Hop-by-Hop or Destination) of 8 bytes holding one PadN option."""
    return struct.pack("!BB", next_header, 0) + bytes([1, 4, 0, 0, 0, 0])


def fragments6(src, dst, fragmentable, first_header, size, ident, unfragmentable=(FRAGMENT, b"")):
    """The fragmentable part (its first header first_header) cut into fragments of `size` bytes
    at most (a multiple of 8), each behind the IPv6 header, the unfragmentable extension headers
    (their first header, and their bytes, the last of them naming the Fragment header next) and
    a Fragment header."""
    before_first, before = unfragmentable
    pieces = []
    for at in range(0, len(fragmentable), size):
        chunk = fragmentable[at:at + size]
        more = 1 if at + size < len(fragmentable) else 0
        fragment = struct.pack("!BBHI", first_header, 0, at | more, ident)
        pieces.append(packet6(src, dst, before_first, before + fragment + chunk))
    return pieces


big6 = tcp6(C6, S6, PSH | ACK, X + 1, Y + 1, 3000)
lost6 = tcp6(C6, S6, PSH | ACK, X + 3001, Y + 1, 1000)
behind6 = pad_options(TCP) + tcp6(C6, S6, PSH | ACK, X + 4001, Y + 1, 1000)
first6, second6, third6 = fragments6(C6[0], S6[0], big6, TCP, 1232, 0x1234_5678)
hop_first6, hop_second6 = fragments6(C6[0], S6[0], behind6, DEST_OPTIONS, 520, 0x1234_567A,
                                     unfragmentable=(HOP_BY_HOP, pad_options(FRAGMENT)))
write_frames("ipv6-fragments.pcap", segment_frames6(handshake()) + [
    (0.030, second6), (0.0301, third6), (0.0302, first6),
    segment_frames6([(0.040, False, ACK, Y + 1, X + 3001, 0)])[0],
    (0.050, fragments6(C6[0], S6[0], lost6, TCP, 512, 0x1234_5679)[0]),
    segment_frames6([(0.060, False, ACK, Y + 1, X + 4001, 0)])[0],
    (0.070, hop_second6), (0.0701, hop_first6),
    segment_frames6([(0.080, False, ACK, Y + 1, X + 5001, 0)])[0],
] + segment_frames6(close(0.090, X + 5001, Y + 1)))
