package evaluate_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/tfrun"
)

func ExampleKNN() {
	// Two-dimensional features of three classes: class 0 points along x, class 1 along y,
	// class 2 along −x.
	train := evaluate.Split{
		Features: []float32{1, 0.1, 2, -0.1, 0.1, 1, -0.1, 3, -1, 0.2, -2, -0.1},
		Labels:   []int64{0, 0, 1, 1, 2, 2},
		Dim:      2,
	}
	test := evaluate.Split{
		Features: []float32{5, 0, 0.2, 1, -1, -1},
		Labels:   []int64{0, 1, 1},
		Dim:      2,
	}
	acc, err := evaluate.KNN(train, test, 3, evaluate.KNNConfig{K: 2, Temperature: 0.07})
	if err != nil {
		log.Fatal(err)
	}
	// The third test point's two nearest neighbours are both of class 2: classes 0 and 1 score
	// 0, and the tie ranks class 0 above its label 1.
	fmt.Println("predictions:", acc.Predictions)
	fmt.Println("label ranks:", acc.LabelRanks)
	fmt.Printf("top-1: %.3f (top-5 computed: %v)\n", acc.Top1, acc.HasTop5)
	// Output:
	// predictions: [0 1 2]
	// label ranks: [0 0 2]
	// top-1: 0.667 (top-5 computed: false)
}

func ExampleEvaluate() {
	train := evaluate.Split{
		Features: []float32{1, 0.1, 2, -0.1, 0.1, 1, -0.1, 3, -1, 0.2, -2, -0.1},
		Labels:   []int64{0, 0, 1, 1, 2, 2},
		Dim:      2,
	}
	test := evaluate.Split{Features: []float32{5, 0, 0.2, 1}, Labels: []int64{0, 1}, Dim: 2}
	cfg := evaluate.Config{RunKNN: true, KNN: evaluate.KNNConfig{K: 3, Temperature: 0.07}}
	res, err := evaluate.Evaluate(train, test, 3, cfg, tfrun.DefaultSessionConfig())
	if err != nil {
		log.Fatal(err)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	// Output:
	// {"knn_top1":1,"k":3,"temperature":0.07,"train_count":6,"test_count":2,"feature_dim":2,"classes":3}
}
