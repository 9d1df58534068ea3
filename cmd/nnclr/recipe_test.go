package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecipeFlagsBadInput: each bad recipe flag exits 2 with one line naming the flag (and, for
// an option of another optimizer or schedule, the flag that excludes it), and no run directory
// appears.
func TestRecipeFlagsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown optimizer", []string{"--optimizer", "rmsprop"}, "--optimizer rmsprop: want one of adam, sgd, lars"},
		{"unknown schedule", []string{"--lr-schedule", "step"}, "--lr-schedule step: want one of constant, warmup-cosine"},
		{"momentum range", []string{"--optimizer", "sgd", "--momentum", "1.5"}, "--momentum 1.5: want in [0, 1)"},
		{"negative decay", []string{"--weight-decay", "-1"}, "--weight-decay -1: want a finite value >= 0"},
		{"zero probe rate", []string{"--probe-learning-rate", "0"}, "--probe-learning-rate 0: want a finite value > 0"},
		{"warm-up as long as the run", []string{"--lr-schedule", "warmup-cosine", "--warmup-epochs", "2", "--epochs", "2"}, "--warmup-epochs 2: want >= 0 and below the run's 2 epochs"},
		{"lars-eta with adam", []string{"--lars-eta", "0.02"}, "--lars-eta 0.02: only --optimizer [lars] read it, and --optimizer is adam"},
		{"lars-clip with sgd", []string{"--optimizer", "sgd", "--lars-clip"}, "--lars-clip true: only --optimizer [lars] read it, and --optimizer is sgd"},
		{"momentum with adam", []string{"--momentum", "0.5"}, "--momentum 0.5: only --optimizer [sgd lars] read it, and --optimizer is adam"},
		{"warm-up without its schedule", []string{"--warmup-epochs", "1"}, "--warmup-epochs 1: only --lr-schedule [warmup-cosine] read it, and --lr-schedule is constant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"--mode", "pretrain", "--run-dir", dir, "--data-dir", t.TempDir(), "--quiet"}, tc.args...)
			err := run(args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v (exit %d), want exit 2 and one line saying %q", err, exitCode(err), tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused run left %s: %v", dir, err)
			}
		})
	}
}

// TestPretrainRecipe trains a short LARS warmup-cosine run (the start line says the recipe),
// and a resume with another --epochs is refused naming --epochs and --lr-schedule.
func TestPretrainRecipe(t *testing.T) {
	dataDir := smallFashion(t, 80)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", dir, "--image-size", "32",
		"--width", "8", "--queue-size", "120", "--epochs", "2", "--steps-per-epoch", "2", "--quiet", "--optimizer", "lars", "--learning-rate", "0.3",
		"--lars-eta", "0.02", "--weight-decay", "1e-4", "--lr-schedule", "warmup-cosine", "--warmup-epochs", "1"}
	var out bytes.Buffer
	if err := run(args, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want := "optimizer: lars (momentum 0.9, eta 0.02, clip false), learning rate 0.3 warmup-cosine (2 warm-up steps of 4), weight decay 0.0001 (L2); probe Adam 0.001"
	if !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
	err := run([]string{"--mode", "pretrain", "--data-dir", dataDir, "--run-dir", dir, "--resume", "--epochs", "3", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--epochs 3: differs from the run's 2") || !strings.Contains(err.Error(), "--lr-schedule warmup-cosine") {
		t.Fatalf("resume with --epochs 3: %v", err)
	}
}
