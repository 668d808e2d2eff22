#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/).

Run once; the output is committed.  Each seed is a small valid (or
typically broken) input in the harness's own encoding: see the comment at
the top of each fuzz_*.c.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(harness, name, data):
    d = os.path.join(HERE, 'corpus', harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def xvecs(rows, fmt):
    return b''.join(struct.pack('<i', len(r)) + struct.pack('<%d%s' % (len(r), fmt), *r)
                    for r in rows)


# fuzz_xvecs: first byte 0 .fvecs, 1 .ivecs, 2 .bvecs.
put('fuzz_xvecs', 'fvecs', b'\x00' + xvecs([[1.5, 2, 3, 4], [0, 0, 0, 0], [-1, 1e30, 3, 4]], 'f'))
put('fuzz_xvecs', 'ivecs', b'\x01' + xvecs([[1, 2, 3], [7, 8, -9]], 'i'))
put('fuzz_xvecs', 'bvecs', b'\x02' + xvecs([[1, 2, 3, 4, 255]] * 3, 'B'))
put('fuzz_xvecs', 'u8bin', b'\x02' + struct.pack('<II', 4, 3) + bytes(12))
put('fuzz_xvecs', 'badheader', b'\x00' + xvecs([[1, 2], [3, 4, 5], [6, 7]], 'f')[:-8])

# fuzz_idx: first byte even = raw name, odd = .gz name.
img = bytes([0, 0, 8, 3]) + struct.pack('>III', 2, 2, 3) + bytes(range(12))
flt = bytes([0, 0, 0x0D, 2]) + struct.pack('>II', 2, 2) + struct.pack('>4f', 1, -2, 3.5, 0)
dbl = bytes([0, 0, 0x0E, 1]) + struct.pack('>I', 2) + struct.pack('>2d', 1e300, -0.5)
put('fuzz_idx', 'ubyte', b'\x00' + img)
put('fuzz_idx', 'ubyte_gz', b'\x01' + gzip.compress(img, mtime=0))
put('fuzz_idx', 'float', b'\x00' + flt)
put('fuzz_idx', 'double', b'\x00' + dbl)
put('fuzz_idx', 'gz_without_name', b'\x00' + gzip.compress(img, mtime=0))
put('fuzz_idx', 'short', b'\x00' + img[:-3])


# fuzz_hdf5: flags (bit p = part p present: train, test, learn, neighbors,
# distances; 0x20 metric attribute; 0x40 check ground truth; 0x80 metric
# given), metric byte, then per part: rank byte (%3 + 1), type byte (%6:
# float, double, uint8, int32, int64, int16), one byte per dimension (%7),
# then the raw values.
def part(rank_byte, type_byte, dims, values):
    return bytes([rank_byte, type_byte] + dims) + values


def floats(vals):
    return struct.pack('<%df' % len(vals), *vals)


train = part(1, 0, [6, 2], floats([0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 1, 0]))
test = part(1, 0, [2, 2], floats([2, 0, 0.5, 0]))
nbr = part(1, 3, [2, 3], struct.pack('<6i', 2, 1, 3, 0, 1, 5))
dist = part(1, 0, [2, 3], floats([0, 1, 1, 0.5, 0.5, 0.5]))
put('fuzz_hdf5', 'euclidean', bytes([0x7B, 0]) + train + test + nbr + dist)
put('fuzz_hdf5', 'angular_learn', bytes([0x3F, 1]) + train + test + train + nbr + dist)
put('fuzz_hdf5', 'uint8_dot', bytes([0xA3, 2]) + part(1, 2, [5, 3], bytes(range(15))) +
    part(1, 1, [1, 3], struct.pack('<3d', 1, 2, 3)))
put('fuzz_hdf5', 'one_dim', bytes([0x23, 0]) + part(0, 0, [5], floats([1] * 5)) + test)
put('fuzz_hdf5', 'nan', bytes([0x23, 0]) + part(1, 0, [2, 2], floats([float('nan'), 1, 2, 3])) +
    test)
