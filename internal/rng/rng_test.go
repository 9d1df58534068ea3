package rng

import (
	"hash/fnv"
	"testing"
)

// TestMixKnownValues: the first outputs of the reference SplitMix64 generator seeded with 0
// (Vigna's splitmix64.c, whose state advances by the golden increment before mixing).
func TestMixKnownValues(t *testing.T) {
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := Mix(uint64(i) * golden); got != w {
			t.Errorf("Mix(%d·golden) = %#x, want %#x", i, got, w)
		}
	}
}

func TestNameIsFNV1a(t *testing.T) {
	for _, s := range []string{"", "train", "unlabelled"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := Name(s), h.Sum64(); got != want {
			t.Errorf("Name(%q) = %#x, want FNV-1a %#x", s, got, want)
		}
	}
}

func TestStreamsAreReproducibleAndDistinct(t *testing.T) {
	a, b, c, d := New(1, 2, 3), New(1, 2, 3), New(1, 3, 2), New(2, 2, 3)
	first := a.Uint64()
	if b.Uint64() != first {
		t.Fatal("the same seed and labels gave different streams")
	}
	if c.Uint64() == first || d.Uint64() == first {
		t.Fatal("other labels or another seed gave the same first draw")
	}
}
