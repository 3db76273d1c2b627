package waitingroom

import "math/bits"

// line is the positions still waiting in a window, for each place's rank in it: a bitmap
// over the positions from the lowest waiting one, with the count of waiting positions
// before each word. Positions are numbered in order (every place numbered once), so the
// map is about a bit per place numbered; it is built in one pass, without sorting, and a
// poll's rank is two reads, where a search of a sorted list of a hundred thousand
// positions was seventeen, most of them cache misses.
type line struct {
	base   int64    // the lowest waiting position
	words  []uint64 // bit i of word k: position base+64k+i waits
	before []int32  // waiting positions in the words before word k
}

// makeLine makes the line of the waiting positions given, in any order; positions are
// positive.
func makeLine(positions []int64) line {
	if len(positions) == 0 {
		return line{}
	}
	lo, hi := positions[0], positions[0]
	for _, p := range positions {
		lo, hi = min(lo, p), max(hi, p)
	}
	l := line{base: lo, words: make([]uint64, (hi-lo)/64+1)}
	for _, p := range positions {
		i := p - lo
		l.words[i/64] |= 1 << (i % 64)
	}
	l.before = make([]int32, len(l.words))
	n := int32(0)
	for k, w := range l.words {
		l.before[k] = n
		n += int32(bits.OnesCount64(w))
	}
	return l
}

// rank is the place in line of position p: 1 for the lowest waiting position, one more
// than the waiting positions below p otherwise (p need not be in the line).
func (l line) rank(p int64) int {
	i := p - l.base
	switch {
	case len(l.words) == 0 || i < 0:
		return 1
	case i >= int64(len(l.words))*64:
		k := len(l.words) - 1
		return int(l.before[k]) + bits.OnesCount64(l.words[k]) + 1
	}
	k := i / 64
	return int(l.before[k]) + bits.OnesCount64(l.words[k]&(1<<(i%64)-1)) + 1
}
