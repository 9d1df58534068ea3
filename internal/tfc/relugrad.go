package tfc

/*
#cgo LDFLAGS: -l:libtensorflow_framework.so.2
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static void relu_grad_f32_scalar(const float *g, const float *a, float *o, size_t lo, size_t hi) {
	for (size_t i = lo; i < hi; i++) o[i] = g[i] * (a[i] > 0 ? 1.0f : 0.0f);
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

typedef struct {
	const void *g, *a;
	void *o;
	size_t lo, hi;
	int bf16;
	unsigned csr; // the calling thread's MXCSR (flush-to-zero modes), on x86-64
} relu_job;

static unsigned relu_csr(void) {
#ifdef NNCLR_X86
	return _mm_getcsr();
#else
	return 0;
#endif
}

static void *relu_work(void *p) {
	relu_job *j = p;
#ifdef NNCLR_X86
	_mm_setcsr(j->csr);
	if (__builtin_cpu_supports("avx512bw")) {
		if (j->bf16) relu_grad_bf16_avx512(j->g, j->a, j->o, j->lo, j->hi);
		else relu_grad_f32_avx512(j->g, j->a, j->o, j->lo, j->hi);
		return 0;
	}
#endif
	if (j->bf16) relu_grad_bf16_scalar(j->g, j->a, j->o, j->lo, j->hi);
	else relu_grad_f32_scalar(j->g, j->a, j->o, j->lo, j->hi);
	return 0;
}

static void relu_shape(TF_ShapeInferenceContext *ctx, TF_Status *st) {
	TF_ShapeHandle *h = TF_NewShapeHandle();
	TF_ShapeInferenceContextGetInput(ctx, 0, h, st);
	if (TF_GetCode(st) == TF_OK) TF_ShapeInferenceContextSetOutput(ctx, 0, h, st);
	TF_DeleteShapeHandle(h);
}

static void *relu_create(TF_OpKernelConstruction *c) { return NULL; }
static void relu_delete(void *k) {}

// The work is split over up to relu_threads threads (the calling one and new ones) when the
// tensor is large enough for that to pay.
static int relu_threads = 2;

static void relu_compute(void *k, TF_OpKernelContext *ctx) {
	TF_Status *st = TF_NewStatus();
	TF_Tensor *g = NULL, *a = NULL, *o = NULL;
	int64_t dims[32];
	int nd = 0, forwarded = -1;
	// The output takes the gradients' buffer when TensorFlow can hand it over (as its ReluGrad
	// does, saving a tensor the size of the activations); the gradients are then read from it,
	// element i before it is written, by the same thread. So input 0 is only fetched when it
	// was not forwarded: holding it would keep its buffer from being handed over.
	TF_GetInput(ctx, 1, &a, st);
	if (TF_GetCode(st) == TF_OK) {
		nd = TF_NumDims(a);
		if (nd > 32) TF_SetStatus(st, TF_INVALID_ARGUMENT, "NnclrReluGrad: rank above 32");
	}
	if (TF_GetCode(st) == TF_OK) {
		int input0 = 0;
		for (int d = 0; d < nd; d++) dims[d] = TF_Dim(a, d);
		o = TF_ForwardInputOrAllocateOutput(ctx, &input0, 1, 0, dims, nd, &forwarded, st);
	}
	if (TF_GetCode(st) == TF_OK && forwarded != 0) {
		TF_GetInput(ctx, 0, &g, st);
		if (TF_GetCode(st) == TF_OK && (TF_TensorElementCount(g) != TF_TensorElementCount(a) || TF_TensorType(g) != TF_TensorType(a))) {
			TF_SetStatus(st, TF_INVALID_ARGUMENT, "NnclrReluGrad: gradients and features differ in size or type");
		}
	}
	if (TF_GetCode(st) != TF_OK) {
		TF_OpKernelContext_Failure(ctx, st);
	} else {
		const void *gd = forwarded == 0 ? TF_TensorData(o) : TF_TensorData(g);
		size_t n = TF_TensorElementCount(a);
		int T = n >= ((size_t)1 << 20) ? relu_threads : 1;
		relu_job jobs[8];
		pthread_t th[8];
		int started[8] = {0};
		for (int t = 0; t < T; t++) {
			jobs[t] = (relu_job){gd, TF_TensorData(a), TF_TensorData(o), n * t / T, n * (t + 1) / T, TF_TensorType(a) == TF_BFLOAT16, relu_csr()};
			if (t > 0) started[t] = pthread_create(&th[t], NULL, relu_work, &jobs[t]) == 0;
		}
		relu_work(&jobs[0]);
		for (int t = 1; t < T; t++) {
			if (started[t]) pthread_join(th[t], NULL);
			else relu_work(&jobs[t]); // no thread: do its share here
		}
	}
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

// ReluGradOp is the op type of nnclr's own ReLU gradient (RegisterReluGrad).
const ReluGradOp = "NnclrReluGrad"

var (
	reluGradOnce sync.Once
	reluGradErr  error
)

// RegisterReluGrad registers, once per process, the op NnclrReluGrad(gradients, features) with
// CPU kernels for float32 and bfloat16: TensorFlow's ReluGrad, gradients · (features > 0) under
// its flush-to-zero modes, with AVX-512 (where the CPU has it) on the 16-bit patterns for
// bfloat16, where Eigen's ReluGrad converts every element to float and back, and on two threads
// for tensors of a million elements or more. Bit for bit it equals ReluGrad but for NaNs' signs
// and payloads. It is an error when TensorFlow refuses the op (it is then not registered, and
// the caller keeps ReluGrad).
func RegisterReluGrad() error {
	reluGradOnce.Do(func() {
		name := C.CString(ReluGradOp)
		defer C.free(unsafe.Pointer(name))
		buf := make([]byte, 512)
		if code := C.nnclr_register_relu_grad(name, (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf))); code != 0 {
			reluGradErr = fmt.Errorf("tfc: registering %s: %s", ReluGradOp, C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
		}
	})
	return reluGradErr
}
