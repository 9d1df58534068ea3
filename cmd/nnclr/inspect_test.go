package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/tfrun"
)

// TestInspect trains a tiny run with the kNN monitor on, then checks the monitor against
// evaluate, the projector files through a real TensorBoard (and a headless Chromium's rendering
// of its Projector tab), and the neighbour sheet's fraction against NumPy.
func TestInspect(t *testing.T) {
	dataDir := smallFashion(t, 200)
	runDir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	if err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "2", "--steps-per-epoch", "2", "--unlabelled-batch", "32",
		"--labelled-batch", "16", "--knn-every", "1", "--knn-limit", "120", "--keep-checkpoints", "0", "--seed", "7", "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	embedNPZ := func(split string) string {
		p := filepath.Join(t.TempDir(), split+".npz")
		if err := run([]string{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--split", split, "--out", p, "--quiet"},
			&bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	testNPZ := embedNPZ("test")

	t.Run("monitor", func(t *testing.T) {
		if n := strings.Count(out.String(), "knn_top1 "); n != 2 {
			t.Errorf("%d epoch lines with knn_top1, want 2:\n%s", n, out.String())
		}
		knn := knnLines(t, runDir)
		if len(knn) != 2 {
			t.Fatalf("metrics.jsonl has %d knn lines, want 2", len(knn))
		}
		// TensorBoard's own reader finds the same figures as val/knn_top1.
		raw := testpy.Run(t, "../../tboard/testdata/read_events.py", runDir)
		var all map[string]struct {
			DataProvider struct {
				Scalars map[string][]struct {
					Step  int64  `json:"step"`
					Value string `json:"value"`
				} `json:"scalars"`
			} `json:"data_provider"`
		}
		if err := json.Unmarshal(raw, &all); err != nil {
			t.Fatal(err)
		}
		tb := all[runDir].DataProvider.Scalars["val/knn_top1"]
		if len(tb) != 2 {
			t.Fatalf("TensorBoard has %d val/knn_top1 points, want 2", len(tb))
		}
		for i, r := range knn {
			step := int64(r["global_step"].(float64))
			if r["epoch"] != float64(i+1) || step != int64(2*(i+1)) || r["train_count"] != 120.0 || r["test_count"] != 120.0 {
				t.Errorf("knn line %d: %v", i, r)
			}
			v, _ := strconv.ParseFloat(tb[i].Value, 64)
			if tb[i].Step != step || float32(v) != float32(r["knn_top1"].(float64)) {
				t.Errorf("TensorBoard val/knn_top1 %v at %d, metrics.jsonl %v at %d", v, tb[i].Step, r["knn_top1"], step)
			}
			// evaluate on the checkpoint of that epoch, same limit: the same figure.
			js := filepath.Join(t.TempDir(), "eval.json")
			if err := run([]string{"--mode", "evaluate", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--protocols", "knn",
				"--knn-limit", "120", "--checkpoint", filepath.Join(runDir, "checkpoints", fmt.Sprintf("ckpt-%d", step)), "--out", js, "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(js)
			var res map[string]any
			json.Unmarshal(b, &res)
			if res["knn_top1"] != r["knn_top1"] || res["knn_top5"] != r["knn_top5"] || res["train_count"] != 120.0 {
				t.Errorf("epoch %d: monitor %v/%v, evaluate --knn-limit 120 on ckpt-%d: %s", i+1, r["knn_top1"], r["knn_top5"], step, b)
			}
		}
		if knn[0]["knn_top1"] == knn[1]["knn_top1"] && knn[0]["knn_top5"] == knn[1]["knn_top5"] {
			t.Logf("note: both epochs give the same kNN figures %v", knn[0])
		}
	})

	t.Run("projector", func(t *testing.T) {
		var o bytes.Buffer
		if err := run([]string{"--mode", "evaluate", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--protocols", "knn",
			"--projector", "--projector-limit", "150", "--quiet"}, &o, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(o.String(), "projector: 150 points of fashion_mnist/test in 8 dimensions, metadata columns index,label,class, sprite 364x364 of 28x28 thumbnails") {
			t.Errorf("printed:\n%s", o.String())
		}
		checkProjectorServed(t, runDir, testNPZ, 150)
	})

	t.Run("neighbours", func(t *testing.T) {
		sheet := filepath.Join(t.TempDir(), "sheet.png")
		var o bytes.Buffer
		if err := run([]string{"--mode", "neighbours", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--queries", "5",
			"--neighbours", "6", "--out", sheet, "--quiet"}, &o, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(sheet)
		if err != nil {
			t.Fatal(err)
		}
		im, err := png.Decode(f)
		f.Close()
		if err != nil || im.Bounds().Dx() < 7*64 || im.Bounds().Dy() < 5*64 {
			t.Fatalf("sheet %v, %v: want 5 rows of 7 cells of at least 64 px", im.Bounds(), err)
		}
		var np struct {
			Fraction   float64 `json:"fraction"`
			Same       int     `json:"same"`
			Drawn      int     `json:"drawn"`
			Neighbours [][]int `json:"neighbours"`
		}
		raw := testpy.Run(t, "testdata/neighbours_numpy.py", testNPZ, embedNPZ("train"), strings.TrimSuffix(sheet, ".png")+".json")
		if err := json.Unmarshal(raw, &np); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("same class: %d of %d drawn neighbours (%.4f)", np.Same, np.Drawn, np.Fraction); np.Drawn != 30 || !strings.Contains(o.String(), want) {
			t.Errorf("printed:\n%s\nNumPy: %s", o.String(), want)
		}
		b, _ := os.ReadFile(strings.TrimSuffix(sheet, ".png") + ".json")
		var got struct {
			Queries []struct {
				Neighbours []struct{ Index int } `json:"neighbours"`
			} `json:"queries"`
		}
		json.Unmarshal(b, &got)
		for i, q := range got.Queries {
			var idx []int
			for _, nb := range q.Neighbours {
				idx = append(idx, nb.Index)
			}
			if !slices.Equal(idx, np.Neighbours[i]) {
				t.Errorf("query %d: neighbours %v, NumPy %v", i, idx, np.Neighbours[i])
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		base := []string{"--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--quiet"}
		for _, tc := range []struct {
			args []string
			want string
			code int
		}{
			{[]string{"--mode", "embed", "--out", filepath.Join(t.TempDir(), "x.npz"), "--projector", "--projector-limit", "500"}, "--projector-limit 500: above the 200 examples of split test of fashion_mnist", 2},
			{[]string{"--mode", "embed", "--out", "x.npz", "--projector-dir", "d"}, "--projector-dir without --projector", 2},
			{[]string{"--mode", "evaluate", "--model", "m", "--projector"}, "--projector with --model needs --projector-dir", 2},
			{[]string{"--mode", "neighbours", "--out", "sheet.jpg"}, "--out sheet.jpg: want a .png file", 2},
			{[]string{"--mode", "neighbours", "--out", "s.png", "--queries", "0"}, "--queries 0: want >= 1", 2},
			{[]string{"--mode", "neighbours", "--out", filepath.Join(t.TempDir(), "s.png"), "--neighbours", "201"}, "--neighbours 201: above the 200 examples searched in split train", 2},
			{[]string{"--mode", "pretrain", "--run-dir", "r", "--knn-every", "-1"}, "--knn-every -1: want >= 0", 2},
			// The monitor failing after the last epoch (k 20 above a subset of 10) fails the run.
			{[]string{"--mode", "pretrain", "--run-dir", filepath.Join(t.TempDir(), "r"), "--image-size", "32", "--width", "8", "--queue-size", "96",
				"--epochs", "1", "--steps-per-epoch", "2", "--unlabelled-batch", "32", "--labelled-batch", "16", "--knn-every", "1", "--knn-limit", "10"},
				"run: knn monitor after epoch 1: evaluate: knn: k = 20 exceeds the 10 train examples", 1},
		} {
			err := run(append(slices.Clone(base), tc.args...), &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != tc.code {
				t.Errorf("%v: %v (exit %d), want %q exit %d", tc.args, err, exitCode(err), tc.want, tc.code)
			}
		}
	})
}

// startTensorBoard starts the real TensorBoard on logdir on a free port of 127.0.0.1, waits
// until its projector plugin answers, and returns the base URL and a GET that fails the test on
// an error; the server is stopped at the end of the test.
func startTensorBoard(t *testing.T, logdir string) (string, func(path string) []byte) {
	t.Helper()
	addr := testutil.FreeAddrs(t, 1)[0]
	_, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, testpy.Interpreter(t), "-m", "tensorboard.main", "--logdir", logdir, "--host", "127.0.0.1", "--port", port)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "CUDA_VISIBLE_DEVICES=")
	var tbLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &tbLog, &tbLog
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		cancel()
		if t.Failed() {
			t.Logf("tensorboard's output:\n%s", tbLog.String())
		}
	})
	base := "http://" + addr
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) []byte {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
		}
		return b
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := client.Get(base + "/data/plugin/projector/runs")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("tensorboard did not answer on %s within 90 s: %v", addr, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return base, get
}

// checkProjectorServed starts the real TensorBoard on logdir and checks its projector plugin's
// endpoints against the embeddings of `embed` (npzPath, the whole split in file order), then
// renders the Projector tab in a headless Chromium and looks for the thumbnails; the same
// page for a copy of logdir whose config names no sprite shows too few of them.
func checkProjectorServed(t *testing.T, logdir, npzPath string, n int) {
	base, get := startTensorBoard(t, logdir)
	if runs := string(get("/data/plugin/projector/runs")); runs != `["."]` {
		t.Fatalf("projector runs %s, want the log directory itself", runs)
	}
	var info struct {
		Embeddings []struct {
			TensorName  string `json:"tensorName"`
			TensorShape []int  `json:"tensorShape"`
			Sprite      struct {
				SingleImageDim []int `json:"singleImageDim"`
			} `json:"sprite"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(get("/data/plugin/projector/info?run=."), &info); err != nil {
		t.Fatal(err)
	}
	// One embedding, none from the run's checkpoints (tensor files only).
	if len(info.Embeddings) != 1 || info.Embeddings[0].TensorName != "fashion_mnist/test" || fmt.Sprint(info.Embeddings[0].TensorShape) != fmt.Sprintf("[%d 8]", n) || fmt.Sprint(info.Embeddings[0].Sprite.SingleImageDim) != "[28 28]" {
		t.Fatalf("projector info: %+v", info)
	}
	name := "&name=fashion_mnist/test"
	tensor := get("/data/plugin/projector/tensor?run=." + name)
	arrays, err := npy.ReadNPZ(npzPath)
	if err != nil {
		t.Fatal(err)
	}
	emb, labels := arrays["embeddings"], arrays["labels"]
	dim := emb.Shape[1]
	if len(tensor) != n*dim*4 {
		t.Fatalf("served tensor has %d bytes, want %d×%d float32", len(tensor), n, dim)
	}
	meta := strings.Split(strings.TrimSuffix(string(get("/data/plugin/projector/metadata?run=."+name)), "\n"), "\n")
	if len(meta) != n+1 || meta[0] != "index\tlabel\tclass" {
		t.Fatalf("served metadata: %d lines, header %q", len(meta), meta[0])
	}
	classes := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	all := emb.Data.([]float32)
	worst := 0.0
	for i, line := range meta[1:] {
		f := strings.Split(line, "\t")
		idx, _ := strconv.Atoi(f[0])
		l := labels.Data.([]int64)[idx]
		if f[1] != strconv.FormatInt(l, 10) || f[2] != classes[l] {
			t.Fatalf("metadata row %d %q: example %d has label %d (%s)", i, line, idx, l, classes[l])
		}
		for j := range dim {
			got := math.Float32frombits(binary.LittleEndian.Uint32(tensor[(i*dim+j)*4:]))
			worst = math.Max(worst, math.Abs(float64(got-all[idx*dim+j])))
		}
	}
	if worst > 1e-5 {
		t.Errorf("served tensor differs from embed's rows by up to %g", worst)
	}
	sprite, err := png.Decode(bytes.NewReader(get("/data/plugin/projector/sprite_image?run=." + name)))
	if err != nil || sprite.Bounds().Dx() != 13*28 || sprite.Bounds().Dy() != 13*28 {
		t.Fatalf("served sprite %v, %v: want 13x13 cells of 28 px", sprite.Bounds(), err)
	}
	const want = 2000
	if dark := screenshotProjector(t, base); dark < want {
		t.Errorf("the Projector tab shows %d dark pixels where the thumbnails should be (want >= %d)", dark, want)
	}
	// The negative: the same run without its sprite (the config's sprite block removed) draws
	// points, not thumbnails, and must count under the threshold.
	bare := t.TempDir()
	if err := os.CopyFS(bare, os.DirFS(logdir)); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(bare, "projector_config.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(cfg, []byte("  sprite {")), bytes.Index(cfg, []byte("  }\n"))
	if i < 0 || j < i {
		t.Fatalf("no sprite block in projector_config.pbtxt:\n%s", cfg)
	}
	if err := os.WriteFile(filepath.Join(bare, "projector_config.pbtxt"), append(cfg[:i:i], cfg[j+4:]...), 0o644); err != nil {
		t.Fatal(err)
	}
	bareBase, bareGet := startTensorBoard(t, bare)
	if b := bareGet("/data/plugin/projector/info?run=."); bytes.Contains(b, []byte("sprite")) {
		t.Fatalf("the copy still has a sprite: %s", b)
	}
	if dark := screenshotProjector(t, bareBase); dark >= want {
		t.Errorf("without a sprite the Projector tab shows %d dark pixels, not under the %d the check asks of thumbnails: the check cannot fail", dark, want)
	}
}

// screenshotProjector renders TensorBoard's Projector tab in a headless Chromium (WebGL by
// SwiftShader's software rendering) and counts the dark pixels in the middle of the page, where
// the points (Fashion-MNIST's mostly black thumbnails, when there is a sprite) are drawn.
func screenshotProjector(t *testing.T, base string) int {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("no chromium (make setup installs Debian's chromium): %v", err)
	}
	flags := []string{"--headless=new", "--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,900"}
	browse := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, append(slices.Clone(flags), args...)...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, se.String())
		}
		return so.Bytes()
	}
	probe := browse("--dump-dom", `data:text/html,<p id=r></p><script>document.getElementById("r").textContent="webgl="+!!document.createElement("canvas").getContext("webgl")</script>`)
	if !bytes.Contains(probe, []byte("webgl=true")) {
		t.Skipf("this Chromium cannot render WebGL here, even with SwiftShader (%s): the Projector tab is not drawn; the endpoints above were checked", bytes.TrimSpace(probe))
	}
	shot := filepath.Join(t.TempDir(), "projector.png")
	browse("--virtual-time-budget=20000", "--screenshot="+shot, base+"/#projector")
	defer func() {
		if t.Failed() {
			keep := filepath.Join(os.TempDir(), fmt.Sprintf("nnclr-projector-%d.png", time.Now().UnixNano()))
			if b, err := os.ReadFile(shot); err == nil && os.WriteFile(keep, b, 0o644) == nil {
				t.Logf("screenshot kept: %s", keep)
			}
		}
	}()
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The page is light; Fashion-MNIST thumbnails are mostly black. Count dark pixels in the
	// middle of the page, where the point cloud is drawn.
	b := im.Bounds()
	dark := 0
	for y := b.Min.Y + b.Dy()*15/100; y < b.Min.Y+b.Dy()*95/100; y++ {
		for x := b.Min.X + b.Dx()*25/100; x < b.Min.X+b.Dx()*75/100; x++ {
			r, g, bl, _ := im.At(x, y).RGBA()
			if r>>8 < 40 && g>>8 < 40 && bl>>8 < 40 {
				dark++
			}
		}
	}
	t.Logf("projector screenshot of %s: %d dark pixels", base, dark)
	return dark
}

// TestInspectFolder: on a dataset prepared from an image folder (images of different sizes,
// PNG and JPEG, nested folders), the kNN monitor runs and equals evaluate, the neighbour sheet
// is drawn, and `evaluate --projector` writes a "file" column; the real TensorBoard serves
// metadata whose rows carry, for each example index, the file name tensorflow_datasets reads
// for that example, whose stored image bytes are that source file's.
func TestInspectFolder(t *testing.T) {
	src := writeImageFolder(t, 40)
	dataDir := t.TempDir()
	if err := run([]string{"--mode", "prepare", "--dataset", "my_photos", "--data-dir", dataDir, "--source", src, "--test-fraction", "0.25", "--seed", "4", "--quiet"},
		&bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	if err := run([]string{"--mode", "pretrain", "--dataset", "my_photos", "--data-dir", dataDir, "--run-dir", runDir, "--image-size", "32", "--channels", "3",
		"--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2", "--knn-every", "1", "--knn-limit", "50", "--seed", "5", "--quiet"},
		&out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	knn := knnLines(t, runDir)
	js := filepath.Join(t.TempDir(), "eval.json")
	out.Reset()
	if err := run([]string{"--mode", "evaluate", "--run-dir", runDir, "--dataset", "my_photos", "--data-dir", dataDir, "--protocols", "knn", "--knn-limit", "50",
		"--projector", "--projector-limit", "15", "--out", js, "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(js)
	var res map[string]any
	json.Unmarshal(b, &res)
	if len(knn) != 1 || res["knn_top1"] != knn[0]["knn_top1"] || res["train_count"] != 50.0 {
		t.Errorf("monitor %v, evaluate --knn-limit 50 on the last checkpoint: %s", knn, b)
	}
	if !strings.Contains(out.String(), "projector: 15 points of my_photos/test in 8 dimensions, metadata columns index,label,class,file, sprite 128x128 of 32x32 thumbnails") {
		t.Errorf("printed:\n%s", out.String())
	}
	out.Reset()
	if err := run([]string{"--mode", "neighbours", "--run-dir", runDir, "--dataset", "my_photos", "--data-dir", dataDir, "--queries", "3",
		"--neighbours", "4", "--out", filepath.Join(t.TempDir(), "sheet.png"), "--quiet"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "of 12 drawn neighbours") {
		t.Errorf("neighbours: %v\n%s", err, out.String())
	}

	var ref []struct {
		Filename string `json:"filename"`
		Label    int64  `json:"label"`
		SHA256   string `json:"sha256"`
	}
	if err := json.Unmarshal(testpy.Run(t, "testdata/tfds_files.py", filepath.Join(dataDir, "my_photos", "1.0.0"), "test"), &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref) != 20 {
		t.Fatalf("tfds reads %d test examples, want 20", len(ref))
	}
	_, get := startTensorBoard(t, runDir)
	meta := strings.Split(strings.TrimSuffix(string(get("/data/plugin/projector/metadata?run=.&name=my_photos/test")), "\n"), "\n")
	if len(meta) != 16 || meta[0] != "index\tlabel\tclass\tfile" {
		t.Fatalf("served metadata: %d lines, header %q", len(meta), meta[0])
	}
	classes := []string{"dark", "light"}
	seen := map[string]bool{}
	for i, line := range meta[1:] {
		f := strings.Split(line, "\t")
		idx, err := strconv.Atoi(f[0])
		if len(f) != 4 || err != nil || idx < 0 || idx >= len(ref) {
			t.Fatalf("metadata row %d: %q", i, line)
		}
		r := ref[idx]
		if f[1] != strconv.FormatInt(r.Label, 10) || f[2] != classes[r.Label] || f[3] != r.Filename {
			t.Errorf("metadata row %d %q: tfds's example %d is %s, label %d", i, line, idx, r.Filename, r.Label)
		}
		raw, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(f[3])))
		if err != nil {
			t.Fatalf("metadata row %d names %s: %v", i, f[3], err)
		}
		if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != r.SHA256 {
			t.Errorf("metadata row %d names %s, but example %d stores other image bytes", i, f[3], idx)
		}
		seen[f[3]] = true
	}
	if len(seen) != 15 {
		t.Errorf("%d distinct file names in 15 rows", len(seen))
	}
}

// TestKNNMonitorBF16 measures what the README states of a --precision bf16 run's monitor: it
// equals `evaluate --precision bf16 --knn-limit N` on each epoch's checkpoint, and differs from
// an fp32 evaluate by bf16 rounding of the features: at most 0.01 of top-1 here (10 of the 1,000
// test examples; the test prints the difference), with the features of `embed` in bf16 and fp32
// within 5% of the largest absolute feature on the same checkpoint.
func TestKNNMonitorBF16(t *testing.T) {
	if !tfrun.HostCPUFeatures().BF16() {
		t.Skip("this CPU has neither avx512_bf16 nor amx_bf16: no bf16 run to measure")
	}
	const limit = 1000
	dataDir := smallFashion(t, limit)
	runDir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	if err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir, "--image-size", "32",
		"--width", "16", "--queue-size", "120", "--epochs", "2", "--steps-per-epoch", "4", "--unlabelled-batch", "32", "--labelled-batch", "16",
		"--knn-every", "1", "--knn-limit", strconv.Itoa(limit), "--keep-checkpoints", "0", "--precision", "bf16", "--seed", "3", "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	knn := knnLines(t, runDir)
	if len(knn) != 2 {
		t.Fatalf("metrics.jsonl has %d knn lines, want 2", len(knn))
	}
	ckpt := func(r map[string]any) string {
		return filepath.Join(runDir, "checkpoints", fmt.Sprintf("ckpt-%d", int64(r["global_step"].(float64))))
	}
	evaluate := func(r map[string]any, precision string) float64 {
		js := filepath.Join(t.TempDir(), "eval.json")
		if err := run([]string{"--mode", "evaluate", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--protocols", "knn",
			"--knn-limit", strconv.Itoa(limit), "--checkpoint", ckpt(r), "--precision", precision, "--out", js, "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(js)
		var res struct {
			Top1 float64 `json:"knn_top1"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return res.Top1
	}
	for _, r := range knn {
		mon := r["knn_top1"].(float64)
		bf, fp := evaluate(r, "bf16"), evaluate(r, "fp32")
		if bf != mon {
			t.Errorf("%s: monitor (bf16) %v, evaluate --precision bf16 %v", filepath.Base(ckpt(r)), mon, bf)
		}
		if d := math.Abs(mon - fp); d > 0.01 {
			t.Errorf("%s: monitor (bf16) %v, evaluate in fp32 %v: differ by %.4f, more than 0.01", filepath.Base(ckpt(r)), mon, fp, d)
		}
		t.Logf("%s: kNN top-1 of %d test examples: monitor (bf16) %.4f, evaluate bf16 %.4f, evaluate fp32 %.4f: |bf16 - fp32| %.4f",
			filepath.Base(ckpt(r)), limit, mon, bf, fp, math.Abs(mon-fp))
	}
	// The features themselves, on the last checkpoint: embed in bf16 against fp32.
	feats := map[string][]float32{}
	for _, p := range []string{"fp32", "bf16"} {
		npz := filepath.Join(t.TempDir(), p+".npz")
		if err := run([]string{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--split", "test",
			"--precision", p, "--out", npz, "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		a, err := npy.ReadNPZ(npz)
		if err != nil {
			t.Fatal(err)
		}
		feats[p] = a["embeddings"].Data.([]float32)
	}
	scale, worst, sum := 0.0, 0.0, 0.0
	for i, v := range feats["fp32"] {
		scale = math.Max(scale, math.Abs(float64(v)))
		d := math.Abs(float64(v - feats["bf16"][i]))
		worst, sum = math.Max(worst, d), sum+d
	}
	if worst > 0.05*scale {
		t.Errorf("embed in bf16 and fp32 differ by up to %.3g, %.2g of the largest feature %.3g: more than 5%%", worst, worst/scale, scale)
	}
	t.Logf("features of %d test images, bf16 vs fp32: largest difference %.3g (%.2g of the largest feature %.3g), mean %.3g",
		len(feats["fp32"])/16, worst, worst/scale, scale, sum/float64(len(feats["fp32"])))
}

// knnLines returns the kNN monitor's lines of runDir's metrics.jsonl.
func knnLines(t *testing.T, runDir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range readJSONL(t, filepath.Join(runDir, "metrics.jsonl")) {
		if r["type"] == "knn" {
			out = append(out, r)
		}
	}
	return out
}
