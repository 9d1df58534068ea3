package tboard_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnclr/nnclr/tboard"
)

func ExampleWriter() {
	logdir, err := os.MkdirTemp("", "tboard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(logdir)

	w, err := tboard.NewWriter(filepath.Join(logdir, "train"))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	if err := w.Text("config", 0, "batch size **256**"); err != nil {
		log.Fatal(err)
	}
	for step, loss := range []float64{2.3, 1.7, 1.2} {
		if err := w.Scalar("loss", int64(step), loss); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(filepath.Base(w.Path()), "events.out.tfevents."))
	// Output: true
}
