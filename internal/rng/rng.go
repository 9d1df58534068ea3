// Package rng is nnclr's one source of derived randomness: the SplitMix64 mixer, the derivation
// of independent PCG streams from a seed and stream labels, and a hash of names into labels.
// Every random draw of the project (data order, augmentation, initial weights) goes through a
// generator made here from the user's seed, so the same seed gives the same run.
package rng

import "math/rand/v2"

// golden is 2^64 divided by the golden ratio, SplitMix64's increment.
const golden = 0x9e3779b97f4a7c15

// Mix is the SplitMix64 finalizer of x + golden: a bijection of uint64 whose outputs for
// neighbouring inputs look independent. It turns small seeds and counters into well-spread
// PCG seeds and stream identifiers.
func Mix(x uint64) uint64 {
	x += golden
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// New returns the generator of one random stream: a PCG seeded with Mix(seed) whose sequence is
// chosen by the stream labels (a split, an epoch, a purpose), so streams with different labels
// are independent and every stream is reproducible from the seed alone.
func New(seed uint64, labels ...uint64) *rand.Rand {
	h := uint64(golden)
	for _, l := range labels {
		h = Mix(h ^ l)
	}
	return rand.New(rand.NewPCG(Mix(seed), h))
}

// Name hashes a name (a split, a purpose) into a stream label with 64-bit FNV-1a.
func Name(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
