// The autograd tape (DESIGN section 3): a Variable is a Tensor value with an optional
// gradient; each differentiable op that sees an input requiring a gradient records a
// Node (its inputs and a backward function) numbered in creation order. backward()
// collects the nodes reachable from the output and runs them in reverse creation order,
// which is the tape walked backwards (creation order is always a topological order).
//
// Gradients: every Variable reached accumulates (+=) the gradients that flow into it,
// so a value used twice gets both contributions and parameters (leaves) keep summing
// over backward() calls until zero_grad(). Nothing is modified in place: accumulation
// makes a new tensor, so a gradient handed to two inputs may safely be shared. A leaf's
// gradient, which optimizers read and may update in place, never shares bytes with any
// other tensor: its first gradient is the tensor the op returned when nothing else holds
// that tensor's storage (no copy, as PyTorch steals a gradient whose reference count is
// 1), and a copy otherwise (tests/autograd/test_leaf_gradient_ownership.cpp).
// f32 only; values and gradients live on the inputs' device (the CPU for now: every
// function checks, so the CUDA kernels can be dispatched from the same place later).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace hl::ag {

struct Node;

// The gradient side of a Variable: what the tape holds of each op's inputs. The value
// itself is not here but in the Variable handles (and in what backward functions
// capture), so an intermediate value that no backward function needs, such as a dense
// layer's pre-activation under a ReLU, is freed as soon as the last handle goes, not kept
// until the whole graph dies (issue 18: the training step's memory).
struct VariableData {
  Shape shape;  // of the value, to check the gradients that arrive
  Tensor grad;  // undefined until a gradient arrives
  bool requires_grad = false;
  std::shared_ptr<Node> node;  // the op that made this value; null for leaves and constants
};

class Variable {
 public:
  Variable() = default;
  // A leaf: a constant, or a parameter when requires_grad.
  explicit Variable(Tensor value, bool requires_grad = false);

  bool defined() const { return held_ != nullptr; }
  const Tensor& value() const { return held_->value; }
  // The mutable value, for optimizers and initialisers (updates in place; every copy of
  // this Variable sees a replaced value too). Keep the shape.
  Tensor& value_mut() { return held_->value; }
  const Tensor& grad() const { return held_->data->grad; }
  bool requires_grad() const { return held_ && held_->data->requires_grad; }
  bool is_leaf() const { return held_->data->node == nullptr; }
  const Shape& shape() const { return held_->value.shape(); }
  int64_t size(int i) const { return held_->value.size(i); }
  int ndim() const { return held_->value.ndim(); }
  void zero_grad() { held_->data->grad = Tensor(); }

  // Back-propagates from this value. seed is d(objective)/d(this value); when left
  // undefined this value must hold one element and the seed is 1.
  void backward(const Tensor& seed = Tensor()) const;
  // The same, releasing the graph as it goes (what a training step wants, as PyTorch's
  // backward() without retain_graph): each node's backward function, and the tensors it
  // captured, is dropped as soon as it has run, and each intermediate gradient as soon as
  // its node has consumed it, so the step's memory falls during the backward pass instead
  // of peaking at its end with every saved activation and every gradient alive at once
  // (issue 18). Leaves get their gradients as with backward(); intermediate values have
  // none afterwards, and a second backward through the same graph throws.
  void backward_releasing_graph(const Tensor& seed = Tensor()) const;

  const std::shared_ptr<VariableData>& data() const { return held_->data; }

 private:
  void run_backward(const Tensor& seed, bool release) const;

  // Shared by the copies of one Variable: its value and its gradient side.
  struct Held {
    Tensor value;
    std::shared_ptr<VariableData> data;
  };
  std::shared_ptr<Held> held_;
};

// Given d(objective)/d(output), returns one gradient per input (same order), or an
// undefined Tensor where needs[i] is false or the input gets no gradient.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

struct Node {
  uint64_t sequence = 0;  // position on the tape
  std::string name;       // the op, for error messages
  std::vector<std::shared_ptr<VariableData>> inputs;
  BackwardFn backward;
};

// The result of an op: `value`, with a node on the tape when gradients are enabled and
// some input requires one (otherwise a constant). The backward function must capture
// tensors, never Variables, so the graph holds no cycles.
Variable record(const std::string& name, Tensor value, const std::vector<Variable>& inputs, BackwardFn backward);

// Gradient recording is on by default, per thread. NoGradGuard turns it off for its
// scope (evaluation, optimizer updates).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Throws hl::Error unless t is a defined f32 CPU tensor (the backends the autograd
// functions have kernels for today).
void require_cpu_f32(const Tensor& t, const char* op);

}  // namespace hl::ag
