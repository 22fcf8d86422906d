package stream

// PooledSize is the memory a pooled message holds, as its pool counts it.
func PooledSize(s *PooledScored) int { return s.size() }
