package tfrun

import "testing"

func TestOpOfLabel(t *testing.T) {
	for label, want := range map[string]string{
		"train/conv0 = _MklNativeConv2DWithBias(views, w, b)": "_MklNativeConv2DWithBias",
		"x = NoOp()": "NoOp",
		"_SOURCE":    "",
	} {
		if got := opOfLabel(label); got != want {
			t.Errorf("opOfLabel(%q) = %q, want %q", label, got, want)
		}
	}
}
