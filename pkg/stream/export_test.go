package stream

// PooledSize is the memory a pooled message holds, as its pool counts it.
func PooledSize(s *PooledScored) int { return s.size() }

// ParseAckSubject is parseAckSubject, for the fuzz test.
func ParseAckSubject(reply string) (Delivery, bool) { return parseAckSubject(reply) }
