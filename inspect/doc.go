// Package inspect looks at what an encoder learned without training anything: it draws seeded
// subsets of a split (Subset), embeds a subset with any embed.Embedder and keeps the images it
// read (Embed), and reads images back by index (Images). The kNN monitor of pretraining, the
// --knn-limit of evaluate, the TensorBoard projector and the nearest-neighbour sheet all take
// their examples from here, so the same seed and limit give the same examples everywhere. A
// split whose images differ in size (a dataset prepared from an image folder) is read at the
// embedder's input size, as the model sees it; Embed also keeps the examples' source file
// names where the dataset has them (EmbedOptions.KeepFiles).
//
// Nothing here is safe for concurrent use with the same Embedder (an Embedder is not).
package inspect
