package tfrun

import "github.com/nnclr/nnclr/internal/tfc"

// CheckpointHas reports, for each of names, whether the TensorFlow checkpoint at prefix holds a
// tensor of that name, reading only its index (TensorFlow's CheckpointReader, as
// tf.train.load_checkpoint). An unreadable checkpoint is an error naming prefix.
func CheckpointHas(prefix string, names ...string) ([]bool, error) {
	return tfc.CheckpointHas(prefix, names...)
}
