// The cuDNN 3-D convolution of kernels/cuda/cudnn_conv3d.h (legacy N-d convolution API).
// Every cuDNN call is checked; a failure names the layer.
// Tests: tests/cuda/test_cuda_multisensory_ops.cpp against cpu::conv3d_ndhwc_f32.
#include "kernels/cuda/cudnn_conv3d.h"

#include <climits>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"

namespace hl::cuda {
namespace {

// What cuDNN may use while it times the algorithms (as kernels/cuda/cudnn_conv.cpp).
constexpr size_t kSearchWorkspace = size_t{256} << 20;
constexpr size_t kAlign = 256;  // the workspace after the padded copy starts on this boundary

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

int to_int(int64_t v, const std::string& name, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw Error(name + ": " + what + " = " + std::to_string(v) + " is outside cuDNN's int range");
  return static_cast<int>(v);
}

bool exact_algorithm(cudnnConvolutionFwdAlgo_t algo) {
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

}  // namespace

CudnnConv3d::CudnnConv3d(ConvPrecision precision, const cpu::Conv3dShape& s, std::string name)
    : precision_(precision), shape_(s), name_(std::move(name)),
      dtype_(precision == ConvPrecision::F32Exact ? CnnDType::F32 : CnnDType::F16) {
  s.validate(name_.c_str());
  const cpu::TfPadding pd = s.pad_d(), ph = s.pad_h(), pw = s.pad_w();
  od_ = pd.out, oh_ = ph.out, ow_ = pw.out;
  // The zeros after the input beyond the symmetric floor(pad_total / 2): 0 or 1 per axis.
  auto extra = [](const cpu::TfPadding& p, int64_t in, int64_t k, int64_t st) {
    const int64_t total = (p.out - 1) * st + k - in;
    return total > 0 ? total - 2 * p.pad_before : int64_t{0};
  };
  pad_ = PadEndShape{s.batch, s.depth, s.height, s.width, s.c_in, extra(pd, s.depth, s.kd, s.sd),
                     extra(ph, s.height, s.kh, s.sh), extra(pw, s.width, s.kw, s.sw)};
  needs_pad_ = s.same && (pad_.extra_d || pad_.extra_h || pad_.extra_w);
  if (!s.same) pad_.extra_d = pad_.extra_h = pad_.extra_w = 0;
  const int64_t in_d = s.depth + pad_.extra_d, in_h = s.height + pad_.extra_h, in_w = s.width + pad_.extra_w;
  to_int(s.batch * in_d * in_h * in_w * s.c_in, name_, "input elements");
  to_int(output_elements(), name_, "output elements");
  const cudnnDataType_t dt = precision == ConvPrecision::F32Exact ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
  // cuDNN's N-d dims are always in NCDHW order; the NHWC format flag makes the memory NDHWC.
  const int x_dims[5] = {to_int(s.batch, name_, "batch"), to_int(s.c_in, name_, "c_in"), to_int(in_d, name_, "depth"),
                         to_int(in_h, name_, "height"), to_int(in_w, name_, "width")};
  const int y_dims[5] = {x_dims[0], to_int(s.c_out, name_, "c_out"), to_int(od_, name_, "output depth"),
                         to_int(oh_, name_, "output height"), to_int(ow_, name_, "output width")};
  const int w_dims[5] = {y_dims[1], x_dims[1], to_int(s.kd, name_, "kd"), to_int(s.kh, name_, "kh"),
                         to_int(s.kw, name_, "kw")};
  const int pads[3] = {to_int(pd.pad_before, name_, "pad"), to_int(ph.pad_before, name_, "pad"),
                       to_int(pw.pad_before, name_, "pad")};
  const int strides[3] = {to_int(s.sd, name_, "stride"), to_int(s.sh, name_, "stride"), to_int(s.sw, name_, "stride")};
  const int dilations[3] = {1, 1, 1};
  try {
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
    HL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
    HL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
    HL_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(x_desc_, CUDNN_TENSOR_NHWC, dt, 5, x_dims));
    HL_CUDNN_CHECK(cudnnSetTensorNdDescriptorEx(y_desc_, CUDNN_TENSOR_NHWC, dt, 5, y_dims));
    HL_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w_desc_, dt, CUDNN_TENSOR_NHWC, 5, w_dims));
    // Compute type FLOAT in both precisions: f32 accumulation.
    HL_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv_desc_, 3, pads, strides, dilations, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
    // cuDNN's own output size must be TensorFlow's (see the header); a mismatch is our bug.
    int got[5] = {};
    HL_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(conv_desc_, x_desc_, w_desc_, 5, got));
    for (int i = 0; i < 5; ++i)
      if (got[i] != y_dims[i])
        throw Error("cuDNN's output dim " + std::to_string(i) + " is " + std::to_string(got[i]) +
                    ", TensorFlow's SAME rule gives " + std::to_string(y_dims[i]));
  } catch (const Error& e) {
    release();
    throw Error(name_ + ": " + e.what());
  }
}

CudnnConv3d::~CudnnConv3d() { release(); }

void CudnnConv3d::release() {
  if (conv_desc_) cudnnDestroyConvolutionDescriptor(conv_desc_);
  if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
  if (y_desc_) cudnnDestroyTensorDescriptor(y_desc_);
  if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
  conv_desc_ = nullptr, w_desc_ = nullptr, y_desc_ = x_desc_ = nullptr;
}

int64_t CudnnConv3d::output_elements() const { return shape_.batch * od_ * oh_ * ow_ * shape_.c_out; }

void CudnnConv3d::choose(cudnnHandle_t handle, const void* x, const void* w, void* y, void* search_workspace) {
  const bool exact = precision_ == ConvPrecision::F32Exact;
  HL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, exact ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
  std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
  int returned = 0;
  HL_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(handle, x_desc_, x, w_desc_, w, conv_desc_, y_desc_, y,
                                                        static_cast<int>(perfs.size()), &returned, perfs.data(),
                                                        search_workspace, kSearchWorkspace));
  for (int i = 0; i < returned; ++i) {  // fastest first, as Find sorts them
    const cudnnConvolutionFwdAlgoPerf_t& p = perfs[static_cast<size_t>(i)];
    const bool tensor_ops = p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kSearchWorkspace) continue;
    if (exact && (tensor_ops || !exact_algorithm(p.algo))) continue;
    HL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, exact ? CUDNN_FMA_MATH : p.mathType));
    size_t bytes = 0;
    HL_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_, w_desc_, conv_desc_, y_desc_, p.algo, &bytes));
    if (bytes > kSearchWorkspace) continue;  // this first run's scratch holds only the search workspace
    algo_ = p.algo;
    workspace_bytes_ = bytes;
    chosen_ = true;
    return;
  }
  throw Error(std::string("cuDNN found no usable ") + (exact ? "exact f32 " : "") +
              "3-D convolution algorithm for this shape");
}

void CudnnConv3d::run(cudnnHandle_t handle, const CudnnConv3dArgs& a, const ConvScratch& scratch,
                      cudaStream_t stream) {
  try {
    const size_t esize = dtype_ == CnnDType::F32 ? 4 : 2;
    const size_t padded_bytes =
        needs_pad_ ? round_up(static_cast<size_t>(pad_.batch * (pad_.depth + pad_.extra_d) *
                                                  (pad_.height + pad_.extra_h) * (pad_.width + pad_.extra_w) *
                                                  pad_.channels) *
                              esize)
                   : 0;
    // One scratch call: the padded copy must stay valid through the convolution.
    char* base = static_cast<char*>(scratch(padded_bytes + (chosen_ ? workspace_bytes_ : kSearchWorkspace)));
    const void* x = a.x;
    if (needs_pad_) {
      pad_end_ndhwc(dtype_, pad_, a.x, base, stream);
      x = base;
    }
    if (!chosen_) choose(handle, x, a.w, a.y, base + padded_bytes);
    void* workspace = workspace_bytes_ > 0 ? base + padded_bytes : nullptr;
    const float one = 1.0f, zero = 0.0f;  // beta 0: y is not read, it may hold anything
    HL_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, x_desc_, x, w_desc_, a.w, conv_desc_, algo_, workspace,
                                           workspace_bytes_, &zero, y_desc_, a.y));
    Conv3dEpilogueArgs e;
    e.rows = output_elements() / shape_.c_out, e.cols = shape_.c_out;
    e.y = a.y, e.bias = a.bias, e.residual = a.residual, e.scale = a.scale, e.shift = a.shift, e.relu = a.relu;
    if (e.bias || e.residual || e.scale || e.relu) conv3d_epilogue(dtype_, e, stream);
  } catch (const Error& e) {
    throw Error(name_ + ": " + e.what());
  }
}

std::string CudnnConv3d::describe() const {
  return std::string(chosen_ ? "algorithm " + std::to_string(static_cast<int>(algo_)) : "undecided") +
         ", workspace " + std::to_string(workspace_bytes_) + " bytes" + (needs_pad_ ? ", input padded at the end" : "");
}

}  // namespace hl::cuda
