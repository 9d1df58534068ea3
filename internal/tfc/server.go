// Package tfc is nnclr's only cgo: the calls of TensorFlow's C API that neither graft nor its
// patch (third_party/graft) wrap. They are TensorFlow's in-process gRPC server (TF_NewServer,
// TF_ServerStart: a distributed worker runs one server and a session whose target is the
// server's; see tfrun's StartServer), its checkpoint reader (TF_NewCheckpointReader,
// TF_CheckpointReaderHasTensor: which tensors a checkpoint holds; see CheckpointHas), and the op
// and kernel registration of nnclr's ReLU and bias gradient (TF_NewOpDefinitionBuilder,
// TF_NewKernelBuilder, from libtensorflow_framework; see RegisterReluGrad). It needs none of
// graft's handles.
//
// A started gRPC server cannot be stopped through the C API of TensorFlow 2.18 (TF_ServerStop
// returns UNIMPLEMENTED and TF_DeleteServer then aborts the process), so a Server lives until its
// process exits; there is no Close.
package tfc

/*
#cgo LDFLAGS: -ltensorflow
#include <stdlib.h>
#include "tensorflow/c/c_api.h"
*/
import "C"

import (
	"fmt"
)

// Server is a started TensorFlow server. Its methods are safe for concurrent use.
type Server struct {
	c      *C.TF_Server
	target string
}

// Start creates a server from a serialized tensorflow.ServerDef and starts it.
func Start(serverDef []byte) (*Server, error) {
	if len(serverDef) == 0 {
		return nil, fmt.Errorf("tfc: empty ServerDef")
	}
	st := C.TF_NewStatus()
	defer C.TF_DeleteStatus(st)
	buf := C.CBytes(serverDef)
	defer C.free(buf)
	s := C.TF_NewServer(buf, C.size_t(len(serverDef)), st)
	if err := statusErr(st, "new server"); err != nil {
		return nil, err
	}
	C.TF_ServerStart(s, st)
	if err := statusErr(st, "start server"); err != nil {
		// Not started: deleting it is safe.
		C.TF_DeleteServer(s)
		return nil, err
	}
	return &Server{c: s, target: C.GoString(C.TF_ServerTarget(s))}, nil
}

// Target is the session target of the server, e.g. "grpc://localhost:2222".
func (s *Server) Target() string { return s.target }

func statusErr(st *C.TF_Status, what string) error {
	if C.TF_GetCode(st) == C.TF_OK {
		return nil
	}
	return fmt.Errorf("tfc: %s: %s", what, C.GoString(C.TF_Message(st)))
}
