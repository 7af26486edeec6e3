// See torch_zip.h. HL_HAVE_LIBZIP is defined by weights/CMakeLists.txt when libzip is found.
#include "weights/torch_zip.h"

#include "engine/error.h"

#if HL_HAVE_LIBZIP
#include <zip.h>
#endif

namespace hl::torch_zip {

#if HL_HAVE_LIBZIP

bool available() { return true; }

namespace {

// The index of `full` in the archive, or -1. A name with a NUL byte cannot be looked up
// through libzip's C string interface, and no real entry has one.
zip_int64_t locate(zip_t* z, const std::string& full) {
  if (full.find('\0') != std::string::npos) return -1;
  return zip_name_locate(z, full.c_str(), ZIP_FL_ENC_RAW);
}

}  // namespace

Archive::Archive(std::span<const uint8_t> bytes, const std::string& path) : path_(path), archive_size_(bytes.size()) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source) {
    zip_ = zip_open_from_source(source, ZIP_RDONLY, &error);
    if (!zip_) zip_source_free(source);
  }
  if (!zip_) {
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw FormatError(path_, "not a readable zip archive: " + why);
  }
  zip_error_fini(&error);
  const char* first = zip_get_num_entries(zip_, 0) > 0 ? zip_get_name(zip_, 0, ZIP_FL_ENC_RAW) : nullptr;
  const std::string first_name = first ? first : "";
  const size_t slash = first_name.find('/');
  if (slash == std::string::npos || slash == 0) {
    zip_discard(zip_);
    throw FormatError(path_, first ? "zip archive: the first entry '" + first_name.substr(0, 200) +
                                         "' is not inside a top folder (not a torch.save file?)"
                                   : "zip archive has no entries");
  }
  folder_ = first_name.substr(0, slash);
}

Archive::~Archive() { zip_discard(zip_); }

std::optional<uint64_t> Archive::entry_size(const std::string& name) const {
  const std::string full = entry_name(name);
  const zip_int64_t index = locate(zip_, full);
  if (index < 0) return std::nullopt;
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(zip_, static_cast<zip_uint64_t>(index), ZIP_FL_ENC_RAW, &st) != 0)
    throw FormatError(path_, "zip entry '" + full + "': " + zip_strerror(zip_));
  const zip_uint64_t needed = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
  if ((st.valid & needed) != needed) throw FormatError(path_, "zip entry '" + full + "': incomplete directory record");
  if (st.encryption_method != ZIP_EM_NONE) throw FormatError(path_, "zip entry '" + full + "' is encrypted");
  if (st.comp_method != ZIP_CM_STORE)
    throw FormatError(path_, "zip entry '" + full + "' is compressed (method " + std::to_string(st.comp_method) +
                                 "); torch.save stores entries uncompressed, and compressed ones are refused");
  if (st.comp_size != st.size)
    throw FormatError(path_, "zip entry '" + full + "' is stored, but its directory record gives " +
                                 std::to_string(st.comp_size) + " stored bytes for " + std::to_string(st.size) +
                                 " bytes of data");
  if (st.size > archive_size_)
    throw FormatError(path_, "zip entry '" + full + "' declares " + std::to_string(st.size) +
                                 " bytes, more than the archive holds");
  return st.size;
}

void Archive::read(const std::string& name, void* dst, uint64_t size) const {
  const std::string full = entry_name(name);
  const zip_int64_t index = locate(zip_, full);
  if (index < 0) throw FormatError(path_, "zip entry '" + full + "' is missing");
  zip_file_t* f = zip_fopen_index(zip_, static_cast<zip_uint64_t>(index), 0);
  if (!f) throw FormatError(path_, "zip entry '" + full + "': " + zip_strerror(zip_));
  auto* out = static_cast<uint8_t*>(dst);
  uint64_t done = 0;
  std::string problem;
  while (done < size) {
    const zip_int64_t n = zip_fread(f, out + done, size - done);
    if (n <= 0) {
      problem = n < 0 ? zip_file_strerror(f) : "ends after " + std::to_string(done) + " of " + std::to_string(size) + " bytes";
      break;
    }
    done += static_cast<uint64_t>(n);
  }
  // One more read reaches the end of the entry, where libzip checks the CRC-32.
  uint8_t extra = 0;
  if (problem.empty()) {
    const zip_int64_t n = zip_fread(f, &extra, 1);
    if (n < 0) problem = zip_file_strerror(f);
    if (n > 0) problem = "holds more than its " + std::to_string(size) + " bytes";
  }
  zip_fclose(f);
  if (!problem.empty()) throw FormatError(path_, "zip entry '" + full + "': " + problem);
}

#else  // no libzip in this build

bool available() { return false; }

Archive::Archive(std::span<const uint8_t>, const std::string& path) : path_(path) {
  throw FormatError(path_, "this is a zip-format torch.save file, but this build has no libzip (install "
                           "libzip-dev and reconfigure), so it cannot be read");
}

Archive::~Archive() = default;

std::optional<uint64_t> Archive::entry_size(const std::string&) const { return std::nullopt; }

void Archive::read(const std::string&, void*, uint64_t) const {}

#endif

}  // namespace hl::torch_zip
