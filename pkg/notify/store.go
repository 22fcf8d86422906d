package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// SilenceBucket is the JetStream key-value bucket that holds silences, keyed by id.
const SilenceBucket = "vigil_silences"

// Silences stores silences in the key-value bucket and keeps a live copy that follows every
// change, so each notifier replica mutes the same alerts within moments of a change.
type Silences struct {
	kv jetstream.KeyValue

	mu   sync.RWMutex
	byID map[string]Silence
}

// OpenSilences creates the bucket if needed.
func OpenSilences(ctx context.Context, js jetstream.JetStream) (*Silences, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: SilenceBucket, Description: "vigil: alert silences", History: 5})
	if err != nil {
		return nil, fmt.Errorf("open key-value bucket %s: %w", SilenceBucket, err)
	}
	return &Silences{kv: kv, byID: map[string]Silence{}}, nil
}

// Put validates and stores a silence.
func (s *Silences) Put(ctx context.Context, sil Silence) error {
	if err := sil.Validate(); err != nil {
		return fmt.Errorf("silence %s: %w", sil.ID, err)
	}
	b, err := json.Marshal(sil)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, sil.ID, b); err != nil {
		return fmt.Errorf("store silence %s: %w", sil.ID, err)
	}
	return nil
}

// Get reads one silence from the bucket.
func (s *Silences) Get(ctx context.Context, id string) (Silence, error) {
	e, err := s.kv.Get(ctx, id)
	if err != nil {
		return Silence{}, fmt.Errorf("read silence %s: %w", id, err)
	}
	var sil Silence
	if err := json.Unmarshal(e.Value(), &sil); err != nil {
		return Silence{}, fmt.Errorf("decode silence %s: %w", id, err)
	}
	return sil, nil
}

// List reads every stored silence, newest end first.
func (s *Silences) List(ctx context.Context) ([]Silence, error) {
	keys, err := s.kv.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	var out []Silence
	for _, k := range keys {
		sil, err := s.Get(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, sil)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EndsAt.After(out[j].EndsAt) })
	return out, nil
}

// Watch keeps the live copy current until ctx ends. It returns once the current state is loaded.
func (s *Silences) Watch(ctx context.Context) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch silences: %w", err)
	}
	apply := func(e jetstream.KeyValueEntry) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e.Operation() != jetstream.KeyValuePut {
			delete(s.byID, e.Key())
			return
		}
		var sil Silence
		if json.Unmarshal(e.Value(), &sil) == nil {
			s.byID[e.Key()] = sil
		}
	}
	for e := range w.Updates() {
		if e == nil { // the initial values are all delivered
			break
		}
		apply(e)
	}
	go func() {
		defer w.Stop()
		for e := range w.Updates() {
			if e != nil {
				apply(e)
			}
		}
	}()
	return nil
}

// Current returns the live copy.
func (s *Silences) Current() []Silence {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Silence, 0, len(s.byID))
	for _, sil := range s.byID {
		out = append(out, sil)
	}
	return out
}
