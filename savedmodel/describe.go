package savedmodel

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// Describe writes what Read found, as saved_model_cli show does: each MetaGraph's tags, its
// signatures with their inputs and outputs (key, dtype, shape, tensor) and its variables with
// their shapes and the parameter count.
func Describe(w io.Writer, infos []Info) error {
	for _, in := range infos {
		fmt.Fprintf(w, "MetaGraph tags %v\n", in.Tags)
		for _, s := range in.Signatures {
			fmt.Fprintf(w, "  signature %q (%s)\n", s.Key, s.Method)
			for _, side := range []struct {
				what string
				ts   []NamedTensor
			}{{"input", s.Inputs}, {"output", s.Outputs}} {
				for _, t := range side.ts {
					fmt.Fprintf(w, "    %-6s %-16s %-8s %-16s tensor %s\n", side.what, t.Key, dtypeName(t.DType), shapeString(t.Shape), t.Name)
				}
			}
		}
		params := int64(0)
		for _, v := range in.Variables {
			n := int64(1)
			for _, d := range v.Shape {
				n *= d
			}
			params += n
		}
		fmt.Fprintf(w, "  variables: %d, %d parameters\n", len(in.Variables), params)
		for _, v := range in.Variables {
			fmt.Fprintf(w, "    %-48s %s\n", v.Name, shapeString(v.Shape))
		}
	}
	return nil
}

func dtypeName(t typespb.DataType) string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "DT_"))
}

func shapeString(s []int64) string {
	if s == nil {
		return "unknown"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
		if d < 0 {
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}
