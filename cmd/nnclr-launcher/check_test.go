package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// buildFake compiles, with the system C compiler, a shared library libtensorflow_fake.so.2 in
// libDir and a program in binDir/nnclr-tf that needs it through the RUNPATH rpath. The program
// prints its TF_CPP_MIN_LOG_LEVEL and its arguments.
func buildFake(t *testing.T, libDir, binDir, rpath string) {
	t.Helper()
	src := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	libC := write("lib.c", "int TF_Version_fake(void) { return 218; }\n")
	mainC := write("main.c", `#include <stdio.h>
#include <stdlib.h>
int TF_Version_fake(void);
int main(int argc, char **argv) {
  const char *lvl = getenv("TF_CPP_MIN_LOG_LEVEL");
  const char *xla = getenv("TF_XLA_FLAGS");
  printf("fake %d level=%s", TF_Version_fake(), lvl ? lvl : "unset");
  if (xla) printf(" xla=[%s]", xla);
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf("\n");
  return 0;
}
`)
	cc := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
			t.Fatalf("cc %v: %v\n%s", args, err, out)
		}
	}
	cc("-shared", "-fPIC", "-Wl,-soname,libtensorflow_fake.so.2", "-o", filepath.Join(libDir, "libtensorflow_fake.so.2"), libC)
	cc("-o", filepath.Join(binDir, coreName), mainC, "-L"+libDir, "-l:libtensorflow_fake.so.2", "-Wl,--enable-new-dtags,-rpath,"+rpath)
}

func TestCheckTensorFlowLibs(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{lib, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildFake(t, lib, bin, "$ORIGIN/../lib")
	core := filepath.Join(bin, coreName)
	ls := loaderSearch{libraryPath: []string{}, cache: map[string]string{}, noDefaults: true}

	if err := checkTensorFlowLibs(core, ls); err != nil {
		t.Fatalf("library present through $ORIGIN rpath: %v", err)
	}

	// Not an ELF library: a text file with the library's name.
	libPath := filepath.Join(lib, "libtensorflow_fake.so.2")
	good, err := os.ReadFile(libPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(libPath, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = checkTensorFlowLibs(core, ls)
	if err == nil || !strings.Contains(err.Error(), "cannot load libtensorflow_fake.so.2") || !strings.Contains(err.Error(), "make setup") {
		t.Fatalf("broken library: err = %v", err)
	}

	// Missing library; then found through LD_LIBRARY_PATH and through the ld.so cache.
	if err := os.Remove(libPath); err != nil {
		t.Fatal(err)
	}
	err = checkTensorFlowLibs(core, ls)
	if err == nil || !strings.Contains(err.Error(), "cannot find libtensorflow_fake.so.2, needed by nnclr-tf") ||
		!strings.Contains(err.Error(), "make setup") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("missing library: err = %v", err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "libtensorflow_fake.so.2"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkTensorFlowLibs(core, loaderSearch{libraryPath: []string{other}, cache: map[string]string{}, noDefaults: true}); err != nil {
		t.Fatalf("library on LD_LIBRARY_PATH: %v", err)
	}
	cache := map[string]string{"libtensorflow_fake.so.2": filepath.Join(other, "libtensorflow_fake.so.2")}
	if err := checkTensorFlowLibs(core, loaderSearch{libraryPath: []string{}, cache: cache, noDefaults: true}); err != nil {
		t.Fatalf("library in the ld.so cache: %v", err)
	}

	// Missing core binary.
	err = checkTensorFlowLibs(filepath.Join(dir, "nope"), ls)
	if err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("missing core: err = %v", err)
	}
}

// TestLauncherEndToEnd builds the launcher and runs it beside a fake core: it passes arguments
// and the default log level through, and turns a missing library into one line and exit code 1.
func TestLauncherEndToEnd(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{lib, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	buildFake(t, lib, bin, "$ORIGIN/../lib")
	launcher := filepath.Join(bin, "nnclr")
	build := exec.Command("go", "build", "-o", launcher, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runArgs := func(args []string, env ...string) (string, string, int) {
		cmd := exec.Command(launcher, args...)
		cmd.Env = append(os.Environ(), env...)
		var so, se strings.Builder
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return so.String(), se.String(), code
	}
	run := func(env ...string) (string, string, int) { return runArgs([]string{"--mode", "info"}, env...) }
	os.Unsetenv("TF_CPP_MIN_LOG_LEVEL")
	os.Unsetenv("TF_XLA_FLAGS")
	if out, _, code := run(); code != 0 || out != "fake 218 level=1 --mode info\n" {
		t.Fatalf("launcher: exit %d, stdout %q", code, out)
	}
	if out, _, _ := run("TF_CPP_MIN_LOG_LEVEL=0"); out != "fake 218 level=0 --mode info\n" {
		t.Fatalf("explicit log level not kept: %q", out)
	}
	if out, _, _ := runArgs([]string{"--mode", "pretrain", "--xla"}); out != "fake 218 level=1 xla=[--tf_xla_cpu_global_jit --tf_xla_auto_jit=2] --mode pretrain --xla\n" {
		t.Fatalf("--xla: %q", out)
	}
	if out, _, _ := runArgs([]string{"--xla"}, "TF_XLA_FLAGS=--mine"); out != "fake 218 level=1 xla=[--mine] --xla\n" {
		t.Fatalf("explicit TF_XLA_FLAGS not kept: %q", out)
	}
	if err := os.Remove(filepath.Join(lib, "libtensorflow_fake.so.2")); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("LD_LIBRARY_PATH=")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "make setup") {
		t.Fatalf("missing library: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestXLAFlagReadAsPflagDoes: the launcher decides --xla from the raw arguments before the CLI
// runs; for every spelling it must agree with pflag, which the CLI parses them with.
func TestXLAFlagReadAsPflagDoes(t *testing.T) {
	for _, args := range [][]string{
		{}, {"--xla"}, {"--xla=true"}, {"--xla=1"}, {"--xla=t"}, {"--xla=T"}, {"--xla=TRUE"}, {"--xla=True"},
		{"--xla=false"}, {"--xla=0"}, {"--xla=F"}, {"--xla", "--xla=0"}, {"--xla=0", "--xla"},
		{"--mode", "pretrain", "--xla=1", "--seed", "3"}, {"--", "--xla"}, {"--xla=no"}, {"--xlax"},
	} {
		fs := pflag.NewFlagSet("nnclr", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		xla := fs.Bool("xla", false, "")
		fs.String("mode", "", "")
		fs.Int("seed", 0, "")
		want := false
		if err := fs.Parse(args); err == nil {
			want = *xla
		}
		if got := xlaFlag(args); got != want {
			t.Errorf("xlaFlag(%q) = %v, pflag parses --xla as %v", args, got, want)
		}
	}
}
