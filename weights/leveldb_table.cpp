// See leveldb_table.h. Formats: LevelDB's doc/table_format.md, which TensorFlow's
// lib/io/{format,block,table}.cc follow byte for byte.
#include "weights/leveldb_table.h"

#include <cstdio>
#include <cstring>

#include "engine/error.h"
#include "weights/crc32c.h"

namespace hl::leveldb {

namespace {

// A hostile table can make every entry repeat the previous key in full plus one byte:
// four bytes of file per key of any length. Keys are capped in total relative to the file.
constexpr uint64_t kKeyBytesPerTableByte = 64;
constexpr uint64_t kKeyBytesSlack = uint64_t{1} << 20;

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint32_t load_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

struct BlockHandle {
  uint64_t offset = 0;
  uint64_t size = 0;
};

bool get_handle(const uint8_t* end, const uint8_t** pos, BlockHandle* h) {
  return get_varint(end, pos, &h->offset) && get_varint(end, pos, &h->size);
}

class TableReader {
 public:
  TableReader(std::span<const uint8_t> table, std::string name) : t_(table), name_(std::move(name)) {}

  std::vector<Entry> read() {
    if (t_.size() < kFooterSize)
      fail("too short for a LevelDB table: " + std::to_string(t_.size()) + " bytes, the footer alone is " +
           std::to_string(kFooterSize) + " (truncated file?)");
    const uint8_t* footer = t_.data() + t_.size() - kFooterSize;
    uint64_t magic = 0;
    for (int i = 7; i >= 0; --i) magic = magic << 8 | footer[40 + i];
    if (magic != kTableMagic)
      fail("bad magic " + hex(magic) + " at the end (a LevelDB table ends with " + hex(kTableMagic) +
           "): not a TensorFlow V2 checkpoint index, or truncated");
    BlockHandle meta, index;
    const uint8_t* p = footer;
    if (!get_handle(footer + 40, &p, &meta) || !get_handle(footer + 40, &p, &index))
      fail("the footer's block handles are malformed");
    blocks_end_ = t_.size() - kFooterSize;
    // The metaindex block (filters; TensorFlow writes none) is checked but not read.
    block(meta, "the metaindex block");
    const std::span<const uint8_t> index_block = block(index, "the index block");
    std::vector<Entry> index_entries = entries(index_block, "the index block", nullptr);
    std::vector<Entry> out;
    uint64_t next_offset = 0;  // data blocks come in file order and never overlap
    for (const Entry& ie : index_entries) {
      BlockHandle h;
      const uint8_t* q = ie.value.data();
      const uint8_t* qend = q + ie.value.size();
      if (!get_handle(qend, &q, &h) || q != qend) fail("an index entry's block handle is malformed");
      if (h.offset < next_offset)
        fail("data block at offset " + std::to_string(h.offset) + " overlaps or precedes the previous one");
      const std::string what = "the data block at offset " + std::to_string(h.offset);
      const std::span<const uint8_t> data = block(h, what);
      next_offset = h.offset + h.size + kBlockTrailerSize;
      const size_t first = out.size();
      std::vector<Entry> block_entries = entries(data, what, out.empty() ? nullptr : &out.back().key);
      for (auto& e : block_entries) out.push_back(std::move(e));
      // The index key separates blocks: at least the block's last key.
      if (out.size() > first && out.back().key > ie.key) fail(what + " holds keys past its index entry");
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(name_, problem); }

  // The contents of a block, after checking its place, trailer CRC and type.
  std::span<const uint8_t> block(const BlockHandle& h, const std::string& what) const {
    if (h.offset > blocks_end_ || h.size > blocks_end_ - h.offset ||
        kBlockTrailerSize > blocks_end_ - h.offset - h.size)
      fail(what + " (offset " + std::to_string(h.offset) + ", " + std::to_string(h.size) +
           " bytes and a 5-byte trailer) does not lie before the footer at " + std::to_string(blocks_end_));
    const uint8_t* b = t_.data() + h.offset;
    const uint8_t type = b[h.size];
    const uint32_t stored = crc32c::unmask(load_u32(b + h.size + 1));
    const uint32_t actual = crc32c::extend(crc32c::value(b, h.size), &type, 1);
    if (stored != actual)
      fail(what + ": CRC-32C mismatch (stored " + hex(stored) + ", computed " + hex(actual) + "): the file is corrupt");
    if (type == 1)
      fail(what + " is snappy-compressed, which hl does not read (TensorFlow writes checkpoint indexes "
                  "uncompressed; re-save the checkpoint with TensorFlow)");
    if (type != 0) fail(what + " has unknown compression type " + std::to_string(type));
    return {b, h.size};
  }

  // The entries of one block; `previous` is the last key before the block (keys must
  // increase strictly), nullptr for the first block and for the index block.
  std::vector<Entry> entries(std::span<const uint8_t> b, const std::string& what, const std::string* previous) {
    if (b.size() < 4) fail(what + " is too short for its restart count");
    const uint64_t num_restarts = load_u32(b.data() + b.size() - 4);
    if (num_restarts == 0 || num_restarts > (b.size() - 4) / 4)
      fail(what + " declares " + std::to_string(num_restarts) + " restart points, impossible in its " +
           std::to_string(b.size()) + " bytes");
    const size_t restarts_at = b.size() - 4 - num_restarts * 4;
    const uint8_t* const base = b.data();
    const uint8_t* const end = base + restarts_at;  // entries end where the restart array begins
    std::vector<Entry> out;
    std::vector<size_t> entry_offsets;    // where each entry starts
    std::vector<bool> entry_unshared;     // whether it stores its whole key (shared == 0)
    std::string key = previous ? *previous : std::string();
    bool have_key = previous != nullptr;
    const uint8_t* p = base;
    while (p < end) {
      const size_t at = static_cast<size_t>(p - base);
      uint64_t shared, non_shared, value_len;
      if (!get_varint(end, &p, &shared, 5) || !get_varint(end, &p, &non_shared, 5) ||
          !get_varint(end, &p, &value_len, 5))
        fail(what + ": the entry at byte " + std::to_string(at) + " has a varint running off the block");
      const std::string& prev = out.empty() ? key : out.back().key;
      if (shared > (out.empty() ? 0 : prev.size()))
        fail(what + ": the entry at byte " + std::to_string(at) + " shares " + std::to_string(shared) +
             " key bytes, more than the previous key has");
      const uint64_t left = static_cast<uint64_t>(end - p);
      if (non_shared > left || value_len > left - non_shared)
        fail(what + ": the entry at byte " + std::to_string(at) + " (key " + std::to_string(non_shared) +
             " bytes, value " + std::to_string(value_len) + " bytes) runs off the block");
      key_bytes_ += shared + non_shared;
      if (key_bytes_ > kKeyBytesPerTableByte * t_.size() + kKeyBytesSlack)
        fail("keys total more than " + std::to_string(kKeyBytesPerTableByte) +
             " times the file's size: a hostile prefix-compression chain");
      Entry e;
      e.key.reserve(shared + non_shared);
      e.key.assign(prev, 0, shared);
      e.key.append(reinterpret_cast<const char*>(p), non_shared);
      p += non_shared;
      e.value = {p, value_len};
      p += value_len;
      const std::string& before = out.empty() ? key : out.back().key;
      if ((have_key || !out.empty()) && !(before < e.key))
        fail(what + ": keys are not in strictly increasing order at byte " + std::to_string(at));
      entry_offsets.push_back(at);
      entry_unshared.push_back(shared == 0);
      out.push_back(std::move(e));
    }
    // The restart array: increasing offsets of entries that store their whole key, the
    // first one at 0 (LevelDB's reader seeks through it; a bad one is a corrupt block).
    size_t prev_restart = 0, j = 0;
    for (uint64_t r = 0; r < num_restarts; ++r) {
      const size_t off = load_u32(base + restarts_at + 4 * r);
      const bool ok_order = r == 0 ? off == 0 : off > prev_restart;
      while (j < entry_offsets.size() && entry_offsets[j] < off) ++j;
      const bool on_entry = out.empty() ? off == 0 : (j < entry_offsets.size() && entry_offsets[j] == off &&
                                                       entry_unshared[j]);
      if (!ok_order || !on_entry || (off >= restarts_at && !out.empty()))
        fail(what + ": restart point " + std::to_string(r) + " (offset " + std::to_string(off) +
             ") is out of range or not at an entry that starts a key");
      prev_restart = off;
    }
    return out;
  }

  std::span<const uint8_t> t_;
  std::string name_;
  uint64_t blocks_end_ = 0;
  uint64_t key_bytes_ = 0;
};

}  // namespace

bool get_varint(const uint8_t* end, const uint8_t** pos, uint64_t* value, int max_bytes) {
  uint64_t v = 0;
  const uint8_t* p = *pos;
  for (int i = 0; i < max_bytes && p < end; ++i) {
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
    if (!(b & 0x80)) {
      *pos = p;
      *value = v;
      return true;
    }
  }
  return false;
}

std::vector<Entry> read_table(std::span<const uint8_t> table, const std::string& name) {
  return TableReader(table, name).read();
}

}  // namespace hl::leveldb
