package tfc

/*
// -O2 here: a CGO_CFLAGS in the environment (the provisioned env.sh and cgo.mk set one, for the
// include path) replaces Go's default "-g -O2", which left this kernel unoptimised (README,
// "Speed and precision", has the cost).
#cgo CFLAGS: -O2
#cgo LDFLAGS: -l:libtensorflow_framework.so.2
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define NNCLR_X86 1
#endif
#include "tensorflow/c/c_api.h"
typedef struct TF_DimensionHandle TF_DimensionHandle;
typedef struct TF_OpDefinitionBuilder TF_OpDefinitionBuilder;
typedef struct TF_ShapeHandle TF_ShapeHandle;
typedef struct TF_ShapeInferenceContext TF_ShapeInferenceContext;
#include "tensorflow/c/ops.h"
#include "tensorflow/c/kernels.h"

// The element rule is TensorFlow's ReluGrad, gradients · (features > 0), under the flush-to-zero
// and denormals-are-zero modes TensorFlow runs its kernels in (the workers copy the calling
// thread's MXCSR): in float32 it is that product, computed the same way; in bfloat16, where
// Eigen converts both to float, multiplies and rounds back, it is done on the 16-bit patterns:
// features > 0 exactly when the bits lie in [0x0080, 0x7F80] (positive, normal or +Inf: a
// subnormal is 0 under DAZ, NaN is not > 0); a kept gradient passes, except that a zero or
// subnormal one becomes a zero of its sign; a masked one becomes a zero of its sign, or a NaN
// when it is infinite or NaN. (NaN payloads and signs may differ from TensorFlow's.)

// relu_one is 1, read through a volatile so that the compiler cannot fold g · 1 into g: the
// product is what flushes a subnormal gradient to zero under denormals-are-zero, as
// TensorFlow's ReluGrad does.
static volatile float relu_one = 1.0f;

static void relu_grad_f32_scalar(const float *g, const float *a, float *o, size_t lo, size_t hi) {
	float one = relu_one;
	for (size_t i = lo; i < hi; i++) o[i] = g[i] * (a[i] > 0 ? one : 0.0f);
}

static uint16_t relu_grad_bf16_one(uint16_t g, uint16_t a) {
	uint16_t e = g & 0x7F80, s = g & 0x8000;
	if ((uint16_t)(a - 0x0080) <= 0x7F00) return e == 0 ? s : g;
	return e == 0x7F80 ? 0x7FC0 : s;
}

static void relu_grad_bf16_scalar(const uint16_t *g, const uint16_t *a, uint16_t *o, size_t lo, size_t hi) {
	for (size_t i = lo; i < hi; i++) o[i] = relu_grad_bf16_one(g[i], a[i]);
}

#ifdef NNCLR_X86
__attribute__((target("avx512f,avx512bw")))
static void relu_grad_f32_avx512(const float *g, const float *a, float *o, size_t lo, size_t hi) {
	__m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
	size_t i = lo;
	for (; i + 16 <= hi; i += 16) {
		__mmask16 keep = _mm512_cmp_ps_mask(_mm512_loadu_ps(a + i), zero, _CMP_GT_OQ);
		_mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_loadu_ps(g + i), _mm512_mask_blend_ps(keep, zero, one)));
	}
	relu_grad_f32_scalar(g, a, o, i, hi);
}

__attribute__((target("avx512f,avx512bw")))
static void relu_grad_bf16_avx512(const uint16_t *g, const uint16_t *a, uint16_t *o, size_t lo, size_t hi) {
	__m512i exp = _mm512_set1_epi16(0x7F80), sign = _mm512_set1_epi16((short)0x8000), zero = _mm512_setzero_si512();
	__m512i low = _mm512_set1_epi16(0x0080), span = _mm512_set1_epi16(0x7F00), nan = _mm512_set1_epi16(0x7FC0);
	size_t i = lo;
	for (; i + 32 <= hi; i += 32) {
		__m512i gv = _mm512_loadu_si512(g + i), e = _mm512_and_si512(gv, exp), s = _mm512_and_si512(gv, sign);
		__mmask32 keep = _mm512_cmple_epu16_mask(_mm512_sub_epi16(_mm512_loadu_si512(a + i), low), span);
		__mmask32 tiny = _mm512_cmpeq_epi16_mask(e, zero), inf = _mm512_cmpeq_epi16_mask(e, exp);
		__m512i kept = _mm512_mask_blend_epi16(tiny, gv, s);
		__m512i masked = _mm512_mask_blend_epi16(inf, s, nan);
		_mm512_storeu_si512(o + i, _mm512_mask_blend_epi16(keep, masked, kept));
	}
	relu_grad_bf16_scalar(g, a, o, i, hi);
}
#endif

// relu_sum_* add the values of rows [lo, hi) of an array of rows of c values to part (c floats),
// column by column.
static void relu_sum_f32_scalar(const float *o, size_t c, size_t lo, size_t hi, float *part) {
	for (size_t r = lo; r < hi; r++)
		for (size_t k = 0; k < c; k++) part[k] += o[r * c + k];
}

static float bf16_float(uint16_t v) {
	uint32_t u = (uint32_t)v << 16;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static void relu_sum_bf16_scalar(const uint16_t *o, size_t c, size_t lo, size_t hi, float *part) {
	for (size_t r = lo; r < hi; r++)
		for (size_t k = 0; k < c; k++) part[k] += bf16_float(o[r * c + k]);
}

#ifdef NNCLR_X86
__attribute__((target("avx512f,avx512bw")))
static void relu_sum_f32_avx512(const float *o, size_t c, size_t lo, size_t hi, float *part) {
	for (size_t r = lo; r < hi; r++) {
		const float *row = o + r * c;
		size_t k = 0;
		for (; k + 16 <= c; k += 16) _mm512_storeu_ps(part + k, _mm512_add_ps(_mm512_loadu_ps(part + k), _mm512_loadu_ps(row + k)));
		for (; k < c; k++) part[k] += row[k];
	}
}

__attribute__((target("avx512f,avx512bw")))
static void relu_sum_bf16_avx512(const uint16_t *o, size_t c, size_t lo, size_t hi, float *part) {
	for (size_t r = lo; r < hi; r++) {
		const uint16_t *row = o + r * c;
		size_t k = 0;
		for (; k + 16 <= c; k += 16) {
			__m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(row + k))), 16);
			_mm512_storeu_ps(part + k, _mm512_add_ps(_mm512_loadu_ps(part + k), _mm512_castsi512_ps(w)));
		}
		for (; k < c; k++) part[k] += bf16_float(row[k]);
	}
}
#endif

typedef struct {
	const void *g, *a;
	void *o;
	size_t lo, hi; // elements, whole rows of c
	int bf16;
	unsigned csr; // the calling thread's MXCSR (flush-to-zero modes), on x86-64
	size_t c;     // the last dimension (values a row), > 0
	double *sum;  // c sums of the output's columns over the job's rows
	float *part;  // c floats of scratch, zero: a block's partial sums
} relu_job;

static unsigned relu_csr(void) {
#ifdef NNCLR_X86
	return _mm_getcsr();
#else
	return 0;
#endif
}

// relu_scalar_only, when set, keeps the kernel on its portable loops on every CPU (for the tests:
// the loops that CPUs without AVX-512 run).
static int relu_scalar_only = 0;
static void nnclr_relu_scalar_only(int on) { relu_scalar_only = on; }

static int relu_avx512(void) {
#ifdef NNCLR_X86
	return !relu_scalar_only && __builtin_cpu_supports("avx512bw");
#else
	return 0;
#endif
}

static void relu_range(const relu_job *j, size_t lo, size_t hi) {
#ifdef NNCLR_X86
	if (relu_avx512()) {
		if (j->bf16) relu_grad_bf16_avx512(j->g, j->a, j->o, lo, hi);
		else relu_grad_f32_avx512(j->g, j->a, j->o, lo, hi);
		return;
	}
#endif
	if (j->bf16) relu_grad_bf16_scalar(j->g, j->a, j->o, lo, hi);
	else relu_grad_f32_scalar(j->g, j->a, j->o, lo, hi);
}

static void relu_sum(const relu_job *j, size_t lo, size_t hi, float *part) {
#ifdef NNCLR_X86
	if (relu_avx512()) {
		if (j->bf16) relu_sum_bf16_avx512(j->o, j->c, lo, hi, part);
		else relu_sum_f32_avx512(j->o, j->c, lo, hi, part);
		return;
	}
#endif
	if (j->bf16) relu_sum_bf16_scalar(j->o, j->c, lo, hi, part);
	else relu_sum_f32_scalar(j->o, j->c, lo, hi, part);
}

// relu_block_rows is how many rows one block of the summing job spans: about 8,192 values, so
// that the block's output is still in cache when it is summed, and float32 partial sums run
// over few rows before they are added into the double totals.
static size_t relu_block_rows(size_t c) { return c >= 8192 ? 1 : 8192 / c; }

static void *relu_work(void *p) {
	relu_job *j = p;
#ifdef NNCLR_X86
	_mm_setcsr(j->csr);
#endif
	float *part = j->part;
	size_t rows0 = j->lo / j->c, rows1 = j->hi / j->c, step = relu_block_rows(j->c);
	for (size_t r = rows0; r < rows1; r += step) {
		size_t end = r + step < rows1 ? r + step : rows1;
		relu_range(j, r * j->c, end * j->c);
		relu_sum(j, r, end, part);
		for (size_t k = 0; k < j->c; k++) {
			j->sum[k] += part[k];
			part[k] = 0;
		}
	}
	return 0;
}

// relu_shape: backprops as the gradients; the sums a vector of the gradients' last dimension.
static void relu_shape(TF_ShapeInferenceContext *ctx, TF_Status *st) {
	TF_ShapeHandle *h = TF_NewShapeHandle(), *r = TF_NewShapeHandle(), *last = TF_NewShapeHandle();
	TF_ShapeInferenceContextGetInput(ctx, 0, h, st);
	if (TF_GetCode(st) == TF_OK) TF_ShapeInferenceContextWithRankAtLeast(ctx, h, 1, r, st);
	if (TF_GetCode(st) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 0, r, st);
	if (TF_GetCode(st) == TF_OK) TF_ShapeInferenceContextSubshape(ctx, r, -1, INT32_MAX, last, st);
	if (TF_GetCode(st) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 1, last, st);
	TF_DeleteShapeHandle(h);
	TF_DeleteShapeHandle(r);
	TF_DeleteShapeHandle(last);
}

static void *relu_create(TF_OpKernelConstruction *c) { return NULL; }
static void relu_delete(void *k) {}

// The work is split over relu_threads threads (the calling one and new ones) when the tensor is
// large enough for that to pay.
enum { relu_threads = 2 };

// relu_run computes the backprops of gradients gd and features a into o and their column sums
// (rows of c values) into bias, on relu_threads threads from a million elements.
static void relu_run(const void *gd, TF_Tensor *a, TF_Tensor *o, size_t c, float *bias, TF_Status *st) {
	size_t n = TF_TensorElementCount(a), rows = n / c;
	int T = n >= ((size_t)1 << 20) ? relu_threads : 1;
	// The threads' sums and scratch are allocated here, not by the threads: glibc gives each
	// thread that allocates an arena of its own, and threads started per call would spread the
	// process's small allocations over more and more of them.
	double *sums = calloc(T * c, sizeof *sums);
	float *parts = calloc(T * c, sizeof *parts);
	if (!sums || !parts) {
		TF_SetStatus(st, TF_RESOURCE_EXHAUSTED, "no memory for the sums");
	} else {
		relu_job jobs[relu_threads];
		pthread_t th[relu_threads];
		int started[relu_threads] = {0};
		for (int t = 0; t < T; t++) {
			size_t lo = rows * t / T, hi = rows * (t + 1) / T;
			jobs[t] = (relu_job){gd, TF_TensorData(a), TF_TensorData(o), lo * c, hi * c, TF_TensorType(a) == TF_BFLOAT16, relu_csr(), c, sums + t * c, parts + t * c};
			if (t > 0) started[t] = pthread_create(&th[t], NULL, relu_work, &jobs[t]) == 0;
		}
		relu_work(&jobs[0]);
		for (int t = 1; t < T; t++) {
			if (started[t]) pthread_join(th[t], NULL);
			else relu_work(&jobs[t]); // no thread: do its share here
		}
		for (size_t k = 0; k < c; k++) {
			double v = 0;
			for (int t = 0; t < T; t++) v += sums[t * c + k];
			bias[k] = (float)v;
		}
	}
	free(sums);
	free(parts);
}

// relu_compute is the kernel: the backprops as output 0, their per-channel sums as output 1.
static void relu_compute(void *k, TF_OpKernelContext *ctx) {
	TF_Status *st = TF_NewStatus();
	TF_Tensor *g = NULL, *a = NULL, *o = NULL, *bias = NULL;
	int64_t dims[32];
	int nd = 0, forwarded = -1;
	size_t c = 0;
	TF_GetInput(ctx, 1, &a, st);
	if (TF_GetCode(st) == TF_OK) {
		nd = TF_NumDims(a);
		if (nd > 32) TF_SetStatus(st, TF_INVALID_ARGUMENT, "rank above 32");
		else if (nd < 1) TF_SetStatus(st, TF_INVALID_ARGUMENT, "features are a scalar: want rank 1 or more (the last dimension is the channels)");
	}
	// The gradients must have the features' shape and type. They are checked, then released:
	// held, their buffer could not be handed over as the output below.
	if (TF_GetCode(st) == TF_OK) TF_GetInput(ctx, 0, &g, st);
	if (TF_GetCode(st) == TF_OK) {
		int same = TF_NumDims(g) == nd && TF_TensorType(g) == TF_TensorType(a);
		for (int d = 0; d < nd; d++) {
			dims[d] = TF_Dim(a, d);
			if (same && TF_Dim(g, d) != dims[d]) same = 0;
		}
		if (!same) TF_SetStatus(st, TF_INVALID_ARGUMENT, "gradients and features differ in shape or type");
		TF_DeleteTensor(g);
		g = NULL;
	}
	// The output takes the gradients' buffer when TensorFlow can hand it over (as its ReluGrad
	// does, saving a tensor the size of the activations); the gradients are then read from it,
	// element i before it is written, by the same thread.
	if (TF_GetCode(st) == TF_OK) {
		int input0 = 0;
		o = TF_ForwardInputOrAllocateOutput(ctx, &input0, 1, 0, dims, nd, &forwarded, st);
	}
	if (TF_GetCode(st) == TF_OK && forwarded != 0) TF_GetInput(ctx, 0, &g, st);
	if (TF_GetCode(st) == TF_OK) {
		c = (size_t)dims[nd - 1];
		int64_t bdims[1] = {(int64_t)c};
		bias = TF_AllocateOutput(ctx, 1, TF_FLOAT, bdims, 1, c * sizeof(float), st);
	}
	if (TF_GetCode(st) == TF_OK && c > 0)
		relu_run(forwarded == 0 ? TF_TensorData(o) : TF_TensorData(g), a, o, c, TF_TensorData(bias), st);
	if (TF_GetCode(st) != TF_OK) {
		char msg[256];
		snprintf(msg, sizeof msg, "NnclrReluGradBias: %s", TF_Message(st));
		TF_SetStatus(st, TF_GetCode(st), msg);
		TF_OpKernelContext_Failure(ctx, st);
	}
	if (bias) TF_DeleteTensor(bias);
	if (o) TF_DeleteTensor(o);
	if (g) TF_DeleteTensor(g);
	if (a) TF_DeleteTensor(a);
	TF_DeleteStatus(st);
}

static int nnclr_register_relu_grad(const char *name, char *err, int errlen) {
	TF_Status *st = TF_NewStatus();
	TF_OpDefinitionBuilder *b = TF_NewOpDefinitionBuilder(name);
	TF_OpDefinitionBuilderAddInput(b, "gradients: T");
	TF_OpDefinitionBuilderAddInput(b, "features: T");
	TF_OpDefinitionBuilderAddOutput(b, "backprops: T");
	TF_OpDefinitionBuilderAddOutput(b, "bias_grad: float");
	TF_OpDefinitionBuilderAddAttr(b, "T: {float, bfloat16}");
	TF_OpDefinitionBuilderSetShapeInferenceFunction(b, relu_shape);
	TF_RegisterOpDefinition(b, st);
	TF_DataType types[2] = {TF_FLOAT, TF_BFLOAT16};
	for (int i = 0; i < 2 && TF_GetCode(st) == TF_OK; i++) {
		TF_KernelBuilder *kb = TF_NewKernelBuilder(name, "CPU", relu_create, relu_compute, relu_delete);
		TF_KernelBuilder_TypeConstraint(kb, "T", types[i], st);
		if (TF_GetCode(st) == TF_OK) TF_RegisterKernelBuilder(name, kb, st);
		else TF_DeleteKernelBuilder(kb);
	}
	int code = TF_GetCode(st);
	if (code != TF_OK) snprintf(err, errlen, "%s", TF_Message(st));
	TF_DeleteStatus(st);
	return code;
}
*/
import "C"

import (
	"fmt"
	"sync"
	"unsafe"
)

// ScalarOnly makes nnclr's ReLU gradient kernel run its portable loops, which CPUs without
// AVX-512 run, on every CPU (on), or pick by the CPU again (off). It is for tests; kernels
// running meanwhile may take either.
func ScalarOnly(on bool) {
	v := 0
	if on {
		v = 1
	}
	C.nnclr_relu_scalar_only(C.int(v))
}

// ReluGradBiasOp is the op type of nnclr's own ReLU gradient (RegisterReluGrad).
const ReluGradBiasOp = "NnclrReluGradBias"

var (
	reluGradOnce sync.Once
	reluGradErr  error
)

// RegisterReluGrad registers, once per process, the op NnclrReluGradBias(gradients, features)
// → (backprops, bias_grad) with CPU kernels for float32 and bfloat16. backprops is TensorFlow's
// ReluGrad, gradients · (features > 0) under its flush-to-zero modes, with AVX-512 (where the
// CPU has it) on the 16-bit patterns for bfloat16, where Eigen's ReluGrad converts every element
// to float and back; bit for bit it equals ReluGrad but for NaNs' signs and payloads. bias_grad
// is float32 in both: the backprops' sums over every dimension but the last, the gradient of a
// bias added before the ReLU (BiasAddGrad of the backprops), computed while the backprops are
// still in cache instead of in a second pass over them. The sums run in float32 over blocks of
// about 8,192 values and in float64 across blocks and threads, in a fixed order: the same inputs
// give the same bits. Tensors of a million elements or more are split over two threads. Gradients
// whose shape or type differs from the features' are refused. It is an error when TensorFlow
// refuses the op (the caller then keeps TensorFlow's ops).
func RegisterReluGrad() error {
	reluGradOnce.Do(func() {
		name := C.CString(ReluGradBiasOp)
		defer C.free(unsafe.Pointer(name))
		buf := make([]byte, 512)
		if code := C.nnclr_register_relu_grad(name, (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf))); code != 0 {
			reluGradErr = fmt.Errorf("tfc: registering %s: %s", ReluGradBiasOp, C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
		}
	})
	return reluGradErr
}
