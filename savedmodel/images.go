package savedmodel

import (
	"fmt"
	"sort"

	tf "github.com/wamuir/graft/tensorflow"

	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrun"
)

// ImageSignature is a signature of a loaded SavedModel seen as an image embedder: one input of
// images [N, H, W, C] (uint8, or float32 scaled by the caller) and one output of embeddings
// [N, D]. Height, Width and Channels are what the signature declares, 0 where it leaves a size
// unknown (a Keras model built on Input((None, None, 3)) has unknown H and W).
type ImageSignature struct {
	Key, Input, Output      string
	Uint8                   bool // the input is uint8 (else float32)
	Height, Width, Channels int
}

func sortedKeys(ti map[string]tf.TensorInfo) []string {
	ks := make([]string, 0, len(ti))
	for k := range ti {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ImageSignature resolves signature key as an image embedder. input names the input (default:
// the signature's only input); output the output (default: "embedding" if there is one, else
// the only output). A missing or ambiguous key is a *setting.Error naming "input_key" or
// "output_key"; an input that is not rank-4 uint8 or float32 images is an error naming its shape
// or dtype.
func (m *LoadedModel) ImageSignature(key, input, output string) (ImageSignature, error) {
	sig, err := m.Signature(key)
	if err != nil {
		return ImageSignature{}, err
	}
	s := ImageSignature{Key: key, Input: input, Output: output}
	if s.Input == "" {
		if len(sig.Inputs) != 1 {
			return s, setting.Errorf("input_key", nil, "signature %s has inputs %v: choose one", key, sortedKeys(sig.Inputs))
		}
		s.Input = sortedKeys(sig.Inputs)[0]
	}
	ti, ok := sig.Inputs[s.Input]
	if !ok {
		return s, setting.Errorf("input_key", s.Input, "signature %s has no input %q (it has %v)", key, s.Input, sortedKeys(sig.Inputs))
	}
	if s.Output == "" {
		if _, ok := sig.Outputs["embedding"]; ok {
			s.Output = "embedding"
		} else if len(sig.Outputs) == 1 {
			s.Output = sortedKeys(sig.Outputs)[0]
		} else {
			return s, setting.Errorf("output_key", nil, "signature %s has outputs %v: choose one", key, sortedKeys(sig.Outputs))
		}
	}
	if _, ok := sig.Outputs[s.Output]; !ok {
		return s, setting.Errorf("output_key", s.Output, "signature %s has no output %q (it has %v)", key, s.Output, sortedKeys(sig.Outputs))
	}
	dims, err := ti.Shape.ToSlice()
	if err != nil || len(dims) != 4 {
		return s, fmt.Errorf("savedmodel: signature %s input %s has shape %v: want images [N, H, W, C]", key, s.Input, ti.Shape)
	}
	s.Height, s.Width, s.Channels = int(max(dims[1], 0)), int(max(dims[2], 0)), int(max(dims[3], 0))
	switch ti.DType {
	case tf.Uint8:
		s.Uint8 = true
	case tf.Float:
	default:
		return s, fmt.Errorf("savedmodel: signature %s input %s has dtype %s: want uint8 or float32 images", key, s.Input, tfrun.DTypeName(ti.DType))
	}
	return s, nil
}

// RunImages runs s on n images (uint8 NHWC of h×w×c in pix) and returns the output, row-major
// [n, D], and D. For a float32 input every pixel is multiplied by scale first.
func (m *LoadedModel) RunImages(s ImageSignature, pix []uint8, n, h, w, c int, scale float32) ([]float32, int, error) {
	shape := []int64{int64(n), int64(h), int64(w), int64(c)}
	if len(pix) != n*h*w*c {
		return nil, 0, fmt.Errorf("savedmodel: %d bytes for %d images of %dx%dx%d", len(pix), n, h, w, c)
	}
	var x *tf.Tensor
	var err error
	if s.Uint8 {
		if x, err = tfrun.NewTensor(pix); err == nil {
			err = x.Reshape(shape)
		}
	} else {
		x, err = tfrun.NewFloatTensor(shape, func(d []float32) error {
			for i, v := range pix {
				d[i] = float32(v) * scale
			}
			return nil
		})
	}
	defer tfrun.Close(x)
	if err != nil {
		return nil, 0, err
	}
	out, err := m.Run(s.Key, map[string]*tf.Tensor{s.Input: x}, s.Output)
	if err != nil {
		return nil, 0, err
	}
	t := out[s.Output]
	defer tfrun.Close(t)
	if sh := t.Shape(); len(sh) != 2 || sh[0] != int64(n) {
		return nil, 0, fmt.Errorf("savedmodel: signature %s output %s has shape %v for %d images: want [N, D] embeddings", s.Key, s.Output, sh, n)
	}
	v, err := tfrun.Float32s(t)
	return v, int(t.Shape()[1]), err
}
