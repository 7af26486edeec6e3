// conv2d through the autograd: output shapes and the errors of the wrapper. Its values
// and gradients (a direct convolution in double, finite differences in double, on
// shapes that take both the im2col path and the identity shortcut) are op-table rows,
// tests/ops/rows_conv.cpp; PyTorch F.conv2d in test_conv2d_golden.cpp.
#include <gtest/gtest.h>

#include "engine/autograd/conv2d.h"

namespace hl {
namespace {

TEST(Conv2dAutograd, OutputShapeAndErrors) {
  ag::Variable x(Tensor::zeros(Shape{2, 14, 14, 1}, DType::F32));
  ag::Variable w(Tensor::zeros(Shape{14, 14, 1, 64}, DType::F32));
  ag::Variable b(Tensor::zeros(Shape{64}, DType::F32));
  EXPECT_EQ(ag::conv2d(x, w, b).shape(), (Shape{2, 1, 1, 64}));
  EXPECT_EQ(ag::conv2d(x, w, ag::Variable()).shape(), (Shape{2, 1, 1, 64}));
  ag::Variable w3(Tensor::zeros(Shape{3, 3, 1, 4}, DType::F32));
  EXPECT_EQ(ag::conv2d(x, w3, ag::Variable(), ag::Conv2dOptions::symmetric(2, 1)).shape(), (Shape{2, 7, 7, 4}));
  ag::Variable wrong_cin(Tensor::zeros(Shape{3, 3, 2, 4}, DType::F32));
  EXPECT_THROW(ag::conv2d(x, wrong_cin, ag::Variable()), Error);
  ag::Variable too_big(Tensor::zeros(Shape{15, 15, 1, 4}, DType::F32));
  EXPECT_THROW(ag::conv2d(x, too_big, ag::Variable()), Error);
  EXPECT_THROW(ag::conv2d(x, w3, ag::Variable(), ag::Conv2dOptions::symmetric(0, 0)), Error);
  EXPECT_THROW(ag::conv2d(x, w, ag::Variable(Tensor::zeros(Shape{63}, DType::F32))), Error);
}

}  // namespace
}  // namespace hl
