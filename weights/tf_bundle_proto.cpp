// See tf_bundle_proto.h. Protobuf wire format: a varint key (field << 3 | wire type),
// then a varint (0), 8 bytes (1), a varint length and that many bytes (2) or 4 bytes (5).
// Groups (3, 4) are obsolete and never written by TensorFlow: refused.
#include "weights/tf_bundle_proto.h"

#include <functional>

#include "engine/error.h"
#include "weights/leveldb_table.h"

namespace hl::tf_bundle {

namespace {

struct Field {
  uint64_t number = 0;
  int wire = 0;
  uint64_t varint = 0;                 // wire 0; wire 1 and 5 hold their bytes here too
  std::span<const uint8_t> bytes;      // wire 2
};

class Decoder {
 public:
  Decoder(const std::string& file, const std::string& what) : file_(file), what_(what) {}

  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(file_, what_ + ": " + problem); }

  // Calls `on_field` for every field of the message in `b`.
  void fields(std::span<const uint8_t> b, const std::function<void(const Field&)>& on_field) const {
    const uint8_t* p = b.data();
    const uint8_t* const end = p + b.size();
    while (p < end) {
      uint64_t key;
      if (!leveldb::get_varint(end, &p, &key)) fail("a protobuf field key runs off the message");
      Field f;
      f.number = key >> 3;
      f.wire = static_cast<int>(key & 7);
      if (f.number == 0) fail("protobuf field number 0");
      switch (f.wire) {
        case 0:
          if (!leveldb::get_varint(end, &p, &f.varint)) fail("a protobuf varint runs off the message");
          break;
        case 1:
        case 5: {
          const size_t n = f.wire == 1 ? 8 : 4;
          if (static_cast<size_t>(end - p) < n) fail("a fixed-size protobuf field runs off the message");
          for (size_t i = 0; i < n; ++i) f.varint |= static_cast<uint64_t>(p[i]) << (8 * i);
          p += n;
          break;
        }
        case 2: {
          uint64_t len;
          if (!leveldb::get_varint(end, &p, &len) || len > static_cast<uint64_t>(end - p))
            fail("a length-delimited protobuf field runs off the message");
          f.bytes = {p, static_cast<size_t>(len)};
          p += len;
          break;
        }
        default: fail("protobuf wire type " + std::to_string(f.wire) + " (field " + std::to_string(f.number) + ")");
      }
      on_field(f);
    }
  }

  void expect(const Field& f, int wire, const char* name) const {
    if (f.wire != wire)
      fail(std::string("field '") + name + "' has wire type " + std::to_string(f.wire) + ", expected " +
           std::to_string(wire));
  }

 private:
  const std::string& file_;
  const std::string& what_;
};

// Protobuf int32/int64/enum: two's complement in 64 bits.
int64_t as_int(uint64_t v) { return static_cast<int64_t>(v); }

}  // namespace

Header parse_header(std::span<const uint8_t> bytes, const std::string& file, const std::string& what) {
  const Decoder d(file, what);
  Header h;
  d.fields(bytes, [&](const Field& f) {
    switch (f.number) {
      case 1: d.expect(f, 0, "num_shards"); h.num_shards = as_int(f.varint); break;
      case 2: d.expect(f, 0, "endianness"); h.endianness = as_int(f.varint); break;
      case 3:
        d.expect(f, 2, "version");
        d.fields(f.bytes, [&](const Field& v) {
          if (v.number == 1) { d.expect(v, 0, "version.producer"); h.producer = as_int(v.varint); }
          if (v.number == 2) { d.expect(v, 0, "version.min_consumer"); h.min_consumer = as_int(v.varint); }
          if (v.number == 3) {
            if (v.wire == 0) {
              h.bad_consumers.push_back(as_int(v.varint));
            } else {  // packed
              d.expect(v, 2, "version.bad_consumers");
              const uint8_t* p = v.bytes.data();
              const uint8_t* const end = p + v.bytes.size();
              while (p < end) {
                uint64_t x;
                if (!leveldb::get_varint(end, &p, &x)) d.fail("version.bad_consumers: a varint runs off the field");
                h.bad_consumers.push_back(as_int(x));
              }
            }
          }
        });
        break;
      default: break;
    }
  });
  return h;
}

Entry parse_entry(std::span<const uint8_t> bytes, const std::string& file, const std::string& what) {
  const Decoder d(file, what);
  Entry e;
  d.fields(bytes, [&](const Field& f) {
    switch (f.number) {
      case 1: d.expect(f, 0, "dtype"); e.dtype = as_int(f.varint); break;
      case 2:
        d.expect(f, 2, "shape");
        d.fields(f.bytes, [&](const Field& s) {
          if (s.number == 2) {  // repeated Dim {int64 size = 1; string name = 2;}
            d.expect(s, 2, "shape.dim");
            if (e.shape.size() >= 64) d.fail("shape has more than 64 dimensions");
            int64_t size = 0;
            d.fields(s.bytes, [&](const Field& dim) {
              if (dim.number == 1) { d.expect(dim, 0, "shape.dim.size"); size = as_int(dim.varint); }
            });
            e.shape.push_back(size);
          } else if (s.number == 3) {
            d.expect(s, 0, "shape.unknown_rank");
            e.unknown_rank = s.varint != 0;
          }
        });
        break;
      case 3: d.expect(f, 0, "shard_id"); e.shard_id = as_int(f.varint); break;
      case 4: d.expect(f, 0, "offset"); e.offset = as_int(f.varint); break;
      case 5: d.expect(f, 0, "size"); e.size = as_int(f.varint); break;
      case 6: d.expect(f, 5, "crc32c"); e.crc32c = static_cast<uint32_t>(f.varint); break;
      case 7: d.expect(f, 2, "slices"); ++e.num_slices; break;
      default: break;
    }
  });
  return e;
}

}  // namespace hl::tf_bundle
