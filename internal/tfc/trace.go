package tfc

/*
#include <stdlib.h>
#include "tensorflow/c/c_api.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Port is an operation's output (or input) slot: the TF_Operation* of a graph and an index.
type Port struct {
	Op    unsafe.Pointer // *TF_Operation
	Index int
}

// RunWithOptions runs one step of a session like TF_SessionRun does for graft's Session.Run, but
// with serialized tensorflow.RunOptions and returns the serialized tensorflow.RunMetadata the
// runtime filled in (step stats for RunOptions.trace_level FULL_TRACE). session is a
// *TF_Session, values are the *TF_Tensor fed to feeds (one each), targets are *TF_Operation.
// The fetched tensors are computed and released; the caller keeps session, the operations and
// the feed tensors alive for the call.
func RunWithOptions(session unsafe.Pointer, feeds []Port, values []unsafe.Pointer, fetches []Port, targets []unsafe.Pointer, runOptions []byte) ([]byte, error) {
	if session == nil {
		return nil, fmt.Errorf("tfc: run: nil session")
	}
	if len(feeds) != len(values) {
		return nil, fmt.Errorf("tfc: run: %d feeds but %d values", len(feeds), len(values))
	}
	// The arrays the C API reads are allocated in C: they hold C pointers only.
	in := (*[1 << 20]C.TF_Output)(cAlloc(len(feeds), C.sizeof_TF_Output))
	inv := (*[1 << 20]*C.TF_Tensor)(cAlloc(len(values), C.size_t(unsafe.Sizeof(uintptr(0)))))
	out := (*[1 << 20]C.TF_Output)(cAlloc(len(fetches), C.sizeof_TF_Output))
	outv := (*[1 << 20]*C.TF_Tensor)(cAlloc(len(fetches), C.size_t(unsafe.Sizeof(uintptr(0)))))
	tg := (*[1 << 20]*C.TF_Operation)(cAlloc(len(targets), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(in))
	defer C.free(unsafe.Pointer(inv))
	defer C.free(unsafe.Pointer(out))
	defer C.free(unsafe.Pointer(outv))
	defer C.free(unsafe.Pointer(tg))
	for i, p := range feeds {
		if p.Op == nil || values[i] == nil {
			return nil, fmt.Errorf("tfc: run: feed %d is nil", i)
		}
		in[i] = C.TF_Output{oper: (*C.TF_Operation)(p.Op), index: C.int(p.Index)}
		inv[i] = (*C.TF_Tensor)(values[i])
	}
	for i, p := range fetches {
		if p.Op == nil {
			return nil, fmt.Errorf("tfc: run: fetch %d is nil", i)
		}
		out[i] = C.TF_Output{oper: (*C.TF_Operation)(p.Op), index: C.int(p.Index)}
		outv[i] = nil
	}
	for i, t := range targets {
		if t == nil {
			return nil, fmt.Errorf("tfc: run: target %d is nil", i)
		}
		tg[i] = (*C.TF_Operation)(t)
	}
	var opts *C.TF_Buffer
	if len(runOptions) > 0 {
		opts = C.TF_NewBufferFromString(unsafe.Pointer(&runOptions[0]), C.size_t(len(runOptions)))
		defer C.TF_DeleteBuffer(opts)
	}
	md := C.TF_NewBuffer()
	defer C.TF_DeleteBuffer(md)
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	C.TF_SessionRun((*C.TF_Session)(session), opts,
		&in[0], &inv[0], C.int(len(feeds)),
		&out[0], &outv[0], C.int(len(fetches)),
		&tg[0], C.int(len(targets)),
		md, st)
	for i := range fetches {
		if outv[i] != nil {
			C.TF_DeleteTensor(outv[i])
		}
	}
	if err := statusErr(st, "run"); err != nil {
		return nil, err
	}
	return C.GoBytes(md.data, C.int(md.length)), nil
}

// cAlloc returns C memory for n (at least one) elements of size bytes each.
func cAlloc(n int, size C.size_t) unsafe.Pointer {
	if n < 1 {
		n = 1
	}
	return C.calloc(C.size_t(n), size)
}
