#include "engine/tensor.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/cuda_backend.h"
#include "engine/dispatch.h"
#include "kernels/cpu/cast.h"
#include "kernels/cpu/host_cache.h"
#include "kernels/cuda/cast.h"

namespace hl {

std::shared_ptr<Storage> Storage::host(size_t nbytes, bool pinned) {
  if (pinned) {
    void* p = cuda_backend::pinned_alloc(nbytes);
    return std::make_shared<Storage>(p, nbytes, Device::cpu(), [](void* q) { cuda_backend::pinned_free(q); });
  }
  // Never a null pointer, even for an empty tensor; large blocks come from the cache.
  void* p = host_cache::allocate(nbytes);
  return std::make_shared<Storage>(p, nbytes, Device::cpu(), [nbytes](void* q) { host_cache::release(q, nbytes); });
}

std::shared_ptr<Storage> Storage::cuda(size_t nbytes, int device) {
  void* p = cuda_backend::device_alloc(nbytes, device);
  return std::make_shared<Storage>(p, nbytes, Device::cuda(device),
                                   [device](void* q) { cuda_backend::device_free(q, device); });
}

Tensor::Tensor(std::shared_ptr<Storage> storage, size_t offset, Shape shape, DType dtype)
    : storage_(std::move(storage)), offset_(offset), shape_(shape), dtype_(dtype) {
  if (!storage_) throw Error("tensor view of a null storage");
  if (offset_ > storage_->nbytes() || nbytes() > storage_->nbytes() - offset_)
    throw Error("tensor view " + str() + " at byte " + std::to_string(offset_) + " does not fit in its storage of " +
                std::to_string(storage_->nbytes()) + " bytes");
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  auto storage = device.is_cpu() ? Storage::host(nbytes) : Storage::cuda(nbytes, device.index);
  return Tensor(std::move(storage), 0, shape, dtype);
}

Tensor Tensor::empty_pinned(const Shape& shape, DType dtype) {
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  return Tensor(Storage::host(nbytes, /*pinned=*/true), 0, shape, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor host = empty(shape, dtype, Device::cpu());
  std::memset(host.raw(), 0, host.nbytes());  // all-zero bits are 0 in every dtype
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  if (static_cast<size_t>(shape.numel()) != values.size())
    throw Error("from_vector: shape " + shape.str() + " needs " + std::to_string(shape.numel()) + " values, got " +
                std::to_string(values.size()));
  Tensor t = empty(shape, DType::F32);
  if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::size(int i) const {
  const int d = i < 0 ? i + ndim() : i;
  if (d < 0 || d >= ndim()) throw Error("dimension " + std::to_string(i) + " out of range for " + str());
  return shape_[d];
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

void* Tensor::raw() {
  if (!storage_) throw Error("access to an undefined tensor");
  if (storage_->read_only()) throw Error("tensor " + str() + " is read-only (it views a mapped file); clone() it first");
  return static_cast<char*>(storage_->data()) + offset_;
}

const void* Tensor::raw() const {
  if (!storage_) throw Error("access to an undefined tensor");
  return static_cast<const char*>(storage_->data()) + offset_;
}

void Tensor::check_element_type(size_t element_size) const {
  if (element_size != dtype_size(dtype_))
    throw Error("tensor " + str() + " accessed with a " + std::to_string(element_size) + "-byte element type");
}

Tensor Tensor::reshape(const std::vector<int64_t>& dims) const {
  std::vector<int64_t> d = dims;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == -1) {
      if (infer >= 0) throw Error("reshape of " + str() + ": more than one -1");
      infer = static_cast<int>(i);
    } else {
      if (d[i] < 0) throw Error("reshape of " + str() + ": negative dimension");
      known *= d[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0) throw Error("reshape of " + str() + ": cannot infer the -1 dimension");
    d[infer] = numel() / known;
  }
  Shape s(d);
  if (s.numel() != numel()) throw Error("reshape of " + str() + " to " + s.str() + ": element counts differ");
  return Tensor(storage_, offset_, s, dtype_);
}

Tensor Tensor::narrow(int64_t start, int64_t length) const {
  if (ndim() == 0) throw Error("narrow of a scalar tensor");
  if (start < 0 || length < 0 || start > shape_[0] || length > shape_[0] - start)
    throw Error("narrow(" + std::to_string(start) + ", " + std::to_string(length) + ") out of range for " + str());
  Shape s = shape_;
  s[0] = length;
  const size_t row_bytes = shape_[0] ? nbytes() / static_cast<size_t>(shape_[0]) : 0;
  return Tensor(storage_, offset_ + static_cast<size_t>(start) * row_bytes, s, dtype_);
}

void Tensor::copy_from(const Tensor& src) {
  if (!(src.shape() == shape_) || src.dtype() != dtype_)
    throw Error("copy_from: " + src.str() + " into " + str() + ": shapes or types differ");
  if (nbytes() == 0) return;
  if (device().is_cpu() && src.device().is_cpu())
    std::memcpy(raw(), src.raw(), nbytes());
  else
    cuda_backend::copy(raw(), device(), src.raw(), src.device(), nbytes());
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor out = empty(shape_, dtype_, device);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_from(*this);
  return out;
}

namespace {

// out = x converted, on x's device; one of the two is f32 (the kernels convert to and
// from f32 only). x and out have the same number of elements.
void convert(const Tensor& x, Tensor& out) {
  const int64_t n = x.numel();
  const void* in = x.raw();
  void* to = out.raw();
  auto* to_f32 = static_cast<float*>(to);
  switch (x.dtype()) {
    case DType::F16: HL_DISPATCH(x, f16_to_f32, static_cast<const uint16_t*>(in), to_f32, n); return;
    case DType::BF16: HL_DISPATCH(x, bf16_to_f32, static_cast<const uint16_t*>(in), to_f32, n); return;
    case DType::I32: HL_DISPATCH(x, i32_to_f32, static_cast<const int32_t*>(in), to_f32, n); return;
    case DType::I64: HL_DISPATCH(x, i64_to_f32, static_cast<const int64_t*>(in), to_f32, n); return;
    case DType::U8: HL_DISPATCH(x, u8_to_f32, static_cast<const uint8_t*>(in), to_f32, n); return;
    case DType::F32: break;
  }
  const auto* f = static_cast<const float*>(in);
  if (out.dtype() == DType::F16) {
    HL_DISPATCH(x, f32_to_f16, f, static_cast<uint16_t*>(to), n);
  } else {
    HL_DISPATCH(x, f32_to_bf16, f, static_cast<uint16_t*>(to), n);
  }
}

}  // namespace

Tensor Tensor::cast(DType dtype) const {
  if (dtype == dtype_) return *this;
  if (!dtype_is_float(dtype))
    throw Error("cast of " + str() + " to " + std::string(dtype_name(dtype)) + ": only casts to float types are supported");
  // Through f32 when neither side is f32 (e.g. f16 -> bf16).
  if (dtype_ != DType::F32 && dtype != DType::F32) return cast(DType::F32).cast(dtype);
  Tensor out = empty(shape_, dtype, device());
  convert(*this, out);
  return out;
}

std::string Tensor::str() const {
  std::string name(dtype_name(dtype_));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name + shape_.str() + " on " + device().str();
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* what) {
  if (!(a.shape() == b.shape()))
    throw Error(std::string(what) + ": shapes differ: " + a.shape().str() + " and " + b.shape().str());
}

}  // namespace hl
