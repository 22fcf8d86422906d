package rules

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/pkg/testkit"
)

func TestStorePutGetWatch(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })
	ns := testkit.NATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	st, err := OpenStore(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on an empty bucket = %v, want ErrNotFound", err)
	}

	var mu sync.Mutex
	var seen []Update
	stop, err := st.Watch(ctx, func(u Update) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	v1, _ := Parse([]byte(`{"version": "v1", "rules": [{"name": "a", "match": {"app": "shop"}, "defaults": true}]}`))
	if changed, err := st.Put(ctx, v1); err != nil || !changed {
		t.Fatalf("Put(v1) = %v, %v, want true, nil", changed, err)
	}
	if changed, err := st.Put(ctx, v1); err != nil || changed {
		t.Errorf("Put(v1) again = %v, %v, want false, nil", changed, err)
	}
	reused, _ := Parse([]byte(`{"version": "v1", "rules": []}`))
	if _, err := st.Put(ctx, reused); !errors.Is(err, ErrVersionReused) {
		t.Errorf("Put of other rules under v1 = %v, want ErrVersionReused", err)
	}
	bad, _ := Parse([]byte(`{"version": "v2", "rules": [{"name": "a", "match": {}, "checks": [{"check": "nope"}]}]}`))
	if _, err := st.Put(ctx, bad); err == nil {
		t.Error("Put of an invalid document succeeded")
	}
	got, rev, err := st.Get(ctx)
	if err != nil || got.Version != "v1" {
		t.Fatalf("Get = %+v, %d, %v, want v1", got, rev, err)
	}
	testkit.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 1 && seen[0].Revision == rev && seen[0].Data != nil
	}, "watch did not report one put at revision %d", rev)

	if err := st.kv.Delete(ctx, Key); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 2 && seen[1].Data == nil
	}, "watch did not report the delete")
	stop()
	stop()
}
