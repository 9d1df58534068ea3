// Package tfgraph is nnclr's model: it builds the NNCLR graphs with graft and runs them in a
// tfrun.Session. It knows NNCLR and nothing of how sessions, tensors or servers are made (that
// is package tfrun).
//
// The graph is assembled from small builders, one concept per file:
//   - layers.go: layer helpers (convolution, dense, ReLU, batch normalisation, two-layer heads,
//     L2 normalisation, cross-entropy) that take a scope and weights and return a node;
//   - backbone.go: the encoder interface (variables, forward pass keeping its activations, an
//     optional hand-built backward pass, batch-norm moving statistics) and the input
//     normalisation; conv4.go is the Keras example's encoder (hand-built backward), resnet.go
//     ResNet-18 and ResNet-50 (keras.applications' layers; registry gradients between batch
//     norms whose backward syncbn.go writes by hand). Adding a backbone is adding a file;
//   - contrastive.go (both views, nearest neighbours, the NNCLR loss, gradients, queue update),
//     metrics.go, probe.go (the probe step, the test step, the forward pass), adam.go,
//     ckptops.go, variables.go (the model's variables by role, in checkpoint order);
//   - strategy.go: data parallelism as a strategy the builders call (local, one process, is the
//     identity); parallel.go is the data-parallel one (collectives over TensorFlow's distributed
//     runtime), syncbn.go the train step's batch norms with their backward pass by hand (on one
//     process, and synchronised across the workers of a data-parallel run), cluster.go its start-up check, chief broadcast and stop agreement;
//   - graph.go assembles them (buildGraph); serving.go is the serving computation an export holds
//     (savedmodel.Export assembles the SavedModel around it).
//
// Model (model.go) is that graph in a session: Init, SetWeights, Weights, TrainStep, TestStep,
// Forward, TraceStep, and checkpoints in TensorFlow's own format (checkpoint.go, read by
// tf.train.load_checkpoint). LinearModel is the softmax regression of linear evaluation.
//
// Ownership: tensors passed in (a Batch, TestStep's and Forward's inputs) stay the caller's, who
// closes them (Batch.Close, tfrun.Close); tensors fetched internally are closed before a method
// returns. A Model or a LinearModel is not safe for concurrent use; Close is idempotent.
//
// tfrun, tfgraph and savedmodel are the packages that import graft's tensorflow and op packages
// (internal/layout checks it).
package tfgraph
