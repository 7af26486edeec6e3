// The cuDNN convolution wrapper of kernels/cuda/cudnn_conv.h (legacy convolution API,
// which cuDNN 9 still ships and serves with its own engines). Every cuDNN call is
// checked; a failure names the layer.
// Tests: tests/cuda/test_cuda_cnn.cpp against the CPU backend.
#include "kernels/cuda/cudnn_conv.h"

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/error.h"
#include "kernels/cuda/check.h"

namespace hl::cuda {
namespace {

// What cuDNN may use while it times the algorithms. Larger workspaces rarely buy much
// for these layers; the memory comes from the arena and stays cached for later layers.
constexpr size_t kSearchWorkspace = size_t{256} << 20;
// Packed scratch and the workspace after it start on a 256-byte boundary.
constexpr size_t kAlign = 256;

size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

int to_int(int64_t v, const std::string& name, const char* what) {
  if (v < 0 || v > INT_MAX)
    throw Error(name + ": " + what + " = " + std::to_string(v) + " is outside cuDNN's int range; use smaller batches");
  return static_cast<int>(v);
}

// cuDNN 9 groups its statuses by thousands: 2xxx bad parameter, 3xxx not supported.
// Either, from a call whose parameters this file built, means "not this way".
bool refused(cudnnStatus_t status) {
  const int group = static_cast<int>(status) / 1000;
  return group == 2 || group == 3;
}

// F32Exact keeps to algorithms that compute the plain sum of products (see the header).
bool exact_algorithm(cudnnConvolutionFwdAlgo_t algo) {
  return algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         algo == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || algo == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

}  // namespace

CudnnConv::CudnnConv(ConvPrecision precision, const CudnnConvShape& s, std::string name)
    : precision_(precision), shape_(s), name_(std::move(name)),
      dtype_(precision == ConvPrecision::F32Exact ? CnnDType::F32 : CnnDType::F16) {
  const cudnnDataType_t dt = precision == ConvPrecision::F32Exact ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
  const int n = to_int(s.batch, name_, "batch"), h = to_int(s.height, name_, "height"),
            w = to_int(s.width, name_, "width"), ci = to_int(s.c_in, name_, "c_in"),
            co = to_int(s.c_out, name_, "c_out"), k = to_int(s.kernel, name_, "kernel"),
            st = to_int(s.stride, name_, "stride"), pad = to_int(s.pad, name_, "pad");
  const int oh = to_int(s.out_height(), name_, "output height"), ow = to_int(s.out_width(), name_, "output width");
  const int yc = to_int(s.y_channels, name_, "output channels");
  to_int(s.batch * oh * ow * s.y_channels, name_, "output elements");
  to_int(s.batch * s.height * s.width * s.c_in, name_, "input elements");
  try {
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&packed_desc_));
    HL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bias_desc_));
    HL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
    HL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_desc_));
    HL_CUDNN_CHECK(cudnnCreateActivationDescriptor(&act_desc_));
    HL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, dt, n, ci, h, w));
    // y: [N, OH, OW, y_channels] rows of which this layer fills the first c_out.
    HL_CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(y_desc_, dt, n, co, oh, ow, oh * ow * yc, 1, ow * yc, yc));
    HL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(packed_desc_, CUDNN_TENSOR_NHWC, dt, n, co, oh, ow));
    HL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bias_desc_, CUDNN_TENSOR_NHWC, dt, 1, co, 1, 1));
    HL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, dt, CUDNN_TENSOR_NHWC, co, ci, k, k));
    // Compute type FLOAT in both precisions: f32 accumulation.
    HL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv_desc_, pad, pad, st, st, 1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
    HL_CUDNN_CHECK(cudnnSetActivationDescriptor(act_desc_, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  } catch (const Error& e) {
    release();
    throw Error(name_ + ": " + e.what());
  }
}

CudnnConv::~CudnnConv() { release(); }

// Statuses ignored: nothing useful can be done about a failed destroy.
void CudnnConv::release() {
  if (act_desc_) cudnnDestroyActivationDescriptor(act_desc_);
  if (conv_desc_) cudnnDestroyConvolutionDescriptor(conv_desc_);
  if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
  for (cudnnTensorDescriptor_t d : {bias_desc_, packed_desc_, y_desc_, x_desc_})
    if (d) cudnnDestroyTensorDescriptor(d);
  act_desc_ = nullptr, conv_desc_ = nullptr, w_desc_ = nullptr;
  bias_desc_ = packed_desc_ = y_desc_ = x_desc_ = nullptr;
}

cudnnMathType_t CudnnConv::run_math(cudnnMathType_t found) const {
  return precision_ == ConvPrecision::F32Exact ? CUDNN_FMA_MATH : found;
}

void CudnnConv::set_algorithm(cudnnHandle_t handle, cudnnConvolutionFwdAlgo_t algo, cudnnMathType_t math,
                              cudnnTensorDescriptor_t y_desc) {
  HL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, math));
  algo_ = algo;
  HL_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_, w_desc_, conv_desc_, y_desc, algo,
                                                         &workspace_bytes_));
}

bool CudnnConv::try_fused(cudnnHandle_t handle, const CudnnConvArgs& a, cudnnConvolutionFwdAlgo_t algo,
                          void* workspace, size_t workspace_bytes) {
  if (workspace_bytes_ > workspace_bytes) return false;
  const float alpha1 = 1.0f, alpha2 = shape_.residual ? 1.0f : 0.0f;
  const cudnnStatus_t status = cudnnConvolutionBiasActivationForward(
      handle, &alpha1, x_desc_, a.x, w_desc_, a.w, conv_desc_, algo, workspace, workspace_bytes_, &alpha2,
      shape_.residual ? packed_desc_ : y_desc_, shape_.residual ? a.residual : a.y, bias_desc_, a.bias_act, act_desc_,
      y_desc_, a.y);
  if (status == CUDNN_STATUS_SUCCESS) return true;
  if (refused(status)) return false;
  HL_CUDNN_CHECK(status);  // anything else is a real failure: throws
  return false;
}

void CudnnConv::choose(cudnnHandle_t handle, const CudnnConvArgs& a, const ConvScratch& scratch) {
  const bool slice = shape_.y_channels != shape_.c_out;
  const bool aligned = reinterpret_cast<uintptr_t>(a.y) % 16 == 0;
  const size_t packed_bytes =
      slice || !aligned
          ? round_up(static_cast<size_t>(shape_.batch * shape_.out_height() * shape_.out_width() * shape_.c_out) *
                     (dtype_ == CnnDType::F32 ? 4 : 2))
          : 0;
  char* base = static_cast<char*>(scratch(packed_bytes + kSearchWorkspace));
  void* search_workspace = base + packed_bytes;
  const cudnnMathType_t search_math = precision_ == ConvPrecision::F32Exact ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;

  // The real output first (straight into the slice), the packed scratch if cuDNN refuses it.
  for (const bool direct : {true, false}) {
    if (direct && !aligned) continue;
    cudnnTensorDescriptor_t target_desc = direct ? y_desc_ : packed_desc_;
    void* target = direct ? a.y : base;
    HL_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_, search_math));
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perfs(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
    int returned = 0;
    const cudnnStatus_t status = cudnnFindConvolutionForwardAlgorithmEx(
        handle, x_desc_, a.x, w_desc_, a.w, conv_desc_, target_desc, target, static_cast<int>(perfs.size()), &returned,
        perfs.data(), search_workspace, kSearchWorkspace);
    if (direct && refused(status)) continue;
    HL_CUDNN_CHECK(status);
    std::vector<cudnnConvolutionFwdAlgoPerf_t> usable;  // fastest first, as Find sorts them
    for (int i = 0; i < returned; ++i) {
      const cudnnConvolutionFwdAlgoPerf_t& p = perfs[static_cast<size_t>(i)];
      const bool tensor_ops = p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
      if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kSearchWorkspace) continue;
      if (precision_ == ConvPrecision::F32Exact && (tensor_ops || !exact_algorithm(p.algo))) continue;
      usable.push_back(p);
    }
    if (usable.empty()) {
      if (direct) continue;
      throw Error(name_ + ": cuDNN found no usable convolution algorithm for this shape");
    }
    if (direct && shape_.relu) {
      for (const cudnnConvolutionFwdAlgoPerf_t& p : usable) {
        set_algorithm(handle, p.algo, run_math(p.mathType), y_desc_);
        if (try_fused(handle, a, p.algo, search_workspace, kSearchWorkspace)) {
          mode_ = Mode::Fused;
          return;
        }
      }
    }
    set_algorithm(handle, usable[0].algo, run_math(usable[0].mathType), target_desc);
    mode_ = direct ? Mode::Unfused : Mode::Packed;
    return;
  }
}

void CudnnConv::run(cudnnHandle_t handle, const CudnnConvArgs& a, const ConvScratch& scratch, cudaStream_t stream) {
  try {
    if (mode_ == Mode::Undecided) choose(handle, a, scratch);
    const size_t esize = dtype_ == CnnDType::F32 ? 4 : 2;
    const size_t packed_bytes =
        mode_ == Mode::Packed
            ? round_up(static_cast<size_t>(shape_.batch * shape_.out_height() * shape_.out_width() * shape_.c_out) *
                       esize)
            : 0;
    char* base = static_cast<char*>(scratch(packed_bytes + workspace_bytes_));
    void* workspace = workspace_bytes_ > 0 ? base + packed_bytes : nullptr;
    const int64_t rows = shape_.batch * shape_.out_height() * shape_.out_width();
    if (mode_ == Mode::Fused) {
      const float alpha1 = 1.0f, alpha2 = shape_.residual ? 1.0f : 0.0f;
      HL_CUDNN_CHECK(cudnnConvolutionBiasActivationForward(
          handle, &alpha1, x_desc_, a.x, w_desc_, a.w, conv_desc_, algo_, workspace, workspace_bytes_, &alpha2,
          shape_.residual ? packed_desc_ : y_desc_, shape_.residual ? a.residual : a.y, bias_desc_, a.bias_act,
          act_desc_, y_desc_, a.y));
      return;
    }
    // beta = 0: cuDNN does not read the output, which may hold anything (NaN included).
    const float one = 1.0f, zero = 0.0f;
    const bool packed = mode_ == Mode::Packed;
    void* conv_out = packed ? static_cast<void*>(base) : a.y;
    HL_CUDNN_CHECK(cudnnConvolutionForward(handle, &one, x_desc_, a.x, w_desc_, a.w, conv_desc_, algo_, workspace,
                                           workspace_bytes_, &zero, packed ? packed_desc_ : y_desc_, conv_out));
    ConvEpilogueArgs e;
    e.rows = rows, e.cols = shape_.c_out;
    e.in = conv_out, e.ld_in = packed ? shape_.c_out : shape_.y_channels;
    e.out = a.y, e.ld_out = shape_.y_channels;
    e.bias = a.bias_f32, e.residual = a.residual, e.relu = shape_.relu;
    conv_epilogue(dtype_, e, stream);
  } catch (const Error& e) {
    throw Error(name_ + ": " + e.what());
  }
}

std::string CudnnConv::describe() const {
  const char* mode = mode_ == Mode::Fused     ? "fused"
                     : mode_ == Mode::Unfused ? "conv+epilogue"
                     : mode_ == Mode::Packed  ? "packed conv+epilogue"
                                              : "undecided";
  return std::string(mode) + ", algorithm " + std::to_string(static_cast<int>(algo_)) + ", workspace " +
         std::to_string(workspace_bytes_) + " bytes";
}

}  // namespace hl::cuda
