#!/usr/bin/env python3
"""Writes the seed corpus tests/fuzz/corpus/tf_checkpoint/ of fuzz_tf_checkpoint from the
checkpoints TensorFlow saved in tests/weights/tf_fixtures/ (no TensorFlow needed here).

An input is [u32 LE n][n bytes of .index][the data shard]. valid_* are accepted by
TfCheckpoint::from_memory; bad_* are refused for the reason test_tf_checkpoint_hostile
expects. Corrupted blocks get their trailer CRC recomputed (CRC-32C, LevelDB's mask)
where the point is to get past the CRC to the problem behind it.

    python3 tests/fuzz/make_tf_seed_corpus.py      # from the repository root
"""
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "weights" / "tf_fixtures"
OUT = ROOT / "tests" / "fuzz" / "corpus" / "tf_checkpoint"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def mask(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return v, i


def first_data_block(index):
    """(offset, size) of the first data block: footer -> index block -> first entry."""
    f = len(index) - 48
    _, i = varint(index, f)
    _, i = varint(index, i)
    io, i = varint(index, i)
    _, i = varint(index, i)
    _, j = varint(index, io)  # shared (0)
    non_shared, j = varint(index, j)
    _, j = varint(index, j)  # value length
    j += non_shared
    off, j = varint(index, j)
    size, j = varint(index, j)
    return off, size


def reseal(index, off, size):
    """Recomputes the masked CRC-32C of the block's contents and type byte."""
    index[off + size + 1:off + size + 5] = struct.pack("<I", mask(crc32c(bytes(index[off:off + size + 1]))))


def put(name, index, data):
    (OUT / name).write_bytes(struct.pack("<I", len(index)) + bytes(index) + bytes(data))


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    index = bytearray((FIX / "basic.index").read_bytes())
    data = (FIX / "basic.data-00000-of-00001").read_bytes()
    put("valid_basic.bin", index, data)
    put("valid_sharded_one_buffer.bin", (FIX / "sharded.index").read_bytes(),
        (FIX / "sharded.data-00000-of-00002").read_bytes())
    off, size = first_data_block(index)

    b = bytearray(index)
    b[-1] ^= 0xFF
    put("bad_magic.bin", b, data)
    put("bad_truncated_footer.bin", index[:40], data)
    b = bytearray(index)
    b[off + 10] ^= 0x01
    put("bad_block_crc.bin", b, data)
    b = bytearray(index)
    b[off + size] = 1
    reseal(b, off, size)
    put("bad_snappy.bin", b, data)
    b = bytearray(index)
    restarts = struct.unpack_from("<I", b, off + size - 4)[0]
    assert restarts >= 2
    struct.pack_into("<I", b, off + size - 4 - 4 * restarts + 4, 0x7FFFFFF0)
    reseal(b, off, size)
    put("bad_restart_out_of_range.bin", b, data)
    # The restart count raised so that the entries region shrinks to 1-4 bytes, all of
    # them varint continuation bytes.
    b = bytearray(index)
    count = (size - 4) // 4 - 1 if (size - 4) % 4 == 0 else (size - 4) // 4
    struct.pack_into("<I", b, off + size - 4, count)
    entries_end = size - 4 - 4 * count
    assert 1 <= entries_end <= 4
    for k in range(entries_end):
        b[off + k] = 0x80
    reseal(b, off, size)
    put("bad_varint_off_block.bin", b, data)
    put("bad_tensor_past_data.bin", index, data[:-1])
    for path in sorted(OUT.iterdir()):
        print("%6d  %s" % (path.stat().st_size, path.name))


if __name__ == "__main__":
    main()
