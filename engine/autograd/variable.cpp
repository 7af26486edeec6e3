#include "engine/autograd/variable.h"

#include <algorithm>
#include <unordered_set>

#include "engine/ops.h"

namespace hl::ag {

namespace {
thread_local bool g_grad_enabled = true;
thread_local uint64_t g_next_sequence = 0;

// True when g is the only holder of all of its storage: no other tensor (another input's
// gradient, an intermediate gradient, a value, something a backward function saved) can
// see its bytes. The count is exact for this question: with a count of 1 no other thread
// holds the storage and none can get it (nothing in the engine keeps a weak_ptr to a
// Storage), and a count another thread lowers meanwhile can only make the answer false.
// Writable storage always owns its memory (the storages made over memory owned elsewhere,
// a mapped file or a byte vector, are read-only); read-only storage and a view of part
// of a larger block are never taken.
bool owns_all_of(const Tensor& g) {
  const auto& s = g.storage();
  return s && s.use_count() == 1 && !s->read_only() && g.offset() == 0 && g.nbytes() == s->nbytes();
}

// g is taken by value: the caller moves the gradient in, so a tensor that nothing else
// holds arrives here with a use count of 1.
void accumulate(VariableData& v, Tensor g, const std::string& op) {
  if (!(g.shape() == v.shape))
    throw Error("autograd: " + op + " produced a gradient " + g.str() + " for a value of shape " + v.shape.str());
  if (!v.grad.defined()) {
    // A leaf keeps its gradient across backward() calls and an optimizer reads it and may
    // update it in place, so it must not share bytes with another input's gradient or a
    // value: it takes g itself when nothing else holds it (as PyTorch does when the
    // gradient's reference count is 1) and a copy otherwise (issue 18 item 12: the copy
    // was ~12% of the LayerNorm benchmark, whose x is a large leaf).
    if (v.node || owns_all_of(g))
      v.grad = std::move(g);
    else
      v.grad = g.clone();
  } else {
    v.grad = ops::add(v.grad, g);
  }
}
}  // namespace

Variable::Variable(Tensor value, bool requires_grad) : held_(std::make_shared<Held>()) {
  held_->data = std::make_shared<VariableData>();
  held_->data->shape = value.shape();
  held_->data->requires_grad = requires_grad;
  held_->value = std::move(value);
}

Variable record(const std::string& name, Tensor value, const std::vector<Variable>& inputs, BackwardFn backward) {
  Variable out(std::move(value), false);
  if (!g_grad_enabled) return out;
  const bool any = std::any_of(inputs.begin(), inputs.end(), [](const Variable& v) { return v.requires_grad(); });
  if (!any) return out;
  auto node = std::make_shared<Node>();
  node->sequence = g_next_sequence++;
  node->name = name;
  for (const Variable& v : inputs) node->inputs.push_back(v.data());
  node->backward = std::move(backward);
  out.data()->requires_grad = true;
  out.data()->node = std::move(node);
  return out;
}

void Variable::backward(const Tensor& seed) const { run_backward(seed, false); }
void Variable::backward_releasing_graph(const Tensor& seed) const { run_backward(seed, true); }

void Variable::run_backward(const Tensor& seed, bool release) const {
  if (!requires_grad()) throw Error("backward: this value does not depend on anything that requires a gradient");
  Tensor start = seed;
  if (!start.defined()) {
    if (value().numel() != 1) throw Error("backward: a seed gradient is needed for a non-scalar " + value().str());
    start = Tensor::from_vector(value().shape(), {1.0f}).to(value().device());
  }
  // The reachable part of the tape, then its nodes in reverse creation order.
  std::vector<VariableData*> order;
  std::unordered_set<VariableData*> seen;
  std::vector<VariableData*> stack{data().get()};
  while (!stack.empty()) {
    VariableData* v = stack.back();
    stack.pop_back();
    if (!v->node || !seen.insert(v).second) continue;
    order.push_back(v);
    for (const auto& in : v->node->inputs)
      if (in->requires_grad) stack.push_back(in.get());
  }
  std::sort(order.begin(), order.end(),
            [](const VariableData* a, const VariableData* b) { return a->node->sequence > b->node->sequence; });
  // Gradients of intermediate values are per call: start them from nothing.
  for (VariableData* v : order) v->grad = Tensor();
  accumulate(*data(), std::move(start), "the seed");
  for (VariableData* v : order) {
    if (!v->grad.defined()) continue;  // nothing flowed here
    Node& node = *v->node;
    if (!node.backward)
      throw Error("backward: the graph through '" + node.name +
                  "' was released by an earlier backward_releasing_graph(); build it again");
    std::vector<bool> needs;
    for (const auto& in : node.inputs) needs.push_back(in->requires_grad);
    std::vector<Tensor> grads = node.backward(v->grad, needs);
    if (release) {
      node.backward = nullptr;  // and with it every tensor the op saved for its backward
      v->grad = Tensor();
    }
    if (grads.size() != node.inputs.size())
      throw Error("autograd: " + node.name + " returned the wrong number of gradients");
    for (size_t i = 0; i < grads.size(); ++i)
      if (needs[i] && grads[i].defined()) accumulate(*node.inputs[i], std::move(grads[i]), node.name);
  }
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

void require_cpu_f32(const Tensor& t, const char* op) {
  if (!t.defined()) throw Error(std::string(op) + ": undefined tensor");
  if (t.dtype() != DType::F32) throw Error(std::string(op) + ": expects f32, got " + t.str());
  if (!t.device().is_cpu())
    throw Error(std::string(op) + ": autograd runs on the CPU only so far (CUDA kernels: issue 3), got " + t.str());
}

}  // namespace hl::ag
