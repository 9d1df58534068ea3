package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// tfBoundary are the only packages that import graft's tensorflow or op package, in their code
// or their tests: the runtime layer, the model and the SavedModel format. README.md and
// tfrun/doc.go name them.
var tfBoundary = []string{"savedmodel", "tfgraph", "tfrun"}

// cgoPackages are the packages with cgo of their own (import "C").
var cgoPackages = []string{"internal/tfc"}

// noTensorFlow are packages that must build and test without libtensorflow: they do not depend
// on graft's tensorflow package at all, directly or through another package.
var noTensorFlow = []string{"augment", "cmd/nnclr-launcher", "internal/atomicfile", "internal/npy", "internal/rng", "internal/testutil",
	"loader", "projector", "setting", "tboard", "tfrecord"}

var tfPackages = []string{"github.com/wamuir/graft/tensorflow", "github.com/wamuir/graft/tensorflow/op"}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s", dir)
	}
	return dir
}

// imports maps each package directory (relative to the root) to the set of its files' imports,
// test files included.
func imports(t *testing.T, dir string) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || p == filepath.Join(dir, "third_party")) && p != dir {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		if out[rel] == nil {
			out[rel] = map[string]bool{}
		}
		for _, im := range f.Imports {
			path, _ := strconv.Unquote(im.Path.Value)
			out[rel][path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTensorFlowImportBoundary(t *testing.T) {
	all := imports(t, root(t))
	var found []string
	for pkg, ims := range all {
		for _, tp := range tfPackages {
			if ims[tp] && !slices.Contains(found, pkg) {
				found = append(found, pkg)
			}
		}
	}
	sort.Strings(found)
	for _, pkg := range found {
		if !slices.Contains(tfBoundary, pkg) {
			t.Errorf("package %s imports graft's tensorflow or op package: only %v may (README.md, tfrun/doc.go)", pkg, tfBoundary)
		}
	}
	for _, pkg := range tfBoundary {
		if !slices.Contains(found, pkg) {
			t.Errorf("package %s is listed in the boundary but imports neither tensorflow nor op: update the list and the docs", pkg)
		}
	}
}

func TestCgoOnlyWhereDocumented(t *testing.T) {
	for pkg, ims := range imports(t, root(t)) {
		if ims["C"] != slices.Contains(cgoPackages, pkg) {
			t.Errorf("package %s: import \"C\" is %v, the documented cgo packages are %v", pkg, ims["C"], cgoPackages)
		}
	}
}

// TestPackagesWithoutTensorFlow: these packages' dependency closure (tests included) does not
// reach graft's tensorflow package, so they build and test without libtensorflow.
func TestPackagesWithoutTensorFlow(t *testing.T) {
	dir := root(t)
	for _, pkg := range noTensorFlow {
		cmd := exec.Command("go", "list", "-test", "-deps", "-f", "{{.ImportPath}}", "./"+pkg)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list ./%s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if slices.Contains(tfPackages, dep) {
				t.Errorf("package %s depends on %s: it must build without libtensorflow", pkg, dep)
			}
		}
	}
}
