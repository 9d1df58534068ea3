// Package neighbours finds the nearest neighbours of query embeddings among gallery embeddings
// by cosine similarity (Find) and draws them as a sheet (Draw): one row per query, the query's
// image then its neighbours' nearest first, each labelled with its class name and similarity,
// framed green where the neighbour's class is the query's and red where it differs.
//
// The embeddings come from package inspect or embed (evaluate.Split holds them).
package neighbours
