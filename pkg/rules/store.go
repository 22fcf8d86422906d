package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the JetStream key-value bucket that holds the rules document under [Key].
const Bucket = "vigil_rules"

// Key is the key of the current rules document; earlier revisions stay in the key's history.
const Key = "current"

// ErrVersionReused is returned by [Store.Put] for a document that reuses the stored version with
// different content: scores are identified by their rules version, so a change needs a new one.
var ErrVersionReused = errors.New("rules: version already stored with different rules")

// Store keeps the rules document in the key-value bucket. It is safe for concurrent use.
type Store struct {
	kv jetstream.KeyValue
}

// OpenStore creates the bucket if needed.
func OpenStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, Description: "vigil: scoring rules", History: 20})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", Bucket, err)
	}
	return &Store{kv: kv}, nil
}

// Put validates doc and stores it as the current document, returning whether it changed
// anything: storing the document already current is a no-op. An invalid document, one that
// reuses the current version with other rules ([ErrVersionReused]), or a concurrent change
// (the revision moved since it was read) leaves the bucket untouched.
func (s *Store) Put(ctx context.Context, doc *Document) (bool, error) {
	if err := doc.Validate(); err != nil {
		return false, err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return false, fmt.Errorf("encode rules %s: %w", doc.Version, err)
	}
	cur, err := s.kv.Get(ctx, Key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		if _, err := s.kv.Create(ctx, Key, data); err != nil {
			return false, fmt.Errorf("store rules %s: %w", doc.Version, err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read current rules: %w", err)
	}
	if old, err := Parse(cur.Value()); err == nil && old.Version == doc.Version {
		if bytes.Equal(cur.Value(), data) {
			return false, nil
		}
		return false, fmt.Errorf("version %s: %w", doc.Version, ErrVersionReused)
	}
	if _, err := s.kv.Update(ctx, Key, data, cur.Revision()); err != nil {
		return false, fmt.Errorf("store rules %s: %w", doc.Version, err)
	}
	return true, nil
}

// Get returns the current document and its revision; ErrNotFound when none is stored.
func (s *Store) Get(ctx context.Context) (*Document, uint64, error) {
	e, err := s.kv.Get(ctx, Key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read current rules: %w", err)
	}
	doc, err := Parse(e.Value())
	if err != nil {
		return nil, e.Revision(), fmt.Errorf("revision %d: %w", e.Revision(), err)
	}
	return doc, e.Revision(), nil
}

// ErrNotFound is returned by [Store.Get] when no rules are stored.
var ErrNotFound = errors.New("rules: no rules stored")

// Update is one change of the stored document seen by [Store.Watch].
type Update struct {
	// Revision is the key-value revision of the change.
	Revision uint64
	// Data is the stored document; nil when it was deleted or purged.
	Data []byte
}

// Watch calls fn with the current document (if any) and then with every change until ctx ends
// or stop is called. It returns once the current document has been passed to fn, so a caller
// can rely on it from then on. fn runs on one goroutine at a time; stop waits for it to return
// and is safe to call more than once.
func (s *Store) Watch(ctx context.Context, fn func(Update)) (stop func(), err error) {
	w, err := s.kv.Watch(ctx, Key)
	if err != nil {
		return nil, fmt.Errorf("watch rules: %w", err)
	}
	deliver := func(e jetstream.KeyValueEntry) {
		u := Update{Revision: e.Revision()}
		if e.Operation() == jetstream.KeyValuePut {
			u.Data = e.Value()
		}
		fn(u)
	}
	for e := range w.Updates() {
		if e == nil { // the current value is delivered
			break
		}
		deliver(e)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range w.Updates() {
			if e != nil {
				deliver(e)
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { _ = w.Stop() })
		<-done
	}, nil
}
