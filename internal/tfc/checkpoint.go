package tfc

/*
#include <stdlib.h>
#include "tensorflow/c/c_api.h"
#include "tensorflow/c/c_api_experimental.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// CheckpointHas reports, for each of names, whether the checkpoint at prefix (PREFIX.index and
// its data files, as tf.train.Checkpoint and SaveV2 write them) holds a tensor of that name. It
// reads the checkpoint's index with TensorFlow's CheckpointReader (TF_NewCheckpointReader), the
// reader tf.train.load_checkpoint uses; an unreadable checkpoint is an error naming prefix.
func CheckpointHas(prefix string, names ...string) ([]bool, error) {
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	cp := C.CString(prefix)
	defer C.free(unsafe.Pointer(cp))
	r := C.TF_NewCheckpointReader(cp, st)
	if err := statusErr(st, "checkpoint "+prefix); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("tfc: checkpoint %s: no reader", prefix)
	}
	defer C.TF_DeleteCheckpointReader(r)
	out := make([]bool, len(names))
	for i, n := range names {
		cn := C.CString(n)
		out[i] = C.TF_CheckpointReaderHasTensor(r, cn) != 0
		C.free(unsafe.Pointer(cn))
	}
	return out, nil
}
