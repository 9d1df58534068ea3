package savedmodel

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func ours(c, w int, f int64) (enc, head []Var) {
	in := int64(c)
	for i := 0; i < 4; i++ {
		enc = append(enc, Var{fmt.Sprintf("enc/conv%d/kernel", i), []int64{3, 3, in, int64(w)}}, Var{fmt.Sprintf("enc/conv%d/bias", i), []int64{int64(w)}})
		in = int64(w)
	}
	enc = append(enc, Var{"enc/dense/kernel", []int64{f, int64(w)}}, Var{"enc/dense/bias", []int64{int64(w)}})
	head = []Var{{"head/dense0/kernel", []int64{int64(w), int64(w)}}, {"head/dense0/bias", []int64{int64(w)}},
		{"head/dense1/kernel", []int64{int64(w), int64(w)}}, {"head/dense1/bias", []int64{int64(w)}}}
	return
}

// keras lists a Keras NNCLR encoder + head's variables, in a scrambled order, with Keras's
// default layer names (conv2d … conv2d_10 tests the natural order).
func keras(c, w int, f int64, firstConv int) []Var {
	conv := func(i int) string {
		if i == 0 {
			return "conv2d"
		}
		return fmt.Sprintf("conv2d_%d", i)
	}
	var vs []Var
	in := int64(c)
	for i := 0; i < 4; i++ {
		n := "encoder/" + conv(firstConv+i)
		vs = append([]Var{{n + "/bias", []int64{int64(w)}}, {n + "/kernel", []int64{3, 3, in, int64(w)}}}, vs...)
		in = int64(w)
	}
	vs = append(vs, Var{"projection_head/dense_2/kernel", []int64{int64(w), int64(w)}}, Var{"projection_head/dense_2/bias", []int64{int64(w)}},
		Var{"encoder/dense/kernel", []int64{f, int64(w)}}, Var{"encoder/dense/bias", []int64{int64(w)}},
		Var{"projection_head/dense_1/kernel", []int64{int64(w), int64(w)}}, Var{"projection_head/dense_1/bias", []int64{int64(w)}},
		Var{"Variable_3", []int64{int64(w)}}, Var{"seed_generator/state", []int64{2}})
	return vs
}

func TestMapNNCLR(t *testing.T) {
	enc, head := ours(3, 16, 16)
	pairs, withHead, err := MapNNCLR(keras(3, 16, 16, 8), enc, head)
	if err != nil || !withHead {
		t.Fatalf("map: %v (head %v)", err, withHead)
	}
	want := map[string]string{
		"enc/conv0/kernel": "encoder/conv2d_8/kernel", "enc/conv1/bias": "encoder/conv2d_9/bias",
		"enc/conv3/kernel": "encoder/conv2d_11/kernel", "enc/dense/kernel": "encoder/dense/kernel",
		"head/dense0/kernel": "projection_head/dense_1/kernel", "head/dense1/bias": "projection_head/dense_2/bias",
	}
	got := map[string]string{}
	for _, p := range pairs {
		got[p.Ours] = p.Theirs
	}
	if len(pairs) != 14 {
		t.Fatalf("%d pairs: %v", len(pairs), pairs)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s <- %s, want %s", k, got[k], v)
		}
	}
	// Encoder only: no head.
	var encOnly []Var
	for _, v := range keras(3, 16, 16, 0) {
		if !strings.HasPrefix(v.Name, "projection_head/") {
			encOnly = append(encOnly, v)
		}
	}
	if pairs, withHead, err := MapNNCLR(encOnly, enc, head); err != nil || withHead || len(pairs) != 10 {
		t.Fatalf("encoder only: %d pairs, head %v, %v", len(pairs), withHead, err)
	}
	// Mismatches name both shapes.
	for _, tc := range []struct {
		name string
		vs   []Var
		want string
	}{
		{"other width", keras(3, 8, 16, 0), "enc/conv0/kernel expects kernel [3 3 3 16], SavedModel layer encoder/conv2d has [3 3 3 8]"},
		{"grayscale", keras(1, 16, 16, 0), "expects kernel [3 3 3 16], SavedModel layer encoder/conv2d has [3 3 1 16]"},
		{"other input size", keras(3, 16, 400, 0), "enc/dense/kernel expects a dense kernel [16 16]"},
		{"three convs", keras(3, 16, 16, 0)[2:], "the encoder has 4 conv layers, the SavedModel has 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := MapNNCLR(tc.vs, enc, head)
			if !errors.Is(err, ErrNoMapping) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNaturalLess(t *testing.T) {
	for _, tc := range [][2]string{{"conv2d", "conv2d_1"}, {"conv2d_2", "conv2d_10"}, {"a/b", "a/c"}, {"x9", "x10"}, {"x007", "x8"}} {
		if !naturalLess(tc[0], tc[1]) || naturalLess(tc[1], tc[0]) {
			t.Errorf("%q should sort before %q", tc[0], tc[1])
		}
	}
}
