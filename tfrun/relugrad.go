package tfrun

import (
	"os"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/internal/tfc"
)

// inferListEnv is the environment variable through which TensorFlow's mixed-precision rewrites
// (the bf16 one included) take op types to add to their infer list: ops that run in the low
// precision when their inputs do.
const inferListEnv = "TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_ADD"

// ReluGradBiasOp registers nnclr's own ReLU gradient kernel (internal/tfc's RegisterReluGrad:
// CPU, float32 and bfloat16, outputs (backprops, bias_grad): ReluGrad and the float32
// BiasAddGrad of its result) once per process and returns its op type; it also adds the op to
// the infer list of the mixed-precision rewrites (the environment variable
// TF_AUTO_MIXED_PRECISION_GRAPH_REWRITE_INFERLIST_ADD, keeping what it held), so that in a bf16
// session it runs on the bf16 tensors around it instead of between casts. An error means the op
// is not there: build ReluGrad and BiasAddGrad instead.
func ReluGradBiasOp() (string, error) {
	if err := tfc.RegisterReluGrad(); err != nil {
		return "", err
	}
	cur := os.Getenv(inferListEnv)
	var ops []string
	if cur != "" {
		ops = strings.Split(cur, ",")
	}
	if !slices.Contains(ops, tfc.ReluGradBiasOp) {
		if err := os.Setenv(inferListEnv, strings.Join(append(ops, tfc.ReluGradBiasOp), ",")); err != nil {
			return "", err
		}
	}
	return tfc.ReluGradBiasOp, nil
}
