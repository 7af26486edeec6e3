// Tensor: a shape, an element type and a device over shared, contiguous storage.
//
// Views (reshape, narrow along the outer dimension) share the storage and differ only
// in byte offset and shape, so they are cheap. Storage may be host memory (plain or
// pinned), CUDA device memory from the caching arena, or a read-only file mapping.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/shape.h"

namespace hl {

// A block of memory and how to give it back.
class Storage {
 public:
  using Deleter = std::function<void(void*)>;
  Storage(void* data, size_t nbytes, Device device, Deleter deleter, bool read_only = false)
      : data_(data), nbytes_(nbytes), device_(device), deleter_(std::move(deleter)), read_only_(read_only) {}
  ~Storage() {
    if (deleter_) deleter_(data_);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  bool read_only() const { return read_only_; }

  // Host memory, 64-byte aligned. pinned = page-locked (for fast, async CUDA copies);
  // in a build without CUDA pinned memory is plain memory.
  static std::shared_ptr<Storage> host(size_t nbytes, bool pinned = false);
  // Device memory from the caching arena of that device.
  static std::shared_ptr<Storage> cuda(size_t nbytes, int device);

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Deleter deleter_;
  bool read_only_;
};

class Tensor {
 public:
  Tensor() = default;
  // A view of `shape` elements of `dtype` starting `offset` bytes into `storage`.
  // Throws if the view does not fit inside the storage.
  Tensor(std::shared_ptr<Storage> storage, size_t offset, Shape shape, DType dtype);

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::cpu());
  static Tensor empty_pinned(const Shape& shape, DType dtype);
  static Tensor zeros(const Shape& shape, DType dtype, Device device = Device::cpu());
  // A CPU f32 tensor holding `values` (numel must match).
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  // Size of dimension i; negative i counts from the end.
  int64_t size(int i) const;
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  size_t offset() const { return offset_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  void* raw();  // throws on read-only storage (a mapped file)
  const void* raw() const;
  template <typename T>
  T* data() {
    check_element_type(sizeof(T));
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    check_element_type(sizeof(T));
    return static_cast<const T*>(raw());
  }

  // Same storage, new shape with the same element count; one dimension may be -1.
  Tensor reshape(const std::vector<int64_t>& dims) const;
  // Rows [start, start+length) of the outer dimension, sharing storage.
  Tensor narrow(int64_t start, int64_t length) const;

  // A copy on `device` (returns *this when already there).
  Tensor to(Device device) const;
  // A copy with elements converted to `dtype` (float types among themselves, and
  // integer types to f32). Returns *this when the type already matches.
  Tensor cast(DType dtype) const;
  Tensor clone() const;
  // Copies src's bytes into this tensor (same shape and dtype, any devices).
  void copy_from(const Tensor& src);

  std::string str() const;  // "f32[2, 3] on cpu"

 private:
  void check_element_type(size_t element_size) const;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  Shape shape_;
  DType dtype_ = DType::F32;
};

// Throws hl::Error naming `what` unless a and b have the same shape.
void check_same_shape(const Tensor& a, const Tensor& b, const char* what);

}  // namespace hl
