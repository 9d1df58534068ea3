package loader

import "math/rand/v2"

// InterleaveOrder returns the order in which tf.data's interleave(cycle_length=cycle,
// block_length=block) — what tfds.load uses to read shards, by default cycle 16 and block 16 —
// yields the examples of shards with the given lengths, visited in shardOrder (nil: 0, 1, ...).
// Examples are numbered in file order: example j of shard k is sum(shardLengths[:k]) + j.
// cycle or block below 1 count as 1; cycle 1 reads the shards one after another.
func InterleaveOrder(shardLengths []int, shardOrder []int, cycle, block int) []int {
	cycle, block = max(cycle, 1), max(block, 1)
	starts := make([]int, len(shardLengths))
	total := 0
	for i, n := range shardLengths {
		starts[i] = total
		total += n
	}
	if shardOrder == nil {
		shardOrder = make([]int, len(shardLengths))
		for i := range shardOrder {
			shardOrder[i] = i
		}
	}
	type elem struct{ shard, next int }
	slots := make([]*elem, cycle)
	out := make([]int, 0, total)
	input, open, ci, bi := 0, 0, 0, 0
	advance := func() { bi = 0; ci = (ci + 1) % cycle }
	for input < len(shardOrder) || open > 0 {
		switch e := slots[ci]; {
		case e != nil:
			if e.next < shardLengths[e.shard] {
				out = append(out, starts[e.shard]+e.next)
				e.next++
				if bi++; bi == block {
					advance()
				}
				continue
			}
			slots[ci] = nil
			open--
			advance()
		case input < len(shardOrder):
			slots[ci] = &elem{shard: shardOrder[input]}
			input++
			open++
		default:
			advance()
		}
	}
	return out
}

// ShuffleBuffer reorders in the way tf.data's shuffle(buffer_size) does: a buffer is filled
// with the first buffer elements; each output is a uniformly chosen buffer element, whose place
// is taken by the next input element (or, once the input is exhausted, by the last buffer
// element). buffer >= len(in) is a uniform permutation; buffer <= 1 keeps the order. The draws
// come from rng only (TensorFlow's own random stream is not reproduced).
func ShuffleBuffer(in []int, buffer int, rng *rand.Rand) []int {
	out := make([]int, 0, len(in))
	if buffer <= 1 {
		return append(out, in...)
	}
	buf := make([]int, 0, min(buffer, len(in)))
	next := 0
	for next < len(in) && len(buf) < buffer {
		buf = append(buf, in[next])
		next++
	}
	for len(buf) > 0 {
		j := rng.IntN(len(buf))
		out = append(out, buf[j])
		if next < len(in) {
			buf[j] = in[next]
			next++
		} else {
			buf[j] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
		}
	}
	return out
}
