package stderrfilter

import "testing"

func TestDropLine(t *testing.T) {
	for _, c := range []struct {
		line  string
		level int
		drop  bool
	}{
		{abslInitWarning + "\n", 1, true},
		{"I0000 00:00:1796230324.344701   27268 mlir_graph_optimization_pass.cc:401] MLIR V1 optimization pass is not enabled\n", 1, true},
		{"W0000 00:00:1796230324.344701   27268 some_file.cc:12] a warning\n", 1, false},
		{"W0000 00:00:1796230324.344701   27268 some_file.cc:12] a warning\n", 2, true},
		{"E1202 16:52:05.816891   27268 some_file.cc:12] an error\n", 2, false},
		{"nnclr: something went wrong\n", 3, false},
	} {
		if got := dropLine(c.line, c.level); got != c.drop {
			t.Errorf("dropLine(%q, %d) = %v, want %v", c.line, c.level, got, c.drop)
		}
	}
}
