// The activation buffers of a CNN's forward pass, planned on the first pass for an input
// shape and reused, unchanged, by every later pass with that shape.
//
// A buffer is free again once no Tensor refers to it (the forward pass simply lets an
// activation's handle go when it has been used for the last time). On the first pass
// with an input shape, take() gives the smallest free buffer that fits, or allocates a
// new one, and records its choice; later passes replay the recorded choices, so they
// allocate nothing. A new input shape, or a pass that did not finish (an exception), drops
// the plan and its buffers. Memory in use is therefore the peak of live activations, not
// their sum. For a CUDA backend the reuse is safe in stream order: every op runs on the
// one stream, so a buffer is written again only after its last reader.
//
// Tests: tests/nets/test_googlenet_golden.cpp (a second forward allocates nothing and
// gives the same outputs).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/tensor.h"

namespace hl {

class CnnBackend;

class ActivationPool {
 public:
  explicit ActivationPool(CnnBackend& backend) : backend_(&backend) {}

  // Starts a forward pass for an input of `input` shape.
  void begin(const Shape& input);
  // A buffer for an activation of `shape` in the backend's activation dtype.
  Tensor take(const Shape& shape);
  // Ends the pass: the plan is complete and later passes replay it.
  void finish();

  size_t bytes() const;                              // held now
  int64_t allocations() const { return allocations_; }  // since construction

 private:
  CnnBackend* backend_;
  std::vector<std::shared_ptr<Storage>> buffers_;
  std::vector<size_t> plan_;  // take() number -> buffer index
  Shape planned_for_;
  bool complete_ = false;     // plan_ holds a whole pass for planned_for_
  bool replaying_ = false;
  size_t next_ = 0;
  int64_t allocations_ = 0;
};

}  // namespace hl
