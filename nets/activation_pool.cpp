#include "nets/activation_pool.h"

#include "engine/error.h"
#include "engine/log.h"
#include "nets/cnn_backend.h"

namespace hl {

void ActivationPool::begin(const Shape& input) {
  replaying_ = complete_ && input == planned_for_;
  if (!replaying_) {
    buffers_.clear();
    plan_.clear();
    planned_for_ = input;
    complete_ = false;
  }
  next_ = 0;
}

Tensor ActivationPool::take(const Shape& shape) {
  const DType dtype = backend_->activation_dtype();
  const size_t nbytes = static_cast<size_t>(shape.numel()) * dtype_size(dtype);
  if (replaying_) {
    // The pass is the same code on the same shapes as the recorded one, so the recorded
    // buffer fits and is free; anything else is a bug in the net, not in its input.
    if (next_ >= plan_.size()) throw Error("activation pool: the forward pass takes more buffers than its plan");
    const std::shared_ptr<Storage>& buffer = buffers_[plan_[next_++]];
    if (buffer.use_count() != 1 || buffer->nbytes() < nbytes)
      throw Error("activation pool: the forward pass differs from its plan");
    return Tensor(buffer, 0, shape, dtype);
  }
  size_t best = buffers_.size();
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].use_count() == 1 && buffers_[i]->nbytes() >= nbytes &&
        (best == buffers_.size() || buffers_[i]->nbytes() < buffers_[best]->nbytes()))
      best = i;
  if (best == buffers_.size()) {
    buffers_.push_back(backend_->allocate(nbytes));
    ++allocations_;
  }
  plan_.push_back(best);
  return Tensor(buffers_[best], 0, shape, dtype);
}

void ActivationPool::finish() {
  if (!replaying_ && !complete_) {
    complete_ = true;
    HL_LOG(Debug) << "activations for input " << planned_for_.str() << ": " << buffers_.size() << " buffers, "
                  << bytes() / (1 << 20) << " MiB on " << backend_->name();
  }
}

size_t ActivationPool::bytes() const {
  size_t total = 0;
  for (const auto& b : buffers_) total += b->nbytes();
  return total;
}

}  // namespace hl
