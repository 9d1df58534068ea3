"""A Keras ResNet-50 SavedModel for the --init-from tests.

keras_resnet50.py OUT_DIR SIZE SEED
    keras.applications.ResNet50(include_top=False, weights=None, pooling="avg") on SIZE×SIZE×3
    inputs, its batch norms given random gamma, beta and moving statistics (the initial ones and
    zeros would hide a mix-up), exported with model.export to OUT_DIR/export; every weight by its
    Keras path to OUT_DIR/weights.npz; and for a few images (OUT_DIR/images.npz, uint8) the
    features of keras.applications.resnet.preprocess_input then the model to OUT_DIR/features.npz.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def main():
    out, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    keras.utils.set_random_seed(seed)
    model = keras.applications.ResNet50(include_top=False, weights=None, pooling="avg", input_shape=(size, size, 3))
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.uniform(-0.2, 0.2, n).astype("float32"))
            layer.moving_mean.assign(rng.uniform(-0.2, 0.2, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
    model.export(os.path.join(out, "export"), verbose=False)
    np.savez(os.path.join(out, "weights.npz"), **{w.path: w.numpy() for w in model.weights})
    images = rng.integers(0, 256, (4, size, size, 3)).astype("uint8")
    x = keras.applications.resnet.preprocess_input(images.astype("float32"))
    np.savez(os.path.join(out, "images.npz"), images=images)
    np.savez(os.path.join(out, "features.npz"), features=np.asarray(model(x, training=False)))


if __name__ == "__main__":
    main()
