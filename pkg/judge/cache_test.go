package judge

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

func key(i int) CacheKey {
	return CacheKey{Judge: "tone", Version: "v1", Prompt: sha256.Sum256([]byte(fmt.Sprint(i)))}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := NewCache(2)
	c.Put(key(1), Answer{Score: 0.1})
	c.Put(key(2), Answer{Score: 0.2})
	if a, ok := c.Get(key(1)); !ok || a.Score != 0.1 {
		t.Fatalf("Get(1) = %v, %v, want 0.1, true", a, ok)
	}
	c.Put(key(3), Answer{Score: 0.3}) // evicts 2, the least recently used
	if _, ok := c.Get(key(2)); ok {
		t.Error("Get(2) hit after 2 was evicted")
	}
	for _, k := range []int{1, 3} {
		if _, ok := c.Get(key(k)); !ok {
			t.Errorf("Get(%d) missed", k)
		}
	}
	c.Put(key(3), Answer{Score: 0.33})
	if a, _ := c.Get(key(3)); a.Score != 0.33 || c.Len() != 2 {
		t.Errorf("after replacing 3: Get(3) = %v, Len() = %d, want 0.33, 2", a, c.Len())
	}
	other := key(1)
	other.Version = "v2"
	if _, ok := c.Get(other); ok {
		t.Error("an answer of version v1 served version v2")
	}
}

func TestNilCacheCachesNothing(t *testing.T) {
	c := NewCache(0)
	c.Put(key(1), Answer{Score: 1})
	if _, ok := c.Get(key(1)); ok || c.Len() != 0 {
		t.Error("a zero-size cache held an answer")
	}
}

func TestCacheConcurrentUse(t *testing.T) {
	c := NewCache(64)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				k := key(g*1000 + i%100)
				c.Put(k, Answer{Score: 0.5})
				c.Get(k)
			}
		}()
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Errorf("Len() = %d, want at most 64", c.Len())
	}
}
