package loader_test

import (
	"fmt"
	"io"
	"log"

	"github.com/nnclr/nnclr/loader"
)

func ExampleOpen() {
	ds, err := loader.Open("testdata/tfds", "tiny:1.0.0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ds.Info.Name, ds.Info.Version, ds.Features.Image.Shape, ds.Features.Label.NumClasses)
	for _, name := range ds.SplitNames() {
		s, err := ds.Split(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, s.NumExamples())
	}
	// Output:
	// tiny 1.0.0 8x8x3 10
	// train 5
	// test 3
	// unlabelled 4
}

func ExampleNewPipeline() {
	ds, err := loader.Open("testdata/tfds", "tiny")
	if err != nil {
		log.Fatal(err)
	}
	opts := loader.DefaultOptions()
	opts.StepsPerEpoch = 2                // 4 unlabelled / 2 = 2 a step; 5 labelled / 2 = 2 a step
	opts.Output = loader.Shape{16, 16, 3} // resize for the model's input
	opts.Seed = 1
	p, err := loader.NewPipeline(ds, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	it, err := p.Train(0)
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	for {
		step, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(step.Unlabelled.Len(), step.Labelled.Len(), len(step.Unlabelled.Images), step.Unlabelled.Labels)
	}
	test, err := p.Test()
	if err != nil {
		log.Fatal(err)
	}
	defer test.Close()
	b, _ := test.Next()
	fmt.Println("test batch", b.Len(), "of", p.TestBatch)
	// Output:
	// 2 2 1536 [-1 -1]
	// 2 2 1536 [-1 -1]
	// test batch 3 of 4
}
