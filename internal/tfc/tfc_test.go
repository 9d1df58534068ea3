package tfc

import (
	"strings"
	"testing"
	"unsafe"
)

// TestRunWithOptionsRefusesBadArguments: the checks before the C call name what is wrong (a
// traced run of a real session is tested in tfgraph, TestTraceStep).
func TestRunWithOptionsRefusesBadArguments(t *testing.T) {
	var x int
	p := unsafe.Pointer(&x)
	for _, c := range []struct {
		name    string
		session unsafe.Pointer
		feeds   []Port
		values  []unsafe.Pointer
		fetches []Port
		targets []unsafe.Pointer
		want    string
	}{
		{"nil session", nil, nil, nil, nil, nil, "nil session"},
		{"feeds and values", p, []Port{{Op: p}}, nil, nil, nil, "1 feeds but 0 values"},
		{"nil feed", p, []Port{{}}, []unsafe.Pointer{p}, nil, nil, "feed 0 is nil"},
		{"nil fetch", p, nil, nil, []Port{{}}, nil, "fetch 0 is nil"},
		{"nil target", p, nil, nil, nil, []unsafe.Pointer{nil}, "target 0 is nil"},
	} {
		_, err := RunWithOptions(c.session, c.feeds, c.values, c.fetches, c.targets, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func TestStartRefusesEmptyServerDef(t *testing.T) {
	if _, err := Start(nil); err == nil || !strings.Contains(err.Error(), "empty ServerDef") {
		t.Fatalf("Start(nil): %v", err)
	}
}
