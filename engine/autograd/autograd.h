// Everything of the autograd: the tape and the differentiable functions.
#pragma once
#include "engine/autograd/conv2d.h"
#include "engine/autograd/conv_pool.h"
#include "engine/autograd/dropout.h"
#include "engine/autograd/elementwise.h"
#include "engine/autograd/linear.h"
#include "engine/autograd/loss.h"
#include "engine/autograd/lstm.h"
#include "engine/autograd/norm.h"
#include "engine/autograd/shape_ops.h"
#include "engine/autograd/softmax.h"
#include "engine/autograd/variable.h"
