package judge

import (
	"container/list"
	"crypto/sha256"
	"sync"
)

// CacheKey identifies an answer: the judge, its Version, and the SHA-256 of the rendered prompt.
// A changed rubric, model or threshold changes the version, so a stale answer is never reused.
type CacheKey struct {
	Judge   string
	Version string
	Prompt  [sha256.Size]byte
}

// Cache is a bounded least-recently-used cache of answers, shared by every judge of a process. A
// nil *Cache caches nothing. It is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used
	items map[CacheKey]*list.Element
}

type cacheEntry struct {
	key    CacheKey
	answer Answer
}

// NewCache returns a cache of at most size answers; size <= 0 returns nil, which caches nothing.
func NewCache(size int) *Cache {
	if size <= 0 {
		return nil
	}
	return &Cache{size: size, order: list.New(), items: make(map[CacheKey]*list.Element, size)}
}

// Get returns the answer stored under k and marks it recently used.
func (c *Cache) Get(k CacheKey) (Answer, bool) {
	if c == nil {
		return Answer{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[k]
	if !ok {
		return Answer{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).answer, true
}

// Put stores a under k, evicting the least recently used answer when the cache is full.
func (c *Cache) Put(k CacheKey, a Answer) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		e.Value.(*cacheEntry).answer = a
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*cacheEntry).key)
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, answer: a})
}

// Len is the number of answers held.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
