// cuBLAS, cuDNN and cuFFT opened on first use instead of at program start.
//
// Why: linking them made every program load them when it started, whatever it did:
// cuBLAS alone (it needs the 540-MB cuBLASLt) cost ~0.2-0.3 s and ~215 MB of resident
// memory before main (relocations and cuBLASLt's static constructors), so that
// `hl-inspect --version`, every CPU run and every test paid for a GPU library it never
// called (issue 18, item 13). The CUDA runtime itself stays linked: it is small (~0.5 MB
// resident), nvcc's generated code registers the kernels with it at start, and it opens
// the driver (libcuda) only on the first real call.
//
// How: this file defines, with the libraries' own prototypes (their headers are included,
// so a wrong signature does not compile), each of the functions of those libraries that
// hl calls. The first call of one opens its library with dlopen (the name first, so that
// LD_LIBRARY_PATH and the system's library paths are searched as the dynamic linker
// would, then the file CMake found at build time) and looks the function up; later calls
// go straight through. A library that cannot be opened, or lacks the function, throws
// hl::Error naming the library, the file and dlerror's reason: it is met on the first
// use of a CUDA device, where the user can act on it, instead of stopping every program
// at start. A function hl starts calling must be added below (the link fails otherwise:
// the libraries are no longer on the link line).
//
// No CPU twin (library loading). Tests: tests/cuda/test_lazy_cuda_libraries.cpp (none of
// the three is loaded at start; each loads on its first call and answers); every CUDA
// test through these functions.
#include <cublas_v2.h>
#include <cudnn.h>
#include <cufft.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "kernels/common/error.h"

namespace {

class LazyLibrary {
 public:
  // soname: the name to search for; path: the file found at build time (the fallback).
  LazyLibrary(const char* what, const char* soname, const char* path) : what_(what), soname_(soname), path_(path) {}

  // The address of `name` in the library, opening it on the first call; throws hl::Error.
  void* symbol(const char* name) {
    std::call_once(opened_, [this] { open(); });
    if (!handle_)
      throw hl::Error(std::string(what_) + " could not be loaded (" + error_ +
                      "): the CUDA build needs it at run time on a machine with a GPU; put its folder in "
                      "LD_LIBRARY_PATH, or build with -DHL_CUDA=OFF");
    dlerror();
    void* s = dlsym(handle_, name);
    if (!s) throw hl::Error(std::string(what_) + " (" + path_ + ") has no function " + name + ": " + last_dlerror());
    return s;
  }

 private:
  static std::string last_dlerror() {
    const char* e = dlerror();
    return e ? e : "unknown reason";
  }
  void open() {
    handle_ = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (handle_) return;
    const std::string by_name = last_dlerror();
    handle_ = dlopen(path_, RTLD_NOW | RTLD_LOCAL);
    if (!handle_) error_ = by_name + "; " + last_dlerror();
  }

  const char* what_;
  const char* soname_;
  const char* path_;
  std::once_flag opened_;
  void* handle_ = nullptr;
  std::string error_;
};

// Never destroyed: a handle may be released by a thread-exit destructor at process end.
LazyLibrary& cublas() {
  static LazyLibrary* l = new LazyLibrary("cuBLAS", HL_CUBLAS_SONAME, HL_CUBLAS_PATH);
  return *l;
}
LazyLibrary& cudnn() {
  static LazyLibrary* l = new LazyLibrary("cuDNN", HL_CUDNN_SONAME, HL_CUDNN_PATH);
  return *l;
}
LazyLibrary& cufft() {
  static LazyLibrary* l = new LazyLibrary("cuFFT", HL_CUFFT_SONAME, HL_CUFFT_PATH);
  return *l;
}

}  // namespace

// The body of each function below, whose pointer type is `Real` (spelled out: cuBLAS's
// header adds C++ overloads of some names): look the real function up once (a
// function-local static, so concurrent first calls are safe), then call it with the
// same arguments. A definition whose parameters differ from the header's would be a C++
// overload, leaving the library's name undefined: the link would fail, not the call.
#define HL_LAZY_CALL(library, function, ...)                                        \
  static const Real hl_real_ = reinterpret_cast<Real>(library().symbol(#function)); \
  return hl_real_(__VA_ARGS__)

// cuBLAS.
cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  using Real = cublasStatus_t (*)(cublasHandle_t* handle);
  HL_LAZY_CALL(cublas, cublasCreate_v2, handle);
}
cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  using Real = cublasStatus_t (*)(cublasHandle_t handle);
  HL_LAZY_CALL(cublas, cublasDestroy_v2, handle);
}
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B, cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  using Real = cublasStatus_t (*)(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B, cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo);
  HL_LAZY_CALL(cublas, cublasGemmEx, handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo);
}
cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  using Real = cublasStatus_t (*)(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo);
  HL_LAZY_CALL(cublas, cublasGemmStridedBatchedEx, handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);
}
const char* cublasGetStatusName(cublasStatus_t status) {
  using Real = const char* (*)(cublasStatus_t status);
  HL_LAZY_CALL(cublas, cublasGetStatusName, status);
}
const char* cublasGetStatusString(cublasStatus_t status) {
  using Real = const char* (*)(cublasStatus_t status);
  HL_LAZY_CALL(cublas, cublasGetStatusString, status);
}
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  using Real = cublasStatus_t (*)(cublasHandle_t handle, cublasMath_t mode);
  HL_LAZY_CALL(cublas, cublasSetMathMode, handle, mode);
}
cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  using Real = cublasStatus_t (*)(cublasHandle_t handle, cudaStream_t streamId);
  HL_LAZY_CALL(cublas, cublasSetStream_v2, handle, streamId);
}

// cuDNN.
cudnnStatus_t cudnnConvolutionBiasActivationForward(cudnnHandle_t handle, const void *alpha1, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *alpha2, const cudnnTensorDescriptor_t zDesc, const void *z, const cudnnTensorDescriptor_t biasDesc, const void *bias, const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t yDesc, void *y) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle, const void *alpha1, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *alpha2, const cudnnTensorDescriptor_t zDesc, const void *z, const cudnnTensorDescriptor_t biasDesc, const void *bias, const cudnnActivationDescriptor_t activationDesc, const cudnnTensorDescriptor_t yDesc, void *y);
  HL_LAZY_CALL(cudnn, cudnnConvolutionBiasActivationForward, handle, alpha1, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, alpha2, zDesc, z, biasDesc, bias, activationDesc, yDesc, y);
}
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo, void *workSpace, size_t workSpaceSizeInBytes, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y);
  HL_LAZY_CALL(cudnn, cudnnConvolutionForward, handle, alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, beta, yDesc, y);
}
cudnnStatus_t cudnnCreate(cudnnHandle_t *handle) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t *handle);
  HL_LAZY_CALL(cudnn, cudnnCreate, handle);
}
cudnnStatus_t cudnnCreateActivationDescriptor(cudnnActivationDescriptor_t *activationDesc) {
  using Real = cudnnStatus_t (*)(cudnnActivationDescriptor_t *activationDesc);
  HL_LAZY_CALL(cudnn, cudnnCreateActivationDescriptor, activationDesc);
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *convDesc) {
  using Real = cudnnStatus_t (*)(cudnnConvolutionDescriptor_t *convDesc);
  HL_LAZY_CALL(cudnn, cudnnCreateConvolutionDescriptor, convDesc);
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *filterDesc) {
  using Real = cudnnStatus_t (*)(cudnnFilterDescriptor_t *filterDesc);
  HL_LAZY_CALL(cudnn, cudnnCreateFilterDescriptor, filterDesc);
}
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *tensorDesc) {
  using Real = cudnnStatus_t (*)(cudnnTensorDescriptor_t *tensorDesc);
  HL_LAZY_CALL(cudnn, cudnnCreateTensorDescriptor, tensorDesc);
}
cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle);
  HL_LAZY_CALL(cudnn, cudnnDestroy, handle);
}
cudnnStatus_t cudnnDestroyActivationDescriptor(cudnnActivationDescriptor_t activationDesc) {
  using Real = cudnnStatus_t (*)(cudnnActivationDescriptor_t activationDesc);
  HL_LAZY_CALL(cudnn, cudnnDestroyActivationDescriptor, activationDesc);
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t convDesc) {
  using Real = cudnnStatus_t (*)(cudnnConvolutionDescriptor_t convDesc);
  HL_LAZY_CALL(cudnn, cudnnDestroyConvolutionDescriptor, convDesc);
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t filterDesc) {
  using Real = cudnnStatus_t (*)(cudnnFilterDescriptor_t filterDesc);
  HL_LAZY_CALL(cudnn, cudnnDestroyFilterDescriptor, filterDesc);
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t tensorDesc) {
  using Real = cudnnStatus_t (*)(cudnnTensorDescriptor_t tensorDesc);
  HL_LAZY_CALL(cudnn, cudnnDestroyTensorDescriptor, tensorDesc);
}
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, void *y, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnFilterDescriptor_t wDesc, const void *w, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, void *y, const int requestedAlgoCount, int *returnedAlgoCount, cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes);
  HL_LAZY_CALL(cudnn, cudnnFindConvolutionForwardAlgorithmEx, handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount, returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, cudnnConvolutionFwdAlgo_t algo, size_t *sizeInBytes);
  HL_LAZY_CALL(cudnn, cudnnGetConvolutionForwardWorkspaceSize, handle, xDesc, wDesc, convDesc, yDesc, algo, sizeInBytes);
}
const char * cudnnGetErrorString(cudnnStatus_t status) {
  using Real = const char * (*)(cudnnStatus_t status);
  HL_LAZY_CALL(cudnn, cudnnGetErrorString, status);
}
cudnnStatus_t cudnnSetActivationDescriptor(cudnnActivationDescriptor_t activationDesc, cudnnActivationMode_t mode, cudnnNanPropagation_t reluNanOpt, double coef) {
  using Real = cudnnStatus_t (*)(cudnnActivationDescriptor_t activationDesc, cudnnActivationMode_t mode, cudnnNanPropagation_t reluNanOpt, double coef);
  HL_LAZY_CALL(cudnn, cudnnSetActivationDescriptor, activationDesc, mode, reluNanOpt, coef);
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType) {
  using Real = cudnnStatus_t (*)(cudnnConvolutionDescriptor_t convDesc, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w, cudnnConvolutionMode_t mode, cudnnDataType_t computeType);
  HL_LAZY_CALL(cudnn, cudnnSetConvolution2dDescriptor, convDesc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType);
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType) {
  using Real = cudnnStatus_t (*)(cudnnConvolutionDescriptor_t convDesc, cudnnMathType_t mathType);
  HL_LAZY_CALL(cudnn, cudnnSetConvolutionMathType, convDesc, mathType);
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w) {
  using Real = cudnnStatus_t (*)(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int k, int c, int h, int w);
  HL_LAZY_CALL(cudnn, cudnnSetFilter4dDescriptor, filterDesc, dataType, format, k, c, h, w);
}
cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId) {
  using Real = cudnnStatus_t (*)(cudnnHandle_t handle, cudaStream_t streamId);
  HL_LAZY_CALL(cudnn, cudnnSetStream, handle, streamId);
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w) {
  using Real = cudnnStatus_t (*)(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int n, int c, int h, int w);
  HL_LAZY_CALL(cudnn, cudnnSetTensor4dDescriptor, tensorDesc, format, dataType, n, c, h, w);
}
cudnnStatus_t cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int n, int c, int h, int w, int nStride, int cStride, int hStride, int wStride) {
  using Real = cudnnStatus_t (*)(cudnnTensorDescriptor_t tensorDesc, cudnnDataType_t dataType, int n, int c, int h, int w, int nStride, int cStride, int hStride, int wStride);
  HL_LAZY_CALL(cudnn, cudnnSetTensor4dDescriptorEx, tensorDesc, dataType, n, c, h, w, nStride, cStride, hStride, wStride);
}
// The N-d forms, for the Multisensory network's 3-D convolutions (kernels/cuda/cudnn_conv3d.cpp).
cudnnStatus_t cudnnSetTensorNdDescriptorEx(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int nbDims, const int dimA[]) {
  using Real = cudnnStatus_t (*)(cudnnTensorDescriptor_t tensorDesc, cudnnTensorFormat_t format, cudnnDataType_t dataType, int nbDims, const int dimA[]);
  HL_LAZY_CALL(cudnn, cudnnSetTensorNdDescriptorEx, tensorDesc, format, dataType, nbDims, dimA);
}
cudnnStatus_t cudnnSetFilterNdDescriptor(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int nbDims, const int filterDimA[]) {
  using Real = cudnnStatus_t (*)(cudnnFilterDescriptor_t filterDesc, cudnnDataType_t dataType, cudnnTensorFormat_t format, int nbDims, const int filterDimA[]);
  HL_LAZY_CALL(cudnn, cudnnSetFilterNdDescriptor, filterDesc, dataType, format, nbDims, filterDimA);
}
cudnnStatus_t cudnnSetConvolutionNdDescriptor(cudnnConvolutionDescriptor_t convDesc, int arrayLength, const int padA[], const int filterStrideA[], const int dilationA[], cudnnConvolutionMode_t mode, cudnnDataType_t computeType) {
  using Real = cudnnStatus_t (*)(cudnnConvolutionDescriptor_t convDesc, int arrayLength, const int padA[], const int filterStrideA[], const int dilationA[], cudnnConvolutionMode_t mode, cudnnDataType_t computeType);
  HL_LAZY_CALL(cudnn, cudnnSetConvolutionNdDescriptor, convDesc, arrayLength, padA, filterStrideA, dilationA, mode, computeType);
}
cudnnStatus_t cudnnGetConvolutionNdForwardOutputDim(const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc, const cudnnFilterDescriptor_t filterDesc, int nbDims, int tensorOuputDimA[]) {
  using Real = cudnnStatus_t (*)(const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t inputTensorDesc, const cudnnFilterDescriptor_t filterDesc, int nbDims, int tensorOuputDimA[]);
  HL_LAZY_CALL(cudnn, cudnnGetConvolutionNdForwardOutputDim, convDesc, inputTensorDesc, filterDesc, nbDims, tensorOuputDimA);
}

// cuFFT.
cufftResult cufftCreate(cufftHandle * handle) {
  using Real = cufftResult (*)(cufftHandle * handle);
  HL_LAZY_CALL(cufft, cufftCreate, handle);
}
cufftResult cufftDestroy(cufftHandle plan) {
  using Real = cufftResult (*)(cufftHandle plan);
  HL_LAZY_CALL(cufft, cufftDestroy, plan);
}
cufftResult cufftExecR2C(cufftHandle plan, cufftReal *idata, cufftComplex *odata) {
  using Real = cufftResult (*)(cufftHandle plan, cufftReal *idata, cufftComplex *odata);
  HL_LAZY_CALL(cufft, cufftExecR2C, plan, idata, odata);
}
cufftResult cufftMakePlanMany64(cufftHandle plan, int rank, long long int *n, long long int *inembed, long long int istride, long long int idist, long long int *onembed, long long int ostride, long long int odist, cufftType type, long long int batch, size_t * workSize) {
  using Real = cufftResult (*)(cufftHandle plan, int rank, long long int *n, long long int *inembed, long long int istride, long long int idist, long long int *onembed, long long int ostride, long long int odist, cufftType type, long long int batch, size_t * workSize);
  HL_LAZY_CALL(cufft, cufftMakePlanMany64, plan, rank, n, inembed, istride, idist, onembed, ostride, odist, type, batch, workSize);
}
cufftResult cufftSetStream(cufftHandle plan, cudaStream_t stream) {
  using Real = cufftResult (*)(cufftHandle plan, cudaStream_t stream);
  HL_LAZY_CALL(cufft, cufftSetStream, plan, stream);
}
