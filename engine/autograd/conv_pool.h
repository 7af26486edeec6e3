// Differentiable convolution and pooling over time, channels last (Keras layout).
#pragma once
#include "engine/autograd/variable.h"

namespace hl::ag {

// x [batch, time, c_in], w [k, c_in, c_out], b [c_out] (or undefined) ->
// y [batch, time, c_out]; stride 1, 'same' padding as defined in kernels/cpu/conv1d.h.
Variable conv1d_same(const Variable& x, const Variable& w, const Variable& b);
// x [batch, time, channels] -> [batch, time / 2, channels], window 2, stride 2.
Variable maxpool1d_2(const Variable& x);

}  // namespace hl::ag
