package layout

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatchedGraftIsUpstreamPlusPatch: third_party/graft/src is graft v0.10.0 (the module the
// go.mod's replace directive stands in for, from the module cache or the proxy) with
// third_party/graft/nnclr.patch applied, and nothing else: every file of the two trees equal.
func TestPatchedGraftIsUpstreamPlusPatch(t *testing.T) {
	dir := root(t)
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/wamuir/graft@v0.10.0")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download graft v0.10.0: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %q: %v", out, err)
	}
	tmp := t.TempDir()
	if err := os.CopyFS(tmp, os.DirFS(mod.Dir)); err != nil {
		t.Fatal(err)
	}
	apply := exec.Command("patch", "-p1", "--no-backup-if-mismatch", "-i", filepath.Join(dir, "third_party/graft/nnclr.patch"))
	apply.Dir = tmp
	if msg, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("applying nnclr.patch to graft v0.10.0: %v\n%s", err, msg)
	}
	want, got := tree(t, tmp), tree(t, filepath.Join(dir, "third_party/graft/src"))
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: in graft v0.10.0, missing from third_party/graft/src", name)
		} else if !bytes.Equal(g, w) {
			t.Errorf("%s: differs from graft v0.10.0 + nnclr.patch", name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: in third_party/graft/src, not in graft v0.10.0", name)
		}
	}
}

func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNoReflectionIntoGraftNorForcedGC: no Go file of the project (third_party aside) imports
// reflect or unsafe together with graft's tensorflow package (reaching into its types), and none
// calls runtime.GC outside tests: tensors are closed explicitly (tfrun.Close).
func TestNoReflectionIntoGraftNorForcedGC(t *testing.T) {
	dir := root(t)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || p == filepath.Join(dir, "third_party")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, 0)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		imps := map[string]bool{}
		for _, im := range f.Imports {
			imps[strings.Trim(im.Path.Value, `"`)] = true
		}
		if imps[tfPackages[0]] && imps["reflect"] {
			t.Errorf("%s imports reflect beside graft's tensorflow package", rel)
		}
		if imps[tfPackages[0]] && imps["unsafe"] && rel != filepath.Join("tfrun", "tensor.go") {
			t.Errorf("%s imports unsafe beside graft's tensorflow package (only tfrun/tensor.go may, for its own byte buffers)", rel)
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "GC" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "runtime" {
					t.Errorf("%s calls runtime.GC", rel)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
