package judge

// Sampled reports whether id falls in a sample of the given rate (0: none, 1: all). It maps an
// FNV-64a hash of id, finished with a 64-bit mixer, to a number u in [0, 1) and keeps id when
// u < rate: the decision depends on id alone, so every replica and every restart keeps the same
// ids, and an id kept at one rate is kept at every higher rate.
func Sampled(id string, rate float64) bool {
	if rate <= 0 {
		return false
	}
	if rate >= 1 {
		return true
	}
	return unit(id) < rate
}

// unit maps s to [0, 1).
func unit(s string) float64 {
	// FNV-64a, inline so that hashing does not allocate.
	x := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	// FNV spreads the last bytes of similar ids ("e-1", "e-2") poorly over the high bits; the
	// murmur3 finalizer fixes that.
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return float64(x>>11) / (1 << 53)
}
