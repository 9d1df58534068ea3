package run

import "github.com/nnclr/nnclr/internal/rng"

// Seeds are the independent seeds of a run's random consumers, all derived from Config.Seed:
// the model's initial weights (and the linear evaluation's initialisation and order), the
// augmenters' draws, the data order and the top-k support's picks. Every random draw of a run
// comes from one of them.
type Seeds struct{ Model, Augment, Data, Support uint64 }

// DeriveSeeds derives a run's seeds from seed: each is rng.Mix(seed XOR k) for its own k.
func DeriveSeeds(seed int64) Seeds {
	s := uint64(seed)
	return Seeds{Model: rng.Mix(s ^ 1), Augment: rng.Mix(s ^ 2), Data: rng.Mix(s ^ 3), Support: rng.Mix(s ^ 4)}
}
