package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

func TestRunBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  []string
	}{
		{"unknown mode", []string{"--mode", "train"}, 2, []string{`unknown --mode "train"`, "info, prepare, pretrain, evaluate, embed, export"}},
		{"unknown flag", []string{"--bogus"}, 2, []string{"unknown flag: --bogus", "nnclr --help"}},
		{"bad int", []string{"--seed", "x"}, 2, []string{`"x"`, "--seed"}},
		{"positional", []string{"pretrain"}, 2, []string{`unexpected argument "pretrain"`}},
		{"negative threads", []string{"--intra-op-threads", "-1"}, 2, []string{"--intra-op-threads -1"}},
		{"bad device", []string{"--device", "tpu"}, 2, []string{`--device tpu: want auto, cpu, gpu or gpu:N`}},
		{"zero top-k", []string{"--mode", "pretrain", "--support-topk", "0"}, 2, []string{"--support-topk 0: want >= 1"}},
		{"top-k over the queue", []string{"--mode", "pretrain", "--support-topk", "20", "--queue-size", "10"}, 2, []string{"--support-topk 20: more neighbours than the queue's 10 rows"}},
		{"negative predictor", []string{"--mode", "pretrain", "--pred-hidden", "-1"}, 2, []string{"--pred-hidden -1: want >= 0"}},
		{"unknown preset", []string{"--mode", "pretrain", "--preset", "simclr"}, 2, []string{"--preset simclr: want one of example, paper"}},
		{"example preset with a predictor", []string{"--mode", "pretrain", "--preset", "example", "--pred-hidden", "64"}, 2, []string{"--pred-hidden 64: the example preset has no pred hidden"}},
		{"negative projection", []string{"--mode", "pretrain", "--proj-dim", "-2"}, 2, []string{"--proj-dim -2: want >= 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			err := run(tc.args, &out, &errw)
			if err == nil {
				t.Fatalf("run(%q) succeeded", tc.args)
			}
			if got := exitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d (err %v)", got, tc.code, err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not contain %q", err, m)
				}
			}
		})
	}
}

func TestEveryModeIsBuilt(t *testing.T) {
	for _, m := range modes {
		err := run([]string{"--mode", m, "--data-dir", t.TempDir(), "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil && strings.Contains(err.Error(), "not implemented") {
			t.Errorf("--mode %s: %v", m, err)
		}
	}
}

func TestHelpListsEveryFlagWithDefault(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"--help"}, &out, &bytes.Buffer{})
	if !errors.Is(err, errHelp) {
		t.Fatalf("err = %v, want errHelp", err)
	}
	text := out.String()
	for _, want := range []string{"--mode string", `(default "info")`, "--seed int", `(default "0")`, "--device string", `(default "auto")`, "--quiet", `(default "false")`, "--run-dir string", `(default "")`,
		"--jitter floats", `(default "0.4,0.4,0.2,0.1")`, "--blur-sigma floats", `(default "0.1,2")`} {
		if !strings.Contains(text, want) {
			t.Errorf("help lacks %q:\n%s", want, text)
		}
	}
	flagLine := regexp.MustCompile(`^\s+(-\w, )?--[a-z-]+`)
	withDefault := regexp.MustCompile(`\(default ".*"\)$`)
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if flagLine.MatchString(line) {
			n++
			if !withDefault.MatchString(line) {
				t.Errorf("flag line lacks its default: %q", line)
			}
		}
	}
	if n < 20 {
		t.Errorf("help lists %d flags:\n%s", n, text)
	}
}

func TestInfo(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"--mode", "info", "--device", "cpu"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, re := range []string{`(?m)^nnclr\s+\S+$`, `(?m)^tensorflow\s+2\.18\.\d+$`, `(?m)^graft\s+v0\.10\.0 \(patched, third_party/graft\)$`, `(?m)device:CPU:0\s+CPU\s+memory \d+ MiB$`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("info output does not match %s:\n%s", re, text)
		}
	}
}

// TestDeviceFlag: every mode that opens a session honours --device; asking for a GPU where the
// runtime sees none is a clear error.
func TestDeviceFlag(t *testing.T) {
	devs, err := tfrun.ListDevices(tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Type == "GPU" {
			t.Skip("this host has a GPU: the no-GPU error cannot be provoked")
		}
	}
	_, runDir := smallRun(t)
	for _, args := range [][]string{
		{"--mode", "info"},
		{"--mode", "export", "--run-dir", runDir, "--out", filepath.Join(t.TempDir(), "m")},
		{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", filepath.Join(runDir, ".."), "--out", filepath.Join(t.TempDir(), "e.npz")},
	} {
		err := run(append(args, "--device", "gpu:0"), &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, tfrun.ErrNoGPU) || !strings.Contains(err.Error(), "--device gpu:0") {
			t.Errorf("%v --device gpu:0: %v", args, err)
		}
	}
	var out bytes.Buffer
	if err := run([]string{"--mode", "info", "--device", "cpu"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "--device cpu") {
		t.Errorf("--device cpu: %v\n%s", err, out.String())
	}
}

// TestStartupLogQuiet runs the built CLI as bin/nnclr starts it (TF_CPP_MIN_LOG_LEVEL=1): a small
// pretrain prints nothing on stderr, although TensorFlow writes absl's initialisation warning and
// the MLIR pass's INFO line there, as the same run with TF_CPP_MIN_LOG_LEVEL=0 shows.
func TestStartupLogQuiet(t *testing.T) {
	dir := t.TempDir()
	bin := cliBinary(t)
	dataDir := filepath.Join(dir, "data")
	stderrOf := func(level string, runDir string) string {
		cmd := exec.Command(bin, "--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--limit", "40",
			"--run-dir", filepath.Join(dir, runDir), "--image-size", "32", "--width", "8", "--queue-size", "80", "--epochs", "1",
			"--steps-per-epoch", "1")
		cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL="+level)
		var se bytes.Buffer
		cmd.Stderr = &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("TF_CPP_MIN_LOG_LEVEL=%s: %v\n%s", level, err, se.String())
		}
		return se.String()
	}
	if got := stderrOf("1", "quiet"); got != "" {
		t.Errorf("stderr at the default log level:\n%s", got)
	}
	if got := stderrOf("0", "loud"); !strings.Contains(got, "absl::InitializeLog()") || !strings.Contains(got, "MLIR V1 optimization pass") {
		t.Errorf("TF_CPP_MIN_LOG_LEVEL=0 shows no TensorFlow start-up lines (the filter test proves nothing):\n%s", got)
	}
}
